#!/usr/bin/env python
"""What the prefetch tuner (parsnn/engine/prefetch.py) chooses on this machine, from a fresh cache.

    python benchmarks/prefetch_tune.py [--n-scaling 0.25] [--ranks 2] [--threads 1] [--repeats 3] [--out FILE.json]

Each repeat runs ``benchmarks/parsnn_pd14.py --prefetch auto`` (DC drive, 10 ms, no warm-up) under
``mpiexec -n R`` with ``XDG_CACHE_HOME`` set to a new empty directory, so the engine measures every
candidate distance at its first run; reported per repeat: the chosen distance, the median ns per
event of each candidate (the slowest rank of each trial), the tuning's seconds, and the 1-minute
load average before it; plus the machine (CPU model, cores).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ab_layouts import _cpu, write_json  # noqa: E402


def tune_once(args) -> dict:
    """One run from an empty cache; its prefetch record and load average."""
    load = os.getloadavg()[0]
    root = os.path.dirname(HERE)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [os.path.join(root, ".venv/bin/mpiexec"), "-n", str(args.ranks), sys.executable,
               os.path.join(HERE, "parsnn_pd14.py"), "--n-scaling", str(args.n_scaling), "--t-sim", "10",
               "--warmup", "0", "--bg", "dc", "--threads", str(args.threads), "--prefetch", "auto",
               "--json-out", out]
        subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "XDG_CACHE_HOME": tmp})
        with open(out) as f:
            r = json.load(f)
    return {"load1_before": load, "build_seconds": r["build_seconds"], "num_synapses": r["num_synapses"],
            **r["prefetch"]}


def main(argv=None) -> int:
    """Run the repeats, print and optionally write the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    runs = []
    for i in range(args.repeats):
        runs.append(tune_once(args))
        print(i, json.dumps(runs[-1]), flush=True)
    res = {"machine": _cpu(), "n_scaling": args.n_scaling, "ranks": args.ranks, "threads": args.threads,
           "chosen": [r["distance"] for r in runs], "runs": runs}
    write_json(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
