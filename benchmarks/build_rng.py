#!/usr/bin/env python
"""Build time of PD14 side by side: two parsnn checkouts (or realisation schemes, or thread counts),
run alternately (A B A B ...), medians of the build time each run prints.

    python benchmarks/build_rng.py --a "/path/to/branch/.venv/bin" --b "/path/to/main/.venv/bin" \\
        --ranks 2 --n-scaling 0.25 --runs 3 --label main_vs_branch --out benchmarks/results/build_rng_xeon.json
    python benchmarks/build_rng.py --a BIN --b BIN --a-args "--threads 2" --b-args "--threads 1" --ranks 1 ...

``--a`` / ``--b``: the ``bin`` folder of each checkout's venv (its ``mpiexec`` and ``parsnn``); ``--a-args`` /
``--b-args``: extra ``parsnn run`` options (e.g. ``--realisation v1``). Each run is ``mpiexec -n R parsnn run
pd14 --n-scaling S --t-sim 1 --no-record --no-progress``; A and B run in turn, each run's whole-process wall
seconds (a monotonic clock around it) and CPU seconds (the operating system's accounting of the finished
child, ``os.wait4``) are kept with the pair ratios; the build seconds (max over ranks) are read from each
run's summary. The result (one entry under ``label`` in ``--out``) names the machine and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import time
import statistics
import subprocess
import tempfile


def _command(bindir: str, ranks: int, n_scaling: float, extra: str) -> list[str]:
    """One parsnn run of PD14 (argument list)."""
    return [f"{bindir}/mpiexec", "-n", str(ranks), f"{bindir}/parsnn", "run", "pd14", "--n-scaling", str(n_scaling),
            "--t-sim", "1", "--no-record", "--no-progress", *shlex.split(extra)]


def _timed(cmd: list[str], log: str) -> dict:
    """Run ``cmd`` with its output appended to ``log``: whole-process wall and CPU seconds."""
    with open(log, "a") as f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime}


def _builds(log: str) -> list[float]:
    """The 'build time' seconds of every run in ``log``."""
    with open(log) as f:
        return [float(x) for x in re.findall(r"^build time\s+([0-9.]+) s", f.read(), re.M)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="bin folder of checkout A's venv")
    ap.add_argument("--b", required=True, help="bin folder of checkout B's venv (the baseline)")
    ap.add_argument("--a-args", default="")
    ap.add_argument("--b-args", default="")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    cmd_a = _command(args.a, args.ranks, args.n_scaling, args.a_args)
    cmd_b = _command(args.b, args.ranks, args.n_scaling, args.b_args)
    load = os.getloadavg()
    runs = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        la, lb = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
        for _ in range(args.runs):
            runs["A"].append(_timed(cmd_a, la))
            runs["B"].append(_timed(cmd_b, lb))
        build_a, build_b = _builds(la), _builds(lb)
    whole = {f"{k} {x}": statistics.median(r[x] for r in runs[k]) for k in runs for x in ("wall", "cpu")}
    whole.update({f"A/B {x}": statistics.median(a[x] / b[x] for a, b in zip(runs["A"], runs["B"]))
                  for x in ("wall", "cpu")})
    entry = {"commands": {"A": " ".join(cmd_a), "B": " ".join(cmd_b)},
             "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
             "load_average_before": load, "shared_machine": True,
             "build_seconds": {"A": build_a, "B": build_b,
                               "A_median": statistics.median(build_a), "B_median": statistics.median(build_b)},
             "whole_process_runs": runs, "whole_process_medians": whole}
    entry["build_A_over_B"] = entry["build_seconds"]["A_median"] / entry["build_seconds"]["B_median"]
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    results[args.label] = entry
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
