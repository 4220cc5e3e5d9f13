"""The procedure of ``parsnn calibrate``: measure this machine in batches, fit every batch, write
one machine file with the median constants, their spread over the batches and the fingerprint.

A batch (:func:`measure_batch`) is: one 1-rank launch running the calibration networks of
:mod:`~parsnn.mapping.cluster.measure` in turn (null, spikes, delta, expscalar, PD14 0.1 with DC
and with Poisson background, Brunel A 0.5, shortrows, longrows, hpc_benchmark 0.05 with and
without STDP, the scatter networks), three scatter networks again on 1 rank x 2 threads (the thread
constants at three sizes; machines with 2 cores or more),
the null network and PD14 0.1 on 2 ranks (the engine's own wait between ranks), mpibench at 2 ranks and every other asked rank count, noisebench launches,
the :data:`INTERLEAVED` networks (PD14 0.1 and the scatter networks: the update constant and the event cost
curve) again in a second 1-rank launch (their measuring segments split between the batch's first launch and this
one: :func:`interleaved_segments`), and, when a rank count above the cores is asked for, PD14 0.1 on that many
ranks (the oversubscription constant). :func:`fit_batch` turns it into constants with
:func:`~parsnn.mapping.cluster.calibration.fit_constants`; :func:`calibrate` runs :func:`warm_up` (the
event-cost and update networks and MPI collectives once, untimed), then the batches, and writes the file
(:mod:`~parsnn.mapping.cluster.machinefile`) with, per batch, the machine's state while it ran (time the
hypervisor stole, huge-page counters, the event-cost networks' memory on huge pages).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tomllib
import tempfile
import time

import numpy as np

from parsnn.engine.footprint import RING_SLOT_BYTES
from parsnn.machines import counters
from parsnn.mapping.cluster import calibration, measure, plasticcost, scatter, teambench, threadwait, waitfit
from parsnn.mapping.cluster.machinefile import THREAD_RUNS, dump_toml, machine_data, median_fit

#: per mode: model time (ms) of each 1-rank network, the null network on 2 ranks, mpibench
#: iterations, mpi4py call loop length (unused since the engine calls MPI from C), noisebench launches per
#: configuration and their length scale; every engine run first runs ``warmup`` x its time (left out: first
#: touches of the rings, cold caches) and then its time in ``segments`` measuring segments, each fitted
#: on its own (the constants are the median over the segments of every batch); the :data:`INTERLEAVED`
#: runs take their segments in turn, each after a re-warm of ``rewarm`` x its time
MODES = {
    "quick": {"t": {"null": 400.0, "spikes": 300.0, "delta": 300.0, "expscalar": 300.0, "alpha": 300.0,
                    "alphapoisson": 150.0, "pd14": 400.0,
                    "pd14_poisson": 150.0, "brunel": 400.0, "shortrows": 120.0, "longrows": 100.0,
                    "hpc": 100.0, "hpcstatic": 100.0, "scatter": 120.0},
              "null_P2": 400.0, "mpibench_iters": 5000, "callbench_n": 5000, "noise_launches": 2,
              "noise_scale": 0.2, "over_t": 300.0, "warmup": 0.15, "segments": 4, "rewarm": 0.03},
    "full": {"t": {"null": 2000.0, "spikes": 1000.0, "delta": 1000.0, "expscalar": 1000.0, "alpha": 1000.0,
                   "alphapoisson": 300.0, "pd14": 1000.0,
                   "pd14_poisson": 300.0, "brunel": 1000.0, "shortrows": 300.0, "longrows": 300.0,
                   "hpc": 100.0, "hpcstatic": 100.0, "scatter": 400.0},
             "null_P2": 2000.0, "mpibench_iters": 20000, "callbench_n": 20000, "noise_launches": 3,
             "noise_scale": 1.0, "over_t": 1000.0, "warmup": 0.1, "segments": 6, "rewarm": 0.02},
}
#: the 1-rank calibration networks: run name -> spec (``record_file``: the run writes its recorded spikes to a
#: file as ``parsnn run --out`` does, for the record constants: :mod:`~parsnn.mapping.cluster.recordcost`)
SPECS_P1 = {"null_P1": {"model": "null"}, "spikes_P1": {"model": "spikes"}, "delta_P1": {"model": "delta"},
            "expscalar_P1": {"model": "expscalar"}, "alpha_P1": {"model": "alpha"},
            "alphapoisson_P1": {"model": "alphapoisson"}, "pd14_P1": {"model": "pd14", "n_scaling": 0.1, "record_file": True},
            "pd14_poisson_P1": {"model": "pd14", "n_scaling": 0.1, "bg": "poisson"},
            "brunel_P1": {"model": "brunel", "regime": "A", "scale": 0.5, "record_file": True},
            "shortrows_P1": {"model": "shortrows", "row": 64, "rate": 250.0},
            "longrows_P1": {"model": "longrows", "row": 2048, "sources": 200, "rate": 250.0},
            "hpc_P1": {"model": "hpc_benchmark", "scale": 0.05},
            "hpcstatic_P1": {"model": "hpc_benchmark", "scale": 0.05, "static": True},
            **scatter.specs()}


#: the 2-rank engine runs of a batch (with the null network): the engine's own wait between ranks beyond
#: noisebench's (``[noise] wait_us`` and ``wait_rel``: :func:`~parsnn.mapping.cluster.waitfit.wait_constants`),
#: from three sizes of the scatter networks (their 1-rank specs, :data:`WAIT_RUNS`: busy 14 to 54 us per interval
#: on the Zen 5 guest, around PD14 0.1 and 0.25's 14 and 32 us); fit version 7 used PD14 0.1 (:data:`SPEC_P2`),
#: which the calibration check validates and so no longer fits
WAIT_RUNS = ("scatter8k_P1", "scatter32k_P1", "scatter128k_P1")
SPEC_P2 = {"model": "pd14", "n_scaling": 0.1}


def _t_key(name: str) -> str:
    """The MODES['t'] key of a 1-rank run name."""
    return "scatter" if name.startswith("scatter") else name[:-3]


#: ring-buffer slots of the rows networks (delays 0.1-10 ms at 0.1 ms) and bytes per neuron and slot (one ring:
#: their targets have the default, equal synaptic time constants)
_ROWS_SLOTS, _RING_SLOT_BYTES = 101, RING_SLOT_BYTES


def specs_p1(fp: dict) -> dict:
    """:data:`SPECS_P1` with the rows networks' targets sized so that their ring buffers are at least
    4x a core's L2 + L3 share (mostly served by memory on this machine)."""
    l23 = cache_levels(fp)[1]
    targets = max(100000, int(math.ceil(4 * l23 / (_RING_SLOT_BYTES * _ROWS_SLOTS))))
    return {k: ({**v, "targets": targets} if v["model"] in ("shortrows", "longrows") else v)
            for k, v in SPECS_P1.items()}


