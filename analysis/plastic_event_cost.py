#!/usr/bin/env python
"""Measure the cost model's ``compute.plastic_event_ns`` on this machine: what a plastic synaptic event
costs above a static one (the weight update from the target's spike archive, the source's trace).

    python analysis/plastic_event_cost.py [--scale 0.05] [--t-sim 100] [--repeats 5] --out FILE.json

The same runs and fit as ``parsnn calibrate`` (its ``hpc_P1`` / ``hpcstatic_P1`` networks,
:func:`parsnn.mapping.cluster.plasticcost.plastic_event_cost`): NEST's hpc_benchmark at a small scale on
1 rank, with STDP on E->E and with static E->E synapses (``--static``), alternating, each repeat with
the null network for the per-interval deliver cost. Per repeat: the static run's deliver time per
event, the extra per plastic event, and their ratio (the ratio is what carries over between machines
and loads: both event costs grow together when other jobs share the cores). The file keeps every
figure, the load before each launch and the machine's fingerprint.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys


def main(argv=None) -> int:
    """Run the repeats, fit each, write the result file and print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--t-sim", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from parsnn.machines import fingerprint
    from parsnn.mapping.cluster import measure, plasticcost
    fits = []
    for rep in range(args.repeats):
        jobs = [[{"model": "null"}, 500.0], [{"model": "hpc_benchmark", "scale": args.scale}, args.t_sim],
                [{"model": "hpc_benchmark", "scale": args.scale, "static": True}, args.t_sim]]
        null, plastic, static = measure.launch(jobs, 1, timeout=3600)
        o_del = null["perf"]["timer_deliver"][0] / null["intervals"]
        c = plasticcost.plastic_event_cost(plastic, static, o_del)
        c.update(repeat=rep, rates_plastic=plastic["rates"], rates_static=static["rates"],
                 ratio_to_static_event=c["plastic_event_ns"] / c["plastic_fit"]["static_event_ns"],
                 busy_cores_before=plastic["busy_cores_before"], started=plastic["started"])
        fits.append(c)
        print(json.dumps(c), flush=True)
    med = {k: statistics.median(f[k] for f in fits) for k in ("plastic_event_ns", "ratio_to_static_event")}
    med["static_event_ns"] = statistics.median(f["plastic_fit"]["static_event_ns"] for f in fits)
    out = {"command": "python analysis/plastic_event_cost.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "date": datetime.datetime.now().isoformat(timespec="seconds"), "scale": args.scale, "t_sim_ms": args.t_sim,
           "fingerprint": fingerprint.current_fingerprint(), "loadavg_end": os.getloadavg(), "median": med,
           "repeats": fits}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, default=str)
    print(json.dumps(med))
    return 0


if __name__ == "__main__":
    sys.exit(main())
