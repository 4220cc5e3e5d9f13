"""Calibration of the cluster cost model: a machine's constants fitted from measured runs and
micro-benchmarks, and (:data:`TOML_TEMPLATE`) the 2026-11-22 machine file
``parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml`` written from them.

The measurements themselves (runs of the simulator under mpiexec, the C micro-benchmarks
parsnn/machines/bench/mpibench.c and parsnn/machines/bench/noisebench.c) are made by
:mod:`~parsnn.mapping.cluster.measure`, for ``parsnn calibrate`` (:mod:`~parsnn.mapping.cluster.calibrate`)
and ``analysis/cost_model_validation.py``; this module only fits. A *run record* is the
dict that script saves per run (``analysis/results/cost_model_runs/*.json``): ``perf`` (the
engine's performance figures: per-rank timers ``timer_update`` / ``timer_deliver`` /
``timer_exchange`` / ``timer_record`` in seconds, ``synaptic_events``, ``num_local_neurons``,
``rtf``), ``delivered_spikes`` (per rank), ``intervals``, ``t_sim_ms``, ``ranks``,
``min_delay_steps``, ``rank_of``, ``rates`` and ``description`` (the network's ``describe()``
dict: each record's :class:`~parsnn.connectivity.Connectivity` is made from it once, in
:func:`_event_equations`).

:func:`fit_constants` gives every per-operation constant (keys as in
analysis/results/cost_model_calibration.json); :func:`noise_constants` the machine noise;
:func:`oversubscription_yield_us` the one constant fitted on an oversubscribed run;
:func:`write_machine_toml` the machine file.
"""
from __future__ import annotations

import json
import math

import numpy as np

from parsnn.mapping.cluster import plasticcost, recordcost, scatter, threadwait
from parsnn.mapping.cluster.collectives import expected_max_normal
from parsnn.connectivity import Connectivity, require
from parsnn.mapping.cluster.workload import PREFETCH_DISTANCE, ring_working_set, workload

#: (L2 of a core, L2 + its L3 share) in bytes of the machine the runs were measured on, as written
#: into epyc_zen5_kvm_2core_2026_11_22.toml (lscpu: 1 MiB L2 per core, 32 MiB L3 shared by 2 cores)
THIS_MACHINE_CACHES = (1024 * 1024.0, (1024 + 16 * 1024) * 1024.0)
#: the first guess of the L2 event cost (seconds) of the iterated spike/event fit
_EVENT_L2_GUESS_S = 1.5e-9
_EVENT_FIT_ITERATIONS = 3


def mean_runs(runs: list[dict]) -> dict:
    """One run record whose timers and RTF are the means of the given repeats (same configuration)."""
    out = json.loads(json.dumps(runs[0]))
    for k in ("timer_update", "timer_deliver", "timer_exchange", "timer_record", "simulate_seconds"):
        out["perf"][k] = np.mean([r["perf"][k] for r in runs], axis=0).tolist()
    out["perf"]["rtf"] = float(np.mean([r["perf"]["rtf"] for r in runs]))
    out["repeats"] = [r.get("started") for r in runs]
    return out


def run_summary(res: dict) -> dict:
    """The figures of a run record that the calibration file keeps."""
    return {"ranks": res["ranks"], "t_sim_ms": res["t_sim_ms"], "started": res.get("started"),
            "busy_cores_before": res.get("busy_cores_before"), "timers": {ph: res["perf"][f"timer_{ph}"] for ph in
                                                             ("update", "exchange", "deliver", "record")},
            "synaptic_events": res["perf"]["synaptic_events"], "delivered_spikes": res["delivered_spikes"],
            "intervals": res["intervals"], "rates": res["rates"], "rtf": res["perf"]["rtf"]}


def _per_rank(res: dict, key: str) -> np.ndarray:
    """A per-rank performance figure of a run record as an array."""
    return np.asarray(res["perf"][key], dtype=float)


def cache_fractions(cache_levels: tuple[float, float], ring_bytes: float) -> tuple[float, float, float]:
    """Shares of the events served by the L2, the L3 and memory when the ring-buffer slots of one
    interval span ``ring_bytes`` (as :meth:`parsnn.machines.Machine.event_cost`)."""
    l2, l23 = cache_levels
    ws = max(float(ring_bytes), 1.0)
    f2 = min(1.0, l2 / ws)
    f3 = min(1.0, l23 / ws) - f2
    return f2, f3, 1.0 - f2 - f3


def ring_bytes(conn: Connectivity, P: int, rank_of=None, rates=None, m=None) -> tuple[float, dict]:
    """(ring bytes written per interval on the busiest rank, as the model computes them; the workload)
    of the network ``conn`` (a :class:`~parsnn.connectivity.Connectivity`)."""
    require(conn, "conn", "ring_bytes")
    wl = workload(conn, P, rank_of if rank_of is not None else "round_robin", rates=rates)
    return float(ring_working_set(wl, m).max()), wl


# --------------------------------------------------------------------------- the constants

