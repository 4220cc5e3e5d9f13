"""A machine file from a calibration: the fitted constants of one or more batches
(:func:`parsnn.mapping.cluster.calibration.fit_constants`), their median and spread, where each
comes from, and the machine's fingerprint, written as TOML (:func:`machine_data`, :func:`dump_toml`).

The file is read back by :func:`parsnn.machines.load_machine`; its ``[spread]`` table (for every
constant measured more than once, the smallest and largest value over the measuring segments and
batches) gives the
prediction's error bars (:meth:`parsnn.machines.Machine.bounds`), its ``[sources]`` table says for
every constant how it was measured or why it is assumed.
"""
from __future__ import annotations

import json
import math

import numpy as np

from parsnn.mapping.cluster.scatter import CURVE_DISTANCES, LONG_ROW, ROW, ROW_TARGETS, SCATTER_TARGETS

#: (path in the machine file, key of the fitted constants, how it is measured). Every constant of
#: the cost model that a calibration measures; the others are in :data:`ASSUMED`.
MEASURED = [
    (("compute", "update_ns", "iaf_psc_exp"), "update_ns_iaf_psc_exp",
     "PD14 n_scaling 0.1, DC drive, 1 rank: update timer minus the null network's per-interval cost, per neuron step"),
    (("compute", "update_ns", "iaf_psc_exp_scalar"), "update_ns_iaf_psc_exp_scalar",
     "10,000 iaf_psc_exp with one I_e each (scalar kernel), no input, 1 rank"),
    (("compute", "update_ns", "iaf_psc_delta"), "update_ns_iaf_psc_delta", "10,000 iaf_psc_delta, no input, 1 rank"),
    (("compute", "update_ns", "iaf_psc_alpha"), "update_ns_iaf_psc_alpha", "10,000 iaf_psc_alpha, no input, 1 rank"),
    (("compute", "update_ns", "iaf_psc_alpha_pone"), "update_ns_iaf_psc_alpha_pone",
     "10,000 iaf_psc_alpha with one Poisson input device each (hpc_benchmark's rate and weight: the engine's "
     "one-device path), never firing, 1 rank: kernel and input together"),
    (("compute", "update_ns", "poisson_source"), "update_ns_poisson_source",
     "'spikes' network (2,000 poisson_source at 500/s), 1 rank, minus its iaf_psc_exp targets"),
    (("compute", "poisson_input_ns"), "poisson_input_ns",
     "Brunel A 0.5, 1 rank (one Poisson input per neuron) minus the iaf_psc_delta kernel"),
    (("compute", "event_ns", "l2"), "event_ns_l2", "event fit (Brunel A 0.5, PD14 0.1, shortrows, longrows; 1 rank)"),
    (("compute", "event_ns", "l3"), "event_ns_l3", "event fit (as l2)"),
    (("compute", "event_ns", "memory"), "event_ns_memory",
     "event fit (as l2): 'longrows', rows of 2,048 synapses into a 160 MB ring (prefetched)"),
    (("compute", "event_ns", "memory_no_prefetch"), "event_ns_memory_no_prefetch",
     "event fit (as l2): 'shortrows', rows of 64 synapses into a 160 MB ring (not prefetched)"),
    (("compute", "plastic_event_ns"), "plastic_event_ns",
     "hpc_benchmark scale 0.05 on 1 rank with STDP on E->E and without (--static): the plastic run's deliver "
     "timer above its events at the static run's cost per event, per plastic event (fit version 11: fitted with "
     "facilitation_ns across the plastic run's segments when they differ enough in facilitations per plastic event; "
     "12: with the history windows' misses taken out)"),
    (("compute", "facilitation_ns"), "facilitation_ns",
     "hpc_benchmark scale 0.05 on 1 rank, plastic and static, fitted with plastic_event_ns across the plastic run's "
     "segments: its deliver timer above its events at the static run's cost, less its history windows' misses "
     "(memory_no_prefetch x exp(-(l2 / B) h / n), B = plasticcost.HISTORY_EVENT_BYTES, assumed) = a x plastic events "
     "+ b x (facilitations + history windows) (post spikes read by plastic synapses; windows that searched the "
     "target's history)"),
    (("compute", "spike_ns"), "spike_ns", "'spikes' network (one synapse per spike), 1 rank, minus an L2 event"),
    (("compute", "compare_ns"), "compare_ns", "mpibench (C): libc qsort of uint64 per comparison"),
    (("compute", "pack_ns"), "pack_ns", "exchange timer of PD14 0.1 and Brunel A 0.5 on 1 rank (two equations)"),
    (("compute", "record_ns"), "record_ns",
     "PD14 0.1 and Brunel A 0.5, 1 rank: record timer = flushes x recorded populations x record_flush_us + "
     "recorded spikes x record_ns, solved from the two (parsnn.mapping.cluster.recordcost)"),
    (("compute", "record_flush_us"), "record_flush_us",
     "PD14 0.1 (8 recorded populations) and Brunel A 0.5 (2), 1 rank: the record timer's fixed cost per "
     "recorded population and flush, solved with record_ns"),
    (("compute", "record_first_us"), "record_first_us",
     "PD14 0.1 and Brunel A 0.5, 1 rank: the warm-up's flush (a run's first: the first append to every "
     "population's datasets) above a later flush of as many spikes, per recorded population (pooled)"),
    (("overhead", "update_us"), "null1_update_us", "null network (nothing fires, 1 step per interval), 1 rank"),
    (("overhead", "deliver_us"), "null1_deliver_us", "null network, 1 rank"),
    (("overhead", "exchange_us"), "exchange_us", "exchange timer of PD14 0.1 and Brunel A 0.5 on 1 rank"),
    (("overhead", "collective_call_us"), "collective_call_us",
     "null network on 2 ranks: the engine's exchange timer per interval minus mpibench's C MPI_Alltoall of one "
     "int (the engine's counting, header and copies around its one call per interval)"),
    (("threads", "update_efficiency"), "thread_update_efficiency",
     "the scatter networks 8k, 32k, 128k on 1 rank x 2 threads vs 1 x 1 in one batch: update timer (thread 0's "
     "share: its neurons at their models' update costs, the Poisson sources all on thread 0) minus the fixed cost, 1-thread time / (2 x 2-thread time), median over the networks (used where "
     "[threads.update] has no points)"),
    (("threads", "deliver_efficiency"), "thread_deliver_efficiency",
     "as update_efficiency, deliver timer minus the fixed and per-spike costs (every thread walks every spike), "
     "relative to the model's event cost for a thread's half ring"),
    (("threads", "region_us"), "thread_region_us",
     "the OpenMP region per interval (ranks below the engine's PAR_MIN_UPDATES): teambench (parsnn/mapping/cluster/"
     "teambench.py), an inactive 8,192-neuron network on 1 rank x 2 threads with the team off vs 1 x 1, wall time per "
     "interval outside the phase timers, median over the repeats (per log2 threads); calibrations without teambench: "
     "the scatter networks' 1 x 2 vs 1 x 1 untimed rest, median over the networks"),
    (("threads", "team_us"), "thread_team_us",
     "the thread team's meeting per interval: teambench, the inactive network on 1 rank x 2 threads with the "
     "engine's team vs 1 x 1, wall time per interval outside the phase timers, median over the repeats (its two "
     "cache-line transfers and the wait for the slower thread included: no [threads.team_line])"),
    (("threads", "sigma_rel"), "thread_sigma_rel",
     "the threads' relative noise per interval: the scatter networks on 1 rank x 2 threads vs 1 x 1, the wall time "
     "per interval outside the timers beyond team_us is thread 0's wait for the slower thread, sigma / sqrt(pi) for "
     "equal expected work: sigma_rel = wait sqrt(pi) / thread 0's work, median over the networks "
     "(parsnn.mapping.cluster.threadwait.fit_sigma_rel)"),
    (("network", "shm", "latency_us"), "shm_latency_us", "mpibench (C, 2 ranks): half ping-pong minus overhead"),
    (("network", "shm", "overhead_us"), "shm_overhead_us", "mpibench (C, 2 ranks): burst of 64 Isend, per message"),
    (("collectives", "alltoall_fixed_us"), "alltoall_fixed_us",
     "mpibench (C, 2 ranks): MPI_Alltoall of one int minus latency and 2 overheads"),
    (("collectives", "alltoallv_fixed_us"), "alltoallv_fixed_us", "mpibench (C, 2 ranks): MPI_Alltoallv, counts 0"),
    (("noise", "sigma_rel"), "sigma_rel", "noisebench (C, 2 ranks, identical fixed work per interval): long interval"),
    (("noise", "sigma_us"), "sigma_us", "noisebench: short interval"),
    (("noise", "wait_us"), "wait_sigma_us",
     "the 2-rank calibration networks (scatter8k, scatter32k and scatter128k on 2 ranks x 1 thread; fit version 7: PD14 0.1): "
     "the mean exchange timer above the model's as extra fluctuation per interval x, fitted as x^2 = wait_us^2 + "
     "(wait_rel busy)^2 over the networks; the absolute part (us), added to noisebench's in quadrature (the engine's "
     "wait policy and spike-dependent work; parsnn.mapping.cluster.waitfit.wait_constants)"),
    (("noise", "wait_rel"), "wait_rel",
     "the 2-rank calibration networks (as wait_us): the part of the engine's own fluctuation relative to a rank's "
     "busy time per interval (fit version 8; parsnn.mapping.cluster.waitfit.wait_constants)"),
    (("oversubscription", "yield_us"), "yield_us",
     "PD14 0.1 on cores + 1 ranks: wall time per interval above the prediction without it"),
]

