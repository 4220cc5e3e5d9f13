#!/usr/bin/env python
"""Per-thread CPU seconds of PD14's parallel build phases (count = pass 1, generate = pass 2's draws
and writes, group = the sort of the rows by delay and their runs), read from the connect kernels'
own per-thread counters (each OpenMP thread's CLOCK_THREAD_CPUTIME_ID inside the parallel regions).
CPU time, not wall time: the balance between the threads holds on a loaded machine.

    python benchmarks/build_thread_cpu.py --n-scaling 0.25 --threads 2 [--repeats 3] [--label L --out FILE.json]

Each build runs in a fresh process (seed 55, one rank).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

PHASES = ("count", "generate", "group")


def measure(n_scaling: float, threads: int) -> dict:
    """One build in this process: per-thread CPU seconds per phase, the build timers and the wall time."""
    import importlib

    from parsnn import _connect
    from parsnn.engine import Simulation
    try:
        pd14 = importlib.import_module("parsnn.models.pd14")
    except ImportError:      # source tree
        pd14 = importlib.import_module("models.pd14")
    sim = Simulation(pd14.build_network(n_scaling=n_scaling), seed=55, threads=threads)
    _connect.thread_cpu_seconds(threads, reset=True)
    t0 = time.perf_counter()
    sim.build()
    wall = time.perf_counter() - t0
    cpu = _connect.thread_cpu_seconds(threads)
    per_phase = {ph: [round(float(x), 4) for x in cpu[:, k]] for k, ph in enumerate(PHASES)}
    per_phase["sum_of_phases"] = [round(float(x), 4) for x in cpu.sum(axis=1)]
    per_phase["max_over_mean"] = {ph: round(float(cpu[:, k].max() / max(cpu[:, k].mean(), 1e-12)), 4)
                                  for k, ph in enumerate(PHASES)}
    return {"threads": threads, "thread_cpu_s": per_phase, "build_wall_s": round(wall, 3),
            "timers": {k: round(v, 3) for k, v in sim.build_timers.items()}, "synapses": int(sim.num_synapses)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--label", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)     # internal: one build, JSON out
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.n_scaling, args.threads)))
        return 0
    runs = []
    for _ in range(args.repeats):
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--n-scaling", str(args.n_scaling), "--threads",
                              str(args.threads), "--one"], check=True, capture_output=True, text=True).stdout
        runs.append({**json.loads(out.strip().splitlines()[-1]), "loadavg_1min_before": load})
        print(json.dumps(runs[-1]))
    entry = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "label": args.label,
             "n_scaling": args.n_scaling, "machine": platform.processor() or platform.machine(),
             "cpu_count": os.cpu_count(), "runs": runs}
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(entry, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