def mpi_constants(mb: dict) -> dict:
    """Shared-memory link and collectives' fixed costs (us) and the qsort comparison (ns) from
    mpibench (C, 2 ranks): overhead = time per message of an Isend burst; latency = half ping-pong
    round trip minus that overhead; Alltoall of one int minus latency and 2 overheads; empty Alltoallv."""
    c = {"shm_overhead_us": mb["isend_burst_us_per_msg"]}
    c["shm_latency_us"] = mb["pingpong_half_rtt_us"] - mb["isend_burst_us_per_msg"]
    c["alltoall_fixed_us"] = mb["alltoall_int_us"] - (c["shm_latency_us"] + 2 * c["shm_overhead_us"])
    c["alltoallv_fixed_us"] = mb["alltoallv_empty_us"]
    c["compare_ns"] = mb["qsort_ns_per_compare"]
    return c


def interval_overheads(null1: dict, null2: dict, mb: dict) -> dict:
    """Fixed cost per interval of each phase (us, ``null1_*`` / ``null2_*``) from the null network
    (no spikes, m = 1) on 1 and 2 ranks, and the engine's cost of its one exchange call per interval
    beyond the MPI library's (``collective_call_us``: the null network's exchange timer on 2 ranks
    minus mpibench's C MPI_Alltoall of one int; the engine calls MPI from C). The mpi4py call loop
    of older calibrations, when present, is kept as ``mpi4py_calls_us`` (not used by the model)."""
    c = {}
    for tag, res in (("null1", null1), ("null2", null2)):
        for ph in ("update", "deliver", "exchange"):
            c[f"{tag}_{ph}_us"] = float(_per_rank(res, f"timer_{ph}").mean() / res["intervals"] * 1e6)
    calls = null2.get("mpi4py_calls")
    if calls:
        c["mpi4py_calls_us"] = {k: {kk: vv * 1e6 for kk, vv in v.items()} for k, v in calls.items()}
    c["collective_call_us"] = c["null2_exchange_us"] - mb["alltoall_int_us"]
    return c


def thread_constants(one: dict, two: dict, c: dict, machine=None) -> dict:
    """The thread constants from one network run on 1 rank x 1 thread (``one``) and 1 rank x T threads
    (``two``, same network and model time), with the constants ``c`` fitted so far (fixed costs per
    interval ``null1_update_us`` / ``null1_deliver_us``, ``spike_ns``): thread efficiencies of the
    update and the delivery (thread 0's timer against its share of the 1-thread work: its neurons' update
    work (weighed by their models' update costs on ``machine``) and its events' share under the engine's
    owner map, :func:`~parsnn.mapping.cluster.threadwait.record_shares`;
    1 = perfect; every thread walks every received spike, so the per-spike cost is not shared) and ``thread_region_us``:
    the wall time per interval outside the phase timers with T threads minus that with one (the
    parallel region's fork and join and the wait for the slower thread), per log2 T; the same difference
    unscaled (``thread_wait_us``) and thread 0's work per interval with T threads (``thread_work_us``:
    its update and delivery timers minus their fixed and per-spike costs), from which
    :func:`parsnn.mapping.cluster.threadwait.fit_sigma_rel` measures the threads' noise.

    With ``machine`` (a :class:`~parsnn.machines.Machine` of the constants fitted so far), the delivery
    efficiency is the model's own: the 1-thread work scaled by the event cost the model gives a thread
    (1/T of the ring, shared cache; :func:`parsnn.mapping.cluster.scatter.event_cost`) over the 1-thread
    event cost, so that the prediction does not count the smaller rings twice. Also returned: the sizes
    at which they were measured, as :func:`parsnn.mapping.cluster.predict.thread_efficiency` reads them
    (``thread_update_n``: neurons of the rank; ``thread_deliver_mib``: ring MiB per thread)."""
    T = int(two.get("threads") or two["spec"].get("threads", 2))
    n = float(one["intervals"])
    S = float(np.sum(one["delivered_spikes"]))
    o_upd, o_del, c_spk = c["null1_update_us"] * 1e-6, c["null1_deliver_us"] * 1e-6, c["spike_ns"] * 1e-9

    def work(res, phase):
        """A phase's timer minus its fixed and (deliver) per-spike costs, seconds."""
        t = _per_rank(res, f"timer_{phase}")[0]
        return t - o_upd * n if phase == "update" else t - o_del * n - S * c_spk

    def untimed(res):
        """Wall time outside the phase timers, seconds."""
        timers = sum(_per_rank(res, f"timer_{ph}")[0] for ph in ("update", "deliver", "exchange", "record"))
        return _per_rank(res, "simulate_seconds")[0] - timers

    def eff(a, b):
        """a / (T b), NaN unless both are positive (nothing measurable)."""
        return float(a / (T * b)) if a > 0 and b > 0 else float("nan")
    ws, ratio = thread_event_ratio(one, T, machine)
    share_u, share_d = threadwait.record_shares(one, T, machine) if "description" in one else (1.0 / T, 1.0 / T)
    return {"thread_update_efficiency": eff(work(one, "update") * share_u * T, work(two, "update")),
            "thread_deliver_efficiency": eff(work(one, "deliver") * ratio * share_d * T, work(two, "deliver")),
            "thread_region_us": float((untimed(two) - untimed(one)) / n / math.log2(T) * 1e6),
            "thread_wait_us": float((untimed(two) - untimed(one)) / n * 1e6),
            "thread_work_us": float((work(two, "update") + work(two, "deliver")) / n * 1e6),
            "thread_update_n": float(np.sum(one["perf"]["num_local_neurons"])),
            "thread_deliver_mib": float(ws / T / 2 ** 20),
            "thread_runs_rtf": [float(one["perf"]["rtf"]), float(two["perf"]["rtf"])]}