_AT = {"": f"prefetch distance {CURVE_DISTANCES[0]}", **{f"d{d}_": f"prefetch distance {d}" for d in CURVE_DISTANCES[1:]}}
MEASURED += [entry for i in range(1, len(SCATTER_TARGETS) + 1) for entry in (
    (("compute", "scatter", f"mib_{i}"), f"scatter_mib_{i}",
     f"ring bytes written per interval (MiB) of the scatter network with {SCATTER_TARGETS[i - 1]:,} targets"),
    *((("compute", "scatter", f"{p}ns_{i}"), f"scatter_{p}ns_{i}",
       f"ns per event at mib_{i}, {at}: deliver timer minus the per-interval and per-spike costs, over the events "
       f"(1 rank; spike_generator sources, rows of {ROW:,}), minus the per-row cost over the row") for p, at in _AT.items()))]
MEASURED += [entry for j in range(1, len(ROW_TARGETS) + 1) for entry in (
    (("compute", "scatter", f"row_mib_{j}"), f"scatter_row_mib_{j}",
     f"ring MiB per interval of the scatter network with {ROW_TARGETS[j - 1]:,} targets (per-row cost)"),
    *((("compute", "scatter", f"{p}row_ns_{j}"), f"scatter_{p}row_ns_{j}",
       f"ns per row at row_mib_{j}, {at}: that network with rows of {ROW:,} and of {LONG_ROW:,} synapses "
       "(same synapses), c = c_inf + R / row solved for R") for p, at in _AT.items()))]
