"""Traffic measured in a run: per-neuron rates and per-step population spike counts from a run file.

:func:`_read_run` is the only place that reads the run file (metadata, network description,
spikes after the warm-up).
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.mapping.neuromorphic.cores import placed_rates


def _read_run(path, warmup_ms: float, max_steps: int | None):
    """(connectivity, metadata, {population: (times, ids)} of the spikes in [t0, t1), t0, t1, steps) of a run file."""
    from parsnn.runfile import RunFile
    with RunFile(path, allow_incomplete=True) as run:
        meta = run.metadata
        desc = meta.get("parameters")
        if not isinstance(desc, dict) or "populations" not in desc:
            raise ParameterError(f"{path}: no network description in /parsnn parameters")
        conn = Connectivity.from_description(desc)
        t_sim = float(meta.get("t_sim", 0.0))
        t0 = warmup_ms if t_sim > warmup_ms else 0.0
        if t_sim <= t0:
            raise ParameterError(f"{path}: t_sim {t_sim} ms leaves no spikes after the warm-up ({warmup_ms} ms)")
        h = float(conn.resolution)
        K = int(round((t_sim - t0) / h))
        if max_steps:
            K = min(K, int(max_steps))
        t1 = t0 + K * h
        spikes = run.spikes(None, t0, t1)
    return conn, meta, spikes, t0, t1, K


def run_inputs(path, warmup_ms: float = 500.0, max_steps: int | None = None) -> dict:
    """Connectivity, per-neuron measured rates and per-step population spike counts of a run file
    (populations that were not recorded: their expected rates and Poisson counts)."""
    conn, meta, spikes, t0, t1, K = _read_run(path, warmup_ms, max_steps)
    h = float(conn.resolution)
    rates = placed_rates(conn)
    counts = np.zeros((K, len(conn.names)))
    missing = []
    for s in np.flatnonzero(~conn.virtual):
        name = conn.names[s]
        if name not in spikes:
            missing.append(name)
            counts[:, s] = np.random.default_rng(s).poisson(rates[conn.offsets[s]] * h * 1e-3 * conn.sizes[s], K)
            continue
        t, ids = spikes[name]
        a = conn.offsets[s]
        rates[a:a + conn.sizes[s]] = np.bincount(ids.astype(np.int64), minlength=conn.sizes[s])[:conn.sizes[s]] \
            / ((t1 - t0) * 1e-3)
        k = np.minimum(((t - t0) / h).astype(np.int64), K - 1)
        counts[:, s] = np.bincount(k, minlength=K)
    return {"conn": conn, "rates": rates, "step_counts": counts, "window_ms": [t0, t1], "unrecorded": missing,
            "meta": {k: meta.get(k) for k in ("model", "seed", "num_ranks", "partition", "t_sim")}}