def thread_event_ratio(one: dict, T: int, machine=None) -> tuple[float, float]:
    """(ring bytes the 1-rank run record ``one`` writes per interval, the model's event cost for one of
    ``T`` threads writing 1/T of that ring (sharing the cache beyond L2, sub-rows 1/T of the run's rows, its
    unprefetched share T times larger) over the event cost with one thread, at the run's prefetch distance:
    :func:`parsnn.mapping.cluster.scatter.event_cost` on ``machine``; 1 without a machine or events). The rows
    and the unprefetched share come from the record's events per delivered spike (the workload has no events
    for spike_generator sources, which the scatter networks use)."""
    ws, _wl = scatter.record_workload(one)
    row = scatter.record_row(one)
    if machine is None or row <= 0:
        return ws, 1.0
    u = min(row, PREFETCH_DISTANCE) / row
    d = scatter.record_distance(one)
    sharing = min(T, int(machine._get("machine", "cores_per_l3", default=1)))
    return ws, float(scatter.event_cost(machine, ws / T, min(1.0, u * T), sharing, row / T, d)
                     / scatter.event_cost(machine, ws, u, 1, row, d))


def segment_runs(runs: dict, j: int) -> dict:
    """The run records ``runs`` with their segment ``j``'s figures (``segments[j]``:
    :func:`parsnn.mapping.cluster.measure.segment_figures`) in place of their totals; a record
    without segments stays as it is."""
    out = {}
    for name, res in runs.items():
        segs = res.get("segments") or []
        if not segs:
            out[name] = res
            continue
        sg = segs[j]
        out[name] = {**res, "perf": {**res["perf"], **sg["perf"]}, "delivered_spikes": sg["delivered_spikes"],
                     "intervals": sg["intervals"], "t_sim_ms": sg["t_sim_ms"]}
    return out


def n_segments(runs: dict) -> int:
    """The measuring segments every run record of ``runs`` has (1 when one has none)."""
    return min((len(r.get("segments") or []) for r in runs.values()), default=0) or 1


def _steps(res: dict) -> float:
    """Steps of 0.1 ms in the run."""
    return res["t_sim_ms"] / 0.1


def _neurons(res: dict, pop=None) -> float:
    """Neurons of the run (all ranks), or of population ``pop``."""
    if pop is None:
        return float(np.sum(res["perf"]["num_local_neurons"]))
    return float(next(p["size"] for p in res["description"]["populations"] if p["name"] == pop))


def update_costs(runs: dict, o_upd: float) -> dict:
    """ns per neuron step of each update kernel and per Poisson input, from 1-rank runs (update
    timer minus ``o_upd`` seconds per interval). ``runs``: ``pd14_P1`` (iaf_psc_exp vectorized, DC),
    ``pd14_poisson_P1`` (Poisson background: the check), ``spikes_P1`` (poisson_source),
    ``brunel_P1`` (iaf_psc_delta + one Poisson input per neuron), ``delta_P1`` and ``expscalar_P1``
    (the kernels alone, neurons without input), optionally ``alpha_P1`` (iaf_psc_alpha alone) and
    ``alphapoisson_P1`` (iaf_psc_alpha with one Poisson input device per neuron)."""
    def per_neuron_step(res):
        """Update timer minus the fixed costs, per neuron and step (seconds)."""
        return (res["perf"]["timer_update"][0] - o_upd * res["intervals"]) / (_neurons(res) * _steps(res))
    pd1, spk1 = runs["pd14_P1"], runs["spikes_P1"]
    upd_exp = per_neuron_step(pd1)
    upd_pois = per_neuron_step(runs["pd14_poisson_P1"])
    upd_src = ((spk1["perf"]["timer_update"][0] - o_upd * spk1["intervals"]) / _steps(spk1)
               - _neurons(spk1, "T") * upd_exp) / _neurons(spk1, "S")
    upd_br = per_neuron_step(runs["brunel_P1"])
    # the Poisson input from Brunel (one input per neuron, lambda = 2 per step) minus the delta kernel;
    # PD14 with Poisson background (scalar exp kernel + one input, lambda 0.8-1.3) is the check
    upd_delta = per_neuron_step(runs["delta_P1"])
    upd_xs = per_neuron_step(runs["expscalar_P1"])
    out = {"update_ns_iaf_psc_exp": upd_exp * 1e9, "poisson_input_ns": (upd_br - upd_delta) * 1e9,
           "update_ns_poisson_source": upd_src * 1e9, "update_ns_iaf_psc_delta": upd_delta * 1e9,
           "update_ns_iaf_psc_exp_scalar": upd_xs * 1e9, "poisson_input_ns_pd14_check": (upd_pois - upd_xs) * 1e9}
    # the iaf_psc_alpha kernel alone, and with one Poisson input device per neuron (the engine's one-device path,
    # hpc_benchmark's drive: its own key, input included)
    for key, name in (("update_ns_iaf_psc_alpha", "alpha_P1"), ("update_ns_iaf_psc_alpha_pone", "alphapoisson_P1")):
        if name in runs:
            out[key] = per_neuron_step(runs[name]) * 1e9
    return out


