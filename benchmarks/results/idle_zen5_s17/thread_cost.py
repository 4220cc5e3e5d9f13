#!/usr/bin/env python
"""Per run of an ab_layouts.py result file: each thread's (1 x T side) or rank's (R x 1 side) delivery
cost per synaptic event, its events, its wait at the team's meetings (threads) or the exchange timer of
rank 0 (ranks), and the host steal during the run.

    python benchmarks/results/idle_zen5_s17/thread_cost.py FILE.json [FILE.json ...]
"""
import json
import statistics
import sys


def side_rows(side: dict):
    for r in side["runs"]:
        tt = r.get("thread_timers")
        if not tt:
            continue
        if len(tt) == 1:                                     # one rank, its threads
            units = [("T%d" % k, t) for k, t in enumerate(tt[0])]
        else:                                                # ranks, thread 0 of each
            units = [("R%d" % k, t[0]) for k, t in enumerate(tt)]
        yield r, units


for path in sys.argv[1:]:
    d = json.load(open(path))
    print(f"{path}: n_scaling {d['n_scaling']}, {d['t_sim_ms']:g} ms")
    for name in ("a", "b"):
        side = d[name]
        excess = []
        print(f"  {name}: {side['ranks']} x {side['threads']} {side.get('args', '')}")
        for r, units in side_rows(side):
            ns = [1e9 * t["deliver_s"] / t["events"] for _, t in units]
            excess.append(ns[-1] / ns[0])
            cells = "  ".join(f"{u} {x:.2f} ns/ev {t['events'] / 1e6:.0f}M wait {t.get('wait_s', 0):.2f}"
                              for (u, t), x in zip(units, ns))
            print(f"    RTF {r['rtf']:.3f}  steal {r.get('host_steal_ms', {}).get('total', float('nan')):5.0f} ms  {cells}")
        if excess:
            print(f"    last / first unit's ns per event: median {statistics.median(excess):.3f} "
                  f"({min(excess):.3f}-{max(excess):.3f}, {sum(x > 1 for x in excess)} of {len(excess)} above 1)")