MEASURED.append((("compute", "scatter", "distance"), "scatter_distance",
                 "the prefetch distance of ns_i and row_ns_j (the engine's default); d<D>_: at distance D"))
MEASURED.append((("compute", "scatter", "no_prefetch_ns"), "scatter_no_prefetch_ns",
                 "'shortrows' (rows of 64 synapses into the largest ring, none prefetched), 1 rank: ns per event "
                 "(fit version 6: not used by the model, kept for comparison)"))

#: the 1-rank calibration runs measured again on 1 rank x 2 threads (name + "T2"): the thread efficiencies
#: at their sizes (``[threads.update]`` / ``[threads.deliver]``, point i = the i-th run)
#: (the scatter networks, not PD14: PD14 runs on 2 threads validate the thread terms, none fits them)
THREAD_RUNS = ("scatter8k_P1", "scatter32k_P1", "scatter128k_P1")
MEASURED += [entry for i, run in enumerate(THREAD_RUNS, start=1) for entry in (
    (("threads", "update", f"n_{i}"), f"thread_update_n_{i}", f"neurons of {run[:-3]} (1 rank; min delay one step, so also its neuron updates per interval)"),
    (("threads", "update", f"eff_{i}"), f"thread_update_eff_{i}",
     f"{run[:-3]} on 1 rank x 2 threads vs 1 x 1 in one batch: update timer minus the fixed cost, "
     "1-thread time x thread 0's share of it (its neurons at their models' update costs) / 2-thread time"),
    (("threads", "deliver", f"mib_{i}"), f"thread_deliver_mib_{i}",
     f"ring MiB one of 2 threads writes per interval in {run[:-3]}"),
    (("threads", "deliver", f"eff_{i}"), f"thread_deliver_eff_{i}",
     f"{run[:-3]} on 1 x 2 vs 1 x 1: deliver timer minus the fixed and per-spike costs, 1-thread time x thread "
     "0's share of the events, scaled by the model's event cost for a thread's half ring over the whole ring's, "
     "/ 2-thread time"))]