def pack_costs(pd1: dict, br1: dict, spk1: dict, null1_exchange_us: float) -> dict:
    """Exchange phase on 1 rank = fixed per interval + per spike copy packed, solved from PD14 0.1
    (few spikes, m = 1) and Brunel A 0.5 (many spikes): ``exchange_us``, ``pack_ns``; and the
    'spikes' network's per-copy cost above the null network's fixed cost (``pack_ns_spikes_network``)."""
    A = [[pd1["intervals"], float(np.sum(pd1["delivered_spikes"]))],
         [br1["intervals"], float(np.sum(br1["delivered_spikes"]))]]
    o_x, c_pack = np.linalg.solve(np.array(A), np.array([pd1["perf"]["timer_exchange"][0],
                                                         br1["perf"]["timer_exchange"][0]]))
    S_spk = float(np.sum(spk1["delivered_spikes"]))
    return {"exchange_us": o_x * 1e6, "pack_ns": c_pack * 1e9,
            "pack_ns_spikes_network": ((spk1["perf"]["timer_exchange"][0] / spk1["intervals"]
                                        - null1_exchange_us * 1e-6) / (S_spk / spk1["intervals"]) * 1e9)}


def _event_equations(runs: list[tuple[str, dict]], full: dict | None, full_connectivity, o_del: float,
                     cache_levels: tuple[float, float]) -> list[dict]:
    """One equation per run for the event costs: the shares of its events served by L2 / L3 /
    memory prefetched / memory not prefetched (``row``), its events ``E``, received spikes ``S``
    and deliver timer minus the per-interval cost (``base``, seconds)."""
    eqs = []
    for tag, res in runs:
        ws, wl = scatter.record_workload(res)
        u = float(wl["events_unprefetched_per_s"][0] / wl["events_per_s"][0])
        f2, f3, fm = cache_fractions(cache_levels, ws)
        eqs.append({"run": tag, "ws": ws, "u": u, "row": (f2, f3, fm * (1 - u), fm * u),
                    "E": float(np.sum(res["perf"]["synaptic_events"])), "S": float(np.sum(res["delivered_spikes"])),
                    "base": res["perf"]["timer_deliver"][0] - o_del * res["intervals"]})
    if full is not None:
        ws, wl = ring_bytes(full_connectivity, full["ranks"])
        u = float(wl["events_unprefetched_per_s"].sum() / wl["events_per_s"].sum())
        f2, f3, fm = cache_fractions(cache_levels, ws)
        # spikes received per rank (counted, or: every spike reaches both ranks)
        eqs.append({"run": f"pd14_full_P{full['ranks']} ({full.get('source')}, {full.get('started')}, "
                           f"{full['t_sim_ms']:g} ms)", "ws": ws, "u": u, "row": (f2, f3, fm * (1 - u), fm * u),
                    "E": full["synaptic_events"] / full["ranks"],
                    "S": full.get("spikes_in_per_rank", 2.5e5 * full["t_sim_ms"] * 1e-3),
                    "base": float(np.mean(full["timers"]["timer_deliver"])) - o_del * full.get("intervals", 0)})
    return eqs


