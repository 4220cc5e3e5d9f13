"""The best layout of a node: ranks per node x threads per rank for a node count, by the cost model.

For every node count, :func:`best_layouts` predicts (:func:`~parsnn.mapping.cluster.predict.predict`)
every layout that fills the machine's cores per node -- threads T a divisor of the cores, ranks per
node = cores / T -- and keeps the one with the smallest predicted RTF, with its RTF range (the
calibration's between-batch spread) and the other layouts' RTFs. Layouts with T > 1 need the
machine file's thread constants (``[threads]``); without them only T = 1 is tried (and said so).
"""
from __future__ import annotations

from parsnn.connectivity import Connectivity, require
from parsnn.errors import ParameterError
from parsnn.mapping.cluster.predict import predict, _machine
from parsnn.mapping.cluster.workload import workload


def thread_options(cores: int, threads=None) -> list[int]:
    """Thread counts per rank that divide ``cores`` (all divisors, or those of ``threads`` that do)."""
    divisors = [t for t in range(1, cores + 1) if cores % t == 0]
    if threads is None:
        return divisors
    return [t for t in sorted(set(int(t) for t in threads)) if t in divisors]


def best_layouts(conn: Connectivity, nodes, machine=None, partition="round_robin", rates=None,
                 threads=None, min_delay_steps: int | None = None) -> list[dict]:
    """For every node count in ``nodes``, the layout (ranks per node x threads) with the smallest
    predicted RTF: a dict with ``nodes``, ``ranks_per_node``, ``threads``, ``ranks``, ``rtf``,
    ``rtf_range``, ``phases``, ``exchange_terms``, ``dominant``, ``machine``, ``layouts`` (every layout
    tried: ranks_per_node, threads, rtf) and ``note`` (why layouts were skipped, or ''). ``threads``:
    the thread counts to try (default: every divisor of the cores per node)."""
    require(conn, "conn", "best_layouts")
    mach = _machine(machine)
    cores = mach.cores_per_node
    options = thread_options(cores, threads)
    note = ""
    if "threads" not in mach.data and any(t > 1 for t in options):
        options, note = [1], (f"machine '{mach.name}' has no thread constants ([threads]): only 1 thread "
                              "per rank tried (parsnn calibrate measures them)")
    if not options:
        raise ParameterError(f"--threads: none of {threads} divides the {cores} cores per node of '{mach.name}'")
    out = []
    for n in nodes:
        n = int(n)
        if n < 1 or n > mach.max_nodes:
            raise ParameterError(f"--nodes must be in [1, {mach.max_nodes}] for machine '{mach.name}', got {n}")
        tried = []
        for t in options:
            rpn = cores // t
            P = n * rpn
            wl = workload(conn, P, partition, rates, min_delay_steps)
            p = predict(conn, P, mach, partition, rates, min_delay_steps, rpn, wl=wl, threads=t)
            tried.append(p)
        best = min(tried, key=lambda p: p["rtf"])
        out.append({"nodes": n, "ranks_per_node": best["ranks_per_node"], "threads": best["threads"],
                    "ranks": best["ranks"], "rtf": best["rtf"], "rtf_range": best["rtf_range"],
                    "phases": best["phases"], "exchange_terms": best["exchange_terms"],
                    "dominant": best["dominant"], "machine": best["machine"], "model": best["model"],
                    "interval_ms": best["interval_ms"],
                    "layouts": [{"ranks_per_node": p["ranks_per_node"], "threads": p["threads"], "rtf": p["rtf"],
                                 "rtf_range": p["rtf_range"]} for p in tried],
                    "note": note})
    return out
