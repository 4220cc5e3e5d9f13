"""Predictions of the cluster cost model: per-phase times of every min-delay interval on every
rank, the critical path and the real-time factor (:func:`predict`), a strong-scaling curve
(:func:`sweep`) and the rank count from which the exchange dominates (:func:`crossover`).

:func:`predict` runs in stages: the computation of every rank (update, delivery, pack, their
fluctuation) on its threads, the communication (the engine's one fixed-block collective and its
overflow rounds), ranks sharing cores, rank 0's spike recording and the engine's exchange timers,
then the result dict. See
:mod:`parsnn.mapping.cluster` for the equations.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from parsnn.mapping.cluster import recordcost, scatter, team, threadwait
from parsnn.mapping.cluster.distance import engine_distance
from parsnn.mapping.cluster.collectives import (best_exchange, exchange_collective, expected_max_normal,
                                                neighbor_collective, node_layout)
from parsnn.machines import Machine, load_machine
from parsnn.connectivity import Connectivity, require
from parsnn.errors import ParameterError
from parsnn.engine.footprint import static_synapse_bytes
from parsnn.mapping.cluster.plasticcost import plastic_event_cost_ns
from parsnn.mapping.cluster.workload import ring_working_set, workload

#: keys of the dict returned by :func:`predict`
PREDICTION_KEYS = ("machine", "model", "ranks", "threads", "nodes", "ranks_per_node", "partition", "min_delay_steps",
                   "interval_ms", "intervals_per_model_s", "per_rank", "phases", "exchange_terms",
                   "critical_path_s", "compute_s", "exchange_s", "rtf", "exchange_fraction", "dominant",
                   "oversubscribed", "prefetch", "workload", "rtf_range", "critical_path_s_range")
#: phases reported per rank (seconds per interval), as the engine's timers
PHASES = ("update", "exchange", "deliver")
#: the engine's smallest work for a parallel region (cython/engine.pyx PAR_MIN_UPDATES, PAR_MIN_EVENTS):
#: below both, one thread runs every thread's share in turn
PAR_MIN_UPDATES, PAR_MIN_EVENTS = 4096, 1024


def thread_terms(machine: Machine, T: int) -> dict:
    """The thread constants of ``machine`` for ``T`` threads per rank: ``update_efficiency`` and
    ``deliver_efficiency`` (the work of one thread is (work / T) / efficiency), ``region_s`` (one OpenMP
    parallel region per interval: :func:`~parsnn.mapping.cluster.team.region_s`) and ``team_s`` (the
    persistent team's meeting per interval before any wait beyond its spin phase:
    :func:`~parsnn.mapping.cluster.team.team_s`). T = 1: efficiencies 1, no synchronisation.
    A ParameterError if T > 1 and the machine file has no ``[threads]`` table."""
    if T == 1:
        return {"update_efficiency": 1.0, "deliver_efficiency": 1.0, "region_s": 0.0, "team_s": 0.0}
    if "threads" not in machine.data:
        raise ParameterError(f"machine '{machine.name}' has no thread constants ([threads]): predict with "
                             f"--threads 1, or calibrate it (parsnn calibrate measures them)")
    return {"update_efficiency": float(machine._get("threads", "update_efficiency")),
            "deliver_efficiency": float(machine._get("threads", "deliver_efficiency")),
            "region_s": team.region_s(machine, T), "team_s": team.team_s(machine, T)}


def _sync_time(mach: Machine, wl: dict, P: int, m: int, par, nthr: int, serial) -> tuple[np.ndarray, np.ndarray]:
    """(seconds per interval of every rank's thread synchronisation, whether it is the team's meeting):
    the engine's team where a rank's neuron updates per interval reach ``PAR_MIN_UPDATES`` (its waiters
    waited ``serial``, thread 0's serial part), one OpenMP region where only its events make the work
    parallel (``par`` > 1), else nothing."""
    neurons = sum(np.asarray(v, dtype=float) for v in wl["neurons"].values()) if wl["neurons"] else np.zeros(P)
    is_team = (par > 1) & (neurons * m >= PAR_MIN_UPDATES)
    serial = np.broadcast_to(np.asarray(serial, dtype=float), (P,))
    t_par = np.maximum(par, 1).astype(int)
    sync = np.array([team.team_s(mach, int(t), float(w)) if tm else (team.region_s(mach, int(t)) if t > 1 else 0.0)
                     for t, w, tm in zip(t_par, serial, is_team)]) if nthr > 1 else np.zeros(P)
    return sync, is_team


#: the tables of size-dependent thread efficiencies: [threads.<name>] with points (<axis>_i, eff_i)
THREAD_CURVES = {"update": "n", "deliver": "mib"}


def thread_efficiency(machine: Machine, phase: str, size, default: float) -> np.ndarray:
    """The thread efficiency of ``phase`` ('update' or 'deliver') at ``size`` (per rank: its neurons for the
    update, the ring bytes one thread writes in an interval, in MiB, for the
    delivery) from the machine file's measured points ``[threads.<phase>]`` (``n_i`` or ``mib_i`` and
    ``eff_i``, several calibration networks on 1 rank x 2 threads vs 1 x 1): linear in log size between
    the points, constant beyond the ends; ``default`` (the scalar efficiency) without two points."""
    tab = (machine.data.get("threads") or {}).get(phase)
    axis = THREAD_CURVES[phase]
    size = np.asarray(size, dtype=float)
    if not isinstance(tab, dict):
        return np.full(size.shape, float(default))
    pts = sorted((float(tab[f"{axis}_{k[4:]}"]), float(tab[k])) for k in tab
                 if k.startswith("eff_") and f"{axis}_{k[4:]}" in tab and float(tab[f"{axis}_{k[4:]}"]) > 0)
    if len(pts) < 2:
        return np.full(size.shape, float(default))
    return np.interp(np.log(np.maximum(size, 1e-12)), np.log([p[0] for p in pts]), [p[1] for p in pts])


def _efficiencies(mach: Machine, wl: dict, P: int, m: int, par, thr: dict) -> tuple[np.ndarray, np.ndarray]:
    """(update, delivery) thread efficiency of every rank at its size (:func:`thread_efficiency`: its
    neurons, whose state the threads' update sweeps every step, so the same size for any min delay; the ring
    MiB each of its ``par`` threads writes per interval), from the scalar ones of :func:`thread_terms`
    ``thr`` where the machine file has no size-dependent points. (Before session 23 the update's size was
    the neuron updates per interval, neurons x min-delay steps: the same for the calibration networks,
    whose min delay is one step, but hpc_benchmark's 15 steps read the efficiency of a network 15x larger,
    beyond the L2, and its 1 x 2 update came out 36 % too fast: analysis/results/thread_update23/.)"""
    local = sum(np.asarray(v, dtype=float) for v in wl["neurons"].values()) if wl["neurons"] else np.zeros(P)
    return (thread_efficiency(mach, "update", local, thr["update_efficiency"]),
            thread_efficiency(mach, "deliver", ring_working_set(wl, m) / par / 2 ** 20, thr["deliver_efficiency"]))


def _parallel(wl: dict, P: int, m: int, T: float, threads: int, cores: int) -> np.ndarray:
    """Threads whose work runs in parallel on every rank: ``threads`` where the interval's updates or
    events reach the engine's smallest parallel work, else 1 (one thread runs the shares in turn);
    at most the cores a rank has (``cores // P``, >= 1)."""
    if threads == 1:
        return np.ones(P)
    neurons = sum(wl["neurons"].values()) if wl["neurons"] else np.zeros(P)
    big = (np.asarray(neurons) * m >= PAR_MIN_UPDATES) | (wl["events_per_s"] * T >= PAR_MIN_EVENTS)
    return np.where(big, float(min(threads, max(1, cores // P))), 1.0)


def _update_time(wl: dict, machine: Machine, P: int, m: int, par=1.0, eff=1.0) -> np.ndarray:
    """Update phase of every rank (thread 0's share with ``par`` threads of efficiency ``eff``, per rank):
    fixed cost, neuron updates by kernel, Poisson input draws."""
    work = np.zeros(P)
    for model, n in wl["neurons"].items():
        work += m * n * machine.update_cost(model)
    work += m * wl["poisson_inputs"] * machine.ns("poisson_input_ns", default=0.0)
    return machine.us("overhead", "update_us") + work / (par * np.where(par > 1, eff, 1.0))


def _delivery_time(wl: dict, machine: Machine, P: int, m: int, T: float, par=1.0, eff=1.0,
                   rpn: int = 1, distance=None) -> dict:
    """Delivery phase of every rank (``deliver``; thread 0's share with ``par`` threads of efficiency
    ``eff``: each thread walks every received spike and scatters its sub-row, 1/par of the row, into
    its own neurons' ring slots, 1/par of the ring; ``rpn`` ranks of the node scatter at the same time)
    with its parts: events ``ev`` and received
    spikes ``sp`` per interval, plastic events ``pev`` among the events, ring bytes a thread writes
    ``ring_ws``, unprefetched event fraction
    ``f_np`` (the first 128 synapses of every sub-row), a thread's sub-row ``row`` (events per received spike
    / par), seconds per event ``c_evt`` at the engine's prefetch ``distance`` and the per-spike part
    ``spikes_part`` (every thread walks every received spike)."""
    ev = wl["events_per_s"] * T
    sp = wl["spikes_in_per_s"] * T
    # ring bytes written in one interval (emission steps x the spread of the delays), a thread's share
    ring_ws = ring_working_set(wl, m) / par
    with np.errstate(divide="ignore", invalid="ignore"):
        f_np = np.where(wl["events_per_s"] > 0, wl.get("events_unprefetched_per_s", 0.0 * ev)
                        / np.maximum(wl["events_per_s"], 1e-300), 0.0)
    f_np = np.minimum(1.0, f_np * par)
    # the cores scattering at once on a node (its ranks x their parallel threads) share the cache beyond L2
    sharing = np.minimum(float(rpn) * par, float(machine._get("machine", "cores_per_l3", default=1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        row = np.where(sp > 0, ev / np.maximum(sp, 1e-300), 0.0) / par
    c_evt = scatter.event_cost(machine, ring_ws, f_np, sharing, row, distance)
    # a received spike's synapse (sub-)row starts with a cache miss when the synapses of a thread
    # (static_synapse_bytes each: 6 B, 8 B on a rank of more than 2 x 65536 neurons) do not fit in the
    # caches of its core
    l23 = machine.cache_levels()[1]
    local = sum(np.asarray(v, dtype=np.float64) for v in wl["neurons"].values()) if wl["neurons"] else np.zeros(P)
    syn_bytes = np.maximum(static_synapse_bytes(local) * wl["synapses"] / par, 1.0)
    row_miss = machine.ns("row_miss_ns", default=0.0) * (1.0 - np.minimum(1.0, l23 / syn_bytes))
    e_thr = np.where(par > 1, eff, 1.0)
    # thread 0's share of the events (the wait for the slowest thread: threadwait, on top)
    events = ev / par * c_evt / e_thr
    # a plastic event also updates its weight (archive lookups, facilitations): plastic_event_ns, facilitation_ns per
    # post spike it reads and the history windows' searches and misses (plasticcost), on top; not scaled by the thread efficiency, which the static scatter networks measure (a
    # thread's smaller share of the rings): on hpc_benchmark's 1 x 2 that made the delivery 24 % too fast against 2 x 1's
    # 11 % (session 23, analysis/results/calibration23/README.md)
    pev = wl.get("plastic_events_per_s", 0.0 * ev) * T
    plastic = pev / par * plastic_event_cost_ns(machine, wl, par)
    spikes_part = sp * (machine.ns("spike_ns") + row_miss)
    dl = machine.us("overhead", "deliver_us") + events + plastic + spikes_part
    return {"deliver": dl, "ev": ev, "pev": pev, "sp": sp, "ring_ws": ring_ws, "f_np": f_np, "row": row, "c_evt": c_evt,
            "spikes_part": spikes_part}


def _pack_time(wl: dict, machine: Machine, P: int, T: float):
    """The exchange phase's own work on every rank: fixed cost, spike words copied, peer loops, and
    the sort of the received spikes into canonical order (each rank's spikes arrive sorted by step,
    then gid: qsort merges min(P, S) runs)."""
    sp = wl["spikes_in_per_s"] * T
    runs = np.maximum(np.minimum(float(P), sp), 1.0)
    return (machine.us("overhead", "exchange_us") + wl["copies_per_s"] * T * machine.ns("pack_ns", default=0.0)
            + (P * machine.ns("peer_ns", default=0.0) if P > 1 else 0.0)
            + sp * machine.ns("compare_ns", default=0.0) * np.log2(runs))


def _fluctuation(machine: Machine, c_evt: np.ndarray, ev: np.ndarray, busy: np.ndarray) -> np.ndarray:
    """Standard deviation of every rank's work per interval: Poisson delivery work, plus machine
    noise (relative to the rank's work, and absolute: noisebench's ``sigma_rel``, ``sigma_us``) and the
    engine's own beyond it (``[noise] wait_us``, absolute, and ``wait_rel``, relative to the rank's busy time:
    its wait policy's wake-ups, the work that varies with the interval's spikes;
    :func:`~parsnn.mapping.cluster.waitfit.wait_constants`). Files before fit version 7 have neither (0),
    files of version 7 only ``wait_us`` (fitted on PD14 0.1 on 2 ranks); version 8 fits both on the 2-rank
    calibration networks."""
    noise_abs = machine.us("noise", "sigma_us", default=0.0)
    noise_rel = float(machine._get("noise", "sigma_rel", default=0.0))
    wait_abs = machine.us("noise", "wait_us", default=0.0)
    wait_rel = float(machine._get("noise", "wait_rel", default=0.0))
    return np.sqrt(c_evt ** 2 * ev + (noise_rel * busy) ** 2 + noise_abs ** 2 + wait_abs ** 2
                   + (wait_rel * busy) ** 2)


def _communication(wl: dict, machine: Machine, P: int, T: float, rpn: int, nodes: int, exchange: str = "auto") -> dict:
    """The interval's exchange (:func:`~parsnn.mapping.cluster.collectives.best_exchange`: the
    fixed-block Alltoall and its expected overflow rounds, or the neighbourhood exchange when it is
    cheaper, as ``--exchange auto`` chooses; ``exchange`` = ``alltoall`` / ``neighbor`` forces one), ``calls`` (the engine's cost of the
    exchange call beyond the MPI library's, ``overhead.collective_call_us``, once per interval) and
    their sum ``seconds``; the exchange is done once per rank, by one thread."""
    x = best_exchange(wl, T, P, rpn, nodes, machine)
    if exchange in ("alltoall", "neighbor") and x["scheme"] != exchange:
        one = (exchange_collective if exchange == "alltoall" else neighbor_collective)(wl, T, P, rpn, nodes, machine)
        x = {**x, **one, "scheme": exchange}
    calls = machine.us("overhead", "collective_call_us") if P > 1 else 0.0
    return {"collective": x, "calls": calls, "seconds": calls + x["seconds"]}


def _oversubscribed(machine: Machine, P: int, busy: np.ndarray, fluctuation: float) -> tuple[float, float]:
    """(compute, extra communication) when ranks share cores. Ranks sharing a core serialize:
    rank r runs on core r mod cores, and a core runs its ranks' work one after the other; a rank
    that waits in a collective polls, then yields its core (MPICH: MPIR_CVAR_POLLS_BEFORE_YIELD):
    one such spin and switch per interval and extra rank on a core."""
    cores = machine.cores
    per_core = np.zeros(cores)
    np.add.at(per_core, np.arange(P) % cores, busy)
    compute = float(per_core.max() + fluctuation)
    # the cores switch in parallel: the most crowded core's extra ranks set the cost
    return compute, (math.ceil(P / cores) - 1) * machine.us("oversubscription", "yield_us", default=0.0)


def _exchange_timers(critical: float, upd, dl, rec, region, t_sim_ms, flush_ms: float) -> np.ndarray:
    """What the engine's exchange timer of every rank holds: pack + waiting for the slowest rank
    + the collectives; a rank's own update and deliver phases are short (< a time slice) and are
    not stretched. The other ranks wait for rank 0's flush in their next exchange; the last flush
    ends the run. The parallel region's fork, join and barrier (``region``) are in no timer."""
    n_flush = 1 if t_sim_ms is None else max(1, math.ceil(float(t_sim_ms) / float(flush_ms) - 1e-9))
    in_exchange = 1.0 if t_sim_ms is None else (n_flush - 1) / n_flush
    exch = critical - upd - dl - rec - region
    exch[1:] -= (1.0 - in_exchange) * rec[0]
    return exch


def _workload_summary(wl: dict, T: float, delivery: dict, busy: np.ndarray) -> dict:
    """Per-interval scalars of the workload (events, spikes, neurons, ring bytes, imbalance)."""
    ev, c_evt = delivery["ev"], delivery["c_evt"]
    return {"events_per_interval_mean": float(ev.mean()),
            "plastic_events_per_interval_mean": float(np.mean(delivery["pev"])),
            "spikes_in_per_interval_mean": float(delivery["sp"].mean()),
            "spikes_out_per_interval_total": float(wl["spikes_out_per_s"].sum() * T),
            "neurons_per_rank_max": float(sum(wl["neurons"].values()).max()) if wl["neurons"] else 0.0,
            "ring_bytes_per_interval_max": float(delivery["ring_ws"].max()), "event_ns": float(c_evt.max() * 1e9),
            "unprefetched_event_fraction": float(np.max(delivery["f_np"])),
            "imbalance": float(busy.max() / busy.mean()) if busy.mean() > 0 else 1.0}


def predict(conn: Connectivity, ranks: int, machine=None, partition="round_robin", rates=None,
            min_delay_steps: int | None = None, ranks_per_node: int | None = None, wl: dict | None = None,
            t_sim_ms: float | None = None, flush_ms: float = 1000.0, with_range: bool = True,
            threads: int = 1, exchange: str = "auto", interval_counts=None, prefetch_distance=None) -> dict:
    """Predicted per-phase times per min-delay interval, critical path and RTF, for ``ranks`` ranks of
    ``threads`` OpenMP threads each (update and delivery on the threads, the exchange once per rank;
    ``exchange``: the scheme, ``auto`` the cheaper as the engine's ``--exchange auto``).

    ``conn``: the network's :class:`~parsnn.connectivity.Connectivity`; ``wl``: its
    :func:`~parsnn.mapping.cluster.workload.workload` if already computed. Returns a dict with the
    keys :data:`PREDICTION_KEYS`:

    - ``per_rank``: {'update', 'deliver', 'exchange', 'busy'}: lists over ranks, seconds per
      interval; 'exchange' is what the engine's exchange timer holds (pack, waiting for the
      slowest rank, the collective);
    - ``phases``: {'update', 'deliver', 'exchange'}: the mean over ranks and ``*_max``;
    - ``exchange_terms``: the parts of the communication (seconds per interval);
    - ``critical_path_s`` (seconds per interval), ``compute_s`` (max busy rank plus
      fluctuations), ``exchange_s`` (communication after the slowest rank arrives),
      ``rtf``, ``exchange_fraction`` (= exchange_s / critical_path_s) and ``dominant``
      ('exchange' or 'compute');
    - ``workload``: per-interval scalars of the workload (events, spikes, messages).

    ``t_sim_ms`` (None: a long run) and ``flush_ms`` (the simulation's recording flush period)
    say how many of rank 0's recording flushes the other ranks wait for in an exchange: all but
    the last, which ends the run.

    With ``threads`` > 1 every thread's work follows from the engine's owner map and thread 0 waits for
    the slowest one (:func:`~parsnn.mapping.cluster.threadwait.rank_threads`; ``per_rank['threads_wait']``,
    outside every timer); ``interval_counts`` (intervals x S, populations in the order of ``conn.names``):
    the populations' spike counts in every min-delay interval of a run (None: Poisson).
    ``prefetch_distance``: the engine's prefetch distance of the run (a run file's, :func:`run_inputs`); None:
    the tuner's cached choice on this machine, else the default (:mod:`~parsnn.mapping.cluster.distance`;
    ``prefetch`` in the result says which).

    ``machine``: a :class:`~parsnn.machines.Machine`, a shipped name or a TOML path; None: the
    calibration of the machine this runs on (:func:`parsnn.machines.fingerprint.resolve_machine`;
    a :class:`~parsnn.machines.fingerprint.NoCalibrationError` if there is none). ``rtf_range`` and
    ``critical_path_s_range`` ([low, high]) span the point prediction and the predictions with the
    constants of each measuring segment (or batch) of the calibration (:func:`_ranges`; None without
    them, or if not ``with_range``).
    More threads on a node than it has cores (``ranks_per_node x threads > cores``, threads > 1) is
    refused (:class:`OversubscribedThreads`, a ParameterError); ranks beyond the cores are modelled.
    """
    require(conn, "conn", "predict")
    mach = _machine(machine)
    P, nthr = int(ranks), int(threads)
    if nthr < 1:
        raise ParameterError(f"threads must be >= 1, got {threads}")
    if wl is None:
        wl = workload(conn, P, partition, rates, min_delay_steps)
    m = int(wl["min_delay_steps"]) if min_delay_steps is None else int(min_delay_steps)
    h, T = wl["resolution"], m * wl["resolution"] * 1e-3             # T: model seconds per interval
    rpn, nodes = node_layout(P, mach, ranks_per_node)
    _check_threads(mach, P, nthr, rpn)
    pf = engine_distance(wl, mach, P * nthr, prefetch_distance)
    par, upd, dl, delivery, wait = _computation(conn, wl, mach, P, m, T, nthr, rpn, interval_counts, pf["distance"])
    pack = _pack_time(wl, mach, P, T)
    # ---- communication (once per rank, by thread 0; the other threads wait for it in the team)
    comm_parts = _communication(wl, mach, P, T, rpn, nodes, exchange)
    comm = comm_parts["seconds"]
    region, is_team = _sync_time(mach, wl, P, m, par, nthr, pack + comm)
    busy = upd + dl + pack + region + wait
    sigma = _fluctuation(mach, delivery["c_evt"], delivery["ev"], busy)
    e = expected_max_normal(P)
    compute = float(busy.max() + e * sigma.max())
    # ---- ranks sharing cores
    over = P > mach.cores         # ranks beyond the cores (threads beyond them do not speed up: _parallel)
    if over:
        compute, extra = _oversubscribed(mach, P, busy, e * sigma.max())
        comm += extra
    # ---- spike recording: rank 0 gathers and writes every recorded spike, a fixed cost per recorded
    # population and flush (:mod:`~parsnn.mapping.cluster.recordcost`; amortised per interval);
    # the other ranks wait for it in their next exchange
    rec = np.zeros(P)
    rec[0] = recordcost.record_time(wl, mach, T, t_sim_ms, flush_ms)
    critical = compute + comm + float(rec[0])
    exch = _exchange_timers(critical, upd, dl, rec, region + wait, t_sim_ms, flush_ms)
    x, calls = comm_parts["collective"], comm_parts["calls"]
    out = {
        "machine": mach.name, "model": wl.get("model", ""), "ranks": P, "threads": nthr, "nodes": nodes, "ranks_per_node": rpn,
        "partition": wl.get("strategy", ""), "min_delay_steps": m, "interval_ms": m * h,
        "intervals_per_model_s": 1.0 / T,
        "per_rank": {"update": upd.tolist(), "deliver": dl.tolist(), "exchange": exch.tolist(),
                     "record": rec.tolist(), "threads_region": region.tolist(), "threads_wait": wait.tolist(),
                     "busy": busy.tolist()},
        "phases": {"update": float(upd.mean()), "deliver": float(dl.mean()), "exchange": float(exch.mean()),
                   "update_max": float(upd.max()), "deliver_max": float(dl.max()), "exchange_max": float(exch.max())},
        "exchange_terms": {**_exchange_terms(x, calls, pack, region, is_team, par, compute - busy.mean()),
                           "threads_wait": float(wait.max())},
        "critical_path_s": critical, "compute_s": compute, "exchange_s": comm,
        "rtf": critical / T, "exchange_fraction": comm / critical if critical > 0 else 0.0,
        "dominant": "exchange" if comm > critical - comm else "compute",
        "oversubscribed": over, "prefetch": pf,
        "workload": _workload_summary(wl, T, delivery, busy),
    }
    out.update(_ranges(conn, P, mach, partition, rates, min_delay_steps, ranks_per_node, wl, t_sim_ms, flush_ms,
                       with_range, nthr, out, exchange, interval_counts, pf["distance"]))
    return out


def _computation(conn: Connectivity, wl: dict, mach: Machine, P: int, m: int, T: float, nthr: int, rpn: int,
                 interval_counts, distance=None) -> tuple:
    """The computation of every rank on its threads, seconds per interval: (threads running in parallel
    ``par``, update, delivery, the delivery's parts (:func:`_delivery_time`), thread 0's wait for the
    slowest thread, in no timer (:func:`~parsnn.mapping.cluster.threadwait.rank_threads`; 0 on one
    thread)); update and delivery are thread 0's, what the engine's timers hold; ``distance``: the engine's
    prefetch distance."""
    thr = thread_terms(mach, nthr)
    par = _parallel(wl, P, m, T, nthr, mach.cores)
    eff_upd, eff_del = _efficiencies(mach, wl, P, m, par, thr) if nthr > 1 else (1.0, 1.0)
    upd = _update_time(wl, mach, P, m, par, eff_upd)
    delivery = _delivery_time(wl, mach, P, m, T, par, eff_del, min(rpn, mach.cores_per_node), distance)
    dl = delivery["deliver"]
    wait = np.zeros(P)
    if nthr > 1:
        tw = threadwait.rank_threads(conn, wl, mach, m, T, nthr, par, eff_upd, eff_del, delivery, interval_counts)
        upd, dl, wait = np.where(par > 1, tw["update"], upd), np.where(par > 1, tw["deliver"], dl), tw["wait"]
    return par, upd, dl, delivery, wait


def _exchange_terms(x: dict, calls, pack, region, is_team, par, imbalance: float) -> dict:
    """The prediction's ``exchange_terms``: the collective's parts ``x`` (:func:`_communication`), the
    pack, the threads' synchronisation (``region`` per rank; team where ``is_team``), the parallel
    threads and the imbalance plus fluctuation over the mean busy rank."""
    sync = float(region.max())
    return {"scheme": x["scheme"], "neighbours": x["neighbours"],
            "alltoall_total": x["alltoall_total_s"], "neighbor_total": x["neighbor_total_s"],
            "pack_and_fixed": float(pack.max()), "collective_calls": calls,
            "alltoall_block": x["alltoall_s"], "alltoall_algorithm": x["algorithm"],
            "alltoall_rounds": x["rounds"], "block_words": x["block_words"],
            "need_words": x["need_words"], "overflow_per_interval": x["overflow_per_interval"],
            "overflow": x["overflow_s"], "threads_region": sync,
            "threads_sync": ("team" if is_team.any() else "omp_region") if sync > 0 else "none",
            "parallel_threads": float(par.max()), "imbalance_and_fluctuation": float(imbalance)}


def _machine(machine):
    """A Machine: as given, loaded by name or path, or (None) this machine's calibration."""
    if machine is None:
        from parsnn.machines.fingerprint import resolve_machine
        return resolve_machine(None)[0]
    return load_machine(machine)


class OversubscribedThreads(ParameterError):
    """A prediction asked for more threads on a node than it has cores (not modelled)."""


def _check_threads(mach: Machine, P: int, nthr: int, rpn: int):
    """:class:`OversubscribedThreads` when ``rpn`` ranks of ``nthr`` threads (> 1) exceed a node's cores."""
    if nthr > 1 and rpn * nthr > mach.cores_per_node:
        raise OversubscribedThreads(
            f"{P} rank(s) x {nthr} threads puts {rpn * nthr} threads on a node of machine '{mach.name}', which has "
            f"{mach.cores_per_node} cores: threads sharing a core are not modelled (predict at most "
            f"{mach.cores_per_node} ranks x threads per node, or more ranks with one thread each: ranks beyond the "
            f"cores are modelled)")


def batch_machines(mach: Machine) -> list[Machine] | None:
    """One machine per measuring segment of ``mach``'s calibration (``[calibration] per_segment``: every
    segment of every batch, fitted on its own), or per batch (``per_batch``) for a file without
    segments: its data with every measured constant (:data:`~parsnn.mapping.cluster.machinefile.MEASURED`)
    at that segment's or batch's value (negative fits at 0, as in the file); None with fewer than two."""
    from parsnn.mapping.cluster.machinefile import MEASURED
    cal = mach.data.get("calibration") or {}
    per = cal.get("per_segment") or []
    per = per if len(per) >= 2 else (cal.get("per_batch") or [])
    if len(per) < 2:
        return None
    out = []
    for i, batch in enumerate(per, start=1):
        data = copy.deepcopy(mach.data)
        data.pop("spread", None)
        for path, key, _how in MEASURED:
            v = batch.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                t = data
                for k in path[:-1]:
                    t = t.setdefault(k, {})
                t[path[-1]] = max(0.0, float(v))
        out.append(Machine(name=f"{mach.name} (sample {i})", data=data, path=mach.path, inherited=mach.inherited))
    return out


def _ranges(conn, P, mach, partition, rates, min_delay_steps, ranks_per_node, wl, t_sim_ms, flush_ms,
            with_range, threads, point: dict, exchange="auto", interval_counts=None, distance=None) -> dict:
    """``rtf_range`` and ``critical_path_s_range``: the smallest and largest of the point prediction
    ``point`` and the predictions with each calibration segment's or batch's constants (:func:`batch_machines`), or,
    for a file without per-batch constants, with every constant at its low / high bound
    (:meth:`~parsnn.machines.Machine.bounds`); None without either. ``exchange``: the scheme predicted."""
    machines = (batch_machines(mach) or mach.bounds()) if with_range else None
    if not machines:
        return {"rtf_range": None, "critical_path_s_range": None}
    ps = [point] + [predict(conn, P, b, partition, rates, min_delay_steps, ranks_per_node, wl, t_sim_ms,
                            flush_ms, with_range=False, threads=threads, exchange=exchange, interval_counts=interval_counts,
                            prefetch_distance=distance)
          for b in machines]
    rtf = [float(p["rtf"]) for p in ps]
    crit = [float(p["critical_path_s"]) for p in ps]
    return {"rtf_range": [min(rtf), max(rtf)], "critical_path_s_range": [min(crit), max(crit)]}


def sweep(conn: Connectivity, ranks, machine=None, partition="round_robin", rates=None,
          min_delay_steps: int | None = None, ranks_per_node: int | None = None, keep_per_rank: bool = False,
          threads=(1,), skipped: list | None = None):
    """:func:`predict` for every rank count in ``ranks`` and thread count in ``threads`` (an int or a
    list; a strong-scaling curve, ranks outer); the machine is loaded once (None: this machine's
    calibration, as :func:`predict`).
    ``conn``: the network's :class:`~parsnn.connectivity.Connectivity`. A combination with more threads
    on a node than cores raises :class:`OversubscribedThreads`; with a list ``skipped``, it is left out
    and its message appended there instead (the error is still raised if nothing is left)."""
    require(conn, "conn", "sweep")
    mach = _machine(machine)
    out = []
    for P in ranks:
        wl = workload(conn, int(P), partition, rates, min_delay_steps)
        for t in ([threads] if isinstance(threads, int) else threads):
            try:
                p = predict(conn, int(P), mach, partition, rates, min_delay_steps, ranks_per_node, wl=wl,
                            threads=int(t))
            except OversubscribedThreads as e:
                if skipped is None:
                    raise
                skipped.append(str(e))
                continue
            if not keep_per_rank:
                p = {k: v for k, v in p.items() if k != "per_rank"}
            out.append(p)
    if not out and skipped:
        raise OversubscribedThreads(skipped[0])
    return out


def crossover(curve: list[dict]) -> int | None:
    """Smallest rank count of a :func:`sweep` at which the exchange outweighs the computation."""
    for p in curve:
        if p["dominant"] == "exchange":
            return int(p["ranks"])
    return None
