"""The best layout of a node: ranks per node x threads per rank for a node count, by the cost model.

For every node count, :func:`best_layouts` predicts (:func:`~parsnn.mapping.cluster.predict.predict`)
every layout that fills the machine's cores per node -- threads T a divisor of the cores, ranks per
node = cores / T -- and keeps the one with the smallest predicted RTF, with its RTF range (the
calibration's between-batch spread) and the other layouts' RTFs. Layouts with T > 1 need the
machine file's thread constants (``[threads]``); without them only T = 1 is tried (and said so).
:func:`limiting_terms` names the parts of the critical path that limit a prediction.
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
                 threads=None, min_delay_steps: int | None = None, max_ranks: int | None = None) -> list[dict]:
    """For every node count in ``nodes``, the layout (ranks per node x threads) with the smallest
    predicted RTF: a dict with ``nodes``, ``ranks_per_node``, ``threads``, ``ranks``, ``rtf``,
    ``rtf_range``, ``phases``, ``exchange_terms``, ``dominant``, ``limiting`` (the terms that limit it,
    :func:`limiting_terms`), ``machine``, ``layouts`` (every layout tried: ranks_per_node, threads, rtf)
    and ``note`` (why layouts were skipped, or ''). ``threads``: the thread counts to try (default: every
    divisor of the cores per node); ``max_ranks``: skip layouts of more ranks (the model's P x P
    matrices; said in the note)."""
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
        tried, skipped = [], []
        for t in options:
            rpn = cores // t
            P = n * rpn
            if max_ranks is not None and P > max_ranks and t != max(options):
                skipped.append(f"{rpn}x{t}")
                continue
            wl = workload(conn, P, partition, rates, min_delay_steps)
            p = predict(conn, P, mach, partition, rates, min_delay_steps, rpn, wl=wl, threads=t)
            tried.append(p)
        best = min(tried, key=lambda p: p["rtf"])
        out.append({"nodes": n, "ranks_per_node": best["ranks_per_node"], "threads": best["threads"],
                    "ranks": best["ranks"], "rtf": best["rtf"], "rtf_range": best["rtf_range"],
                    "phases": best["phases"], "exchange_terms": best["exchange_terms"],
                    "dominant": best["dominant"], "limiting": limiting_terms(best),
                    "machine": best["machine"], "model": best["model"],
                    "interval_ms": best["interval_ms"],
                    "layouts": [{"ranks_per_node": p["ranks_per_node"], "threads": p["threads"], "rtf": p["rtf"],
                                 "rtf_range": p["rtf_range"]} for p in tried],
                    "note": note + (f"{'; ' if note else ''}layouts of more than {max_ranks} ranks not predicted "
                                    f"({', '.join(skipped)} ranks/node x threads)" if skipped else "")})
    return out


#: how :func:`limiting_terms` names the threads' synchronisation per interval (``exchange_terms['threads_sync']``)
SYNC_LABELS = {"team": "threads' team meeting (arrivals, wake)", "omp_region": "threads' OpenMP region (fork, join)",
               "none": "threads' synchronisation"}


def limiting_terms(p: dict, top: int = 3) -> list[dict]:
    """The largest parts of a prediction's critical path per interval, largest first: ``term`` and
    ``us`` and ``share`` of the critical path, from its slowest rank's update and deliver, the exchange's
    own work (pack, sort), the threads' synchronisation (the team's meeting or an OpenMP region), the
    imbalance and fluctuation, the collective (its scheme) and its overflow, the exchange call."""
    x, ph = p["exchange_terms"], p["phases"]
    sync = SYNC_LABELS.get(x.get("threads_sync", "omp_region"), SYNC_LABELS["omp_region"])
    terms = {"update (slowest rank)": ph["update_max"], "deliver (slowest rank)": ph["deliver_max"],
             "pack and sort (exchange's own work)": x["pack_and_fixed"], sync: x["threads_region"],
             "waiting for the slowest rank (imbalance, fluctuation)": max(0.0, p["compute_s"] - ph["update_max"]
                                                                           - ph["deliver_max"] - x["pack_and_fixed"]
                                                                           - x["threads_region"]),
             f"collective ({x.get('scheme', 'alltoall')}, {x['alltoall_algorithm']})": x["alltoall_block"],
             "overflow rounds": x["overflow"], "exchange call": x["collective_calls"]}
    crit = max(p["critical_path_s"], 1e-300)
    ranked = sorted(terms.items(), key=lambda kv: -kv[1])[:top]
    return [{"term": k, "us": round(v * 1e6, 4), "share": round(v / crit, 4)} for k, v in ranked]
