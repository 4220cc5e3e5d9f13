"""Domain decomposition: which nodes this rank simulates.

The neuron->rank map (``rank_of``, from :func:`parsnn.partition.make_map`) is global and the same
on every rank; a rank keeps only its local node ids (ascending), the global->local index map and,
for every population, the slice of its local nodes that belongs to it.
"""
from __future__ import annotations

import numpy as np

from parsnn.engine import aligned


def local_nodes(rank_of: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(local gids ascending as int64, global->local index map of length N with -1 elsewhere)."""
    local = np.flatnonzero(rank_of == rank).astype(np.int64)
    g2l = np.full(rank_of.size, -1, dtype=np.int32)
    g2l[local] = np.arange(local.size, dtype=np.int32)
    return local, g2l


def population_ranges(net, local: np.ndarray, offsets: dict) -> dict:
    """{population: (a, b)}: ``local[a:b]`` are the local nodes of each simulated (not virtual)
    population, in the order of ``net.populations``."""
    ranges = {}
    for name, pop in net.populations.items():
        if pop.is_virtual:
            continue
        off = offsets[name]
        a, b = np.searchsorted(local, [off, off + pop.size])
        ranges[name] = (int(a), int(b))
    return ranges


def thread_parts(size: int, threads: int, start: int = 0, items: int = 1) -> np.ndarray:
    """Bounds of the ``threads`` parts of the population whose local nodes are ``start`` ..
    ``start + size - 1``: part j is ``parts[j] .. parts[j+1]-1`` of it (relative to ``start``). The
    equal split (sizes differ by at most one) with every inner bound moved to the nearest multiple
    of ``items`` in absolute local index (``start + bound``; a tie goes down), clamped to the
    population: no run of ``items`` nodes that starts at a multiple of ``items`` (one cache line
    of an aligned state array: :mod:`parsnn.engine.aligned`) is cut. A part may be empty (a
    population of fewer than about ``items`` nodes per thread); :func:`thread_owners` says which
    thread owns which part."""
    parts = (np.arange(threads + 1, dtype=np.int64) * size) // threads
    if items > 1 and threads > 1:
        inner = parts[1:-1] + start
        inner = ((inner + (items - 1) // 2) // items) * items      # nearest multiple, tie down
        parts[1:-1] = np.clip(inner - start, 0, size)
    return parts


def _part_order(first: int, threads: int) -> list:
    """Threads in the order they take a population's parts when ``first`` must take the first
    non-empty one: 0, 1, ... for 0; T - 1, ..., 0 for T - 1; else first, first + 1, ... cyclically."""
    if first == threads - 1:
        return list(range(threads - 1, -1, -1))
    return [(first + j) % threads for j in range(threads)]


def thread_owners(pop_local: dict, n: int, threads: int,
                  items: int = aligned.SPLIT_ITEMS) -> tuple[np.ndarray, np.ndarray]:
    """(owner thread of each of the ``n`` local nodes, first-node offsets ``toff`` of the threads'
    spike buffers): every population's local nodes ``pop_local[p]`` are cut into ``threads``
    equal parts at multiples of ``items`` (:func:`thread_parts`), so every projection's targets are
    shared by all threads, and no cache line of an aligned state array holds two threads' nodes
    inside a population. Where two populations meet (not on a line bound), the thread that owns
    the last nodes of the one owns the first nodes of the next: thread k owns part k of the 1st
    population, part ``threads - 1 - k`` of the 2nd (for 2 threads: the order alternates), and so
    on, a population too small for every thread going whole to the thread before it. Two threads
    then never write one line of the state arrays (false sharing:
    ``benchmarks/update_segments_probe.py``). Who owns a node never changes a result, only the time."""
    owner = np.zeros(n, dtype=np.int32)
    last = 0
    for a, b in pop_local.values():
        if a == b:
            continue
        parts = a + thread_parts(b - a, threads, a, items)
        order = iter(_part_order(last, threads))
        for j in range(threads):
            if parts[j + 1] > parts[j]:
                last = next(order)
                owner[parts[j]:parts[j + 1]] = last
    toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)
    return owner, toff


def segment_parts(segments: np.ndarray, owner: np.ndarray, threads: int) -> np.ndarray:
    """``bounds[s, k] = (start, end)``: the local nodes of update segment s (``segments[s, 0:2]``)
    that thread k owns, one contiguous range (empty: start = end); ValueError if a thread's nodes in a
    segment are not contiguous."""
    nseg = segments.shape[0]
    bounds = np.zeros((nseg, threads, 2), dtype=np.int64)
    for s in range(nseg):
        s0, s1 = int(segments[s, 0]), int(segments[s, 1])
        own = owner[s0:s1]
        for k in range(threads):
            idx = np.flatnonzero(own == k)
            if idx.size == 0:
                bounds[s, k] = (s0, s0)
                continue
            if idx[-1] - idx[0] + 1 != idx.size:
                raise ValueError(f"thread {k}'s nodes of segment {s} are not contiguous")
            bounds[s, k] = (s0 + idx[0], s0 + idx[-1] + 1)
    return bounds
