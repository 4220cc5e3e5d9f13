#!/usr/bin/env python
"""Threads against ranks on PD14: 1 rank x 2 threads beside 2 ranks x 1 thread (and 1 x 1).

    python benchmarks/threads_pd14.py [--n-scaling 0.25] [--t-sim 1000] [--warmup 200] [--repeats 3]
                                      [--shared] [--out benchmarks/results/threads_pd14.json]

Every run is ``mpiexec -n R python benchmarks/parsnn_pd14.py --threads T`` (DC drive, no recording,
seed 55), the layouts alternating within each repeat. Reported per layout: the medians of the build
time (max over ranks), the RTF of the timed phase and the peak memory summed over ranks; the build
speed-up of 2 threads over 1 (1x1 build / 1x2 build). The result file names the machine and the
load average before each run (``--shared``: the machine was shared with other work).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUTS = [(1, 1), (1, 2), (2, 1)]


def run_one(ranks: int, threads: int, args) -> dict:
    """One parsnn_pd14.py run; its JSON result."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [mpiexec, "-n", str(ranks), sys.executable, os.path.join(HERE, "parsnn_pd14.py"),
               "--n-scaling", str(args.n_scaling), "--t-sim", str(args.t_sim), "--warmup", str(args.warmup),
               "--bg", "dc", "--threads", str(threads), "--json-out", out]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        with open(out) as f:
            return json.load(f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--warmup", type=float, default=200.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shared", action="store_true", help="the machine was shared with other work")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    from bench_pd14 import describe_machine, machine_info
    runs = []
    for rep in range(args.repeats):
        for ranks, threads in LAYOUTS:
            load = os.getloadavg()[0]
            r = run_one(ranks, threads, args)
            keep = {k: r[k] for k in ("ranks", "threads", "build_seconds", "rtf", "peak_rss_bytes_total",
                                      "num_synapses", "timers")}
            keep.update(repeat=rep, loadavg_1min_before=load)
            runs.append(keep)
            print(f"{ranks}x{threads}: build {r['build_seconds']:.2f} s, RTF {r['rtf']:.3f}, "
                  f"{r['peak_rss_bytes_total'] / 2**30:.2f} GiB (load {load:.2f})", file=sys.stderr, flush=True)
    table = {}
    for ranks, threads in LAYOUTS:
        mine = [r for r in runs if (r["ranks"], r["threads"]) == (ranks, threads)]
        table[f"{ranks}x{threads}"] = {k: statistics.median(r[k] for r in mine)
                                       for k in ("build_seconds", "rtf", "peak_rss_bytes_total")}
    result = {"what": f"PD14 n_scaling {args.n_scaling}, DC, no recording: medians of {args.repeats} alternating "
                      f"runs per layout (ranks x threads); RTF of {args.t_sim:g} ms after {args.warmup:g} ms",
              "machine": describe_machine(machine_info()), "shared_machine": args.shared,
              "medians": table,
              "build_speedup_2_threads": table["1x1"]["build_seconds"] / table["1x2"]["build_seconds"],
              "rtf_1x2_over_2x1": table["1x2"]["rtf"] / table["2x1"]["rtf"],
              "memory_1x2_over_2x1": table["1x2"]["peak_rss_bytes_total"] / table["2x1"]["peak_rss_bytes_total"],
              "runs": runs}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
