"""The Potjans & Diesmann (2014) microcircuit written in PyNN, run on parsnn's PyNN backend.

Our own PyNN script (not PyNN's examples/Potjans2014): the tables (sizes, synapse numbers, weights,
DC drive) come from ``models/pd14``; everything else is plain PyNN: ``IF_curr_exp`` cells,
``FixedTotalNumberConnector`` with ``normal_clipped`` weights and delays, ``i_offset`` for the DC
background. With the same seed it gives the same spikes as ``parsnn run pd14`` (DC background, no
thalamus): the populations and projections carry parsnn's pd14 names, so the engine draws the same
streams. Run it on P ranks:

    mpiexec -n 2 .venv/bin/python scripts/pynn_pd14.py --n-scaling 0.1 --t-sim 1000 --out pd14_pynn.npz

``--simulator nest`` runs the same script on pyNN.nest instead (if NEST is installed).
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from models import pd14  # noqa: E402


def build(sim, n_scaling: float, resolution: float):
    """The PD14 populations and projections in PyNN (returns the populations)."""
    P = pd14.PARAMETERS
    nrn, syn = P["neuron"], P["synapses"]
    sizes = pd14.num_neurons(n_scaling)
    k_tot = pd14.total_synapses(n_scaling, 1.0)
    w = pd14.weight_matrix(1.0) / 1000.0                       # pA -> nA
    dc = pd14.dc_amplitudes(1.0, "dc") / 1000.0                # pA -> nA
    pops = {}
    for i, name in enumerate(pd14.POPULATIONS):
        cell = sim.IF_curr_exp(cm=nrn["C_m"] / 1000.0, tau_m=nrn["tau_m"], tau_syn_E=nrn["tau_syn_ex"],
                               tau_syn_I=nrn["tau_syn_in"], tau_refrac=nrn["t_ref"], v_rest=nrn["E_L"],
                               v_thresh=nrn["V_th"], v_reset=nrn["V_reset"], i_offset=float(dc[i]))
        pop = sim.Population(int(sizes[i]), cell, label=name)
        pop.initialize(v=sim.RandomDistribution("normal", mu=nrn["V0_mean"][i], sigma=nrn["V0_std"][i]))
        pop.record("spikes")
        pops[name] = pop
    d_min = 0.5 * resolution
    for t, tgt in enumerate(pd14.POPULATIONS):
        for s, src in enumerate(pd14.POPULATIONS):
            n = int(k_tot[t, s])
            if n == 0:
                continue
            mean = float(w[t, s])
            inhibitory = src in P["inhibitory"]
            low, high = (-math.inf, 0.0) if inhibitory else (0.0, math.inf)
            weight = sim.RandomDistribution("normal_clipped", mu=mean, sigma=syn["weight_rel_std"] * abs(mean),
                                            low=low, high=high)
            d_mean = float(syn["delay_inh_mean" if inhibitory else "delay_exc_mean"])
            delay = sim.RandomDistribution("normal_clipped", mu=d_mean, sigma=syn["delay_rel_std"] * d_mean,
                                           low=d_min, high=math.inf)
            sim.Projection(pops[src], pops[tgt], sim.FixedTotalNumberConnector(n),
                           sim.StaticSynapse(weight=weight, delay=delay),
                           receptor_type="inhibitory" if inhibitory else "excitatory", label=f"{src}->{tgt}")
    return pops


def main(argv=None):
    """Build, run, print the rates; optionally save the spikes (rank 0)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--t-sim", type=float, default=1000.0, help="model time (ms)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--simulator", default="parsnn", help="parsnn (default) or another PyNN backend")
    ap.add_argument("--out", help="save the spikes as .npz (rank 0)")
    args = ap.parse_args(argv)
    sim = importlib.import_module("parsnn.pynn" if args.simulator == "parsnn" else "pyNN." + args.simulator)
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, rng_seed=args.seed)
    pops = build(sim, args.n_scaling, 0.1)
    t1 = time.perf_counter()
    sim.run(args.t_sim)
    t2 = time.perf_counter()
    spikes = {}
    for name, pop in pops.items():
        trains = pop.get_data().segments[0].spiketrains
        times = np.concatenate([s.magnitude for s in trains]) if len(trains) else np.zeros(0)
        index = np.repeat(np.arange(len(trains)), [len(s) for s in trains])
        spikes[name] = (times, index)
    if sim.rank() == 0:
        for name, (times, _) in spikes.items():
            rate = np.sum(times > 500.0) / pops[name].size / max(args.t_sim - 500.0, 1e-9) * 1000.0
            print(f"{name:5s} {pops[name].size:6d} neurons  {rate:6.2f} spikes/s (t > 500 ms)")
        print(f"declare {t1 - t0:.1f} s, build + run {t2 - t1:.1f} s on {sim.num_processes()} rank(s)")
        if args.out:
            np.savez(args.out, **{f"{k}_t": v[0] for k, v in spikes.items()},
                     **{f"{k}_i": v[1] for k, v in spikes.items()})
    sim.end()


if __name__ == "__main__":
    main()
