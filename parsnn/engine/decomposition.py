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
    """Bounds of the threads' parts of a segment of ``size`` nodes: thread k owns
    ``parts[k] .. parts[k+1]-1`` of it (sizes differ by at most one)."""
    return (np.arange(threads + 1, dtype=np.int64) * size) // threads


def thread_owners(pop_local: dict, n: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """(owner thread of each of the ``n`` local nodes, first-node offsets ``toff`` of the threads'
    spike buffers): thread k owns the k-th of ``threads`` equal parts of every population's local
    nodes ``pop_local[p]``, so every projection's targets are shared by all threads."""
    owner = np.zeros(n, dtype=np.int32)
    for a, b in pop_local.values():
        parts = a + thread_parts(b - a, threads)
        for k in range(threads):
            owner[parts[k]:parts[k + 1]] = k
    toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)
    return owner, toff
