#!/usr/bin/env python
"""Build time of PD14 side by side: two parsnn checkouts (or realisation schemes, or thread counts),
alternating under ``farm-bench``, medians of the build time each run prints.

    python benchmarks/build_rng.py --a "/work/wt/buildrng/.venv/bin" --b "/work/main/.venv/bin" \\
        --ranks 2 --n-scaling 0.25 --runs 3 --label main_vs_branch --out benchmarks/results/build_rng_xeon.json
    python benchmarks/build_rng.py --a BIN --b BIN --a-args "--threads 2" --b-args "--threads 1" --ranks 1 ...

``--a`` / ``--b``: the ``bin`` folder of each checkout's venv (its ``mpiexec`` and ``parsnn``); ``--a-args`` /
``--b-args``: extra ``parsnn run`` options (e.g. ``--realisation v1``). Each run is ``mpiexec -n R parsnn run
pd14 --n-scaling S --t-sim 1 --no-record --no-progress``; farm-bench alternates A and B and reports the whole
process's wall and CPU seconds; the build seconds (max over ranks) are read from each run's summary. The
result (appended as one entry under ``label`` in ``--out``) names the machine and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import tempfile


def _command(bindir: str, ranks: int, n_scaling: float, extra: str, log: str) -> str:
    """The shell-free farm-bench form of one parsnn run whose output goes to ``log``."""
    run = (f"exec {bindir}/mpiexec -n {ranks} {bindir}/parsnn run pd14 --n-scaling {n_scaling} --t-sim 1 "
           f"--no-record --no-progress {extra} >>{log} 2>&1")
    return f"sh -c {shlex.quote(run)}"


def _builds(log: str) -> list[float]:
    """The 'build time' seconds of every run in ``log``."""
    with open(log) as f:
        return [float(x) for x in re.findall(r"^build time\s+([0-9.]+) s", f.read(), re.M)]


def _figures(report: str) -> dict:
    """{row: median} of farm-bench's table (rows such as 'A wall s', 'A/B cpu')."""
    out = {}
    for line in report.splitlines():
        m = re.match(r"^(A/B \w+|[AB] \w+ \w+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$", line)
        if m:
            out[m.group(1)] = float(m.group(3))
    return out


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
    with tempfile.TemporaryDirectory() as tmp:
        la, lb = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
        cmd = ["farm-bench", "-n", str(args.runs), "--warmup", "0", "--timeout", "3600",
               "--vs", _command(args.b, args.ranks, args.n_scaling, args.b_args, lb), "--",
               *shlex.split(_command(args.a, args.ranks, args.n_scaling, args.a_args, la))]
        load = os.getloadavg()
        report = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        build_a, build_b = _builds(la), _builds(lb)
    entry = {"commands": {"A": _command(args.a, args.ranks, args.n_scaling, args.a_args, "LOG"),
                          "B": _command(args.b, args.ranks, args.n_scaling, args.b_args, "LOG")},
             "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
                        f"(farm-bench's first line: {report.splitlines()[0] if report else ''})",
             "load_average_before": load, "shared_machine": True,
             "build_seconds": {"A": build_a, "B": build_b,
                               "A_median": statistics.median(build_a), "B_median": statistics.median(build_b)},
             "farm_bench_medians": _figures(report)}
    entry["build_A_over_B"] = entry["build_seconds"]["A_median"] / entry["build_seconds"]["B_median"]
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    results[args.label] = entry
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
