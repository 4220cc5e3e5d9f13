#!/usr/bin/env python
"""ev18: deliver CPU time per synaptic event in real runs (the engine's per-thread CPU timers, st.cpu_timers: the
time other processes hold the core is left out), 1 rank 1 thread, several (network, prefetch distance) pairs built
in one process and run in alternation: a warm-up of 60 ms each, then ROUNDS rounds of (re-warm 12 ms, SEG ms
measured) for every pair in turn. Networks named as in analysis/ev18_probe.py.

    python analysis/ev18_cpu_runs.py --pairs pd14_0.1:128,pd14_0.1:0,scatter8k:128,scatter8k:0 [--rounds 6] [--seg 100]
"""
import argparse
import json
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, "analysis")
from ev18_probe import network  # noqa: E402
from parsnn.engine.simulation import Simulation


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default="pd14_0.1:128,pd14_0.1:0,scatter8k:128,scatter8k:0")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seg", type=float, default=100.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    sims = []
    for p in a.pairs.split(","):
        name, pf = p.split(":")
        s = Simulation(network(name), seed=55, comm=MPI.COMM_WORLD, prefetch=int(pf))
        s.build()
        s.st.cpu_timers = True
        s.run(60.0)
        sims.append((p, s))
    res = {p: [] for p, _ in sims}
    for _ in range(a.rounds):
        for p, s in sims:
            s.run(12.0)
            e0, d0, c0 = int(s.st.n_events), int(s.st.n_delivered_spikes), float(s.st.t_deliver_cpu[0])
            s.run(a.seg)
            e1, d1, c1 = int(s.st.n_events), int(s.st.n_delivered_spikes), float(s.st.t_deliver_cpu[0])
            res[p].append({"ns_per_event": (c1 - c0) / max(e1 - e0, 1) * 1e9, "events": e1 - e0, "spikes": d1 - d0})
    out = {}
    for p, s in sims:
        ns = [r["ns_per_event"] for r in res[p]]
        ev = sum(r["events"] for r in res[p])
        sp = sum(r["spikes"] for r in res[p])
        out[p] = {"prefetch": s.prefetch_info, "ns_per_event_rounds": [round(x, 3) for x in ns],
                  "ns_per_event_median": round(float(np.median(ns)), 3), "events_per_spike": ev / max(sp, 1)}
        print(p, json.dumps(out[p]), flush=True)
    if a.out:
        json.dump(out, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
