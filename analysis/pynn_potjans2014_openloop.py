"""Unconnected IF_curr_exp cells with the external drive of PyNN's Potjans2014 at K_scaling 0.1 (each
population's Poisson rate and weight, its DC compensation): the rate per population, on a PyNN backend.

    python analysis/pynn_potjans2014_openloop.py parsnn SEED T_SIM_MS N_PER_POPULATION
    benchmarks/.venv-nest/bin/python analysis/pynn_potjans2014_openloop.py nest 1 3200 500

Prints one JSON line {population: spikes/s after 200 ms}. The DC values are the example's at
K_scaling 0.1 (printed by analysis/pynn_potjans2014_build.py's dumps as i_offset).
"""
import sys, json, time
import numpy as np
backend, seed, tsim = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if backend == "parsnn":
    import parsnn.pynn as sim
else:
    import pyNN.nest as sim
sim.setup(timestep=0.1, spike_precision="on_grid", rng_seed=seed)
DC = {"L23E": 0.09492260054136234, "L23I": 0.15853322519865937, "L4E": 0.16887649830560114, "L4I": 0.18598425691498713,
      "L5E": 0.1270540569839033, "L5I": 0.14542479375033654, "L6E": 0.08432720248820147, "L6I": 0.17164251061833669}
RATE = {"L23E": 1280, "L23I": 1200, "L4E": 1680, "L4I": 1520, "L5E": 1600, "L5I": 1520, "L6E": 2320, "L6I": 1680}
w = 0.0878 / np.sqrt(0.1)
N = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
params = {'cm': 0.25, 'i_offset': 0.0, 'tau_m': 10.0, 'tau_refrac': 2.0, 'tau_syn_E': 0.5, 'tau_syn_I': 0.5,
          'v_reset': -65.0, 'v_rest': -65.0, 'v_thresh': -50.0}
pops = {}
for k in DC:
    p = sim.Population(N, sim.IF_curr_exp(**dict(params, i_offset=DC[k])))
    p.initialize(v=-58.0)
    src = sim.Population(N, sim.SpikeSourcePoisson(rate=RATE[k]))
    sim.Projection(src, p, sim.OneToOneConnector(), sim.StaticSynapse(weight=w), receptor_type="excitatory")
    p.record("spikes")
    pops[k] = p
t0 = time.time(); print("built", file=sys.stderr, flush=True)
sim.run(tsim)
print("ran", time.time() - t0, file=sys.stderr, flush=True)
out = {}
for k, p in pops.items():
    st = p.get_data("spikes").segments[0].spiketrains
    t = np.concatenate([np.asarray(s.magnitude) for s in st])
    out[k] = float(np.sum(t > 200.0) / N / ((tsim - 200.0) / 1000.0))
print(json.dumps(out))
