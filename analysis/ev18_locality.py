#!/usr/bin/env python
"""ev18: how evenly a network's synaptic events spread over its ring (1 rank, 1 thread): run it for --t ms,
count each source's spikes, weight every synapse (target, delay) by its source's spikes, and report the
participation ratios (the scatter networks record no spikes: their sources, Poisson at
one rate, weigh equally) (1 / sum p^2: the number of equally used items that would give the same concentration) of
the events over the target neurons, over the 64-byte ring lines of a slot (8 neurons), and over the delays,
next to the number of neurons that receive synapses and the delays that occur.

    python analysis/ev18_locality.py --nets pd14_0.1,scatter8k_r4096,scatter8k --t 300
"""
import argparse
import json
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, "analysis")
from ev18_probe import network  # noqa: E402
from parsnn.engine.simulation import Simulation


def pr(w):
    p = w / w.sum()
    return float(1.0 / np.sum(p * p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", default="pd14_0.1,scatter8k_r4096,scatter8k")
    ap.add_argument("--t", type=float, default=300.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = {}
    for name in a.nets.split(","):
        net = network(name)
        sim = Simulation(net, seed=55, comm=MPI.COMM_WORLD, prefetch=128, keep_spikes=True)
        sim.build()
        e0 = int(sim.st.n_events)
        sim.run(a.t)
        st = sim.st
        B = int(st.T) * int(st.syn_W)
        srows = sim._syn_blocks[2]                       # compact source rows: spread over all gids
        ptr, rptr = srows.by_gid(st.syn_ptr, B)[::B], srows.by_gid(st.run_ptr, B)[::B]
        lens, nruns = np.diff(ptr), np.diff(rptr)
        # spikes per source gid from the recorded spikes
        counts = np.zeros(lens.size)
        first, off = {}, 0
        for pname, pobj in net.populations.items():      # gids in the order the populations were added
            first[pname], off = off, off + pobj.size
        for pop, (_times, ids) in sim.spikes().items():  # ids: within the population
            np.add.at(counts, first[pop] + np.asarray(ids, dtype=np.int64), 1.0)
        if counts.sum() == 0:          # nothing recorded (the scatter networks): equal-rate Poisson sources
            counts[lens > 0] = 1.0
        src = np.repeat(np.arange(lens.size), lens)
        wsyn = counts[src]
        tgt = (np.asarray(st.syn_tgt16) if st.tgt16 else np.asarray(st.syn_tgt)).astype(np.int64)
        d = np.repeat(np.asarray(st.run_d).astype(np.int64), np.asarray(st.run_n).astype(np.int64))
        ev_t = np.bincount(tgt, weights=wsyn)
        ev_line = np.bincount(tgt // 8, weights=wsyn)
        ev_d = np.bincount(d, weights=wsyn)
        out[name] = {"events_counted": float(wsyn.sum()), "events_engine": int(st.n_events) - e0,
                     "target_neurons": int(np.count_nonzero(np.bincount(tgt))),
                     "pr_neurons": pr(ev_t[ev_t > 0]), "pr_lines": pr(ev_line[ev_line > 0]),
                     "delays": int(np.count_nonzero(ev_d)), "pr_delays": pr(ev_d[ev_d > 0]),
                     "ring_n": int(st.ring_n), "D": int(st.D)}
        print(name, json.dumps(out[name]), flush=True)
        sim.free()
    if a.out:
        json.dump(out, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
