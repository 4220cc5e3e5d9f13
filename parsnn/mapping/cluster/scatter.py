"""The synaptic event cost as a measured function of the ring working set (``[compute.scatter]`` of a
machine file): no cache sizes assumed.

Where a scatter-add's ring entry is served from depends on how much of the ring an interval writes
(``ws``: :func:`parsnn.mapping.cluster.workload.ring_working_set`) against the cache the core really
gets, which the CPU's nominal cache sizes do not tell (a VM shares its host's L3 with other guests;
caches are split in slices and ways). So ``parsnn calibrate`` measures the cost per event on the
'scatter' networks (:func:`parsnn.mapping.cluster.measure.calibration_network`: long rows through
PD14's delay distribution into :data:`SCATTER_TARGETS` neurons, working sets of about 1 to 60 MB)
and on 'longrows' (the same rows into a ring of at least 4x the L2 + L3 share: memory-bound), and
'shortrows' gives the cost of an event the engine did not prefetch there (``no_prefetch_ns``).

The cost of an event at working set ``ws`` with a share ``u`` of unprefetched events (:func:`event_cost`)::

    c(ws)    = linear interpolation in log ws between the points (mib_i, ns_i), constant beyond the ends
    miss(ws) = (c(ws) - ns_1) / (ns_K - ns_1), clipped to [0, 1]   (how far towards the memory-bound cost)
    c_evt    = c(ws) + u miss(ws) max(0, no_prefetch_ns - ns_K)

The points are corrected for their own unprefetched share (:func:`fit_curve`). They are measured with one
core busy; when ``k`` cores (ranks x threads of a node, at most the cores sharing an L3) scatter at once,
each keeps its private L2 (``l2_kib_per_core``) and they share the rest: the curve is read at
``min(ws, l2) + k max(0, ws - l2)`` (:func:`shared_working_set`). A machine file without the table keeps
the cache-level model (:meth:`parsnn.machines.Machine.event_cost`).
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.mapping.cluster.workload import ring_working_set, workload

#: target neurons of the scatter networks (one calibration run each)
SCATTER_TARGETS = (2000, 8000, 32000, 128000)
_FIT_ITERATIONS = 30


def run_name(targets: int) -> str:
    """The calibration run name of the scatter network with ``targets`` neurons."""
    return f"scatter{targets // 1000}k_P1"


def specs() -> dict:
    """{run name: spec} of the scatter networks."""
    return {run_name(n): {"model": "scatter", "targets": int(n)} for n in SCATTER_TARGETS}


#: record_workload's results by id of the record's description (with the description, so that a reused
#: id is not mistaken for it)
_WORKLOADS: dict = {}


def record_workload(res: dict) -> tuple[float, dict]:
    """(ring bytes written per interval on the busiest rank, the workload) of a run record's network,
    partition map and rates, computed once per description: the measuring segments of a record
    (:func:`parsnn.mapping.cluster.calibration.segment_runs`) share it."""
    desc = res["description"]
    hit = _WORKLOADS.get(id(desc))
    if hit is None or hit[0] is not desc:
        conn = Connectivity.from_description(desc)
        wl = workload(conn, int(res.get("ranks", 1)), np.asarray(res["rank_of"]), rates=res["rates"])
        if len(_WORKLOADS) > 64:
            _WORKLOADS.clear()
        hit = _WORKLOADS[id(desc)] = (desc, float(ring_working_set(wl).max()), wl)
    return hit[1], hit[2]


def _raw(res: dict, o_del: float, c_spk: float) -> tuple[float, float, float]:
    """(ring working set in bytes, unprefetched share of the events, seconds per event) of a 1-rank run
    record: its deliver timer minus the per-interval and per-spike costs, over its events."""
    ws, wl = record_workload(res)
    ev = float(wl["events_per_s"][0])
    u = float(wl["events_unprefetched_per_s"][0] / ev) if ev > 0 else 0.0
    E = float(np.sum(res["perf"]["synaptic_events"]))
    S = float(np.sum(res["delivered_spikes"]))
    base = res["perf"]["timer_deliver"][0] - o_del * res["intervals"] - S * c_spk
    return ws, u, base / E if E > 0 else float("nan")


def fit_curve(runs: dict, o_del: float, c_spk: float) -> dict:
    """The constants of ``[compute.scatter]`` from the run records ``runs`` (the :func:`specs` runs,
    ``longrows_P1`` and ``shortrows_P1``), the deliver phase's cost per interval ``o_del`` and per
    received spike ``c_spk`` (seconds): ``scatter_mib_i`` / ``scatter_ns_i`` (i = 1..K by working set,
    normally the last one 'longrows') and ``scatter_no_prefetch_ns``; {} when a run is missing.

    'shortrows' (rows of 64 < the 128-synapse prefetch distance) costs ``no_prefetch_ns`` per event;
    'longrows' mixes it (its share u) with the prefetched memory-bound cost; each scatter point ``raw_i``
    = c_i + u_i miss_i (no_prefetch - c_K) is solved for c_i by fixed-point iteration."""
    names = [run_name(n) for n in SCATTER_TARGETS]
    if any(n not in runs for n in (*names, "longrows_P1", "shortrows_P1")):
        return {}
    ws_s, _u_s, c_np = _raw(runs["shortrows_P1"], o_del, c_spk)
    ws_l, u_l, raw_l = _raw(runs["longrows_P1"], o_del, c_spk)
    c_mem = (raw_l - u_l * c_np) / (1.0 - u_l) if u_l < 1.0 else raw_l
    pts = sorted([_raw(runs[n], o_del, c_spk) for n in names] + [(ws_l, 0.0, c_mem)])
    ws = np.array([p[0] for p in pts])
    u = np.array([p[1] for p in pts])
    raw = np.array([p[2] for p in pts])
    c = raw.copy()
    for _ in range(_FIT_ITERATIONS):
        miss = _miss(c, c)
        c = raw - u * miss * max(0.0, c_np - c[-1])
    out = {"scatter_no_prefetch_ns": c_np * 1e9}
    for i, (w, x) in enumerate(zip(ws, c), start=1):
        out[f"scatter_mib_{i}"] = w / 2 ** 20
        out[f"scatter_ns_{i}"] = x * 1e9
    return out


def _miss(c, curve_ns) -> np.ndarray:
    """How far the costs ``c`` are from the curve's first point towards its last (0..1)."""
    lo, hi = float(curve_ns[0]), float(curve_ns[-1])
    if hi <= lo:
        return np.zeros_like(np.asarray(c, dtype=float))
    return np.clip((np.asarray(c, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def curve(machine) -> dict | None:
    """The machine's measured curve: {'mib': [...], 'ns': [...], 'no_prefetch_ns'} sorted by working set,
    or None when its file has no ``[compute.scatter]`` table with two points or more."""
    tab = (machine.data.get("compute") or {}).get("scatter")
    if not tab:
        return None
    idx = sorted(int(k[4:]) for k in tab if k.startswith("mib_") and f"ns_{k[4:]}" in tab)
    if len(idx) < 2:
        return None
    pts = sorted((float(tab[f"mib_{i}"]), float(tab[f"ns_{i}"])) for i in idx)
    return {"mib": [p[0] for p in pts], "ns": [p[1] for p in pts],
            "no_prefetch_ns": float(tab.get("no_prefetch_ns", pts[-1][1]))}


def shared_working_set(machine, ring_bytes, sharing=1.0) -> np.ndarray:
    """The working set on the curve's axis when ``sharing`` cores scatter at once into their own rings of
    ``ring_bytes`` each, sharing the cache beyond their private L2: the curve was measured with one
    core busy, whose L2 held ``l2`` bytes and whose L3 took the rest; here each core's L2 holds ``l2``
    and the shared cache takes every core's rest, as one core would at l2 + sharing x (ws - l2)."""
    ws = np.asarray(ring_bytes, dtype=float)
    l2 = float(machine.cache_levels()[0])
    k = np.maximum(np.asarray(sharing, dtype=float), 1.0)
    return np.where(k > 1.0, np.minimum(ws, l2) + k * np.maximum(ws - l2, 0.0), ws)


def event_cost(machine, ring_bytes, unprefetched=0.0, sharing=1.0) -> np.ndarray:
    """Seconds per synaptic event when an interval writes ``ring_bytes`` of the ring and a share
    ``unprefetched`` of the events was not prefetched, with ``sharing`` cores (ranks x threads, at most
    the cores per L3) scattering at once into the shared cache (:func:`shared_working_set`): the measured
    curve (see the module docstring), else the machine's cache-level model
    (:meth:`parsnn.machines.Machine.event_cost`, whose L3 share per core already assumes sharing)."""
    cur = curve(machine)
    if cur is None:
        return machine.event_cost(ring_bytes, unprefetched)
    ws = np.maximum(shared_working_set(machine, ring_bytes, sharing), 1.0)
    ns = np.array(cur["ns"])
    c = np.interp(np.log(ws), np.log(np.array(cur["mib"]) * 2 ** 20), ns)
    u = np.clip(np.asarray(unprefetched, dtype=float), 0.0, 1.0)
    extra = u * _miss(c, ns) * max(0.0, cur["no_prefetch_ns"] - ns[-1])
    return (c + extra) * 1e-9
