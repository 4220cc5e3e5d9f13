#!/usr/bin/env python
"""Where PD14's build time goes with 1 and T threads, per phase, on a machine that may be busy:
alternating builds (1 thread, T threads, 1, T, ...), each in a fresh process, and for every phase
its wall seconds, the CPU seconds of the main thread (the OpenMP master; serial work runs there)
and of all threads together, and the minor page faults; the pair ratios of the build's wall time
(T / 1) and of its CPU estimate (the main thread's CPU with T threads over all CPU with 1: what the
wall ratio would be if the T threads always ran at once, the machine otherwise idle), and the peak
RSS of each build.

    python benchmarks/build_phase_split.py --n-scaling 0.5 --threads 2 --pairs 5 --label L --out FILE.json \\
        [--base OTHER_CHECKOUT]

The phases are the build's own functions, timed by wrapping them in this process: count (pass 1),
generate (pass 2's kernels; with the owner split, where the threads sort their own rows by delay
right after drawing them, that sort too; with the split by synapse count, generate_units only), touch (the synapse arrays' pages faulted in before pass 2, each thread its own part:
the kernel zeroing fresh pages; without it that time is in generate), group (the separate sort by delay
and the delay runs), runs (concatenation of the runs), alloc (the synapse arrays), buffers (the ring buffers and
the rest of the run's state, Simulation._setup_buffers), other (the rest of Simulation.build: Python between the
kernels, neurons, routes). Per phase also the minor faults of the main thread alone (``main_minflt``: pages
first touched serially; the rest were touched by the other threads), and after the build the process's
resident, anonymous and anonymous huge-page memory (/proc/self/smaps_rollup: how much of it the kernel
backs with 2 MiB pages), and the host's steal time during the build's process (``host_steal_ms``,
:mod:`parsnn.machines.steal`). ``--base``: a second checkout (a source tree with its kernels built, e.g. by ``git archive``
of a commit and ``setup.py build_ext --inplace``), run with the same python in the same rounds (base 1,
base T, this 1, this T), to compare the two.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

PHASES = ("count", "touch", "generate", "group", "runs", "alloc", "buffers")
METRICS = ("wall", "main_cpu", "all_cpu", "minflt", "main_minflt")


def _clock() -> tuple:
    """(wall, main-thread CPU, process CPU, minor page faults, those of the main thread) now."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (time.perf_counter(), time.thread_time(), r.ru_utime + r.ru_stime, r.ru_minflt,
            resource.getrusage(resource.RUSAGE_THREAD).ru_minflt)


