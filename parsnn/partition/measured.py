"""Measured communication and load metrics of a run, and the remote deliveries predicted from its
partition and its measured per-neuron rates against the engine's count.

The metrics are those of :mod:`parsnn.partition.metrics` (see there), counted by the engine
(``Simulation.performance()``) instead of expected from the description.
"""
from __future__ import annotations


import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.partition.metrics import BYTES_PER_SPIKE, expected_metrics
from parsnn.partition.rates import balance_costs, neuron_rates


def counted_window(perf: dict) -> tuple[float, float]:
    """(start, end) in ms of the model time the engine's counters cover: a run restored from a
    checkpoint counts from the checkpoint's time (``model_time_from_ms``), not from 0."""
    return float(perf.get("model_time_from_ms", 0.0)), float(perf["model_time_ms"])


def _spike_counts(conn: Connectivity, spikes: dict, t_from: float = 0.0) -> tuple[np.ndarray, list]:
    """Per-neuron spike counts from {population: (times, node_ids)} of the spikes after
    ``t_from`` ms (all of them when the times are None); also the placed populations that were
    not recorded."""
    counts = np.zeros(conn.num_nodes)
    missing = []
    for s, name in enumerate(conn.names):
        if conn.virtual[s]:
            continue
        if name not in spikes:
            missing.append(name)
            continue
        times, ids = spikes[name]
        ids = np.asarray(ids, dtype=np.int64)
        if times is not None and t_from > 0:
            ids = ids[np.asarray(times) > t_from]     # a spike of step s is stored at (s+1)*h
        counts[conn.offsets[s]:conn.offsets[s] + conn.sizes[s]] = np.bincount(ids, minlength=conn.sizes[s])
    return counts, missing


def predicted_vs_counted(conn: Connectivity, rank_of, nranks, spikes: dict, window: tuple[float, float],
                         counted: int) -> dict:
    """Remote deliveries predicted from the partition and the measured per-neuron
    rates in the counted ``window`` (start, end) ms, against the engine's count."""
    T = (window[1] - window[0]) * 1e-3
    nspk, missing = _spike_counts(conn, spikes, window[0])
    rates = nspk / T
    if missing:       # populations not recorded: fall back to their expected rates
        exp = neuron_rates(conn)
        for name in missing:
            s = conn.names.index(name)
            a = conn.offsets[s]
            rates[a:a + conn.sizes[s]] = exp[a:a + conn.sizes[s]]
    m = expected_metrics(conn, rank_of, nranks, rates=rates)
    predicted = m["remote_deliveries_per_s"] * T
    return {"predicted_remote_deliveries": predicted, "counted_remote_deliveries": int(counted),
            "relative_error": (predicted - counted) / counted if counted else float("nan"),
            "unrecorded_populations": missing, "expected_with_measured_rates": m}


def measured_metrics(sim) -> dict:
    """Measured metrics of a Simulation after ``run`` (collective: call on every rank).

    Remote deliveries and bytes as counted by the engine, the fraction of built
    synapses crossing ranks, the communicating rank pairs of the routes, the
    load imbalance of the cost model with the counted synaptic events (and of
    the wall-clock update+deliver time). With recorded spikes kept in memory,
    also the remote deliveries predicted from the partition and the measured
    per-neuron rates (``prediction``)."""
    from mpi4py import MPI
    comm = sim.comm
    perf = sim.performance()
    window = counted_window(perf)
    T = (window[1] - window[0]) * 1e-3
    ptr = sim._syn_table[0]
    per_src = np.diff(ptr)
    placed = sim.rank_of >= 0
    cross = int(per_src[placed & (sim.rank_of != sim.rank)].sum())
    local = int(per_src[placed].sum())
    cross, total = comm.allreduce(cross, op=MPI.SUM), comm.allreduce(local, op=MPI.SUM)
    dst = set(np.asarray(sim.st.dst_rank).tolist()) - {sim.rank}
    pairs = comm.allreduce(len(dst), op=MPI.SUM)
    rd = np.asarray(perf["remote_deliveries"], dtype=float)
    steps = (window[1] - window[0]) / sim.h
    update_s, update_step_ms, event_s, _ = balance_costs()   # (the run's events are not split by plasticity)
    cost = (np.asarray(perf["num_local_neurons"]) * steps * update_s * sim.h / update_step_ms
            + np.asarray(perf["synaptic_events"]) * event_s)
    wall = np.asarray(perf["timer_update"]) + np.asarray(perf["timer_deliver"])
    out = {
        "ranks": sim.size,
        "model_time_ms": perf["model_time_ms"],
        "counted_from_ms": window[0],
        "remote_deliveries": int(rd.sum()),
        "remote_deliveries_per_s": float(rd.sum() / T) if T > 0 else float("nan"),
        "bytes_per_rank_per_s": float(BYTES_PER_SPIKE * rd.max() / T) if T > 0 else float("nan"),
        "bytes_per_rank_per_s_mean": float(BYTES_PER_SPIKE * rd.mean() / T) if T > 0 else float("nan"),
        "cut_fraction": cross / total if total else 0.0,
        "communicating_pairs": int(pairs),
        "imbalance": float(cost.max() / cost.mean()) if cost.mean() > 0 else 1.0,
        "imbalance_wall": float(wall.max() / wall.mean()) if wall.mean() > 0 else 1.0,
    }
    if sim.keep_spikes and T > 0:
        spikes = sim.spikes()
        conn = Connectivity.from_network(sim.net)
        out["prediction"] = predicted_vs_counted(conn, sim.rank_of, sim.size, spikes, window,
                                                 out["remote_deliveries"])
    return out


def measured_from_file(path) -> dict:
    """Predicted (partition + measured per-neuron rates) against counted remote
    deliveries for a finished run's HDF5 file (needs recorded spikes)."""
    from parsnn.runfile import RunFile
    with RunFile(path, allow_incomplete=True) as run:
        rank_of = run.partition_map.astype(np.int64)
        conn = run.connectivity()
        perf = run.performance
        rd = np.asarray(perf["remote_deliveries"], dtype=np.int64)
        window = counted_window(perf)
        nranks = run.num_ranks
        spikes = run.spikes()
        strategy = run.partition
    out = predicted_vs_counted(conn, rank_of, nranks, spikes, window, int(rd.sum()))
    out.update(strategy=strategy, ranks=nranks, model_time_ms=window[1], counted_from_ms=window[0],
               remote_deliveries_per_rank=rd.tolist(),
               remote_deliveries_per_s=float(rd.sum()) / ((window[1] - window[0]) * 1e-3))
    return out

