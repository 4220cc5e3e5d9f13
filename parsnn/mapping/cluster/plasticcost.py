"""The cost of plastic synapses in the cost model: a plastic event costs ``compute.plastic_event_ns`` on top of a static
event, plus ``compute.facilitation_ns`` per post spike it reads (a facilitation), plus, per history window (a
facilitation window that must search the target's post-spike history: three or more post spikes since the source's
last spike), what a facilitation costs and a miss when the target's history lines left the core's L2 since its last
history window::

    t_plastic[r] per interval = Ep_r (c_pl + f_r c_f + h_r (c_f + M exp(-(l2 / B) h_r / n_r)))

``Ep_r`` the plastic events on rank r, ``f_r`` and ``h_r`` the facilitations and history windows per plastic event
(the workload's: a run file's counts, else the stationary estimates,
:func:`parsnn.mapping.cluster.workload._facilitations`, :func:`~parsnn.mapping.cluster.workload.history_share`), ``n_r`` the plastic targets a thread owns,
``l2`` a core's L2 bytes, ``M`` the machine's unprefetched memory access (``compute.event_ns.memory_no_prefetch``) and
``B`` = :data:`HISTORY_EVENT_BYTES`. The miss term: between two history windows on one target a thread processes
``n / h`` plastic events on average (exponentially distributed), each bringing ``B`` bytes through the L2, so the
history's lines are gone with probability exp(-(l2 / B) h / n). ``parsnn calibrate`` measures ``c_pl`` and ``c_f`` on
hpc_benchmark at scale 0.05 on 1 rank, plastic and static (:func:`plastic_event_cost` per segment;
:func:`facilitation_fit` across the segments, whose facilitations per plastic event differ while the archives fill).
A machine file without ``facilitation_ns`` (fit version 10 or older) charges ``plastic_event_ns`` alone. Why these
terms: analysis/results/plastic_cost21/, plastic_cost22/, plastic_ws23/ and history24/.
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.mapping.cluster.workload import plastic_projections, spike_events


#: bytes a plastic event brings through a core's L2 (its synapse in the row, the ring and target lines it touches),
#: which push the targets' history lines out between two history windows on the same target. ASSUMED: fitted on the
#: 50-ms windows of hpc_benchmark at scale 1 on 1 rank on the Xeon m167 guest (L2 2 MiB; K = l2 / B = 42,587 plastic
#: events), with that guest's calibration's other constants; out of sample there, the 50-ms windows of scales 0.1 to 0.5
#: within -14 % .. +15 % after each run's first (analysis/results/history24/README.md)
HISTORY_EVENT_BYTES = 49.25


def history_window_ns(machine, h, n) -> np.ndarray:
    """ns a history window costs at ``h`` history windows per plastic event and ``n`` plastic targets on the core:
    ``facilitation_ns`` (the search reads like a facilitation) plus the machine's unprefetched memory access
    (``event_ns.memory_no_prefetch``, else ``event_ns.memory``) times the probability that the target's history lines
    left the L2 since its last history window, exp(-(l2 / HISTORY_EVENT_BYTES) h / n)."""
    ev = (machine.data.get("compute") or {}).get("event_ns") or {}
    miss = float(ev.get("memory_no_prefetch", ev.get("memory", 0.0)))
    k = float(machine.cache_levels()[0]) / HISTORY_EVENT_BYTES
    h, n = np.asarray(h, dtype=float), np.maximum(np.asarray(n, dtype=float), 1.0)
    return machine.ns("facilitation_ns", default=0.0) * 1e9 + miss * np.exp(-k * h / n)


def _per_event(wl: dict, key: str, pev: np.ndarray) -> np.ndarray:
    """``wl[key]`` (per second, per rank) per plastic event (0 where there are none or the key is missing)."""
    x = np.asarray(wl.get(key, 0.0 * pev), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pev > 0, x / np.maximum(pev, 1e-300), 0.0)


def plastic_event_cost_ns(machine, wl: dict, par=1.0) -> np.ndarray:
    """ns a plastic event costs on top of a static one on every rank (threads ``par`` per rank, sharing its plastic
    targets): ``compute.plastic_event_ns`` plus ``compute.facilitation_ns`` times the rank's facilitations per plastic
    event plus its history windows per plastic event times :func:`history_window_ns`. A machine file without
    ``facilitation_ns`` (fit version 10 or older) charges ``plastic_event_ns`` alone."""
    pev = np.asarray(wl.get("plastic_events_per_s", 0.0), dtype=float)
    base = machine.ns("plastic_event_ns", default=0.0)
    if "facilitation_ns" not in (machine.data.get("compute") or {}):
        return base + 0.0 * pev
    f = _per_event(wl, "facilitations_per_s", pev)
    h = _per_event(wl, "history_windows_per_s", pev)
    n = np.asarray(wl.get("plastic_targets", 0.0 * pev), dtype=float) / np.maximum(np.asarray(par, dtype=float), 1.0)
    hist = np.where(h > 0, h * history_window_ns(machine, h, n) * 1e-9, 0.0)
    return base + f * machine.ns("facilitation_ns") + hist


def plastic_events(res: dict) -> float:
    """Events of a run record delivered through plastic synapses: its delivered events
    (``synaptic_events``, exact) times the plastic projections' share of the events that its
    spike counts and the projections' expected out-degrees give (:func:`~parsnn.mapping.cluster.workload.spike_events`)."""
    plastic, total = spike_events(Connectivity.from_description(res["description"]), res["spike_counts"])
    return float(np.sum(res["perf"]["synaptic_events"])) * (plastic / total if total > 0 else 0.0)