def _smaps() -> dict:
    """This process's resident and anonymous huge-page memory now, MiB (/proc/self/smaps_rollup; {} elsewhere)."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kib = {ln.split(":")[0]: int(ln.split()[1]) for ln in f if ln.split()[-1:] == ["kB"]}
    except OSError:
        return {}
    return {k: round(kib.get(k, 0) / 1024, 1) for k in ("Rss", "Anonymous", "AnonHugePages")}


def _wrap(table: dict, name: str, owner, attr: str):
    """Replace owner.attr by a function adding its (wall, main CPU, all CPU, faults) to table[name]."""
    fn = getattr(owner, attr)

    def timed(*args, **kwargs):
        c0 = _clock()
        try:
            return fn(*args, **kwargs)
        finally:
            c1 = _clock()
            table[name] = [a + (y - x) for a, x, y in zip(table[name], c0, c1)]
    setattr(owner, attr, timed)


def measure(n_scaling: float, threads: int) -> dict:
    """One build in this process: per phase [wall, main-thread CPU, all-thread CPU, minor faults]."""
    import importlib

    import numpy as np

    from parsnn import _connect
    from parsnn.engine import Simulation, synapses
    try:
        pd14 = importlib.import_module("parsnn.models.pd14")
    except ImportError:      # source tree
        pd14 = importlib.import_module("models.pd14")
    table = {p: [0.0, 0.0, 0.0, 0, 0] for p in PHASES}
    _wrap(table, "count", synapses, "_count_chunked" if hasattr(synapses, "_count_chunked") else "_count_plans")
    if hasattr(_connect, "touch_pages"):
        _wrap(table, "touch", _connect, "touch_pages")
    # pass 2's kernels (generate_plans also sorts each thread's rows by delay where it can)
    _wrap(table, "generate", _connect, "generate_plans" if hasattr(_connect, "generate_plans") else "generate")
    if hasattr(_connect, "generate_units"):          # pass 2 split by synapse count
        _wrap(table, "generate", _connect, "generate_units")
    for name in ("group_rows_by_delay", "delay_runs", "runs_of_counts", "group_rows_split"):
        if hasattr(_connect, name):
            _wrap(table, "group", _connect, name)
    _wrap(table, "runs", synapses.DelayRuns, "from_blocks")
    _wrap(table, "buffers", Simulation, "_setup_buffers")     # ring buffers and the rest of the run's state
    sim = Simulation(pd14.build_network(n_scaling=n_scaling), seed=55, threads=threads)
    real_empty = np.empty

    def empty(shape, dtype=float, *a, **k):      # the synapse arrays: their allocation (lazy pages) only
        c0 = _clock()
        out = real_empty(shape, dtype, *a, **k)
        c1 = _clock()
        table["alloc"] = [s + (y - x) for s, x, y in zip(table["alloc"], c0, c1)]
        return out
    synapses.np = type("np_proxy", (), {"__getattr__": staticmethod(lambda n: getattr(np, n)),
                                         "empty": staticmethod(empty)})()
    c0 = _clock()
    sim.build()
    c1 = _clock()
    total = [y - x for x, y in zip(c0, c1)]
    other = [t - sum(table[p][i] for p in PHASES) for i, t in enumerate(total)]
    phases = {p: {m: (round(x, 3) if isinstance(x, float) else x) for m, x in zip(METRICS, v)}
              for p, v in {**table, "other": other, "build": total}.items()}
    return {"threads": threads, "phases": phases, "timers": {k: round(v, 3) for k, v in sim.build_timers.items()},
            "synapses": int(sim.num_synapses), "peak_rss_mb": round(sim.build_peak_rss / 2**20, 1),
            "smaps_after_build_mb": _smaps()}


def _one(n_scaling: float, threads: int, checkout: str) -> dict:
    """One build in a fresh process, with the parsnn of ``checkout`` (a source tree with its kernels built)."""
    from parsnn.machines.steal import StealMeter     # here, not at the top: a --base checkout's child may lack it
    load = os.getloadavg()[0]
    steal = StealMeter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([checkout, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    out = subprocess.run([sys.executable, __file__, "--n-scaling", str(n_scaling), "--one", str(threads)],
                         check=True, capture_output=True, text=True, env=env, cwd=checkout).stdout
    return {**json.loads(out.strip().splitlines()[-1]), "loadavg_1min_before": load, "host_steal_ms": steal.ms()}


def _summary(pairs: list, keys: tuple) -> dict:
    """Medians over the pairs of every phase's figures, per thread count."""
    return {key: {**{p: {m: statistics.median(pr[key]["phases"][p][m] for pr in pairs)
                         for m in METRICS} for p in (*PHASES, "other", "build")},
                  "peak_rss_mb": statistics.median(pr[key]["peak_rss_mb"] for pr in pairs)} for key in keys}


def _entry(pairs: list, T: int, checkout: str) -> dict:
    """The result of one checkout's pairs: medians per phase, pair ratios and their medians."""
    entry = {"checkout": checkout, "medians": _summary(pairs, ("1", str(T))),
             "wall_ratios": [p["wall_ratio"] for p in pairs],
             "cpu_estimate_ratios": [p["cpu_estimate_ratio"] for p in pairs]}
    entry["median_wall_ratio"] = statistics.median(entry["wall_ratios"])
    entry["median_cpu_estimate_ratio"] = statistics.median(entry["cpu_estimate_ratios"])
    return {**entry, "pairs": pairs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--label", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--base", default=None, help="another checkout (source tree, kernels built) to alternate with")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)     # internal: one build, JSON out
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.n_scaling, args.one)))
        return 0
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"this": here, **({"base": os.path.abspath(args.base)} if args.base else {})}
    pairs = {name: [] for name in checkouts}
    for _ in range(args.pairs):               # base 1, base T, this 1, this T, base 1, ...
        for name in sorted(checkouts):
            one, many = _one(args.n_scaling, 1, checkouts[name]), _one(args.n_scaling, args.threads, checkouts[name])
            b1, bt = one["phases"]["build"], many["phases"]["build"]
            pairs[name].append({"1": one, str(args.threads): many, "wall_ratio": round(bt["wall"] / b1["wall"], 3),
                                "cpu_estimate_ratio": round(bt["main_cpu"] / b1["all_cpu"], 3)})
            print(name, json.dumps({k: pairs[name][-1][k] for k in ("wall_ratio", "cpu_estimate_ratio")}), flush=True)
    entry = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "python": sys.executable,
             "n_scaling": args.n_scaling, "threads": args.threads,
             "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
             "shared_machine": True, **{name: _entry(pairs[name], args.threads, checkouts[name]) for name in checkouts}}
    for name in checkouts:
        print(name, json.dumps({k: entry[name][k] for k in ("median_wall_ratio", "median_cpu_estimate_ratio",
                                                            "wall_ratios", "cpu_estimate_ratios")}))
        print(json.dumps(entry[name]["medians"], indent=1))
    if args.out:
        results = json.load(open(args.out)) if os.path.exists(args.out) else {}
        results[args.label or f"n{args.n_scaling}"] = entry
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
