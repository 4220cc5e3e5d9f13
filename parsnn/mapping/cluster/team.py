"""The cost of the threads' synchronisation per min-delay interval: the engine's persistent thread team
(cython/team.h) or, for small ranks, one OpenMP parallel region per interval.

**The team** (``run_steps`` with T > 1 threads and at least ``PAR_MIN_UPDATES`` neuron updates per
interval on the rank): one meeting per interval. Threads 1 .. T-1 finish their share, each adds one to a
shared arrival counter (an atomic read-modify-write that moves the counter's cache line to its core) and
waits for a generation word; thread 0 finishes its own share, waits until the counter reaches T - 1,
does the serial part alone (gather, record, exchange, sort) and bumps the generation word, which the
waiters see when its cache line reaches them. A waiting thread spins for at most ``TEAM_SPIN_US``, then
calls ``sched_yield`` between checks for at most ``TEAM_YIELD_US`` more, then sleeps on a futex. Per
interval, on the critical path::

    t_team(T) = team_us + T x L(T) + wake(w)

- ``team_us``: the meeting's own software cost and, where measured (``parsnn calibrate``: an inactive
  network on 1 rank x 2 vs 1 x 1, :mod:`~parsnn.mapping.cluster.teambench`), everything the 2-thread
  meeting costs on that machine (its two line transfers included: such a file gives no ``[threads.team_line]``);
- ``T x L(T)``: T - 1 arrivals, serialised on the counter's line when the threads finish together (the
  balanced case; arrivals spread over more than L each are hidden behind the slowest thread, which the
  model counts separately, so the term is then smaller), plus one transfer of the generation word to the
  waiters (read in parallel: one latency). Not modelled: in cython/team.h the generation word the
  waiters spin on shares the counter's cache line, so each arrival also invalidates the spinning
  waiters' copies and their re-reads can slow the next arrival (more than T x L at large T). ``L(T)`` is the mean core-to-core latency between two threads of a
  team of T placed compactly (:func:`pair_latency_ns`, from the tiers ``[threads.team_line]``:
  ``threads_i`` cores within which a line moves in ``ns_i``, e.g. a CCX, a socket, a node);
- ``wake(w)``: the waiters have waited ``w`` (thread 0's serial part): beyond ``TEAM_SPIN_US`` they are
  in the yield phase (``team_yield_us``: the detection delay of one ``sched_yield`` round), beyond
  ``TEAM_SPIN_US + TEAM_YIELD_US`` asleep (``team_futex_us``: a futex wake-up).

**The OpenMP region** (fewer neuron updates per interval, but at least ``PAR_MIN_EVENTS`` events): a
``prange`` per interval, fork and join: ``region_us x log2 T + region_us_per_thread x T``, as before.

A machine file without ``team_us`` (calibrated before the team existed) takes the region's cost for the
team too (the calibration measured the region, which then was the engine's).
"""
from __future__ import annotations

import math

#: cython/engine.pyx TEAM_SPIN_NS / TEAM_YIELD_NS (microseconds): a waiting team thread spins this
#: long, then yields this long, then sleeps
TEAM_SPIN_US, TEAM_YIELD_US = 20.0, 200.0


def team_tiers(machine) -> list[tuple[int, float]]:
    """The machine's ``[threads.team_line]`` tiers as sorted (threads_i, ns_i): within ``threads_i``
    compactly placed cores a cache line moves in ``ns_i`` nanoseconds; [] when the file has none."""
    tab = (machine.data.get("threads") or {}).get("team_line")
    if not isinstance(tab, dict):
        return []
    return sorted((int(tab[k]), float(tab["ns_" + k[8:]])) for k in tab
                  if k.startswith("threads_") and "ns_" + k[8:] in tab)


def pair_latency_ns(tiers: list[tuple[int, float]], T: int) -> float:
    """The mean latency (ns) of a cache-line transfer between one thread and another of a team of ``T``
    threads on consecutive cores: tier i holds ``threads_i`` cores (nested), the other threads of the
    first tier cost ``ns_1``, those of tier i outside tier i - 1 cost ``ns_i``; threads beyond the last
    tier cost its ``ns``. 0 with no tiers or T < 2."""
    if not tiers or T < 2:
        return 0.0
    total, inner = 0.0, 1
    for size, ns in tiers:
        reach = min(size, T)
        total += max(0, reach - inner) * ns
        inner = max(inner, reach)
    total += max(0, T - inner) * tiers[-1][1]
    return total / (T - 1)


def wake_us(machine, wait_us: float) -> float:
    """The extra wake-up delay (us) of a team thread that waited ``wait_us``: 0 while it spins, the
    machine's ``team_yield_us`` in the yield phase, ``team_futex_us`` once asleep (0 when not given)."""
    if wait_us <= TEAM_SPIN_US:
        return 0.0
    key = "team_yield_us" if wait_us <= TEAM_SPIN_US + TEAM_YIELD_US else "team_futex_us"
    return float(machine.us("threads", key, default=0.0) * 1e6)


def has_team(machine) -> bool:
    """Whether the machine file describes the team's meeting (``[threads] team_us``)."""
    return "team_us" in (machine.data.get("threads") or {})


def team_s(machine, T: int, wait_s: float = 0.0) -> float:
    """Seconds per interval of the team's meeting for ``T`` threads whose waiters waited ``wait_s`` (see
    the module's equation); the OpenMP region's :func:`region_s` for a file without ``team_us``; 0 for
    T = 1."""
    if T < 2:
        return 0.0
    if not has_team(machine):
        return region_s(machine, T)
    lines = T * pair_latency_ns(team_tiers(machine), T) * 1e-9
    return machine.us("threads", "team_us") + lines + wake_us(machine, wait_s * 1e6) * 1e-6


def region_s(machine, T: int) -> float:
    """Seconds per interval of one OpenMP parallel region of ``T`` threads: ``region_us`` x log2 T (a
    tree) + ``region_us_per_thread`` x T where the file gives it (a centralised barrier); 0 for T = 1."""
    if T < 2:
        return 0.0
    return (machine.us("threads", "region_us") * math.log2(T)
            + machine.us("threads", "region_us_per_thread", default=0.0) * T)
