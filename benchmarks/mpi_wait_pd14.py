#!/usr/bin/env python
"""PD14 on 2 ranks with each exchange wait policy (``--mpi-wait``), with and without a competing
CPU hog, runs alternating: how much the wait policy matters when the ranks share the cores.

    python benchmarks/mpi_wait_pd14.py --n-scaling 0.1 --t-sim 300 --repeats 3 \\
        --wait poll --wait yield --wait sleep --hog 0,1 --out benchmarks/results/mpi_wait_pd14.json

Each run is ``mpiexec -n RANKS parsnn run pd14 --n-scaling X --t-sim T --no-record --mpi-wait W``
(DC background, seed 55); its simulate time and exchange timer (max over ranks) are read from the
run file. ``--hog 0,1``: each policy without and with ONE busy-looping Python process started by
this script for the run (ended by its own PID right after). A wait entry may carry environment
settings after ``+`` (e.g. ``poll+MPIR_CVAR_CH4_PROGRESS_THROTTLE=1``). The result file holds every
run, the medians per (policy, hog), the machine and the load average before each run.
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


def one_run(python: str, ranks: int, n_scaling: float, t_sim: float, wait: str, hog: bool) -> dict:
    """One run; returns its figures (seconds)."""
    from parsnn.runfile import RunFile
    policy, *settings = wait.split("+")
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in settings))
    mpiexec = os.path.join(os.path.dirname(python), "mpiexec")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.h5")
        cmd = [mpiexec, "-n", str(ranks), python, "-m", "parsnn", "run", "pd14", "--n-scaling", str(n_scaling),
               "--t-sim", str(t_sim), "--no-record", "--no-progress", "--mpi-wait", policy, "--out", out]
        hog_proc = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if hog else None
        try:
            subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=tmp)
        finally:
            if hog_proc is not None:
                hog_proc.kill()         # the hog this run started, by its own PID
                hog_proc.wait()
        with RunFile(out) as run:
            perf = run.performance
    return {"simulate_seconds": float(max(perf["simulate_seconds"])),
            "exchange_seconds": float(max(perf["timer_exchange"])),
            "rtf": float(max(perf["simulate_seconds"])) / (t_sim * 1e-3)}


def main(argv=None) -> int:
    """Alternate (policy, hog) runs; print and write the medians."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--t-sim", type=float, default=300.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--wait", action="append", default=[], metavar="POLICY[+VAR=VALUE...]")
    ap.add_argument("--hog", default="0,1", help="hog settings to measure: 0 (none), 1 (one busy process)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    from bench_pd14 import describe_machine, machine_info
    waits = args.wait or ["poll", "yield", "sleep"]
    hogs = [bool(int(h)) for h in args.hog.split(",")]
    runs = []
    for rep in range(args.repeats):
        for hog in hogs:
            for wait in waits:
                load = os.getloadavg()[0]
                r = one_run(args.python, args.ranks, args.n_scaling, args.t_sim, wait, hog)
                r.update(wait=wait, hog=hog, repeat=rep, loadavg_1min_before=load)
                runs.append(r)
                print(f"{wait:12s} hog={int(hog)}: RTF {r['rtf']:7.2f}  exchange {r['exchange_seconds']:6.2f} s "
                      f"(load {load:.1f})", file=sys.stderr, flush=True)
    groups = {}
    for r in runs:
        groups.setdefault(f"{r['wait']} hog={int(r['hog'])}", []).append(r)
    m = machine_info()
    result = {"what": f"PD14 n_scaling {args.n_scaling}, DC, no recording, {args.ranks} ranks, {args.t_sim} ms: "
                      "simulate time (max over ranks) per exchange wait policy, with/without one busy process",
              "machine": describe_machine(m), "machine_info": m, "repeats": args.repeats,
              "median_rtf": {k: statistics.median(r["rtf"] for r in v) for k, v in groups.items()},
              "median_exchange_seconds": {k: statistics.median(r["exchange_seconds"] for r in v)
                                          for k, v in groups.items()},
              "range_rtf": {k: [min(r["rtf"] for r in v), max(r["rtf"] for r in v)] for k, v in groups.items()},
              "runs": runs}
    if args.out:
        with open(args.out, "w") as f:
            f.write(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"median_rtf": result["median_rtf"], "median_exchange_seconds":
                      result["median_exchange_seconds"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