def event_costs(spk1: dict, runs: list[tuple[str, dict]], o_del: float, full: dict | None = None,
                full_connectivity: Connectivity | None = None,
                cache_levels: tuple[float, float] = THIS_MACHINE_CACHES) -> dict:
    """Delivery cost per received spike and per synaptic event by where its ring entry lives,
    solved together (iterated: the spike cost is the 'spikes' run's, one synapse per spike, minus
    an L2 event).

    ``spk1``: the 'spikes' network on 1 rank; ``runs``: (tag, 1-rank run record) giving one
    equation each (Brunel A 0.5, PD14 0.1, 'shortrows': rows shorter than the prefetch distance
    into a ring far larger than the caches; optionally 'longrows': rows longer than it, the
    prefetched memory-bound cost); ``full``: PD14 full scale on 2 ranks as a benchmark
    record (``ranks``, ``synaptic_events``, ``timers.timer_deliver``, ``t_sim_ms``, ``intervals``,
    ``spikes_in_per_rank``, ``source``, ``started``) with ``full_connectivity`` its
    :class:`~parsnn.connectivity.Connectivity`, a fourth
    equation (with four equations or more, from it or 'longrows', the four costs are fitted by least
    squares; with three, memory = memory_no_prefetch); ``o_del``: the deliver phase's fixed cost
    per interval (s); ``cache_levels``: those of the measured machine. Each run's unprefetched
    share u of its events splits the memory-served share into memory_no_prefetch (u) and memory (1 - u).

    Returns ``spike_ns``, ``event_fit`` (per equation), ``event_ns_memory_no_prefetch``,
    ``event_ns_l2``, ``event_ns_l3``, ``event_ns_memory``."""
    if full is not None:
        require(full_connectivity, "full_connectivity", "event_costs")
    eqs = _event_equations(runs, full, full_connectivity, o_del, cache_levels)
    S_spk = float(np.sum(spk1["delivered_spikes"]))
    c2 = _EVENT_L2_GUESS_S
    for _ in range(_EVENT_FIT_ITERATIONS):
        c_spk = (spk1["perf"]["timer_deliver"][0] - o_del * spk1["intervals"]) / S_spk - c2
        rows = [q["row"] for q in eqs]
        rhs = [(q["base"] - q["S"] * c_spk) / q["E"] for q in eqs]
        info = [{"run": q["run"], "ring_bytes_per_interval": q["ws"], "ns_per_event": r * 1e9,
                 "fractions_l2_l3_mem_memnopf": q["row"], "unprefetched": q["u"]} for q, r in zip(eqs, rhs)]
        if len(eqs) >= 4:
            # memory (prefetched) and memory_no_prefetch apart: PD14 full scale or 'longrows'
            c2, c3, cm, cn = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
        else:
            A = np.array(rows)
            c2, c3, cn = np.linalg.solve(np.column_stack([A[:, 0], A[:, 1], A[:, 2] + A[:, 3]]), np.array(rhs))
            cm = cn
    return {"spike_ns": c_spk * 1e9, "event_fit": info, "event_ns_memory_no_prefetch": cn * 1e9,
            "event_ns_l2": c2 * 1e9, "event_ns_l3": c3 * 1e9, "event_ns_memory": cm * 1e9}


def fit_constants(mb: dict, runs: dict, full: dict | None = None, full_connectivity: Connectivity | None = None,
                  cache_levels: tuple[float, float] = THIS_MACHINE_CACHES) -> dict:
    """Every per-operation constant of this machine, in the order of the calibration file.

    ``mb``: mpibench's output; ``runs``: run records by name -- ``null_P1``, ``null_P2`` (with
    ``mpi4py_calls``), ``spikes_P1``, ``delta_P1``, ``expscalar_P1``, ``pd14_P1``,
    ``pd14_poisson_P1``, ``brunel_P1``, ``shortrows_P1``, optionally ``longrows_P1`` and the scatter networks
    (:func:`parsnn.mapping.cluster.scatter.specs`: the event cost curve; see the module docstring; repeats
    already averaged with :func:`mean_runs`); ``full``, ``full_connectivity``, ``cache_levels``: as in
    :func:`event_costs`."""
    c = mpi_constants(mb)
    c.update(interval_overheads(runs["null_P1"], runs["null_P2"], mb))
    o_upd, o_del = c["null1_update_us"] * 1e-6, c["null1_deliver_us"] * 1e-6
    c.update(update_costs(runs, o_upd))
    c.update(pack_costs(runs["pd14_P1"], runs["brunel_P1"], runs["spikes_P1"], c["null1_exchange_us"]))
    eq_runs = [(k, runs[k]) for k in ("brunel_P1", "pd14_P1", "shortrows_P1", "longrows_P1") if k in runs]
    ev = event_costs(runs["spikes_P1"], eq_runs, o_del, full, full_connectivity, cache_levels)
    for k in ("spike_ns", "event_fit", "event_ns_memory_no_prefetch"):
        c[k] = ev[k]
    c.update(recordcost.record_costs(runs["pd14_P1"], runs["brunel_P1"]))
    first = recordcost.first_flush_cost([runs["pd14_P1"], runs["brunel_P1"]], c["record_flush_us"], c["record_ns"])
    if first is not None:
        c["record_first_us"] = first
    for k in ("event_ns_l2", "event_ns_l3", "event_ns_memory"):
        c[k] = ev[k]
    if "hpc_P1" in runs and "hpcstatic_P1" in runs:
        c.update(plasticcost.plastic_event_cost(runs["hpc_P1"], runs["hpcstatic_P1"], o_del))
    c.update(scatter.fit_curve(runs, o_del, c["spike_ns"] * 1e-9))
    return c


