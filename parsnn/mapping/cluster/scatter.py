"""The synaptic event cost as a measured function of the ring working set (``[compute.scatter]`` of a
machine file): no cache sizes assumed.

Where a scatter-add's ring entry is served from depends on how much of the ring an interval writes
(``ws``: :func:`parsnn.mapping.cluster.workload.ring_working_set`) against the cache the core really
gets, which the CPU's nominal cache sizes do not tell (a VM shares its host's L3 with other guests;
caches are split in slices and ways). So ``parsnn calibrate`` measures the cost per event on the
'scatter' networks (:func:`parsnn.mapping.cluster.measure.calibration_network`: long rows through
PD14's delay distribution into :data:`SCATTER_TARGETS` neurons, working sets of about 1 to 60 MB;
before fit version 6 also on 'longrows', the same rows into a ring of at least 4x the L2 + L3 share), and
'shortrows' gives the cost of an event the engine did not prefetch there (``no_prefetch_ns``).

Fit version 6 and later (:data:`parsnn.mapping.cluster.calibrate.FIT_VERSION`; ``row_ns_j`` in the table):
the scatter networks' sources are spike_generators with pre-drawn Poisson times (poisson_source devices,
updated every step between the deliveries, raised the cost per event by 1.07-1.23x, which networks with a
vectorized update do not pay: analysis/results/ev18_delivery_m167_s13.md), the ones with :data:`ROW_TARGETS`
targets run again with rows of :data:`LONG_ROW` (half the sources, the same synapses), and every network
runs at each prefetch distance of :data:`CURVE_DISTANCES` (the engine's tuner chooses among 0..256). The
cost of an event at working set ``ws``, rows of ``row`` events per received spike (a thread's sub-row) and
the engine's prefetch distance ``d`` (:func:`event_cost`)::

    c_evt = c_d(ws) + R_d(ws) / max(row, ROW_MIN)

``c_d`` (``ns_i`` at ``distance`` = 128, ``d0_ns_i`` at 0) and ``R_d`` (``row_ns_j`` / ``d0_row_ns_j`` at
``row_mib_j``: a row's cost beyond its events -- its first, unprefetched, synapses and the branch misses at
the ends of its delay runs) are interpolated linearly in log ws, constant beyond their ends, and linearly in
the distance between two measured distances (beyond them, the nearest one's). Each ``ns_i`` is the network's
deliver timer minus the per-interval and per-spike costs, over its events, minus R(ws_i) / row_i (the run's
events per delivered spike); R_j = (c(2048) - c(4096)) / (1/2048 - 1/4096) at the ``ROW_TARGETS`` networks.
``no_prefetch_ns`` ('shortrows') is kept for the record, not used. The distance the prediction takes:
:mod:`parsnn.mapping.cluster.distance`.

Before fit version 6 (no ``row_ns_j``): the points were measured with poisson_source devices at the tuner's
distance, and the event cost with a share ``u`` of unprefetched events is::

    c(ws)    = linear interpolation in log ws between the points (mib_i, ns_i), constant beyond the ends
    miss(ws) = (c(ws) - ns_1) / (ns_K - ns_1), clipped to [0, 1]   (how far towards the memory-bound cost)
    c_evt    = c(ws) + u miss(ws) max(0, no_prefetch_ns - ns_K)

(such files still load and predict with it). The points are measured with one
core busy; when ``k`` cores (ranks x threads of a node, at most the cores sharing an L3) scatter at once,
each keeps its private L2 (``l2_kib_per_core``) and they share the rest, as one core would at
``x = min(ws, l2) + k max(0, ws - l2)`` (:func:`shared_working_set`). Fit version 9 and later
(:data:`SPLIT_FIT_VERSION`; :func:`shared_cost`): only the events beyond a core's own L2 see the shared cache.
A share ``h(ws) = min(1, l2 / ws)`` of a core's ring writes hits its L2 at the curve's cost there, ``y(min(ws,
l2))``; the rest costs what an event beyond the L2 costs on the one-core curve at ``x``,
``m(x) = (y(x) - h(x) y(l2)) / (1 - h(x))`` (at least ``y(x)``), so::

    y_k(ws) = h(ws) y(min(ws, l2)) + (1 - h(ws)) m(x)        (y: c_d and R_d alike; y_1 = y)

Before version 9 the curve was read at ``x`` alone, which also charged each core the L2 hit rate of the
larger working set ``x``: on the Xeon m167 guest (L2 2 MiB) PD14 0.25 on 2 x 1 came out +28 % to +40 % in its
delivery (analysis/results/sharing19/). Files of earlier versions keep that reading (their thread efficiencies
were fitted against it). A machine file without the table keeps the cache-level model
(:meth:`parsnn.machines.Machine.event_cost`).
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.mapping.cluster.workload import PREFETCH_DISTANCE, ring_working_set, workload

#: target neurons of the scatter networks (one calibration run each, rows of 2,048 synapses)
SCATTER_TARGETS = (2000, 8000, 32000, 128000)
#: the scatter networks measured again with rows of :data:`LONG_ROW` synapses (half the sources, the same
#: synapses): the per-row cost R(ws) at their working sets
ROW_TARGETS = (2000, 8000, 32000)
ROW, LONG_ROW = 2048, 4096
#: the prefetch distances the curve is measured at (``parsnn.engine.prefetch``: the tuner's candidates lie
#: between them or above; the first one is the curve's ``ns_i``, the others' ``d<D>_ns_i``)
CURVE_DISTANCES = (128, 0)
#: a row shorter than this pays the per-row cost as if it were this long (an assumption: the per-row cost
#: is measured on rows of 2,048 and 4,096 synapses; a row of L < 128 pays its start, not 2,048 / L of it)
ROW_MIN = 128
_FIT_ITERATIONS = 30
#: the fit version (:data:`parsnn.mapping.cluster.calibrate.FIT_VERSION`) from which cores sharing the cache
#: beyond L2 are charged by :func:`shared_cost` (before: the curve read at :func:`shared_working_set`)
SPLIT_FIT_VERSION = 9


def _suffix(row: int, distance: int) -> str:
    """The run name's suffix of a row length and a distance ('' for the defaults)."""
    return (f"_r{row}" if row != ROW else "") + (f"_d{distance}" if distance != CURVE_DISTANCES[0] else "")


