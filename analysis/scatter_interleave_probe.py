"""Issue 18 probe (session 20): the cost per event of the calibration's scatter networks measured as
`parsnn calibrate --quick` measures them (every network of the group built first, then 30 ms segments of each in
turn after a re-warm: parsnn.mapping.cluster.measure.run_interleaved) against the same networks measured alone
(measure.run_spec, one network built and run at a time, the same warm-up and segments) and per network (its two
prefetch distances interleaved, one build, no other network built). One rank.
Prints, per network: ns per event (deliver timer over events, no per-interval or per-spike costs subtracted)
by each protocol. Usage:
    python analysis/scatter_interleave_probe.py [--rounds 2] [--warmup-ms W] [--rewarm-ms R] [--out FILE.json]
"""
import argparse
import gc
import json
import sys

from mpi4py import MPI

from parsnn.mapping.cluster import calibrate, measure, scatter


def raw_ns(rec: dict) -> float:
    return float(sum(rec["perf"]["timer_deliver"])) / float(sum(rec["perf"]["synaptic_events"])) * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup-ms", type=float, help="default: the quick mode's (warmup x t)")
    ap.add_argument("--rewarm-ms", type=float, help="default: the quick mode's (rewarm x t)")
    ap.add_argument("--out")
    a = ap.parse_args()
    cfg = calibrate.MODES["quick"]
    t = cfg["t"]["scatter"]
    names = [n for n in calibrate.INTERLEAVED if n.startswith("scatter")]
    jobs = []
    for n in names:
        spec = dict(calibrate.SPECS_P1[n])
        spec.update(warmup_ms=cfg["warmup"] * t if a.warmup_ms is None else a.warmup_ms, segments=cfg["segments"],
                    rewarm_ms=cfg["rewarm"] * t if a.rewarm_ms is None else a.rewarm_ms)
        jobs.append((spec, t))
    comm = MPI.COMM_WORLD
    rows = []
    for rnd in range(a.rounds):
        inter = measure.run_interleaved(jobs, comm)
        alone = [measure.run_spec({k: v for k, v in spec.items() if k != "rewarm_ms"}, tt, comm) for spec, tt in jobs]
        # per network: its specs at both distances interleaved, no other network built (one shared build)
        pernet = {}
        for key in dict.fromkeys((s["targets"], s["row"]) for s, _t in jobs):
            idx = [i for i, (s, _t) in enumerate(jobs) if (s["targets"], s["row"]) == key]
            for i, rec in zip(idx, measure.run_interleaved([jobs[i] for i in idx], comm)):
                pernet[i] = rec
            gc.collect()
        for i, (n, ri, ra) in enumerate(zip(names, inter, alone)):
            r = {"round": rnd, "network": n, "interleaved_ns": raw_ns(ri), "alone_ns": raw_ns(ra),
                 "per_network_ns": raw_ns(pernet[i]),
                 "events_per_spike": sum(ri["perf"]["synaptic_events"]) / max(1, sum(ri["delivered_spikes"]))}
            rows.append(r)
            print(json.dumps(r), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"command": " ".join(sys.argv), "warmup_ms": jobs[0][0]["warmup_ms"],
                       "rewarm_ms": jobs[0][0]["rewarm_ms"], "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
