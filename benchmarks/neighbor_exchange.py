#!/usr/bin/env python
"""Latency of the neighbourhood exchange (``MPI_Neighbor_alltoallv`` on a distributed-graph
communicator, parsnn's ``--exchange neighbor``) against the fixed-block ``MPI_Alltoall`` (``alltoall``),
by neighbour count: the constants ``[collectives] neighbor_fixed_us`` and ``neighbor_edge_us`` of the
cost model (parsnn/mapping/cluster/collectives.py, ``neighbor_block``).

    python benchmarks/neighbor_exchange.py --ranks 2,3,4 --repeats 3 --out benchmarks/results/neighbor_exchange_xeon.json

Compiles ``benchmarks/neighbor_exchange.c`` with the environment's mpicc and runs it under mpiexec for
every rank count, the rank counts alternating, ``--repeats`` times. The fits (least squares of
t = fixed + k x edge over the medians): over 2-3 ranks, and over every rank count; runs with more
ranks than cores are labelled oversubscribed (on a 2-core machine, 3 and 4 ranks: a latency order of
magnitude only).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def compile_bench(workdir: str) -> str:
    """mpicc -O2 benchmarks/neighbor_exchange.c; the executable's path."""
    mpicc = os.path.join(os.path.dirname(sys.executable), "mpicc")
    exe = os.path.join(workdir, "neighbor_exchange")
    subprocess.run([mpicc, "-O2", "-o", exe, os.path.join(HERE, "neighbor_exchange.c")], check=True)
    return exe


def fit(points: list[tuple[int, float]]) -> dict:
    """Least squares t = fixed + k edge over (k, t) points (us)."""
    n = len(points)
    mk = sum(k for k, _ in points) / n
    mt = sum(t for _, t in points) / n
    sxx = sum((k - mk) ** 2 for k, _ in points)
    edge = sum((k - mk) * (t - mt) for k, t in points) / sxx if sxx > 0 else 0.0
    return {"neighbor_fixed_us": round(mt - edge * mk, 4), "neighbor_edge_us": round(edge, 4), "points": len(points)}


def main(argv=None) -> int:
    """Run the sweep, write the JSON result and a short Markdown table beside it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", default="2,3,4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--words", type=int, default=32, help="uint64 words per edge / rank (the engine's first block)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    ranks = [int(x) for x in args.ranks.split(",")]
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_bench(tmp)
        for rep in range(args.repeats):
            for P in ranks:
                out = subprocess.run([mpiexec, "-n", str(P), exe, str(args.iterations), str(args.words)],
                                     capture_output=True, text=True, check=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                row.update(repeat=rep, oversubscribed=P > cores, loadavg=os.getloadavg()[0])
                runs.append(row)
    med = {}
    for P in ranks:
        rows = [r for r in runs if r["ranks"] == P]
        med[P] = {"alltoall_us": statistics.median(r["alltoall_us"] for r in rows),
                  "neighbor_us": [statistics.median(r["neighbor_us"][k] for r in rows) for k in range(P - 1)],
                  "oversubscribed": P > cores}
    pts = [(k + 1, t) for P, m in med.items() if P <= 3 for k, t in enumerate(m["neighbor_us"])]
    result = {"machine": platform.processor() or platform.machine(), "cpu_count": cores, "words": args.words,
              "iterations": args.iterations, "repeats": args.repeats, "medians": {str(P): m for P, m in med.items()},
              "fit_up_to_3_ranks": fit(pts) if len({k for k, _ in pts}) > 1 else None,
              "fit_all": fit([(k + 1, t) for m in med.values() for k, t in enumerate(m["neighbor_us"])]),
              "runs": runs, "command": " ".join(sys.argv)}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"# Neighbourhood exchange vs fixed-block Alltoall ({args.words} words), us per call, median of "
             f"{args.repeats} runs x 5 repetitions", "", f"machine: {result['machine']}, {cores} cores; command: "
             f"`{result['command']}`", "", "| ranks | oversubscribed | Alltoall | neighbour k=1 | k=2 | k=3 |",
             "|---|---|---|---|---|---|"]
    for P, m in med.items():
        cells = [f"{t:.2f}" for t in m["neighbor_us"]] + [""] * (3 - len(m["neighbor_us"]))
        lines.append(f"| {P} | {'yes' if m['oversubscribed'] else 'no'} | {m['alltoall_us']:.2f} | " + " | ".join(cells[:3]) + " |")
    lines += ["", f"fit over 2-3 ranks: {result['fit_up_to_3_ranks']}", f"fit over all rank counts: {result['fit_all']}",
              "", "Runs with more ranks than cores share cores (oversubscribed): their times give a latency "
              "order of magnitude, not a dedicated node's."]
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
