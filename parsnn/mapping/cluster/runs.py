"""What the cluster cost model needs from a finished run: its network description, partition
map, model time and measured population rates (:func:`run_inputs`).

The run file is read in :func:`_read_run_file` alone (the one place that knows the HDF5 schema
here), so that it can be replaced by the library's run-file reader.
"""
from __future__ import annotations

import json

import numpy as np


def _read_run_file(f) -> dict:
    """The fields of a run file (an open h5py.File) the cost model uses: ``description``,
    ``t_sim_ms``, ``rank_of``, ``ranks``, ``spike_counts`` (the engine's per-population counts,
    None if absent) and ``recorded_spikes`` ({population: recorded spikes}, None without a spikes group)."""
    g = f["parsnn"]
    perf = g["performance"].attrs if "performance" in g else {}
    recorded = None
    if "spikes" in f:
        recorded = {name: grp["timestamps"].shape[0] for name, grp in f["spikes"].items() if "timestamps" in grp}
    return {"description": json.loads(g.attrs["parameters"]), "t_sim_ms": float(g.attrs["t_sim"]),
            "rank_of": np.asarray(g["partition_map"]), "ranks": int(g.attrs["num_ranks"]),
            "spike_counts": np.asarray(perf["spike_counts"]) if "spike_counts" in perf else None,
            "recorded_spikes": recorded}


def run_inputs(f) -> dict:
    """What the model needs from a finished run (an open h5py.File or a path): its network
    description, partition map, model time and measured population rates -- from the engine's
    spike counts (every population, recorded or not), else from the recorded spikes, else none
    (``rates`` None: the expected rates). ``rates_from`` says which."""
    import h5py
    if not isinstance(f, h5py.File):
        with h5py.File(f, "r") as h:
            return run_inputs(h)
    run = _read_run_file(f)
    desc, t_sim_ms = run["description"], run["t_sim_ms"]
    t_s = t_sim_ms * 1e-3
    pops = desc.get("populations", [])
    counts = run["spike_counts"]
    rates, source = {}, "expected"
    if counts is not None and len(counts) == len(pops) and t_s > 0:
        rates = {p["name"]: float(c) / p["size"] / t_s for p, c in zip(pops, counts)
                 if p["size"] > 0 and p.get("model") != "spike_generator"}
        source = "spike_counts"
    elif run["recorded_spikes"] is not None and t_s > 0:
        sizes = {p["name"]: p["size"] for p in pops}
        for name, n in run["recorded_spikes"].items():
            if name in sizes:
                rates[name] = n / sizes[name] / t_s
                source = "recorded_spikes"
    return {"description": desc, "rank_of": run["rank_of"], "ranks": run["ranks"],
            "t_sim_ms": t_sim_ms, "rates": rates or None, "rates_from": source}
