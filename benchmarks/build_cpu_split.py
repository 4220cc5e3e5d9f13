#!/usr/bin/env python
"""CPU seconds of PD14's build on one process with T threads: all threads together and the main
thread alone (the OpenMP master, which waits passively), so the build's thread speed-up can be
estimated on a machine too busy to time it by the wall clock (1 x 1 CPU / 1 x T main-thread CPU;
an estimate: it assumes the T threads run at once), and two checkouts can be compared by CPU.

    python benchmarks/build_cpu_split.py --n-scaling 0.5 --threads 1,2 [--label L --out FILE.json]

Run it with each checkout's own python (its venv's bin/python) to compare them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time


def measure(n_scaling: float, threads: int) -> dict:
    """One build in this process: {'all_threads_cpu_s', 'main_thread_cpu_s', 'wall_s', 'timers'}."""
    import importlib

    from parsnn.engine import Simulation
    try:
        pd14 = importlib.import_module("parsnn.models.pd14")
    except ImportError:      # source tree
        pd14 = importlib.import_module("models.pd14")
    sim = Simulation(pd14.build_network(n_scaling=n_scaling), seed=55, threads=threads)
    r0, m0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time(), time.perf_counter()
    sim.build()
    r1, m1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time(), time.perf_counter()
    return {"threads": threads, "all_threads_cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 3),
            "main_thread_cpu_s": round(m1 - m0, 3), "wall_s": round(t1 - t0, 3),
            "timers": {k: round(v, 3) for k, v in sim.build_timers.items()}, "synapses": int(sim.num_synapses)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--label", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)     # internal: one build, JSON out
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.n_scaling, args.one)))
        return 0
    runs = []
    for t in map(int, args.threads.split(",")):          # a fresh process per build
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--n-scaling", str(args.n_scaling), "--one", str(t)],
                             check=True, capture_output=True, text=True).stdout
        runs.append({**json.loads(out.strip().splitlines()[-1]), "loadavg_1min_before": load})
        print(json.dumps(runs[-1]))
    one = next((r for r in runs if r["threads"] == 1), None)
    entry = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "python": sys.executable,
             "n_scaling": args.n_scaling, "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
             "shared_machine": True, "runs": runs,
             "estimated_speedup": {str(r["threads"]): round(one["all_threads_cpu_s"] / r["main_thread_cpu_s"], 3)
                                   for r in runs} if one else {}}
    if args.out:
        results = json.load(open(args.out)) if os.path.exists(args.out) else {}
        results[args.label or f"n{args.n_scaling}"] = entry
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
