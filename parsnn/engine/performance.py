"""Performance figures of a simulation: phase timers, per-rank counters, the progress bar.

The run loop adds wall-clock seconds to the phases :data:`PHASES`, the build to
:data:`BUILD_PHASES`; :func:`collect` gathers them with the per-rank counters and the spike
counts per population (collective). The names of the figures are the attributes of the run
file's ``/parsnn/performance`` group.
"""
from __future__ import annotations

import resource
import sys

import numpy as np
from mpi4py import MPI

#: phases of the run loop, timed per rank
PHASES = ("update", "exchange", "deliver", "record")
#: phases of the build, timed per rank
BUILD_PHASES = ("place", "neurons", "count", "connect", "group", "routes")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _spike_counts(sim) -> np.ndarray:
    """Spikes emitted per population over all run() calls, in the order of net.populations
    (spike generators 0: they are not simulated neurons), recorded or not (collective)."""
    fired = np.asarray(sim.st.n_fired) if sim.built else np.zeros(0, dtype=np.int64)
    where = sim.pop_local if sim.built else {}
    counts = np.array([int(fired[a:b].sum()) for a, b in
                       (where.get(name, (0, 0)) for name in sim.net.populations)], dtype=np.int64)
    if sim.size > 1:
        total = np.zeros_like(counts)
        sim.comm.Allreduce(counts, total, op=MPI.SUM)
        counts = total
    return counts


def collect(sim) -> dict:
    """Per-rank figures of the built Simulation ``sim`` gathered on every rank (collective):
    one list entry per rank for the timers and counters (simulate_seconds excludes the checkpoint
    writes, counted in checkpoint_seconds), plus the network-wide figures (spike_counts,
    num_synapses, bytes_per_static_synapse (the static synapse table of all ranks: targets, weights,
    row pointers, delay runs, over the static synapses), num_neurons, model_time_ms (end),
    model_time_from_ms (start: a restored run's
    checkpoint time), rtf, num_ranks, min_delay_ms)."""
    local = {
        "build_seconds": sim.build_seconds,
        "simulate_seconds": sim.simulate_seconds,
        "checkpoint_seconds": sim.checkpoint_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "num_local_neurons": int(sim.local_gids.size),
        "num_local_synapses": sim.num_local_synapses,
        "static_synapse_bytes": sim.static_synapse_bytes,
        "synaptic_events": int(sim.st.n_events),
        "plastic_facilitations": int(sim.plastic.facilitations),
        "plastic_history_windows": int(sim.plastic.history_windows),
        "remote_deliveries": int(sim.st.n_remote_sends),
        **{f"timer_{k}": v for k, v in sim.timers.items()},
        **{f"build_{k}": v for k, v in sim.build_timers.items()},
    }
    rows = sim.comm.allgather(local) if sim.size > 1 else [local]
    out = {k: [r[k] for r in rows] for k in local}
    out["spike_counts"] = _spike_counts(sim)
    t_model = sim.t_steps * sim.h
    out["num_synapses"] = sim.num_synapses
    n_static = sim.num_synapses - sim.comm.allreduce(sim.plastic.num_local) if sim.size > 1 else \
        sim.num_synapses - sim.plastic.num_local
    out["bytes_per_static_synapse"] = sum(out["static_synapse_bytes"]) / n_static if n_static else float("nan")
    out["num_neurons"] = int(sum(p.size for p in sim.net.populations.values() if not p.is_virtual))
    out["model_time_ms"] = t_model
    out["model_time_from_ms"] = sim.start_steps * sim.h
    t_simulated = (sim.t_steps - sim.start_steps) * sim.h      # a restored run starts at its checkpoint
    out["rtf"] = max(out["simulate_seconds"]) / (t_simulated * 1e-3) if t_simulated > 0 else float("nan")
    out["num_ranks"] = sim.size
    out["min_delay_ms"] = sim.min_delay_steps * sim.h
    return out


class ProgressBar:
    """tqdm bar of the model time simulated by one run() call, with the real-time factor (rank 0)."""

    def __init__(self, t: int, t_end: int, h: float):
        from tqdm import tqdm
        self.h = h
        self.bar = tqdm(total=round((t_end - t) * h, 6), unit="ms", desc="simulate", file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ms model time "
                                   "[{elapsed}<{remaining}{postfix}]", mininterval=0.25)

    def update(self, t: int, t_end: int, wall: float):
        """Show step ``t`` of a run ending at step ``t_end`` after ``wall`` seconds."""
        bar = self.bar
        done_ms = (t - (t_end - round(bar.total / self.h))) * self.h
        bar.n = round(done_ms, 6)
        rtf = wall / done_ms * 1e3 if done_ms > 0 else float("nan")
        bar.set_postfix_str(f"RTF {rtf:.2f}", refresh=False)
        bar.refresh()

    def close(self):
        """Close the bar."""
        self.bar.close()
