"""The step at which a spike of an IF_curr_exp cell reaches another after a delay of 0.1, 0.2, 1.0 and
1.5 ms (the first step its V_m moves), and the sender's spike times, on a PyNN backend:

    python analysis/pynn_delay_check.py parsnn
    benchmarks/.venv-nest/bin/python analysis/pynn_delay_check.py nest

Prints one JSON line: {"A": spike times, "<delay>": [first step of the response (ms), V_m samples]}.
"""
import sys, json
import numpy as np
backend = sys.argv[1]
if backend == "parsnn":
    import parsnn.pynn as sim
else:
    import pyNN.nest as sim
sim.setup(timestep=0.1, spike_precision="on_grid", min_delay=0.1)
cell = dict(cm=0.25, tau_m=10.0, tau_refrac=2.0, tau_syn_E=0.5, tau_syn_I=0.5, v_reset=-65.0, v_rest=-65.0, v_thresh=-50.0)
A = sim.Population(1, sim.IF_curr_exp(**dict(cell, i_offset=0.5)))
A.initialize(v=-65.0)
out = {}
Bs = []
for d in (0.1, 0.2, 1.0, 1.5):
    B = sim.Population(1, sim.IF_curr_exp(**cell))
    B.initialize(v=-65.0)
    sim.Projection(A, B, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=d), receptor_type="excitatory")
    B.record("v")
    Bs.append((d, B))
A.record("spikes")
sim.run(30.0)
out["A"] = [float(t) for t in A.get_data("spikes").segments[0].spiketrains[0].magnitude]
for d, B in Bs:
    v = np.asarray(B.get_data("v").segments[0].analogsignals[0].magnitude)[:, 0]
    dv = np.flatnonzero(np.abs(v - v[0]) > 1e-9)
    out[str(d)] = [round(float(dv[0]) * 0.1, 2) if dv.size else None, v[:300:10].round(3).tolist()]
print(json.dumps(out))
