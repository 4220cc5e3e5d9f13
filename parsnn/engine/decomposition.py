"""Domain decomposition: which nodes this rank simulates.

The neuron->rank map (``rank_of``, from :func:`parsnn.partition.make_map`) is global and the same
on every rank; a rank keeps only its local node ids (ascending), the global->local index map and,
for every population, the slice of its local nodes that belongs to it.
"""
from __future__ import annotations

import numpy as np


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


def thread_parts(size: int, threads: int) -> np.ndarray:
    """Bounds of the ``threads`` equal parts of a population of ``size`` nodes: part j is
    ``parts[j] .. parts[j+1]-1`` of it (sizes differ by at most one); :func:`thread_owners` says which
    thread owns which part."""
    return (np.arange(threads + 1, dtype=np.int64) * size) // threads


def thread_owners(pop_local: dict, n: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """(owner thread of each of the ``n`` local nodes, first-node offsets ``toff`` of the threads'
    spike buffers): every population's local nodes ``pop_local[p]`` are cut into ``threads`` equal
    parts (:func:`thread_parts`), so every projection's targets are shared by all threads. Thread k
    owns part k of the 1st, 3rd, ... non-empty population and part ``threads - 1 - k`` of the 2nd, 4th,
    ...: where two populations meet, the same thread owns the nodes on both sides. Each thread's nodes
    then meet another thread's at one place per population instead of two, so fewer cache lines of the
    state arrays (written by the owner every step) are written by two threads (false sharing:
    ``benchmarks/update_segments_probe.py``). Who owns a node never changes a result, only the time."""
    owner = np.zeros(n, dtype=np.int32)
    flip = False
    for a, b in pop_local.values():
        if a == b:
            continue
        parts = a + thread_parts(b - a, threads)
        for j in range(threads):
            owner[parts[j]:parts[j + 1]] = threads - 1 - j if flip else j
        flip = not flip
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
