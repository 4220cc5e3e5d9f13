"""What the cluster cost model needs from a finished run: its connectivity, partition map, model
time and measured population rates (:func:`run_inputs`).

The run file is read through :class:`parsnn.runfile.RunFile`, in :func:`_read_run_file`.
"""
from __future__ import annotations

import numpy as np


def _read_run_file(f) -> dict:
    """The fields of a run file (a path, an open h5py.File or a RunFile) the cost model uses: ``connectivity``,
    ``t_sim_ms``, ``rank_of``, ``ranks``, ``spike_counts`` (the engine's per-population counts,
    None if absent), ``recorded_spikes`` ({population: recorded spikes}, {} without recorded spikes) and
    ``prefetch_distance`` (the delivery's prefetch distance the run used, its ``run_info.delivery.prefetch``;
    None in a file written before it was recorded), ``facilitations`` (post spikes read by plastic synapses, all
    ranks; None in a file written before they were counted), ``history_windows`` (facilitation windows that searched
    the target's history, all ranks; None in a file written before session 23)."""
    from parsnn.runfile import RunFile
    with RunFile(f, allow_incomplete=True) as run:
        if run.t_sim is None:
            raise KeyError(f"{run.path}: no t_sim (the run did not finish)")
        counts = run.performance.get("spike_counts")
        fac = run.performance.get("plastic_facilitations")
        hw = run.performance.get("plastic_history_windows")
        pf = ((run.run_info or {}).get("delivery") or {}).get("prefetch") or {}
        return {"connectivity": run.connectivity(), "t_sim_ms": run.t_sim, "rank_of": run.partition_map,
                "facilitations": None if fac is None else int(np.sum(fac)),
                "history_windows": None if hw is None else int(np.sum(hw)),
                "ranks": run.num_ranks, "spike_counts": counts, "recorded_spikes": run.recorded_spike_counts(),
                "prefetch_distance": None if pf.get("distance") is None else int(pf["distance"])}


def run_inputs(f) -> dict:
    """What the model needs from a finished run (a path, an open h5py.File or a RunFile): its
    :class:`~parsnn.connectivity.Connectivity` (``connectivity``), partition map, model time and measured population rates -- from the engine's
    spike counts (every population, recorded or not), else from the recorded spikes, else none
    (``rates`` None: the expected rates). ``rates_from`` says which. ``interval_counts``: the populations' spike
    counts per interval (:func:`interval_spike_counts`, None without recorded spikes); ``prefetch_distance``: the
    run's prefetch distance (None if the file does not say), for ``predict(..., prefetch_distance=)``."""
    run = _read_run_file(f)
    conn, t_sim_ms = run["connectivity"], run["t_sim_ms"]
    t_s = t_sim_ms * 1e-3
    pops = conn.description.get("populations", [])
    counts = run["spike_counts"]
    rates, source = {}, "expected"
    if counts is not None and len(counts) == len(pops) and t_s > 0:
        rates = {p["name"]: float(c) / p["size"] / t_s for p, c in zip(pops, counts)
                 if p["size"] > 0 and p.get("model") != "spike_generator"}
        source = "spike_counts"
    elif run["recorded_spikes"] and t_s > 0:
        sizes = {p["name"]: p["size"] for p in pops}
        for name, n in run["recorded_spikes"].items():
            if name in sizes:
                rates[name] = n / sizes[name] / t_s
                source = "recorded_spikes"
    if source == "spike_counts" and run["facilitations"] is not None:
        conn.facilitation_ratio = facilitation_ratio(conn, counts, run["facilitations"])
    if source == "spike_counts" and run["history_windows"] is not None:
        conn.history_window_ratio = facilitation_ratio(conn, counts, run["history_windows"])
    return {"connectivity": conn, "rank_of": run["rank_of"], "ranks": run["ranks"],
            "t_sim_ms": t_sim_ms, "rates": rates or None, "rates_from": source,
            "interval_counts": interval_spike_counts(f), "prefetch_distance": run["prefetch_distance"]}


def facilitation_ratio(conn, spike_counts, facilitations: int) -> float | None:
    """Facilitations (or any count of the plastic synapses' work, e.g. history windows) per plastic event of a run:
    the count over the events its populations' spike counts (in the order of the description's populations) send
    through plastic synapses; None without plastic events."""
    from parsnn.mapping.cluster.workload import spike_events
    names = [p["name"] for p in conn.description.get("populations", [])]
    events, _ = spike_events(conn, dict(zip(names, spike_counts)))
    return float(facilitations) / events if events > 0 else None


def interval_spike_counts(f):
    """The populations' spike counts in every min-delay interval of the run (intervals x populations, in
    the order of the run's connectivity) from the recorded spikes (a path, an open h5py.File or a
    RunFile); a population without recorded spikes gets Poisson counts of its mean count per interval
    (from the engine's spike counts; fixed seed). None without recorded spikes or min delay."""
    import numpy as np
    from parsnn.runfile import RunFile
    with RunFile(f, allow_incomplete=True) as run:
        perf, t_sim, names = run.performance, run.t_sim, run.connectivity().names
        rec = run.recorded_spike_counts()
        md = perf.get("min_delay_ms")
        if not rec or md is None or not t_sim:
            return None
        h = float(np.ravel(md)[0])
        n = int(round(float(t_sim) / h))
        x = np.zeros((n, len(names)))
        counts = run.spike_counts() or {}
        rng = np.random.default_rng(0)
        for s, name in enumerate(names):
            # a spike of step t has the time (t + 1) x resolution: interval i holds (i m + 1 .. (i + 1) m) x res
            x[:, s] = (run.step_counts(name, run.resolution, n, h) if name in rec
                       else rng.poisson(float(counts.get(name, 0)) / max(n, 1), n))
    return x
