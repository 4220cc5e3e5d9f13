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


def thread_parts(size: int, threads: int) -> np.ndarray:
    """Bounds of the ``threads`` equal parts of a population of ``size`` nodes: part j is
    ``parts[j] .. parts[j+1]-1`` of it (sizes differ by at most one); :func:`thread_owners` moves
    them onto cache-line bounds and says which thread owns which part."""
    return (np.arange(threads + 1, dtype=np.int64) * size) // threads


def _line_bound(e: int, pos: int, b: int, items: int, excess: int) -> int:
    """The bound of a part that starts at ``pos`` and would end at ``e`` in the equal split: the
    multiple of ``items`` just below or just above ``e`` (clamped to ``pos`` .. ``b``), whichever
    leaves its owner's load nearer the goal (``excess``: the owner's load minus the goal if the part
    ended at ``pos``; a tie goes down). Never an empty part when a line bound lies inside: the next
    part would start with the same owner."""
    down = e - e % items
    up = down if down == e else down + items
    down, up = min(max(down, pos), b), min(max(up, pos), b)
    if down == pos:
        return up
    return down if abs(excess + down - pos) <= abs(excess + up - pos) else up


def thread_owners(pop_local: dict, n: int, threads: int,
                  items: int = aligned.SPLIT_ITEMS) -> tuple[np.ndarray, np.ndarray]:
    """(owner thread of each of the ``n`` local nodes, first-node offsets ``toff`` of the threads'
    spike buffers): every population's local nodes ``pop_local[p]`` are cut into ``threads`` parts,
    the equal split (:func:`thread_parts`) with every inner bound moved to a multiple of ``items``
    in local index (less than one line), so every projection's targets are shared by all threads and
    no cache line of an aligned state array (:mod:`parsnn.engine.aligned`) holds two threads' nodes
    inside a population. Where two populations meet inside a line, the thread that owns the last
    nodes of the one owns the first nodes of the next (for 2 threads the parts' order alternates);
    the other parts go to the threads with the fewest nodes so far (ties: the lower thread), and each
    bound moves down or up as keeps the threads' loads nearer equal. A population too small for every
    thread leaves some without a part. Two threads then never write one line of the state arrays
    (false sharing: ``benchmarks/update_segments_probe.py``). Who owns a node never changes a
    result, only the time."""
    owner = np.zeros(n, dtype=np.int32)
    load = np.zeros(threads, dtype=np.int64)
    last = -1                                   # the owner of the node before the population
    for a, b in pop_local.values():
        if a == b:
            continue
        goal = (int(load.sum()) + b - a) / threads      # every thread's load after it, ideally
        free = sorted(range(threads), key=lambda k: (load[k], k))
        if last >= 0 and a % items:             # its first line holds the previous node
            free.remove(last)
            free.insert(0, last)
        pos, equal = a, a + thread_parts(b - a, threads)
        for j in range(1, threads + 1):
            end = b if j == threads else _line_bound(int(equal[j]), pos, b, items, load[free[0]] - goal)
            if end > pos:
                last = free.pop(0)
                owner[pos:end] = last
                load[last] += end - pos
                pos = end
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