#: (path, value, why) of the constants a calibration does not measure
ASSUMED = [
    (("compute", "peer_ns"), 2.0, "assumed: O(P) loops per peer rank, not measurable on a few ranks"),
    (("compute", "row_miss_ns"), 100.0, "assumed: one DRAM latency for a synapse row's first miss"),
    (("network", "shm", "bandwidth_gbs"), 10.0, "assumed: spike messages are tiny, bandwidth hardly matters"),
    (("network", "inter", "latency_us"), 30.0, "placeholder: one node, no network between nodes measured"),
    (("network", "inter", "overhead_us"), 2.0, "placeholder (one node)"),
    (("network", "inter", "bandwidth_gbs"), 0.125, "placeholder (one node)"),
    (("collectives", "alltoall_bruck_min_ranks"), 8, "MPICH default selection (mpivars)"),
    (("collectives", "alltoall_short_bytes"), 256,
     "MPICH default MPIR_CVAR_ALLTOALL_SHORT_MSG_SIZE (Bruck's algorithm up to this block size)"),
    (("collectives", "alltoallv_throttle"), 32, "MPICH default MPIR_CVAR_ALLTOALL_THROTTLE"),
    (("collectives", "bruck_round_us"), 0.3, "assumed: not measurable on 2 ranks"),
    (("collectives", "bruck_block_ns"), 2.0, "assumed: not measurable on 2 ranks"),
]
#: the constants a batch measures since fit version 7 (0 in a file whose batches did not); ``wait_rel`` since 8
SINCE_VERSION_7 = ("record_first_us", "wait_sigma_us", "wait_rel")
#: yield_us when no rank count above the cores was measured (the 2026-11-22 Zen 5 calibration's value)
DEFAULT_YIELD_US = 14.5


