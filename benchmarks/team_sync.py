#!/usr/bin/env python
"""The threads' synchronisation per 0.1 ms interval, measured with the engine's own thread team
(parsnn/mapping/cluster/teambench.py: an inactive network on 1 rank x 1 thread, 1 x T with the
persistent team, 1 x T with one OpenMP region per interval, the three alternating, medians over the repeats).

    python benchmarks/team_sync.py [--threads 2] [--repeats 7] [--t-sim 300] [--launches 3] \\
        --out benchmarks/results/team_sync_MACHINE.json [--shared]

Each launch is a fresh process (teambench.launch); the result file holds every run, the medians over all
runs of all launches, the constants the cost model reads (``thread_team_us``, ``thread_omp_region_us``),
the machine and the load average around each launch. ``--shared``: notes that other work ran on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None) -> int:
    """Run the launches, pool their runs, write JSON (and a short markdown beside it)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--t-sim", type=float, default=300.0)
    ap.add_argument("--launches", type=int, default=3)
    ap.add_argument("--shared", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    from bench_pd14 import describe_machine, machine_info
    from parsnn.mapping.cluster import teambench
    launches = [teambench.launch(threads=args.threads, repeats=args.repeats, t_sim_ms=args.t_sim)
                for _ in range(args.launches)]
    pooled = {name: [r for res in launches for r in res["runs"][name]] for name in launches[0]["runs"]}
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall_us", "untimed_us", "serial_us")}
           for name, rs in pooled.items()}
    result = {"what": "us per 0.1 ms interval, inactive network (no spikes) on 1 rank: 'one' = 1 thread, 'team' = "
                      f"{args.threads} threads with the engine's team, 'region' = {args.threads} threads, one OpenMP "
                      "region per interval; untimed = wall time outside the engine's phase timers",
              "machine": describe_machine(machine_info()), "shared_machine": args.shared,
              "threads": args.threads, "repeats_per_launch": args.repeats, "launches": args.launches,
              "t_sim_ms": args.t_sim, "median": med, "per_launch_constants": [teambench.constants(r) for r in launches],
              "loadavg": [[r["loadavg_before"], r["loadavg_after"]] for r in launches], "runs": pooled}
    result.update(teambench.constants({"threads": args.threads, "median": med}))
    with open(args.out, "w") as f:
        f.write(json.dumps(result, indent=1) + "\n")
    lines = [f"# Thread synchronisation per interval ({args.threads} threads, engine's team vs OpenMP region)", "",
             f"Machine: {result['machine']}" + (" -- SHARED with other work while measured" if args.shared else ""),
             "", f"Command: `python benchmarks/team_sync.py {' '.join(argv or sys.argv[1:])}`", "",
             "| config | wall us/interval | untimed us/interval (median) |", "|---|---|---|"]
    lines += [f"| {k} | {v['wall_us']:.2f} | {v['untimed_us']:.2f} |" for k, v in med.items()]
    lines += ["", f"thread_team_us = {result['thread_team_us']:.2f}, thread_omp_region_us = "
              f"{result['thread_omp_region_us']:.2f} (medians of {args.launches} x {args.repeats} runs each); "
              f"per launch: {result['per_launch_constants']}", "",
              f"1-min load average before/after each launch: {result['loadavg']}"]
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(json.dumps({"median": med, "thread_team_us": result["thread_team_us"],
                      "thread_omp_region_us": result["thread_omp_region_us"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