def run_name(targets: int, row: int = ROW, distance: int = CURVE_DISTANCES[0]) -> str:
    """The calibration run name of the scatter network with ``targets`` neurons, rows of ``row`` synapses, run
    at prefetch distance ``distance`` (``scatter8k_P1``: 2,048, 128; ``scatter8k_r4096_d0_P1``)."""
    return f"scatter{targets // 1000}k{_suffix(row, distance)}_P1"


def specs() -> dict:
    """{run name: spec} of the scatter networks: every :data:`SCATTER_TARGETS` at rows of :data:`ROW` and
    every :data:`ROW_TARGETS` at :data:`LONG_ROW`, at each of :data:`CURVE_DISTANCES`."""
    out = {}
    for d in CURVE_DISTANCES:
        for row, targets in ((ROW, SCATTER_TARGETS), (LONG_ROW, ROW_TARGETS)):
            for n in targets:
                out[run_name(n, row, d)] = {"model": "scatter", "targets": int(n), "row": row,
                                            "sources": 2500 * ROW // row, "prefetch": d}
    return out


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


def record_row(res: dict) -> float:
    """Events per received spike of a 1-rank run record, measured (its synaptic events over its delivered
    spikes): the mean row length (0 without spikes)."""
    S = float(np.sum(res["delivered_spikes"]))
    return float(np.sum(res["perf"]["synaptic_events"])) / S if S > 0 else 0.0


def record_distance(res: dict) -> int:
    """The prefetch distance a run record's network ran at (its ``prefetch`` info; :data:`PREFETCH_DISTANCE`
    for records made before it was kept)."""
    info = res.get("prefetch") or {}
    return int(info.get("distance", PREFETCH_DISTANCE))


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


def row_costs(runs: dict, o_del: float, c_spk: float, distance: int) -> list[tuple[float, float]]:
    """[(working set bytes, per-row cost R in seconds)] at ``distance`` from the :data:`ROW_TARGETS` networks at
    both row lengths: c = c_inf + R / row at each, so R = (c_short - c_long) / (1/row_short - 1/row_long),
    at least 0; [] when a run is missing."""
    out = []
    for n in ROW_TARGETS:
        a, b = runs.get(run_name(n, ROW, distance)), runs.get(run_name(n, LONG_ROW, distance))
        if a is None or b is None:
            return []
        ra, rb = record_row(a), record_row(b)
        ws, _u, ca = _raw(a, o_del, c_spk)
        _ws, _u, cb = _raw(b, o_del, c_spk)
        out.append((ws, max(0.0, (ca - cb) / (1.0 / ra - 1.0 / rb)) if ra > 0 and rb > ra else 0.0))
    return out


def _interp_log(ws, pts_ws, pts_y) -> np.ndarray:
    """Linear interpolation in log ws between points, constant beyond the ends."""
    return np.interp(np.log(np.maximum(np.asarray(ws, dtype=float), 1.0)), np.log(np.asarray(pts_ws, dtype=float)),
                     np.asarray(pts_y, dtype=float))


def _fit_distance(runs: dict, o_del: float, c_spk: float, distance: int, prefix: str) -> dict:
    """``scatter_<prefix>ns_i`` (the cost per event of rows without end, i = 1..K by working set),
    ``scatter_<prefix>row_ns_j`` (the per-row cost) and ``scatter_row_mib_j`` at one distance; {} when a run is
    missing. Each point: raw_i - R(ws_i) / row_i, with row_i the run's events per received spike."""
    names = [run_name(n, ROW, distance) for n in SCATTER_TARGETS]
    rc = row_costs(runs, o_del, c_spk, distance)
    if not rc or any(n not in runs for n in names):
        return {}
    out = {}
    for j, (w, r) in enumerate(rc, start=1):
        out[f"scatter_row_mib_{j}"] = w / 2 ** 20
        out[f"scatter_{prefix}row_ns_{j}"] = r * 1e9
    pts = sorted((_raw(runs[n], o_del, c_spk)[::2], record_row(runs[n])) for n in names)
    for i, ((w, c), row) in enumerate(pts, start=1):
        r = float(_interp_log(w, [p[0] for p in rc], [p[1] for p in rc]))
        out[f"scatter_mib_{i}"] = w / 2 ** 20
        out[f"scatter_{prefix}ns_{i}"] = (c - r / max(row, ROW_MIN)) * 1e9
    return out


def fit_curve(runs: dict, o_del: float, c_spk: float) -> dict:
    """The constants of ``[compute.scatter]`` from the run records ``runs`` (the :func:`specs` runs and
    ``shortrows_P1``), the deliver phase's cost per interval ``o_del`` and per received spike ``c_spk``
    (seconds): at the first of :data:`CURVE_DISTANCES` (``scatter_distance``) ``scatter_mib_i`` /
    ``scatter_ns_i`` and ``scatter_row_mib_j`` / ``scatter_row_ns_j``, at another distance D the same with
    ``d<D>_`` (:func:`_fit_distance`), and ``scatter_no_prefetch_ns`` ('shortrows': rows of 64 into the largest
    ring, for the record); {} when a run is missing."""
    first = _fit_distance(runs, o_del, c_spk, CURVE_DISTANCES[0], "")
    if not first or "shortrows_P1" not in runs:
        return {}
    out = {**first, "scatter_distance": CURVE_DISTANCES[0],
           "scatter_no_prefetch_ns": _raw(runs["shortrows_P1"], o_del, c_spk)[2] * 1e9}
    for d in CURVE_DISTANCES[1:]:
        out.update(_fit_distance(runs, o_del, c_spk, d, f"d{d}_"))
    return out


def _miss(c, curve_ns) -> np.ndarray:
    """How far the costs ``c`` are from the curve's first point towards its last (0..1)."""
    lo, hi = float(curve_ns[0]), float(curve_ns[-1])
    if hi <= lo:
        return np.zeros_like(np.asarray(c, dtype=float))
    return np.clip((np.asarray(c, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def _points(tab: dict, prefix: str) -> tuple[list, list]:
    """([mib], [ns]) of the table's points ``mib_i`` / ``<prefix>ns_i`` (or ``row_mib_j`` / ``<prefix>row_ns_j``
    with ``prefix`` ending in 'row_'), sorted by working set."""
    mib = "row_mib_" if prefix.endswith("row_") else "mib_"
    idx = sorted(int(k[len(mib):]) for k in tab if k.startswith(mib) and f"{prefix}ns_{k[len(mib):]}" in tab)
    pts = sorted((float(tab[f"{mib}{i}"]), float(tab[f"{prefix}ns_{i}"])) for i in idx)
    return [p[0] for p in pts], [p[1] for p in pts]


def curve(machine) -> dict | None:
    """The machine's measured curve: {'mib': [...], 'ns': [...], 'no_prefetch_ns'} sorted by working set,
    or None when its file has no ``[compute.scatter]`` table with two points or more. A file of fit version 6
    or later (a per-row cost ``row_ns_j``) also gives 'row_mib', 'row_ns', 'distance' (of 'ns') and
    'other': {distance D: {'ns', 'row_ns'}} of the ``d<D>_`` points."""
    tab = (machine.data.get("compute") or {}).get("scatter")
    if not tab:
        return None
    mib, ns = _points(tab, "")
    if len(mib) < 2:
        return None
    out = {"mib": mib, "ns": ns, "no_prefetch_ns": float(tab.get("no_prefetch_ns", ns[-1]))}
    row_mib, row_ns = _points(tab, "row_")
    if not row_mib:
        return out
    out.update(row_mib=row_mib, row_ns=row_ns, distance=int(tab.get("distance", PREFETCH_DISTANCE)), other={})
    for k in tab:
        if k.startswith("d") and k.endswith("_ns_1") and not k.endswith("row_ns_1"):
            d = k[1:-5]
            m2, n2 = _points(tab, f"d{d}_")
            _r2, rn2 = _points(tab, f"d{d}_row_")
            if len(m2) == len(mib) and len(rn2) == len(row_mib):
                out["other"][int(d)] = {"ns": n2, "row_ns": rn2}
    return out


def _at_distance(cur: dict, distance) -> tuple[np.ndarray, np.ndarray]:
    """(curve ns, per-row ns) at prefetch ``distance``: the measured distance's, linear in the distance between
    two measured ones, the nearest measured one beyond them."""
    pts = sorted([(cur["distance"], cur["ns"], cur["row_ns"])]
                 + [(d, v["ns"], v["row_ns"]) for d, v in cur["other"].items()])
    d = float(PREFETCH_DISTANCE if distance is None else distance)
    if d <= pts[0][0] or len(pts) == 1:
        lo = hi = pts[0] if d <= pts[0][0] else pts[-1]
    elif d >= pts[-1][0]:
        lo = hi = pts[-1]
    else:
        k = next(i for i in range(1, len(pts)) if pts[i][0] >= d)
        lo, hi = pts[k - 1], pts[k]
    w = 0.0 if hi[0] == lo[0] else (d - lo[0]) / (hi[0] - lo[0])
    return ((1 - w) * np.array(lo[1]) + w * np.array(hi[1]), (1 - w) * np.array(lo[2]) + w * np.array(hi[2]))


def shared_working_set(machine, ring_bytes, sharing=1.0) -> np.ndarray:
    """The working set on the curve's axis when ``sharing`` cores scatter at once into their own rings of
    ``ring_bytes`` each, sharing the cache beyond their private L2: the curve was measured with one
    core busy, whose L2 held ``l2`` bytes and whose L3 took the rest; here each core's L2 holds ``l2``
    and the shared cache takes every core's rest, as one core would at l2 + sharing x (ws - l2)."""
    ws = np.asarray(ring_bytes, dtype=float)
    l2 = float(machine.cache_levels()[0])
    k = np.maximum(np.asarray(sharing, dtype=float), 1.0)
    return np.where(k > 1.0, np.minimum(ws, l2) + k * np.maximum(ws - l2, 0.0), ws)


def split_sharing(machine) -> bool:
    """Whether ``machine``'s delivery is charged for sharing by :func:`shared_cost`: every batch of its
    ``[calibration] per_batch`` that states a fit version states :data:`SPLIT_FIT_VERSION` or later (a machine
    without batches, or being fitted, does too)."""
    per = (machine.data.get("calibration") or {}).get("per_batch") or []
    known = [int(b["fit_version"]) for b in per if isinstance(b, dict) and "fit_version" in b]
    return not known or min(known) >= SPLIT_FIT_VERSION


def shared_cost(machine, ring_bytes, sharing, pts_ws, pts_y, split=True) -> np.ndarray:
    """The one-core curve ``(pts_ws, pts_y)`` read for ``sharing`` cores scattering at once into their own rings
    of ``ring_bytes`` each (the module docstring: ``y_k``; ``split`` False: ``y`` at :func:`shared_working_set`,
    the reading before fit version 9)."""
    ws = np.maximum(np.asarray(ring_bytes, dtype=float), 1.0)
    x = np.maximum(shared_working_set(machine, ws, sharing), 1.0)
    y_x = _interp_log(x, pts_ws, pts_y)
    if not split:
        return y_x
    l2 = float(machine.cache_levels()[0])
    a = _interp_log(np.minimum(ws, l2), pts_ws, pts_y)
    h_own, h_x = np.minimum(1.0, l2 / ws), np.minimum(1.0, l2 / x)
    with np.errstate(divide="ignore", invalid="ignore"):
        beyond = np.maximum((y_x - h_x * a) / (1.0 - h_x), y_x)
    return np.where(h_x >= 1.0, _interp_log(ws, pts_ws, pts_y), h_own * a + (1.0 - h_own) * beyond)


def event_cost(machine, ring_bytes, unprefetched=0.0, sharing=1.0, row=None, distance=None) -> np.ndarray:
    """Seconds per synaptic event when an interval writes ``ring_bytes`` of the ring, with ``sharing`` cores
    (ranks x threads, at most the cores per L3) scattering at once into the shared cache
    (:func:`shared_cost`), rows of ``row`` events per received spike (a thread's sub-row) and the
    engine's prefetch distance ``distance`` (None: :data:`PREFETCH_DISTANCE`): the measured curve plus the
    per-row cost over the row (see the module docstring). A file before fit version 6 (no per-row cost) gives
    the curve plus the unprefetched share ``unprefetched`` x miss(ws) x (no_prefetch_ns - ns_K); without a
    curve, the machine's cache-level model (:meth:`parsnn.machines.Machine.event_cost`, whose L3 share per
    core already assumes sharing)."""
    cur = curve(machine)
    if cur is None:
        return machine.event_cost(ring_bytes, unprefetched)
    ws = np.maximum(shared_working_set(machine, ring_bytes, sharing), 1.0)
    axis = np.array(cur["mib"]) * 2 ** 20
    if "row_ns" not in cur or row is None:
        ns = np.array(cur["ns"])
        c = _interp_log(ws, axis, ns)
        u = np.clip(np.asarray(unprefetched, dtype=float), 0.0, 1.0)
        extra = u * _miss(c, ns) * max(0.0, cur["no_prefetch_ns"] - ns[-1]) if "row_ns" not in cur else 0.0
        return (c + extra) * 1e-9
    ns, row_ns = _at_distance(cur, distance)
    split = split_sharing(machine)
    c = shared_cost(machine, ring_bytes, sharing, axis, ns, split)
    r = shared_cost(machine, ring_bytes, sharing, np.array(cur["row_mib"]) * 2 ** 20, row_ns, split)
    return (c + r / np.maximum(np.asarray(row, dtype=float), ROW_MIN)) * 1e-9