def noise_constants(nb: list[dict]) -> dict:
    """sigma_rel and sigma_us from the noisebench launches: the mean wait of a rank in the Alltoall
    above the Alltoall alone is E[max of the 2 ranks' work] - mean = e(2) sigma; sigma^2 =
    (sigma_rel busy)^2 + sigma_us^2 through the long and the short configuration."""
    e2 = expected_max_normal(2)
    per = {}
    for r in nb:
        pr = r["per_rank"]
        busy = float(np.mean([q["compute_us"] + q["scatter_us"] for q in pr]))
        wait = float(np.mean([q["alltoall_us"] for q in pr])) - r["alltoall_alone_us"]
        per.setdefault(r["config"], []).append({"busy_us": busy, "wait_us": wait,
                                                "rank_ratio": pr[0]["scatter_us"] / pr[1]["scatter_us"]})
    out = {"e2": e2, "launches": per}
    sig = {}
    for name, v in per.items():
        b = float(np.mean([x["busy_us"] for x in v]))
        w = max(0.0, float(np.mean([x["wait_us"] for x in v])))
        sig[name] = (b, w / e2)
        out[name] = {"busy_us": b, "wait_us_mean": w, "wait_us_range": [float(min(x["wait_us"] for x in v)),
                                                                        float(max(x["wait_us"] for x in v))],
                     "sigma_us": w / e2}
    (bl, sl), (bs, ss) = sig["long"], sig["short"]
    rel2 = max(0.0, (sl ** 2 - ss ** 2) / (bl ** 2 - bs ** 2))
    out["sigma_rel"] = float(math.sqrt(rel2))
    out["sigma_us"] = float(math.sqrt(max(0.0, ss ** 2 - rel2 * bs ** 2)))
    return out