def _network_key(spec: dict) -> str:
    """What identifies a spec's network and Simulation (everything but how it is run: ``measure._RUN_KEYS``)."""
    return json.dumps({k: v for k, v in spec.items() if k not in measure._RUN_KEYS}, sort_keys=True)


def _by_network(specs: dict) -> tuple:
    """The names of ``specs``, those of one network (:func:`_network_key`) next to each other, in the order of
    their first appearance."""
    keys = {n: _network_key(s) for n, s in specs.items()}
    return tuple(n for k in dict.fromkeys(keys.values()) for n in specs if keys[n] == k)


#: the 1-rank runs measured in both launches of a batch (:func:`interleaved_segments`), those whose constants
#: move a prediction most between calibrations (the update kernel, the event cost curve; see
#: analysis/results/calibration_terms_s7_quick_vs_check.md). Since fit version 10 each network is measured on its
#: own: the specs of one network (a scatter network at its two prefetch distances) share one build and take their
#: segments in turn, each after a re-warm, with no other network built. Before, all of them were built at once and
#: took their segments in turn, which raised the cost per event of the 2k-32k networks by a median of 7-13 % on the
#: Xeon m167 guest against the same networks measured one at a time (analysis/results/scatter_structure20/), and
#: PD14's delivery was predicted up to 37 % too slow (the calibration checks of sessions 19 and 20).
INTERLEAVED = ("pd14_P1", *_by_network(scatter.specs()))


def _timed(spec: dict, t: float, cfg: dict, mpi_wait: str, group: bool = False, segments: int | None = None) -> list:
    """[spec with the mode's warm-up, segments (``segments``, default the mode's) and the wait policy, model
    time]: one job of a launch; ``group``: interleaved with the launch's adjacent jobs of the same network
    (:func:`_network_key`: the scatter networks' prefetch distances, on one build), a re-warm before each
    segment. With fewer ``segments`` than the mode's, the model time shrinks in proportion (segments as long as
    in a full launch), so the launches of :func:`interleaved_segments` together simulate ``t`` once, as one
    launch would: :func:`~parsnn.mapping.cluster.calibration.thread_constants` compares records of equal
    model time."""
    extra = {"group": _network_key(spec), "rewarm_ms": cfg["rewarm"] * t} if group else {}
    k = int(segments or cfg["segments"])
    return [{**spec, "warmup_ms": cfg["warmup"] * t, "segments": k, "mpi_wait": mpi_wait, **extra},
            t * k / int(cfg["segments"])]


def interleaved_segments(cfg: dict) -> tuple[int, int]:
    """(segments of the interleaved networks in a batch's first launch, in its last launch): the mode's segments
    split in two. The event cost of one launch's segments agree with each other far better than with another
    launch's (quick calibrations of sessions 8-10: batch 1 of analysis/results/calibration_quick_xeon_idle_s10_0.toml
    2.41-2.49 ns per event at ns_2, batch 2 2.95-4.17; analysis/results/scatter_copy_spread_*.md), so a batch
    measures them in two launches, at its start and at its end, and the segments' spread (the prediction's
    range) covers the launch-to-launch and the within-batch drift."""
    k = int(cfg["segments"])
    return k - k // 2, k // 2


