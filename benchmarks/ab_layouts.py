#!/usr/bin/env python
"""Alternating A/B runs of PD14 (DC drive, no recording): two checkouts and/or two ranks x threads layouts.

    python benchmarks/ab_layouts.py --a /path/to/checkout_A:1x2 --b /path/to/checkout_B:2x1 \
        [--n-scaling 0.25] [--t-sim 2000] [--warmup 200] [--pairs 5] [--out FILE.json] \
        [--a-args '--prefetch 128'] [--b-args '...']

Every run is ``<checkout>/.venv/bin/mpiexec -n R <checkout>/.venv/bin/python
<checkout>/benchmarks/parsnn_pd14.py --threads T`` (seed 55), plus the side's extra arguments. The runs alternate A B A B ..., the order
within a pair swapping every pair (A B, B A, ...), so a drift in the machine's load falls on both sides.
Reported: each run's RTF, build time, CPU seconds of the timed run (summed over ranks; older
checkouts: 0), the engine timers of rank 0, per rank and thread the seconds in delivery, update,
waiting at the team's meetings and the serial part, and the synaptic events delivered (older
checkouts: null), the pair ratios RTF(A) / RTF(B) and CPU(A) / CPU(B)
and their medians; the machine (CPU model, cores), the 1-minute load average before every run and the
host's steal time during it (``host_steal_ms``, :mod:`parsnn.machines.steal`; whole run, build included).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile

from parsnn.machines.steal import StealMeter


def _side(spec: str) -> tuple[str, int, int]:
    """'checkout:RxT' -> (checkout, R, T)."""
    path, layout = spec.rsplit(":", 1)
    r, t = layout.lower().split("x")
    return os.path.abspath(path), int(r), int(t)


def _cpu() -> str:
    """The CPU model name and the number of online CPUs."""
    name = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} CPUs"


def run_one(side: tuple[str, int, int], args, extra: str = "") -> dict:
    """One parsnn_pd14.py run of ``side``; its JSON result with the load average before it."""
    path, ranks, threads = side
    load = os.getloadavg()[0]
    steal = StealMeter()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [os.path.join(path, ".venv/bin/mpiexec"), "-n", str(ranks), os.path.join(path, ".venv/bin/python"),
               os.path.join(path, "benchmarks/parsnn_pd14.py"), "--n-scaling", str(args.n_scaling),
               "--t-sim", str(args.t_sim), "--warmup", str(args.warmup), "--bg", "dc", "--threads", str(threads),
               "--json-out", out, *extra.split()]
        subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=path)
        stolen = steal.ms()
        with open(out) as f:
            r = json.load(f)
    timers = {k: v[0] if isinstance(v, list) else v for k, v in r.get("timers", {}).items()
              if k.startswith("timer_")}
    return {"rtf": r["rtf"], "build_seconds": r["build_seconds"], "load1_before": load,
            "peak_rss_bytes_total": r.get("peak_rss_bytes_total"), "timers_rank0": timers,
            "prefetch": r.get("prefetch"), "cpu_seconds": sum(r.get("simulate_cpu_seconds") or [0.0]),
            "thread_timers": r.get("thread_timers"), "host_steal_ms": stolen}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="checkout:RxT")
    ap.add_argument("--b", required=True, help="checkout:RxT")
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--warmup", type=float, default=200.0)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--out")
    ap.add_argument("--a-args", default="", help="extra arguments of parsnn_pd14.py for A")
    ap.add_argument("--b-args", default="", help="extra arguments of parsnn_pd14.py for B")
    args = ap.parse_args(argv)
    sides = {"A": _side(args.a), "B": _side(args.b)}
    runs = {"A": [], "B": []}
    for p in range(args.pairs):
        for s in ("AB" if p % 2 == 0 else "BA"):
            runs[s].append(run_one(sides[s], args, args.a_args if s == "A" else args.b_args))
            print(s, p, json.dumps({k: runs[s][-1][k] for k in ("rtf", "build_seconds", "load1_before")}),
                  "steal ms", runs[s][-1]["host_steal_ms"]["total"], flush=True)
    ratios = [a["rtf"] / b["rtf"] for a, b in zip(runs["A"], runs["B"])]
    res = {"machine": _cpu(), "n_scaling": args.n_scaling, "t_sim_ms": args.t_sim, "warmup_ms": args.warmup,
           "a": {"checkout": sides["A"][0], "args": args.a_args, "ranks": sides["A"][1], "threads": sides["A"][2],
                 "median_rtf": statistics.median(r["rtf"] for r in runs["A"]), "runs": runs["A"]},
           "b": {"checkout": sides["B"][0], "args": args.b_args, "ranks": sides["B"][1], "threads": sides["B"][2],
                 "median_rtf": statistics.median(r["rtf"] for r in runs["B"]), "runs": runs["B"]},
           "pair_ratios_rtf_a_over_b": ratios, "median_pair_ratio": statistics.median(ratios)}
    cpu = [a["cpu_seconds"] / b["cpu_seconds"] for a, b in zip(runs["A"], runs["B"]) if b["cpu_seconds"] > 0]
    if cpu:     # CPU seconds of the timed run summed over ranks: time other processes hold the cores left out
        res["pair_ratios_cpu_a_over_b"], res["median_pair_ratio_cpu"] = cpu, statistics.median(cpu)
    print(json.dumps({k: res[k] for k in ("pair_ratios_rtf_a_over_b", "median_pair_ratio", "pair_ratios_cpu_a_over_b",
                                          "median_pair_ratio_cpu") if k in res}))
    print("median RTF A", res["a"]["median_rtf"], "B", res["b"]["median_rtf"])
    write_json(args.out, res)
    return 0


def write_json(path, res: dict):
    """Write ``res`` to ``path`` (indented JSON), if a path is given."""
    if path:
        with open(path, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    raise SystemExit(main())
