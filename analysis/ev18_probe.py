#!/usr/bin/env python
"""ev18: the engine's own scatter probe (parsnn.engine.prefetch.measure: CPU time of the static delivery of a
synthetic spike sequence, uniformly drawn sources, 32 spikes per ring slot) on the calibration's scatter networks
and on PD14, 1 rank 1 thread, with prefetch distances 0 and 128 in alternation, plus the structure of their
rows (synapses per row, per delay run, distinct ring cache lines per row).

    python analysis/ev18_probe.py [--nets scatter2k,scatter8k,scatter32k,pd14_0.1,pd14_0.25] [--rounds 7]
"""
import argparse
import json

import numpy as np
from mpi4py import MPI

from parsnn.engine import prefetch
from parsnn.engine.simulation import Simulation
from parsnn.mapping.cluster import measure


def sg_scatter(targets, row, t_ms=1500.0, rate=20.0, seed=7):
    """The scatter network with spike_generator sources (Poisson times at ``rate``, drawn here, for ``t_ms``)
    instead of poisson_source devices: no source update in the update phase."""
    from parsnn.network import FixedTotalNumber, Network, Normal
    n_s = 2500 * 2048 // row
    rng = np.random.default_rng(seed)
    steps = int(t_ms / 0.1)
    times = [np.unique(rng.integers(1, steps, rng.poisson(rate * t_ms * 1e-3))) * 0.1 for _ in range(n_s)]
    times = [[round(float(x), 1) for x in t] for t in times]
    net = Network(0.1, name="scatter")
    net.add_population("S", n_s, "spike_generator", spike_times=times)
    net.add_population("T", targets, "iaf_psc_exp")
    net.connect("S", "T", FixedTotalNumber(n_s * row), weight=1e-3, delay=Normal(1.5, 0.75, 0.1))
    net.metadata = {"model": "scatter", "expected_rates": {"T": 0.0}}
    return net


def network(name):
    if name.startswith("sgscatter"):
        # sgscatterNk_rROW: as scatterNk_rROW with spike_generator sources (sg_scatter)
        base, _, row = name.partition("_r")
        return sg_scatter(int(base[9:-1]) * 1000, int(row or 2048))
    if name.startswith("scatter"):
        # scatterNk[_rROW]: the calibration's scatter network into N x 1000 targets; with _rROW, rows of ROW
        # synapses from 2500 x 2048 / ROW sources (the same synapses in all)
        base, _, row = name.partition("_r")
        row = int(row or 2048)
        return measure.calibration_network({"model": "scatter", "targets": int(base[7:-1]) * 1000, "row": row,
                                            "sources": 2500 * 2048 // row})
    # pd14_N: PD14 at n_scaling N with DC background (as the calibration); pd14p_N: with Poisson background
    return measure.calibration_network({"model": "pd14", "n_scaling": float(name.split("_")[1]),
                                        "bg": "poisson" if name.startswith("pd14p") else "dc"})


def rows(st):
    """Synapses per non-empty row, synapses per delay run, and distinct (slot, 64-byte line) per row."""
    B = int(st.T) * int(st.syn_W)
    ptr = np.asarray(st.syn_ptr)[::B]
    rptr = np.asarray(st.run_ptr)[::B]
    lens = np.diff(ptr)
    runs = np.diff(rptr)
    ne = lens > 0
    rng = np.random.default_rng(3)
    tgt = np.asarray(st.syn_tgt16) if st.tgt16 else np.asarray(st.syn_tgt)
    run_d, run_n = np.asarray(st.run_d), np.asarray(st.run_n)
    lines = []
    for g in rng.choice(np.flatnonzero(ne), 200):
        d = np.repeat(run_d[rptr[g]:rptr[g + 1]].astype(np.int64), run_n[rptr[g]:rptr[g + 1]])
        t = tgt[ptr[g]:ptr[g + 1]].astype(np.int64)
        lines.append(np.unique(d * (int(st.ring_n) * 8 // 64 + 1) + t * 8 // 64).size / t.size)
    return {"row_mean": float(lens[ne].mean()), "synapses_per_run": float(lens[ne].sum() / runs[ne].sum()),
            "distinct_lines_per_event": float(np.mean(lines)), "D": int(st.D), "ring_n": int(st.ring_n),
            "ring_mib": int(st.D) * int(st.ring_n) * 8 / 2**20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", default="scatter2k,scatter8k,scatter32k,pd14_0.1,pd14_0.25")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    out = {}
    for name in a.nets.split(","):
        sim = Simulation(network(name), seed=55, comm=comm, prefetch=128)
        sim.build()
        st = sim.st
        seq = prefetch.spike_sequence(st)
        ev = int(prefetch.source_row_lengths(st)[seq[0]].sum())
        cands = (0, 128)
        t = prefetch.measure(st, comm, seq, cands, a.rounds)
        med = np.median(t, axis=0) * 1e9 / ev
        out[name] = {**rows(st), "probe_events": ev, "probe_ns_per_event": {str(c): round(float(m), 3) for c, m in zip(cands, med)}}
        print(name, json.dumps(out[name]), flush=True)
        sim.free()
    if a.out:
        json.dump(out, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