#: the untimed warm-up before the first batch (:func:`warm_up`): the networks it runs (the event cost curve's
#: and the update kernel's, whose constants drove the first of two consecutive quick calibrations'
#: over-predictions: analysis/results/quick_calibration_terms_xeon_idle_s8_s9.md), each for ``share`` x its timed
#: model time, then mpibench's collectives on 2 ranks for ``mpibench_iters`` iterations
WARM_UP = {"quick": {"share": 0.5, "mpibench_iters": 1000}, "full": {"share": 0.5, "mpibench_iters": 2000}}
#: (one of the networks the scatter runs share at their distances: :func:`~parsnn.mapping.cluster.measure.run_interleaved`)
WARM_UP_RUNS = ("longrows_P1", *(n for n in INTERLEAVED if SPECS_P1[n].get("prefetch") in (None, scatter.CURVE_DISTANCES[0])))


def warm_up(mode: str, workdir: str, fp: dict, mpiexec: str | None = None, log=print, mpi_wait: str = "sleep") -> dict:
    """Run :data:`WARM_UP_RUNS` on 1 rank and mpibench on 2 ranks once, untimed, before any measurement
    (first MPI start, the page cache of the Python modules and kernels, the networks' first memory
    touches, the compiled micro-benchmarks): nothing it measures is kept. Returns what the machine file
    records of it: ``ran``, ``seconds``, ``runs``, ``machine`` (:func:`parsnn.machines.counters.counters_between`)."""
    cfg, w = MODES[mode], WARM_UP[mode]
    specs = specs_p1(fp)
    log(f"  warm-up (untimed): {', '.join(n[:-3] for n in WARM_UP_RUNS)} on 1 rank, mpibench on 2 ranks")
    c0, t0 = counters.machine_counters(), time.time()
    measure.launch([[{**specs[n], "mpi_wait": mpi_wait}, w["share"] * cfg["t"][_t_key(n)]] for n in WARM_UP_RUNS],
                   1, mpiexec)
    measure.mpibench(2, workdir, w["mpibench_iters"], mpiexec)
    return {"ran": True, "seconds": round(time.time() - t0, 1), "runs": [n[:-3] for n in WARM_UP_RUNS],
            "machine": counters.counters_between(c0, counters.machine_counters())}