def _finite(v) -> bool:
    """A number (not a bool) that is finite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def median_fit(fits: list[dict]) -> dict:
    """Per numeric key of the fits (dicts of fitted constants, e.g. one per measuring segment): the median
    of its finite values over the fits that have it; keys with no finite value are left out."""
    keys = dict.fromkeys(k for f in fits for k, v in f.items() if _finite(v))
    out = {}
    for k in keys:
        vals = [float(f[k]) for f in fits if _finite(f.get(k))]
        if vals:
            out[k] = float(np.median(vals))
    return out


def combine(batches: list[dict], samples: list[dict] | None = None) -> tuple[dict, dict]:
    """(median, {key: [min, max]}) for the keys of :data:`MEASURED`: over ``samples`` (the fits of every
    measuring segment of every batch, pooled) where they give the key, else over the ``batches``; the
    spread spans both (the segments' values and the batches' medians)."""
    med, spread = {}, {}
    for _path, key, _how in MEASURED:
        per_batch = [float(b[key]) for b in batches if _finite(b.get(key))]
        pooled = [float(s[key]) for s in samples or () if _finite(s.get(key))]
        vals = pooled or per_batch
        if not vals:
            continue
        med[key] = float(np.median(vals))
        both = pooled + per_batch
        if len(both) > 1 and max(both) > min(both):
            spread[key] = [float(min(both)), float(max(both))]
    return med, spread


def _put(d: dict, path: tuple, value):
    """Set ``d[path[0]][path[1]]... = value``, creating tables."""
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value


def _machine_table(fp: dict, name: str, description: str) -> dict:
    """The ``[machine]`` table from a fingerprint: one node, its cores and caches."""
    cores = int(fp.get("cores") or 1)
    per_l3 = int(fp.get("cores_per_l3") or cores)
    return {"name": name, "description": description, "cores_per_node": cores, "nodes": 1,
            "l2_kib_per_core": int(fp.get("l2_kib") or 512),
            "l3_mib_per_group": round(float(fp.get("l3_kib") or 0) / 1024, 3), "cores_per_l3": max(1, per_l3)}


def machine_data(batches: list[dict], fp: dict, name: str, description: str, balance: dict,
                 calibration: dict) -> dict:
    """The machine file's data: the median of the ``batches`` (fitted constants, each a dict with the
    keys of :data:`MEASURED`; a key missing or None is taken from :data:`ASSUMED` or the default
    ``yield_us``; with ``calibration['per_segment']``, the fits of every measuring segment, the median
    over those: :func:`combine`), ``[spread]`` (min/max over segments and batches), ``[sources]`` per
    constant, ``[fingerprint]``
    ``fp``, ``[balance]`` (the partitioner's weights, copied) and ``[calibration]`` (how it was made)."""
    med, spread = combine(batches, (calibration or {}).get("per_segment"))
    data = {"machine": _machine_table(fp, name, description)}
    sources = {}
    for path, value, why in ASSUMED:
        _put(data, path, value)
        sources[".".join(path)] = why
    for path, key, how in MEASURED:
        dotted = ".".join(path)
        if key not in med:
            if key == "yield_us":
                _put(data, path, DEFAULT_YIELD_US)
                sources[dotted] = ("assumed: no rank count above the cores was measured (pass --ranks with "
                                   f"one); {DEFAULT_YIELD_US} us is the 2026-11-22 Zen 5 guest's value")
            elif key == "facilitation_ns":
                _put(data, path, 0.0)
                sources[dotted] = ("not measured (the plastic run's segments did not differ enough in facilitations "
                                   "per plastic event, or batches of fit version 10 or older): 0, plastic_event_ns "
                                   "alone")
            elif key in SINCE_VERSION_7:
                _put(data, path, 0.0)
                sources[dotted] = ("not measured (batches of fit version 6 or older, or no run measured it): 0, "
                                   "the prediction leaves the term out")
            continue
        v = med[key]
        if v < 0.0:
            sources[dotted] = f"measured ({how}): the fit gave {v:.4g} < 0 (noise), set to 0"
            v = 0.0
        else:
            sources[dotted] = f"measured: {how}"
        _put(data, path, v)
        if key in spread:
            lo_hi = [max(0.0, x) for x in spread.pop(key)]
            if lo_hi[1] > lo_hi[0]:            # a constant that does not vary has no error bar
                spread[dotted] = lo_hi
    data["oversubscription"]["cores"] = data["machine"]["cores_per_node"]
    data["balance"] = dict(balance)
    sources["balance"] = "copied from the shipped default machine (the partitioner's weights; not fitted)"
    data["spread"] = {k: v for k, v in spread.items() if "." in k}
    data["calibration"] = calibration
    data["fingerprint"] = fp
    data["sources"] = sources
    return data


_INLINE = ("update_ns", "event_ns")


def _value(v) -> str:
    """A TOML value (scalars, lists, inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(f"{v:.6g}")) if math.isfinite(v) else ("nan" if math.isnan(v) else
                                                                  ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v))


def _key(k: str) -> str:
    """A bare key if possible, else a quoted one."""
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _table(lines: list, prefix: str, d: dict):
    """Append ``d`` as the table ``prefix`` (scalars and inline tables first, then sub-tables)."""
    subs = {k: v for k, v in d.items() if isinstance(v, dict) and k not in _INLINE}
    own = {k: v for k, v in d.items() if k not in subs}
    if own or not subs:
        lines.append(f"[{prefix}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in own.items())
        lines.append("")
    for k, v in subs.items():
        _table(lines, f"{prefix}.{_key(k)}", v)


def dump_toml(data: dict, header: str = "") -> str:
    """``data`` (tables of tables, scalars, lists) as TOML text, after the comment lines of ``header``."""
    lines = [f"# {h}".rstrip() for h in header.splitlines()]
    if lines:
        lines.append("")
    for k, v in data.items():
        if isinstance(v, dict):
            _table(lines, _key(k), v)
        else:
            lines.insert(len(header.splitlines()) + 1 if header else 0, f"{_key(k)} = {_value(v)}")
    return "\n".join(lines).rstrip() + "\n"
