#!/usr/bin/env python
"""Per-step overhead of the engine: microseconds per 0.1 ms step on an inactive network.

An inactive network (200 iaf_psc_exp neurons at rest, no input, so no spike ever; fixed in-degree
10 with delay 0.1 ms, so every step is a min-delay interval with its exchange) costs almost nothing
inside the kernels: its wall time per step is the loop's own overhead (Python, calls, MPI
collectives). Compares installations side by side, alternating their runs:

    python benchmarks/step_overhead.py --python main=/work/main/.venv/bin/python \\
        --python cloop=.venv/bin/python --ranks 1,2 --repeats 7 --out benchmarks/results/step_overhead.json

Each run is ``mpiexec -n P PYTHON benchmarks/step_overhead.py --worker``: build, 100 ms untimed,
then ``--t-sim`` ms timed between barriers (max over ranks). The result file holds every run, the
medians per (installation, ranks, threads), the machine and the load average before each run.

``--wait poll --wait yield --wait 'poll+MPIR_CVAR_CH4_PROGRESS_THROTTLE=1'`` measures each installation
with each exchange wait policy (``--mpi-wait``; after ``+``, environment settings of that variant, e.g.
MPICH CVARs), alternating too; without ``--wait`` the installation's default policy.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(t_sim: float, threads: int, wait: str | None = None) -> dict:
    """One timed run on COMM_WORLD; rank 0 returns the figures."""
    from mpi4py import MPI
    from parsnn.engine import Simulation
    from parsnn.network import FixedIndegree, Network
    comm = MPI.COMM_WORLD
    net = Network(0.1, name="inactive")
    net.add_population("N", 200, "iaf_psc_exp")
    net.connect("N", "N", FixedIndegree(10), weight=1.0, delay=0.1)
    kw = {"threads": threads} if threads != 1 else {}
    if wait:
        kw["mpi_wait"] = wait
    sim = Simulation(net, seed=1, comm=comm, keep_spikes=False, progress=False, **kw)
    sim.build()
    sim.run(100.0)
    comm.Barrier()
    t0 = time.perf_counter()
    sim.run(t_sim)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    steps = int(round(t_sim / 0.1))
    perf = sim.performance()
    assert sum(perf["spike_counts"]) == 0, "the benchmark network must stay silent"
    return {"ranks": comm.size, "threads": threads, "steps": steps, "wall_seconds": wall,
            "us_per_step": wall / steps * 1e6,
            "timers_us_per_step": {k: max(perf[f"timer_{k}"]) / (steps + 1000) * 1e6
                                   for k in ("update", "exchange", "deliver", "record")}}


def _one(python: str, ranks: int, threads: int, t_sim: float, wait: str = "") -> dict:
    mpiexec = os.path.join(os.path.dirname(python), "mpiexec")
    policy, *settings = wait.split("+") if wait else [""]
    cmd = [mpiexec, "-n", str(ranks), python, os.path.join(HERE, "step_overhead.py"), "--worker",
           "--t-sim", str(t_sim), "--threads", str(threads)] + (["--mpi-wait", policy] if policy else [])
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in settings))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd="/tmp", env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def driver(args) -> dict:
    """Alternate the installations' runs; medians per (installation, ranks, threads)."""
    sys.path.insert(0, HERE)
    from bench_pd14 import describe_machine, machine_info
    pythons = dict(p.split("=", 1) for p in args.python)
    layouts = [(int(r), 1) for r in args.ranks.split(",")] + [(1, int(t)) for t in args.threads.split(",") if
                                                               t and int(t) > 1]
    runs = []
    for rep in range(args.repeats):
        for ranks, threads in layouts:
            for label, py, wait in [(lb, py, w) for lb, py in pythons.items() for w in args.wait or [""]]:
                if threads > 1 and label in args.no_threads:
                    continue
                load = os.getloadavg()[0]
                r = _one(os.path.abspath(py) if os.path.exists(py) else py, ranks, threads, args.t_sim, wait)
                label = f"{label}/{wait}" if wait else label
                r.update(installation=label, repeat=rep, loadavg_1min_before=load)
                runs.append(r)
                print(f"{label:8s} {ranks}x{threads}: {r['us_per_step']:8.2f} us/step (load {load:.2f})",
                      file=sys.stderr, flush=True)
    medians = {}
    for r in runs:
        medians.setdefault(f"{r['installation']} {r['ranks']}x{r['threads']}", []).append(r["us_per_step"])
    m = machine_info()
    return {"what": "microseconds of wall time per 0.1 ms step, inactive 200-neuron network (no spikes), "
                    "min delay 0.1 ms: the step loop's overhead outside the neuron and delivery work",
            "machine": describe_machine(m), "machine_info": m, "shared_machine": args.shared,
            "t_sim_ms": args.t_sim, "repeats": args.repeats,
            "median_us_per_step": {k: statistics.median(v) for k, v in medians.items()},
            "range_us_per_step": {k: [min(v), max(v)] for k, v in medians.items()}, "runs": runs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", action="store_true", help="run one measurement (under mpiexec)")
    ap.add_argument("--t-sim", type=float, default=2000.0, help="timed model time in ms (default 2000)")
    ap.add_argument("--threads", default="1", help="worker: threads; driver: extra 1-rank thread counts")
    ap.add_argument("--python", action="append", default=[], metavar="LABEL=PYTHON",
                    help="an installation to measure (repeatable)")
    ap.add_argument("--no-threads", action="append", default=[], metavar="LABEL",
                    help="an installation without threads (skipped for thread layouts)")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--wait", action="append", default=[], metavar="POLICY[+VAR=VALUE...]",
                    help="driver: an exchange wait policy to measure (repeatable); worker: the policy")
    ap.add_argument("--mpi-wait", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--shared", action="store_true", help="note in the result that the machine was shared")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.worker:
        r = worker(args.t_sim, int(args.threads), args.mpi_wait)
        from mpi4py import MPI
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(r))
        return 0
    result = driver(args)
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(json.dumps(result["median_us_per_step"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