def plastic_event_cost(plastic: dict, static: dict, o_del: float) -> dict:
    """ns a plastic event costs above a static one (``plastic_event_ns``): the weight update from
    the target's spike archive, the source's trace, the wider row. From the same network on 1 rank
    with plastic (``plastic``) and static (``static``) E->E synapses (hpc_benchmark): the static
    run's deliver timer per event (minus the per-interval cost ``o_del`` seconds) is the cost of any
    event; what the plastic run's deliver timer holds beyond its events at that cost, per plastic event."""
    def base(res):
        """Deliver timer minus the fixed per-interval cost, seconds."""
        return res["perf"]["timer_deliver"][0] - o_del * res["intervals"]
    e_static = float(np.sum(static["perf"]["synaptic_events"]))
    e_plastic = float(np.sum(plastic["perf"]["synaptic_events"]))
    n_plastic = plastic_events(plastic)
    if e_static <= 0 or n_plastic <= 0:        # nothing fired: no equation (combine() skips a NaN)
        return {"plastic_event_ns": float("nan"), "plastic_fit": {"events_static": e_static, "plastic_events": n_plastic}}
    c_event = base(static) / e_static
    extra = (base(plastic) - c_event * e_plastic) / n_plastic
    return {"plastic_event_ns": extra * 1e9, "plastic_fit": {
        "static_event_ns": c_event * 1e9, "plastic_run_event_ns": base(plastic) / e_plastic * 1e9,
        "events_static": e_static, "events_plastic_run": e_plastic, "plastic_events": n_plastic}}


#: the least spread of facilitations per plastic event over the plastic run's segments for :func:`facilitation_fit`
FACILITATION_RATIO_SPREAD = 0.2


def plastic_targets(desc: dict) -> float:
    """Neurons that plastic synapses target in a network description (the populations a plastic projection ends in)."""
    conn = Connectivity.from_description(desc)
    tgt = {int(conn.tgt[j]) for j, p in enumerate(plastic_projections(desc)) if p and j < conn.tgt.size}
    return float(sum(int(conn.sizes[t]) for t in tgt if not conn.virtual[t]))


def facilitation_fit(plastic: dict | None, static: dict | None, o_del: float, miss_ns: float = 0.0,
                     l2_bytes: float | None = None) -> dict | None:
    """``plastic_event_ns`` and ``facilitation_ns`` fitted together (least squares) over the measuring segments of the
    plastic hpc_benchmark run (``plastic``, each segment with its facilitation and history-window counts): a segment's
    deliver timer minus ``o_del`` seconds per interval, its events at the static run's cost per event (its whole run)
    and its history windows' misses (``miss_ns`` the machine's unprefetched access, ``l2_bytes`` its L2:
    :func:`history_window_ns`'s second term; none without them) = a x its plastic events + b x (its facilitations +
    its history windows). A plastic event's cost grows with the post spikes it reads, and a run's segments differ in
    that (the archives fill in its first ~200 ms: analysis/results/plastic_cost22/README.md). None when there are
    fewer than 2 segments with plastic events, their facilitations per plastic event spread by less than
    :data:`FACILITATION_RATIO_SPREAD`, or the fit gives a < 0 or b <= 0 (the per-segment ``plastic_event_ns`` of
    :func:`plastic_event_cost` then stays, and no ``facilitation_ns``)."""
    if not plastic or not static or len(plastic.get("segments") or []) < 2:
        return None
    e_static = float(np.sum(static["perf"]["synaptic_events"]))
    e_total = float(np.sum(plastic["perf"]["synaptic_events"]))
    if e_static <= 0 or e_total <= 0:
        return None
    c_event = (static["perf"]["timer_deliver"][0] - o_del * static["intervals"]) / e_static
    share = plastic_events(plastic) / e_total
    k = 0.0 if not l2_bytes or miss_ns <= 0 else float(l2_bytes) / HISTORY_EVENT_BYTES
    n = plastic_targets(plastic["description"]) if k > 0 else 1.0
    rows, hist = [], []
    for sg in plastic["segments"]:
        ev = float(np.sum(sg["perf"]["synaptic_events"]))
        pev, fac = ev * share, float(np.sum(sg["perf"].get("plastic_facilitations", 0)))
        hw = float(np.sum(sg["perf"].get("plastic_history_windows", 0)))
        if pev > 0:
            miss = hw * miss_ns * 1e-9 * np.exp(-k * (hw / pev) / max(n, 1.0)) if k > 0 else 0.0
            extra = sg["perf"]["timer_deliver"][0] - o_del * sg["intervals"] - c_event * ev - miss
            rows.append((pev, fac, hw, extra))
            hist.append(hw / pev)
    if len(rows) < 2:
        return None
    A = np.array([[r[0], r[1] + r[2]] for r in rows])
    ratios = np.array([r[1] / r[0] for r in rows])
    if ratios.max() - ratios.min() < FACILITATION_RATIO_SPREAD:
        return None
    (a, b), *_ = np.linalg.lstsq(A, np.array([r[3] for r in rows]), rcond=None)
    if not (np.isfinite(a) and np.isfinite(b) and a >= 0.0 and b > 0.0):
        return None
    return {"plastic_event_ns": float(a) * 1e9, "facilitation_ns": float(b) * 1e9,
            "facilitation_fit": {"segments": len(rows), "static_event_ns": c_event * 1e9,
                                 "facilitations_per_plastic_event": [float(x) for x in ratios],
                                 "history_windows_per_plastic_event": [float(x) for x in hist],
                                 "plastic_targets": float(n) if k > 0 else None}}