def measure_batch(mode: str, ranks: list[int], workdir: str, fp: dict, mpiexec: str | None = None,
                  log=print, mpi_wait: str = "sleep") -> dict:
    """One batch of measurements on the machine of fingerprint ``fp``: {'runs': run records by name,
    'mpibench': {P: result}, 'noisebench': [...], 'oversubscribed': run record or None, 'team': the
    :mod:`~parsnn.mapping.cluster.teambench` result (None on one core), 'seconds'};
    the engine runs wait in the exchange by ``mpi_wait`` (``parsnn run --mpi-wait``)."""
    cfg = MODES[mode]
    cores = int(fp["cores"])
    t0, c0 = time.time(), counters.machine_counters()
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    specs = specs_p1(fp)
    names = [n for n in specs if n not in INTERLEAVED] + [n for n in INTERLEAVED if n in specs]
    log(f"  1-rank runs: {', '.join(n[:-3] for n in names)} (the last {len(INTERLEAVED)} in both launches, "
        f"a network's prefetch distances interleaved)")
    first, last = interleaved_segments(cfg)
    recs = measure.launch([_timed(specs[n], cfg["t"][_t_key(n)], cfg, mpi_wait, n in INTERLEAVED,
                                  first if n in INTERLEAVED else None) for n in names], 1, mpiexec)
    runs = dict(zip(names, recs))
    if cores >= 2:
        log(f"  {', '.join(n[:-3] for n in THREAD_RUNS)} on 1 rank x 2 threads")
        recs = measure.launch([_timed({**specs[n], "threads": 2}, cfg["t"][_t_key(n)], cfg, mpi_wait, True)
                               for n in THREAD_RUNS], 1, mpiexec)
        runs.update({n + "T2": r for n, r in zip(THREAD_RUNS, recs)})
    team = None
    if cores >= 2:
        log("  the thread team's meeting and the OpenMP region: inactive network, 1 x 1 vs 1 x 2 (teambench)")
        team = teambench.launch(repeats=cfg.get("team_repeats", 5), t_sim_ms=cfg["t"]["null"] / 2)
    log(f"  null network and {', '.join(n[:-3] for n in WAIT_RUNS)} on 2 ranks")
    recs = measure.launch([_timed({"model": "null"}, cfg["null_P2"], cfg, mpi_wait)]
                          + [_timed(specs[n], cfg["t"][_t_key(n)], cfg, mpi_wait) for n in WAIT_RUNS], 2, mpiexec)
    runs["null_P2"] = recs[0]
    runs.update({n[:-3] + "_P2": r for n, r in zip(WAIT_RUNS, recs[1:])})
    mb = {}
    for P in sorted({2, *[p for p in ranks if p >= 2]}):
        log(f"  mpibench on {P} ranks")
        # ranks sharing cores wait for time slices: far fewer iterations
        iters = cfg["mpibench_iters"] if P <= cores else max(200, cfg["mpibench_iters"] // 25)
        mb[P] = measure.mpibench(P, workdir, iters, mpiexec)
    log(f"  noisebench: {cfg['noise_launches']} launches of each configuration")
    nb = measure.noisebench(cfg["noise_launches"], workdir, cfg["noise_scale"], mpiexec)
    if last:
        log(f"  {', '.join(n[:-3] for n in INTERLEAVED)} again on 1 rank (a second launch: {last} more segments)")
        late = measure.launch([_timed(specs[n], cfg["t"][_t_key(n)], cfg, mpi_wait, True, last) for n in INTERLEAVED],
                              1, mpiexec)
        runs.update({n: measure.join_launches(runs[n], rec) for n, rec in zip(INTERLEAVED, late)})
    over = None
    P_over = max(ranks)
    if P_over > cores:
        log(f"  PD14 0.1 on {P_over} ranks ({cores} cores: oversubscribed)")
        over = measure.launch([_timed(specs["pd14_P1"], cfg["over_t"], cfg, mpi_wait)], P_over, mpiexec)[0]
    machine = counters.counters_between(c0, counters.machine_counters())
    pages = next((runs[n]["memory_pages"] for n in INTERLEAVED if (runs.get(n) or {}).get("memory_pages")), {})
    if pages.get("anon_kib"):               # the first scatter network's memory on huge pages (share)
        machine["huge_page_share"] = pages["anon_huge_kib"] / pages["anon_kib"]
    return {"runs": runs, "mpibench": mb, "noisebench": nb, "oversubscribed": over, "team": team,
            "seconds": time.time() - t0, "started": started, "machine": machine}


def cache_levels(fp: dict) -> tuple[float, float]:
    """(L2 of a core, L2 + its L3 share) in bytes from a fingerprint."""
    l2 = float(fp.get("l2_kib") or 512) * 1024
    l3 = float(fp.get("l3_kib") or 0) * 1024 / max(1, int(fp.get("cores_per_l3") or fp.get("cores") or 1))
    return l2, l2 + l3


def _thread_points(runs: dict, c: dict, machine) -> dict:
    """The thread constants from every :data:`~parsnn.mapping.cluster.machinefile.THREAD_RUNS` network on
    1 rank x 2 threads vs 1 x 1: its efficiencies at its size (``thread_update_n_i`` / ``thread_update_eff_i``,
    ``thread_deliver_mib_i`` / ``thread_deliver_eff_i``) and, as the median over the networks, the scalar
    ``thread_update_efficiency``, ``thread_deliver_efficiency`` and ``thread_region_us``."""
    out, each = {}, []
    for i, name in enumerate(THREAD_RUNS, start=1):
        if name not in runs or name + "T2" not in runs:
            continue
        t = calibration.thread_constants(runs[name], runs[name + "T2"], c, machine)
        each.append(t)
        out.update({f"thread_update_n_{i}": t["thread_update_n"], f"thread_update_eff_{i}": t["thread_update_efficiency"],
                    f"thread_deliver_mib_{i}": t["thread_deliver_mib"],
                    f"thread_deliver_eff_{i}": t["thread_deliver_efficiency"],
                    f"thread_wait_us_{i}": t["thread_wait_us"], f"thread_work_us_{i}": t["thread_work_us"]})
    if each:
        out.update(median_fit([{k: t[k] for k in ("thread_update_efficiency", "thread_deliver_efficiency",
                                                   "thread_region_us")} for t in each]))
    return out


def _fit_runs(batch: dict, runs: dict, fp: dict, balance: dict) -> dict:
    """The constants of one set of run records (a batch's, or one measuring segment of it)."""
    from parsnn.machines import Machine
    c = calibration.fit_constants(batch["mpibench"][2], runs, cache_levels=cache_levels(fp))
    m = Machine(name="batch", data=machine_data([{k: v for k, v in c.items() if isinstance(v, (int, float))}],
                                                fp, "batch", "", balance, {}))
    c.update(_thread_points(runs, c, m))
    return c


def fit_batch(batch: dict, fp: dict, balance: dict) -> dict:
    """The constants of one batch (keys of :data:`~parsnn.mapping.cluster.machinefile.MEASURED`): the
    median over its measuring segments (each fitted on its own; ``segment_fits``: their numbers, with
    the batch's noise constants), with ``yield_us`` fitted on the oversubscribed run when there is one and
    ``wait_sigma_us`` and ``wait_rel`` on the scatter networks on 2 ranks (:data:`WAIT_RUNS`)."""
    from parsnn.machines import Machine
    K = calibration.n_segments(batch["runs"])
    if K > 1:
        segs = [_fit_runs(batch, calibration.segment_runs(batch["runs"], j), fp, balance) for j in range(K)]
        c = median_fit(segs)
    else:
        segs, c = [], _fit_runs(batch, batch["runs"], fp, balance)
    # the plastic cost per plastic event and per facilitation, fitted across the segments (one value for all of them)
    ff = plasticcost.facilitation_fit(batch["runs"].get("hpc_P1"), batch["runs"].get("hpcstatic_P1"),
                                      c["null1_deliver_us"] * 1e-6,
                                      miss_ns=float(c.get("event_ns_memory_no_prefetch") or 0.0),
                                      l2_bytes=float(fp.get("l2_kib") or 0.0) * 1024)
    if ff is not None:
        for f in (c, *segs):
            f["plastic_event_ns"], f["facilitation_ns"] = ff["plastic_event_ns"], ff["facilitation_ns"]
        c["facilitation_fit"] = ff["facilitation_fit"]
    tc = teambench.constants(batch.get("team"))
    if tc:        # the micro-benchmark's team and OpenMP region, rather than the scatter runs' untimed rest
        c["thread_team_us"], c["thread_region_us"] = tc["thread_team_us"], tc["thread_omp_region_us"]
        sig = threadwait.fit_sigma_rel(c)
        if sig is not None:
            c["thread_sigma_rel"] = sig
    nf = calibration.noise_constants(batch["noisebench"])
    c["sigma_rel"], c["sigma_us"] = nf["sigma_rel"], nf["sigma_us"]
    c["fit_version"] = FIT_VERSION
    c["noise_fit"] = {k: v for k, v in nf.items() if k != "launches"}
    c.update(_engine_wait(batch, c, fp, balance))
    over = batch.get("oversubscribed")         # (its yield_us with wait_sigma_us in the model)
    if over is not None:
        data = machine_data([c], fp, "batch", "", balance, {})
        data["oversubscription"]["yield_us"] = 0.0
        m = Machine(name="batch", data=data)
        pred = calibration.predict_record(over, m)
        c["yield_us"] = calibration.oversubscription_yield_us(over, pred["critical_path_s"], m.cores)
    batch_numbers = {k: v for k, v in c.items() if _number(v)}
    c["segment_fits"] = [{**batch_numbers, **{k: v for k, v in f.items() if _number(v)}} for f in segs]
    return c


def _number(v) -> bool:
    """An int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _engine_wait(batch: dict, c: dict, fp: dict, balance: dict) -> dict:
    """{'wait_sigma_us', 'wait_rel', 'wait_points'} from the batch's 2-rank runs of :data:`WAIT_RUNS` and its
    constants ``c`` (:func:`~parsnn.mapping.cluster.waitfit.wait_residual` per run: the busiest rank's busy time
    and the extra fluctuation its exchange timer shows, fitted by
    :func:`~parsnn.mapping.cluster.waitfit.wait_constants`); a batch of fit version 7 (PD14 0.1 on 2 ranks,
    ``pd14_P2``) gives ``wait_sigma_us`` alone, as then; {} for a batch without either."""
    from parsnn.machines import Machine
    two = [batch["runs"][n[:-3] + "_P2"] for n in WAIT_RUNS if n[:-3] + "_P2" in batch["runs"]]
    old = batch["runs"].get("pd14_P2")
    if not two and old is None:
        return {}
    data = machine_data([{k: v for k, v in c.items() if _number(v)}], fp, "batch", "", balance, {})
    m = Machine(name="batch", data=data)
    if not two:
        return {"wait_sigma_us": waitfit.wait_sigma_us(old, m)}
    res = [waitfit.wait_residual(r, m) for r in two]
    fit = waitfit.wait_constants([(r["busy_us"], r["x_us"]) for r in res])
    out = {"wait_sigma_us": fit.get("wait_us", 0.0), "wait_rel": fit.get("wait_rel", 0.0)}
    for i, r in enumerate(res, start=1):
        out[f"wait_busy_us_{i}"], out[f"wait_x_us_{i}"] = r["busy_us"], r["x_us"]
    return out


def default_name(fp: dict) -> str:
    """A machine name from a fingerprint: 'calibrated_<hash>'."""
    return f"calibrated_{fp['hash']}"


#: version of the fitted constants' meaning: 2 = collective_call_us is the engine's exchange call beyond
#: the C MPI_Alltoall (before: mpi4py's per-call cost), thread constants measured; 3 = ring working sets
#: from the engine's bytes (parsnn.engine.footprint: 8 B per slot and ring, one ring when the time
#: constants agree; before: 16 B) in the event fit, and the event cost curve ``[compute.scatter]``; 4 = every
#: constant the median over measuring segments after a warm-up, the delivery's thread efficiency relative
#: to the model's event cost for a thread's share of the ring (before: the timers' ratio), and thread
#: efficiencies at several sizes (``[threads.update]``, ``[threads.deliver]``); 5 = the update's thread
#: efficiency against thread 0's share of the update work at each model's cost (before: of the neurons), the
#: record timer with a run file written, split into ``record_flush_us`` and ``record_ns`` (before: in memory,
#: Brunel's timer over its spikes); 6 = the event cost curve ``[compute.scatter]`` measured on scatter networks with
#: spike_generator sources (before: poisson_source devices, updated every step), at prefetch distances 128 and 0
#: (``d0_ns_i``; before: whatever the tuner chose), with a per-row cost (``row_ns_j``, from rows of 2,048 and
#: 4,096) taken out of its points (before: the unprefetched share x miss(ws)), and the delivery's thread
#: efficiency against that cost; 7 = a run's first flush (``record_first_us``, from the warm-up's flush of the
#: record runs) and the engine's own wait between ranks (``[noise] wait_us``, from PD14 0.1 on 2 ranks); the
#: other constants as in 6 (files of version 6 predict without the two terms); 8 = the engine's own wait between
#: ranks as x^2 = wait_us^2 + (wait_rel busy)^2 (``[noise] wait_rel`` new), fitted on the scatter networks 8k,
#: 32k and 128k on 2 ranks (:data:`WAIT_RUNS`; before: wait_us alone, from PD14 0.1 on 2 ranks); files of version 7
#: predict with their wait_us alone, as before; 9 = cores sharing the cache beyond L2 are charged only for their
#: events beyond their own L2 (:func:`parsnn.mapping.cluster.scatter.shared_cost`; before: the curve read at the
#: shared working set), and the delivery's thread efficiency is fitted against that cost; files of version 8
#: predict with the earlier reading, as before; 10 = the networks of :data:`INTERLEAVED` measured one at a time
#: (before: all built at once, their segments in turn: events 7-13 % dearer on the Xeon m167); merged, an
#: earlier batch's event cost curve and the thread efficiencies fitted against it are left out; 11 = a plastic event's
#: cost as ``plastic_event_ns`` per plastic event plus ``facilitation_ns`` per facilitation, fitted together across the
#: plastic run's segments (:func:`~parsnn.mapping.cluster.plasticcost.facilitation_fit`; before: plastic_event_ns alone,
#: per segment), and the iaf_psc_alpha kernel's update measured, without input and with one Poisson input device per
#: neuron (before: assumed from the scalar iaf_psc_exp kernel's, and the Poisson input measured on Brunel's delta
#: neurons); merged, an earlier batch's plastic_event_ns is left out; 12 = the plastic fit takes out the misses of the
#: history windows (facilitation windows that search the target's history: the engine's count per segment) and charges
#: each also a facilitation's cost (:func:`~parsnn.mapping.cluster.plasticcost.facilitation_fit`); merged, an earlier
#: batch's plastic_event_ns and facilitation_ns are left out. Files of version 11 predict with the history term too
FIT_VERSION = 12

#: the constants a batch of an earlier :data:`FIT_VERSION` measured in another meaning (dropped when merged)
#: the delivery's thread efficiencies, fitted against the event cost curve (redefined whenever the curve's meaning is)
_THREAD_DELIVER = ("thread_deliver_efficiency", *(f"thread_deliver_eff_{i}" for i in range(1, len(THREAD_RUNS) + 1)))
_REDEFINED = {5: ("record_ns", "thread_update_efficiency",
                  *(f"thread_update_eff_{i}" for i in range(1, len(THREAD_RUNS) + 1))),
              6: _THREAD_DELIVER, 8: ("wait_sigma_us",), 9: _THREAD_DELIVER, 10: _THREAD_DELIVER,
              11: ("plastic_event_ns",), 12: ("plastic_event_ns", "facilitation_ns")}
#: prefixes of the constants an earlier :data:`FIT_VERSION` measured in another meaning (dropped when merged)
_REDEFINED_PREFIX = {6: ("scatter_",), 10: ("scatter_",)}


def _current_meaning(batch: dict) -> dict:
    """A batch of an earlier calibration with its constants in today's meaning: before
    :data:`FIT_VERSION` 2, ``collective_call_us`` was mpi4py's cost per call; it is recomputed from the
    batch's null network on 2 ranks (exchange timer minus the C Alltoall of one int), or dropped. Before
    version 3 the event costs were fitted with 16-B ring slots and there is no ``[compute.scatter]``
    curve: they are kept as they are (such batches come from other engine code, whose fingerprint
    differs, so ``--merge`` refuses them unless the engine did not change). Before version 5 the record
    cost and the update's thread efficiencies meant something else (:data:`_REDEFINED`): dropped; before version 6
    the event cost curve and the delivery's thread efficiencies did (:data:`_REDEFINED_PREFIX`): dropped, so a
    merge with such a batch has the curve of the newer batches alone."""
    version = batch.get("fit_version", 1)
    if version >= FIT_VERSION:
        return batch
    for v, keys in _REDEFINED.items():
        if version < v:
            for k in keys:
                batch.pop(k, None)
    for v, prefixes in _REDEFINED_PREFIX.items():
        if version < v:
            for k in [k for k in batch if k.startswith(prefixes)]:
                batch.pop(k)
    if version < 2:
        batch.pop("collective_call_us", None)
        need = ("null2_exchange_us", "alltoall_fixed_us", "shm_latency_us", "shm_overhead_us")
        if all(k in batch for k in need):
            a2a = batch["alltoall_fixed_us"] + batch["shm_latency_us"] + 2 * batch["shm_overhead_us"]
            batch["collective_call_us"] = batch["null2_exchange_us"] - a2a
    batch["fit_version"] = FIT_VERSION
    return batch


def previous_batches(paths, fp: dict) -> tuple[list[dict], list[str]]:
    """(fitted constants per batch, batch dates) of earlier calibrations of this machine (machine files
    written by ``parsnn calibrate``: their ``[calibration] per_batch``); a ParameterError if a file's
    fingerprint is not ``fp``'s (another machine, or other engine code) or it has no batches."""
    from parsnn.errors import ParameterError
    fits, dates = [], []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ParameterError(f"--merge {path}: cannot read it as a machine file ({e})") from None
        other = (data.get("fingerprint") or {}).get("hash")
        if other != fp["hash"]:
            raise ParameterError(f"--merge {path}: its fingerprint {other} is not this machine's {fp['hash']} "
                                 f"(another machine or other engine code): batches of different machines do not merge")
        cal = data.get("calibration") or {}
        per = cal.get("per_batch") or []
        if not per:
            raise ParameterError(f"--merge {path}: no per-batch constants in its [calibration] table")
        fits += [_current_meaning(dict(b)) for b in per]
        dates += list(cal.get("batch_dates") or [cal.get("date", "?")] * len(per))
    return fits, dates


def _load_notes(busy: list, fits: list) -> list[str]:
    """Notes on the load while measuring: other processes' busy cores before the launches, noise."""
    out = []
    if max(busy) > 0.3:
        out.append(f"other processes kept up to {max(busy):.2f} cores busy just before a launch "
                   f"(mean {sum(busy) / len(busy):.2f}): the constants include that load")
    sig = float(np.median([f["sigma_rel"] for f in fits if "sigma_rel" in f] or [0.0]))
    if sig > 0.5:
        out.append(f"machine noise {100 * sig:.0f} % of a rank's work per interval (noisebench): ranks were often "
                   f"descheduled, so multi-rank predictions include long waits; recalibrate on a quiet machine")
    return out


def previous_segments(paths) -> list[dict]:
    """The fits of every measuring segment (``[calibration] per_segment``) of earlier calibration files
    (read after :func:`previous_batches` accepted them); a file written before segments gives its
    batches' fits instead (one sample per batch)."""
    out = []
    for path in paths:
        with open(path, "rb") as f:
            cal = tomllib.load(f).get("calibration") or {}
        out += [_current_meaning(dict(x)) for x in cal.get("per_segment") or cal.get("per_batch") or []]
    return out


#: cores' worth of CPU time the hypervisor may steal during a batch (``/proc/stat``'s steal, over the batch's
#: wall time) before the batch is measured again: on the Zen 5 guest of session 14 one batch of a full
#: calibration lost 0.22 cores and its thread team meeting came out at 74 us against 1.6 us in the other batch
#: (0.05 cores), which made the prediction of 1 x 2's thread wait 7x too large
#: (analysis/results/calibration_check_zen5_idle_2026_12_02_s14.toml); quick batches lose 0.01-0.05 there
STEAL_LIMIT_CORES = 0.1
#: batches of one calibration measured again at most (one batch of ~30 s keeps ``--quick`` within 2 minutes)
MAX_REMEASURED = 1


def unstolen_batch(measure_once, discarded: list, log=print) -> dict:
    """``measure_once()`` (a batch), measured again while the hypervisor stole more than
    :data:`STEAL_LIMIT_CORES` from it and fewer than :data:`MAX_REMEASURED` batches of this calibration
    (``discarded``) were; each batch measured again is appended to ``discarded`` (when it started, its
    seconds and the steal), so the machine file says what was not used."""
    while True:
        batch = measure_once()
        steal = float(batch.get("machine", {}).get("steal_cores", 0.0))
        if steal <= STEAL_LIMIT_CORES or len(discarded) >= MAX_REMEASURED:
            return batch
        log(f"  the hypervisor stole {steal:.2f} cores during this batch (limit {STEAL_LIMIT_CORES}): measured again")
        discarded.append({"started": batch.get("started", ""), "seconds": round(float(batch.get("seconds", 0.0)), 1),
                          "steal_cores": steal})


def _steal_notes(batches: list, discarded: list) -> list[str]:
    """The machine file's notes on batches measured again for stolen time, or kept although stolen from."""
    notes = [f"{len(discarded)} batch(es) measured again: the hypervisor stole more than {STEAL_LIMIT_CORES} cores "
             f"during them ([calibration] discarded_batches)"] if discarded else []
    kept = [float(bt.get("machine", {}).get("steal_cores", 0.0)) for bt in batches]
    notes += [f"batch {i + 1} kept although the hypervisor stole {s:.2f} cores during it (at most {MAX_REMEASURED} "
              f"batch(es) measured again): its constants, the thread team's above all, may be too large"
              for i, s in enumerate(kept) if s > STEAL_LIMIT_CORES]
    return notes


def calibrate(mode: str = "quick", ranks=(1, 2), repeats: int = 2, out: str | None = None, name: str | None = None,
              notes=(), mpiexec: str | None = None, log=print, merge=(), mpi_wait: str = "sleep",
              warm: bool = True) -> tuple[str, dict]:
    """Measure ``repeats`` batches (0: only ``merge``), fit each, write the machine file to ``out`` (default: the per-user
    calibration cache, keyed by the fingerprint); returns (path, the file's data). ``merge``: earlier
    calibration files of this machine whose batches join this one's (the constants are the median over
    all their measuring segments, the spread their range: drift between the calibrations is then in the
    error bars). ``mpi_wait``: the exchange's wait policy of the engine runs (``parsnn run --mpi-wait``);
    ``warm``: run :func:`warm_up` before the first batch (recorded in ``[calibration.warm_up]``)."""
    from parsnn.machines import fingerprint, load_machine
    from parsnn.partition.rates import BALANCE_MACHINE
    fp = fingerprint.current_fingerprint(date=True)
    balance = load_machine(BALANCE_MACHINE).data["balance"]
    ranks = sorted({int(p) for p in ranks})
    old_fits, old_dates = previous_batches(merge, fp)
    if repeats + len(old_fits) < 1:
        from parsnn.errors import ParameterError
        raise ParameterError("--batches 0 needs at least one --merge file (nothing to measure or merge)")
    batches, fits, warmed, discarded = [], [], {"ran": False}, []
    with tempfile.TemporaryDirectory(prefix="parsnn_calibrate_") as workdir:
        if warm and repeats > 0:
            warmed = warm_up(mode, workdir, fp, mpiexec, log, mpi_wait)
        for b in range(repeats):
            log(f"batch {b + 1} of {repeats} ({mode})")
            batch = unstolen_batch(lambda: measure_batch(mode, ranks, workdir, fp, mpiexec, log, mpi_wait),
                                   discarded, log)
            batches.append(batch)
            fits.append(fit_batch(batch, fp, balance))
    busy = [r["busy_cores_before"] for bt in batches for r in bt["runs"].values()] or [float("nan")]
    auto = _load_notes(busy, [*old_fits, *fits]) + _steal_notes(batches, discarded)
    if old_fits:
        auto.append(f"{len(old_fits)} batch(es) merged from earlier calibrations ({', '.join(merge)}; batches of "
                    f"{min(old_dates)} to {max(old_dates)}): the spread includes the drift between them")
    new_fits = [{k: v for k, v in f.items() if _number(v)} for f in fits]
    command = ("parsnn calibrate" + (" --quick" if mode == "quick" and repeats else "")
               + (f" --batches {repeats}" if not repeats else "") + "".join(f" --merge {p}" for p in merge)
               + (f" --mpi-wait {mpi_wait}" if mpi_wait != "sleep" else "") + ("" if warm or not repeats else " --no-warm-up"))
    cal = {"command": command,
           "mode": mode, "batches": repeats + len(old_fits), "date": fp["date"], "ranks": ranks,
           "batch_dates": [*old_dates, *[bt["started"] for bt in batches]],
           "merged_from": list(merge),
           "seconds_per_batch": [round(bt["seconds"], 1) for bt in batches],
           "busy_cores_before_mean": sum(busy) / len(busy), "busy_cores_before_max": max(busy),
           "notes": [*notes, *auto],
           "mpi_wait": mpi_wait, "segments": MODES[mode]["segments"], "warmup": MODES[mode]["warmup"],
           "interleaved_segments_per_launch": list(interleaved_segments(MODES[mode])),
           "alltoall_int_us": {str(P): bt["mpibench"][P]["alltoall_int_us"] for bt in batches[-1:] for P in bt["mpibench"]},
           "warm_up": warmed, "machine_per_batch": [bt.get("machine", {}) for bt in batches],
           "discarded_batches": discarded,
           "per_batch": [*old_fits, *new_fits],
           "per_segment": [*previous_segments(merge), *[x for f in fits for x in f["segment_fits"]]]}
    name = name or default_name(fp)
    desc = (f"{fp.get('cpu_model')}, {fp.get('cores')} cores, L2 {fp.get('l2_kib')} KiB/core, "
            f"L3 {fp.get('l3_kib')} KiB, {fp.get('memory_gib')} GiB, {fp.get('mpi_library') or 'MPI ?'}")
    data = machine_data([*old_fits, *fits], fp, name, desc, balance, cal)
    path = out or fingerprint.default_calibration_path(fp)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    header = (f"Machine file written by `{cal['command']}` on {fp['date']} ({cal['batches']} batch(es)"
              f"{', ' + str(len(old_fits)) + ' merged from earlier calibrations' if old_fits else ''}"
              f"{', after an untimed warm-up of ' + str(warmed['seconds']) + ' s' if warmed['ran'] else ''}, parsnn "
              f"{fp.get('parsnn_version')} {fp.get('parsnn_commit')}).\n"
              f"Constants: the median over every measuring segment of the batches; [spread]: smallest and largest "
              f"segment or batch value (the prediction's error bars come from the segments' constants);\n"
              f"[sources]: how each constant was measured, or why it is assumed; "
              f"[fingerprint]: the machine it describes.\n"
              + "".join(f"Note: {n}\n" for n in cal["notes"]))
    text = dump_toml(data, header)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path, data

