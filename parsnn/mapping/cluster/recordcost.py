"""Rank 0's recording flushes in the cost model: every flush gathers the recorded spikes on rank 0 and
appends them to the run file, a fixed cost per recorded population (the writer reads the last stored
spike back and extends each population's time and id datasets: chunks of 64 Ki entries with checksums)
plus a cost per recorded spike::

    t_record[0] per interval = flushes per interval x recorded populations x record_flush_us
                               + recorded spikes per interval x record_ns
                               + recorded populations x record_first_us / intervals of the run

The last term is the run's first flush, the first append to every population's (empty) datasets, which
costs more than a later one (``record_first_us`` more per population: the writer allocates their first
chunks and chunk indexes; a ``parsnn run`` of 1 s flushes once, so its record timer is that first flush).
``parsnn calibrate`` measures all three (:func:`record_costs`: the later flushes of its measuring segments;
:func:`first_flush_cost`: the warm-up's flush, its runs' first); :func:`record_time` predicts with them. A
run flushes at the end of every ``Simulation.run`` call and every ``flush_ms`` of model time inside it.
Machine files without ``record_flush_us`` (before session 13) have a ``record_ns`` that holds the fixed
part in Brunel's ratio; they predict without the fixed term; files without ``record_first_us`` (before
fit version 7) without the first flush's.
"""
from __future__ import annotations

import math

import numpy as np


def record_cost(br1: dict) -> float:
    """ns per recorded spike on rank 0 (gather, sort, write), fixed cost included: the record timer of
    Brunel A 0.5 on 1 rank over its delivered spikes (every neuron is recorded and has targets, so on
    1 rank the spikes delivered are the spikes recorded). :func:`record_costs` separates the fixed part."""
    return float(np.ravel(br1["perf"]["timer_record"])[0] / float(np.sum(br1["delivered_spikes"])) * 1e9)


#: model time between the flushes of recorded data in the calibration runs (the engine's default)
FLUSH_MS = 1000.0


def record_flushes(res: dict, flush_ms: float = FLUSH_MS) -> int:
    """The flushes of recorded data a 1-rank run record (or measuring segment) holds: one at the end of
    every ``Simulation.run`` call (a segment is one call) and one at every ``flush_ms`` inside it."""
    return max(1, math.ceil(float(res["t_sim_ms"]) / flush_ms - 1e-9))


def recorded_populations(res: dict) -> int:
    """The populations whose spikes a run record's network records."""
    return len((res.get("description") or {}).get("spike_recorder") or [])


def record_costs(pd1: dict, br1: dict) -> dict:
    """The record timer on rank 0 = flushes x recorded populations x ``record_flush_us`` + recorded spikes
    x ``record_ns``, solved from PD14 0.1 (8 recorded populations, few spikes: the fixed part) and
    Brunel A 0.5 (2 populations, many spikes), both on 1 rank (spikes recorded = spikes delivered). The
    fixed part is the writer's per population: reading the last stored spike back and extending the
    time and id datasets (chunks of 64 Ki entries with checksums). When the two runs do not separate
    them (a singular or negative solution), ``record_flush_us`` is 0 and ``record_ns`` is Brunel's ratio."""
    rows, rhs = [], []
    for res in (pd1, br1):
        rows.append([record_flushes(res) * recorded_populations(res), float(np.sum(res["delivered_spikes"]))])
        rhs.append(float(np.ravel(res["perf"]["timer_record"])[0]))
    try:
        fixed, per_spike = np.linalg.solve(np.array(rows), np.array(rhs))
    except np.linalg.LinAlgError:
        fixed, per_spike = -1.0, -1.0
    if not (fixed >= 0.0 and per_spike >= 0.0):
        return {"record_ns": record_cost(br1), "record_flush_us": 0.0}
    return {"record_ns": float(per_spike * 1e9), "record_flush_us": float(fixed * 1e6)}


def first_flush_cost(records, record_flush_us: float, record_ns: float) -> float | None:
    """us per recorded population that a run's first flush costs beyond a later flush of as many spikes
    (:func:`record_costs`' equation), pooled over the run records ``records`` that measured one (their
    ``first_flush``: a list of {seconds, spikes, populations}, the warm-up's flush of each launch:
    :func:`parsnn.mapping.cluster.measure.first_flush`); 0 when the first flush was not dearer, None
    when no record measured one."""
    seconds = later = pops = 0.0
    for res in records:
        for f in (res or {}).get("first_flush") or []:
            if int(f.get("populations", 0)) <= 0:
                continue
            seconds += float(f["seconds"])
            later += f["populations"] * record_flush_us * 1e-6 + f["spikes"] * record_ns * 1e-9
            pops += f["populations"]
    if pops == 0:
        return None
    return max(0.0, (seconds - later) / pops * 1e6)


def first_flushes_per_interval(interval_s: float, t_sim_ms: float | None) -> float:
    """A run's first flush per min-delay interval of ``interval_s`` seconds: one in a run of ``t_sim_ms``
    (ms), none per interval in a long run (None)."""
    if t_sim_ms is None or t_sim_ms <= 0:
        return 0.0
    return interval_s * 1e3 / float(t_sim_ms)


def flushes_per_interval(interval_s: float, t_sim_ms: float | None, flush_ms: float) -> float:
    """Flushes per min-delay interval of ``interval_s`` seconds of model time: in a run of ``t_sim_ms``,
    ceil(t_sim / flush_ms) flushes (the last at its end) over its intervals; in a long run (None) one
    every ``flush_ms``."""
    if t_sim_ms is None or t_sim_ms <= 0:
        return interval_s * 1e3 / float(flush_ms)
    return math.ceil(float(t_sim_ms) / float(flush_ms) - 1e-9) * interval_s * 1e3 / float(t_sim_ms)


def record_time(wl: dict, machine, interval_s: float, t_sim_ms: float | None, flush_ms: float) -> float:
    """Rank 0's recording per interval (seconds; the module's equation) for the workload ``wl``
    (:func:`parsnn.mapping.cluster.workload.workload`: its recorded spikes and populations) on ``machine``."""
    spikes = wl.get("recorded_spikes_per_s", 0.0) * interval_s * machine.ns("record_ns", default=0.0)
    pops = int(wl.get("recorded_populations", 0))
    if pops == 0:
        return float(spikes)
    fixed = machine.us("compute", "record_flush_us", default=0.0)
    first = machine.us("compute", "record_first_us", default=0.0)
    return float(spikes + pops * fixed * flushes_per_interval(interval_s, t_sim_ms, flush_ms)
                 + pops * first * first_flushes_per_interval(interval_s, t_sim_ms))
