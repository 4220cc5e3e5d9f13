"""The cost of plastic synapses in the cost model: a plastic event costs ``compute.plastic_event_ns`` on top of a static
event, plus ``compute.facilitation_ns`` per post spike it reads (a facilitation)::

    t_plastic[r] per interval = Ep_r (c_pl + f_r c_f)

``Ep_r`` the plastic events on rank r, ``f_r`` the facilitations per plastic event (the workload's: a run file's count,
else the stationary estimate, :func:`parsnn.mapping.cluster.workload._facilitations`). ``parsnn calibrate`` measures
both on hpc_benchmark at scale 0.05 on 1 rank, plastic and static (:func:`plastic_event_cost` per segment;
:func:`facilitation_fit` across the segments, whose facilitations per plastic event differ while the archives fill).
A machine file without ``facilitation_ns`` (fit version 10 or older) charges ``plastic_event_ns`` alone. Why two
constants: analysis/results/plastic_cost21/ and plastic_cost22/.
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.mapping.cluster.workload import spike_events


def plastic_event_cost_ns(machine, wl: dict) -> np.ndarray:
    """ns a plastic event costs on top of a static one on every rank: ``compute.plastic_event_ns`` plus
    ``compute.facilitation_ns`` (0 in machine files without it) times the rank's facilitations per plastic event."""
    pev = np.asarray(wl.get("plastic_events_per_s", 0.0), dtype=float)
    fac = np.asarray(wl.get("facilitations_per_s", 0.0 * pev), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pev > 0, fac / np.maximum(pev, 1e-300), 0.0)
    return machine.ns("plastic_event_ns", default=0.0) + ratio * machine.ns("facilitation_ns", default=0.0)


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


def facilitation_fit(plastic: dict | None, static: dict | None, o_del: float) -> dict | None:
    """``plastic_event_ns`` and ``facilitation_ns`` fitted together (least squares) over the measuring segments of the
    plastic hpc_benchmark run (``plastic``, each segment with its facilitation count): a segment's deliver timer minus
    ``o_del`` seconds per interval and its events at the static run's cost per event (its whole run) = a x its plastic
    events + b x its facilitations. A plastic event's cost grows with the post spikes it reads, and a run's segments
    differ in that (the archives fill in its first ~200 ms: analysis/results/plastic_cost22/README.md). None when
    there are fewer than 2 segments with plastic events, their facilitations per plastic event spread by less than
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
    rows = []
    for sg in plastic["segments"]:
        ev = float(np.sum(sg["perf"]["synaptic_events"]))
        pev, fac = ev * share, float(np.sum(sg["perf"].get("plastic_facilitations", 0)))
        if pev > 0:
            extra = sg["perf"]["timer_deliver"][0] - o_del * sg["intervals"] - c_event * ev
            rows.append((pev, fac, extra))
    if len(rows) < 2:
        return None
    A = np.array([[r[0], r[1]] for r in rows])
    ratios = A[:, 1] / A[:, 0]
    if ratios.max() - ratios.min() < FACILITATION_RATIO_SPREAD:
        return None
    (a, b), *_ = np.linalg.lstsq(A, np.array([r[2] for r in rows]), rcond=None)
    if not (np.isfinite(a) and np.isfinite(b) and a >= 0.0 and b > 0.0):
        return None
    return {"plastic_event_ns": float(a) * 1e9, "facilitation_ns": float(b) * 1e9,
            "facilitation_fit": {"segments": len(rows), "static_event_ns": c_event * 1e9,
                                 "facilitations_per_plastic_event": [float(x) for x in ratios]}}