def oversubscription_yield_us(res: dict, predicted_critical_s: float, cores: int) -> float:
    """us per interval and extra rank on the most crowded core that a waiting rank spins before
    MPICH yields its core: the measured wall time per interval of an oversubscribed run (``res``)
    above the prediction without it (``predicted_critical_s``), over the extra ranks on a core."""
    meas = res["perf"]["rtf"] * 1e-3 * res["min_delay_steps"] * 0.1      # wall seconds per interval
    extra = -(-res["ranks"] // cores) - 1                                # on the most crowded core
    return max(0.0, (meas - predicted_critical_s) * 1e6 / extra)


#: epyc_zen5_kvm_2core_2026_11_22.toml as written by the calibration (format fields: the constants of :func:`fit_constants`
#: and more, see :func:`machine_toml`)
TOML_TEMPLATE = """# The 2-core Zen 5 KVM guest of 2026-11-22 (not necessarily the machine you run on), measured. Written by `python analysis/cost_model_validation.py calibrate` on {date}
# (git {git}); raw runs in analysis/results/cost_model_runs/, derivation in
# analysis/results/cost_model_calibration.json. Every run waited for a quiet machine (other processes < 0.2
# busy cores over 2 s, no other parsnn/nest/mpiexec process).
[machine]
name = "epyc_zen5_kvm_2core_2026_11_22"
description = "2-core KVM guest, AMD EPYC family 26 model 2 (Zen 5), ~4.2 GHz, 24 GiB, mpich 5.0.2 wheel"
cores_per_node = 2
nodes = 1
# lscpu: L2 2 MiB (2 instances), L3 32 MiB (1 instance)
l2_kib_per_core = 1024
l3_mib_per_group = 32
cores_per_l3 = 2
clock_ghz = 4.2

[compute]
# ns per neuron and step, from 1-rank runs (timer_update minus the null network's per-interval cost):
#   iaf_psc_exp (the vectorized kernel: one parameter set, no Poisson input devices): PD14 n_scaling
#   0.1, DC drive, 1 s (mean of 3 runs; this VM's speed varies by up to 30 % between runs);
#   iaf_psc_exp_scalar (the scalar kernel, for the other iaf_psc_exp populations) and iaf_psc_delta:
#   10,000 neurons without input, 1 s; poisson_source: 2,000 sources at 500/s ('spikes' network), 1 s
update_ns = {{ iaf_psc_exp = {update_ns_iaf_psc_exp:.3f}, iaf_psc_exp_scalar = {update_ns_iaf_psc_exp_scalar:.3f}, iaf_psc_delta = {update_ns_iaf_psc_delta:.3f}, poisson_source = {update_ns_poisson_source:.3f} }}
# ns per neuron, step and Poisson input device: Brunel A 0.5 (1 rank, mean of 3; one input per neuron,
# lambda = 2 per step) minus the iaf_psc_delta kernel; check: PD14 n_scaling 0.1 with Poisson background
# (lambda 0.8-1.3) minus the scalar iaf_psc_exp kernel gives {poisson_input_ns_pd14_check:.3f}
poisson_input_ns = {poisson_input_ns:.3f}
# ns per synaptic event by where the ring-buffer slots of one interval live (L2 / L3 / memory):
# equations from Brunel A 0.5 (1 rank), PD14 0.1 (1 rank) and PD14 full scale on 2 ranks, deliver
# timer minus per-interval and per-spike costs; full scale: {full_source}
# memory: the entry was prefetched (the engine prefetches 128 synapses ahead within a row);
# memory_no_prefetch: the first 128 synapses of a row ('shortrows' network, 1 rank: rows of 64 synapses
# into a 160 MB ring, mean of 3 runs; a fourth equation)
event_ns = {{ l2 = {event_ns_l2:.3f}, l3 = {event_ns_l3:.3f}, memory = {event_ns_memory:.3f}, memory_no_prefetch = {event_ns_memory_no_prefetch:.3f} }}
# ns per received spike: row lookup and loop setup ('spikes' network: one synapse per spike)
spike_ns = {spike_ns:.3f}
# ns a plastic (STDP) event costs above a static one, and per post spike it reads (a facilitation; a window that
# searches the target's history pays one more and an L2 miss: parsnn.mapping.cluster.plasticcost): ASSUMED, the
# ratios to a static L2 event measured on the Xeon m167 guest by its version-12 quick calibration (4.167 and 3.886 ns
# against event_ns.l2 0.740 ns: 5.63x and 5.25x; analysis/results/history24/calibration_xeon_m167_s24_v12.toml) times
# this machine's event_ns.l2 (not measured on this machine; until session 24: 9.20x for plastic_event_ns alone, from
# analysis/results/hpc_benchmark/plastic_event_cost_xeon_2026-12-01.json)
plastic_event_ns = 11.14
facilitation_ns = 10.38
# ns per comparison of libc qsort on uint64 (parsnn/machines/bench/mpibench.c), times log2 of the sorted runs
compare_ns = {compare_ns:.3f}
# ns per spike word packed: exchange timer on 1 rank = fixed + copies x pack_ns, solved from PD14 0.1 and
# Brunel A 0.5 (the small 'spikes' network, all in L1/L2, gives {pack_ns_spikes_network:.2f} ns)
pack_ns = {pack_ns:.3f}
# ns per recorded spike on rank 0 (gather, sort, HDF5 write): Brunel A 0.5, 1 rank, record timer / spikes
record_ns = {record_ns:.3f}
# ns per peer rank per interval for the O(P) loops (pack, displacements, MPICH's alltoallv loop): assumed
peer_ns = 2.0
# ns for the first cache miss of a synapse row when the rank's synapses exceed its caches: assumed
# (one DRAM latency; the three arrays of a row miss in parallel)
row_miss_ns = 100.0

[overhead]
# us per interval: null network (2 neurons that never fire, min delay 0.1 ms, 20,000 intervals, 1 rank)
update_us = {null1_update_us:.3f}
deliver_us = {null1_deliver_us:.3f}
# exchange phase on 1 rank (pack call, copy, timers) in real runs: with pack_ns, from PD14 0.1 and Brunel A 0.5
exchange_us = {exchange_us:.3f}
# Python + mpi4py per collective call on top of the C library's cost (mpi4py loop minus mpibench, 2 ranks)
collective_call_us = {collective_call_us:.3f}

[network.shm]
# mpibench (C, 2 ranks): overhead = time per message of a burst of 64 Isend; latency = half
# ping-pong round trip ({pp:.3f} us) minus that overhead
latency_us = {shm_latency_us:.3f}
overhead_us = {shm_overhead_us:.3f}
bandwidth_gbs = 10.0

[network.inter]
# this machine has one node: placeholders (a gigabit-Ethernet-like network), never used here
latency_us = 30.0
overhead_us = 2.0
bandwidth_gbs = 0.125

[collectives]
# MPICH defaults (mpivars): Bruck's alltoall for <= 256 B per rank and >= 8 ranks; alltoallv
# 'scattered' with MPIR_CVAR_ALLTOALL_THROTTLE = 32 requests in flight
alltoall_bruck_min_ranks = 8
alltoallv_throttle = 32
# mpibench: MPI_Alltoall of one int on 2 ranks ({a2a:.3f} us) minus latency + 2 overheads
alltoall_fixed_us = {alltoall_fixed_us:.3f}
# mpibench: MPI_Alltoallv with all counts 0 on 2 ranks
alltoallv_fixed_us = {alltoallv_fixed_us:.3f}
# Bruck's per-round datatype pack/unpack: assumed (not measurable on 2 ranks)
bruck_round_us = 0.3
bruck_block_ns = 2.0

[oversubscription]
cores = 2
# us per interval and extra rank on the most crowded core: a waiting rank spins before MPICH yields the core
# (MPIR_CVAR_POLLS_BEFORE_YIELD = 1000), then the switch; fitted so that PD14 0.1 on 3 ranks matches its
# measured wall time (the one number fitted on a validation-type run; PD14 on 4 and Brunel on 3-4 check it)
yield_us = {yield_us:.3f}

[noise]
# machine noise, measured without the simulator: parsnn/machines/bench/noisebench.c, two ranks doing
# identical fixed work per interval (compute loop + row scatter) then MPI_Alltoall; the mean wait in
# the Alltoall is e(2) sigma; sigma^2 = (sigma_rel busy)^2 + sigma_us^2 through a ~3 ms interval
# (wait {nb_long_wait:.1f} us, launches {nb_long_lo:.1f}-{nb_long_hi:.1f}) and a ~17 us interval
# (wait {nb_short_wait:.2f} us, launches {nb_short_lo:.2f}-{nb_short_hi:.2f}), {nb_launches} launches each
sigma_rel = {sigma_rel:.4f}
sigma_us = {sigma_us:.3f}

[balance]
# weights of the partitioner's load balance (Machine.balance_costs; only their ratio matters): seconds
# per neuron update per step of update_step_ms, and per synaptic event. Rounded figures of the engine
# on this hardware class, not fitted: kept as they are, so that the partition maps do not change
update_s = 4.5e-9
update_step_ms = 0.1
event_s = 11e-9
# plastic_event_s: what an event through a plastic synapse (stdp_synapse, stdp_pl_synapse_hom) costs on top of a
# static one. hpc_benchmark scale 1 on 1 rank x 2 threads (Xeon m167 guest, session 21): the two threads' delivery
# timers under two owner cuts give a static event ~1.0 ns and a plastic one ~9.9 ns, 8.9-9.0 static events extra
# (benchmarks/results/hpc_threads21/; compute.plastic_event_ns's ratio 9.20 agrees): 9 x event_s, rounded.
# Networks without plastic synapses are weighed as before
plastic_event_s = 1e-7
# thread_meeting_events: what one more place where two threads' neurons meet costs per interval, in events (the
# owner rule "mixed"; PD14 0.25 on 1 x 2, Xeon m167 guest, session 23: benchmarks/results/idle_xeon_s23/README.md)
thread_meeting_events = 200

[assumed]
# ns per neuron and step of the iaf_psc_alpha kernel with one Poisson input device per neuron, input drawn inside the
# kernel (hpc_benchmark's neurons): ASSUMED, 3.77 x this file's iaf_psc_exp_scalar, the ratio that three quick
# calibrations of the idle Xeon m167 guest measured (sessions 22-24: 3.74-3.80); not measured on this machine (before
# session 24 the fallback, iaf_psc_alpha plus poisson_input_ns, charged ~3.4x this)
update_ns = {{ iaf_psc_alpha_pone = 11.30 }}

[sources]
"compute.plastic_event_ns" = "assumed: the ratio plastic_event_ns / event_ns.l2 (5.63) measured on the Xeon m167 guest (analysis/results/history24/calibration_xeon_m167_s24_v12.toml), times this file's event_ns.l2 (1.977 ns); not measured on this machine"
"assumed.update_ns.iaf_psc_alpha_pone" = "assumed: 3.77 x this file's iaf_psc_exp_scalar (2.998 ns), the ratio measured by the idle Xeon m167 guest's calibrations of fit version 11-12 (analysis/results/history24/calibration_xeon_m167_s24_v12.toml); not measured on this machine"
"compute.facilitation_ns" = "assumed: the ratio facilitation_ns / event_ns.l2 (5.25) measured on the Xeon m167 guest (same file), times this file's event_ns.l2; not measured on this machine. A history window's L2 miss costs event_ns.memory_no_prefetch (measured here) with a probability from plasticcost.HISTORY_EVENT_BYTES (assumed, fitted on the Xeon m167 guest)"
calibration = "python analysis/cost_model_validation.py calibrate ({date}); runs in analysis/results/cost_model_runs/"
cpu = "lscpu: AMD EPYC, family 26 model 2, 2 cores, 1 thread per core, KVM; clock ~4.2 GHz from a dependent-add loop"
mpi = "mpich 5.0.2 wheel (ch4:ucx/ofi, shared memory within the node); defaults from mpivars"
"""


def machine_toml(c: dict, yield_us: float, git: str) -> str:
    """The text of epyc_zen5_kvm_2core_2026_11_22.toml for the constants ``c`` (:func:`fit_constants` plus ``date``,
    ``mpibench``, ``noise_fit``, ``sigma_rel``, ``sigma_us``), the oversubscription constant
    ``yield_us`` and ``git`` (the code's revision, for the header)."""
    mb = c["mpibench"]
    nf = c["noise_fit"]
    nbk = {"nb_long_wait": nf["long"]["wait_us_mean"], "nb_long_lo": nf["long"]["wait_us_range"][0],
           "nb_long_hi": nf["long"]["wait_us_range"][1], "nb_short_wait": nf["short"]["wait_us_mean"],
           "nb_short_lo": nf["short"]["wait_us_range"][0], "nb_short_hi": nf["short"]["wait_us_range"][1],
           "nb_launches": len(nf["launches"]["long"])}
    nbk["full_source"] = next((f["run"] for f in c.get("event_fit", []) if f["run"].startswith("pd14_full")),
                              "not available")
    return TOML_TEMPLATE.format(**{**c, **nbk, "yield_us": yield_us, "git": git, "pp": mb["pingpong_half_rtt_us"],
                                   "a2a": mb["alltoall_int_us"]})


def write_machine_toml(c: dict, yield_us: float, path: str, git: str):
    """Write :func:`machine_toml` to ``path``."""
    with open(path, "w") as f:
        f.write(machine_toml(c, yield_us, git))


def predict_record(res: dict, machine) -> dict:
    """The model's prediction for a run record (its description, partition map, measured rates, min delay, the
    prefetch distance it ran at)."""
    from parsnn.mapping.cluster.predict import predict
    conn = Connectivity.from_description(res["description"])
    rank_of = np.asarray(res["rank_of"])
    wl = workload(conn, res["ranks"], rank_of, rates=res["rates"], min_delay_steps=res["min_delay_steps"])
    return predict(conn, res["ranks"], machine, rank_of, rates=res["rates"], wl=wl, t_sim_ms=res["t_sim_ms"],
                   with_range=False, prefetch_distance=(res.get("prefetch") or {}).get("distance"))
