"""The simple placement strategies: ``round_robin``, ``block`` and ``population``.

Each takes a :class:`parsnn.connectivity.Connectivity` and a number of ranks and returns the
neuron->rank map (int32 [N]; -1 for spike generators). The ``graph`` strategy is in
:mod:`parsnn.partition.graph_strategy`; the module docstring of :mod:`parsnn.partition` describes all four.
"""
from __future__ import annotations

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.partition.rates import population_costs


def round_robin(conn: Connectivity, nranks: int) -> np.ndarray:
    """NEST's placement: the k-th placeable node goes to rank k mod P."""
    mask = conn.placeable
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    out[mask] = np.arange(int(mask.sum()), dtype=np.int64) % nranks
    return out


def block(conn: Connectivity, nranks: int) -> np.ndarray:
    """Contiguous blocks of placeable nodes, sizes differing by at most one."""
    mask = conn.placeable
    n = int(mask.sum())
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    out[mask] = (np.arange(n, dtype=np.int64) * nranks) // max(n, 1)
    return out


def population(conn: Connectivity, nranks: int, rates=None, tol: float = 0.05) -> np.ndarray:
    """Contiguous blocks of equal expected cost that keep populations together.

    The k-th block boundary is ideally at cost k*C/P (C: total expected cost).
    If a population boundary lies within tol/2 * C/P of it (and after the
    previous boundary), the block ends there; otherwise it ends inside the
    population at the ideal point. Every block's cost is then within ``tol``
    of the mean."""
    mask = conn.placeable
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    cost = np.repeat(population_costs(conn, rates), conn.sizes)[idx]
    cum = np.concatenate([[0.0], np.cumsum(cost)])          # cum[k]: cost of the first k placeable nodes
    total, mean = cum[-1], cum[-1] / nranks
    # positions (in placeable-node index) where a population starts or ends
    pop_of = conn.pop_of[idx]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(pop_of)) + 1, [idx.size]])
    cuts = [0]
    for k in range(1, nranks):
        ideal = k * mean
        pos = int(np.searchsorted(cum, ideal))               # first node index with cum >= ideal
        pos = min(max(pos, cuts[-1]), idx.size)
        if pos > 0 and abs(cum[pos - 1] - ideal) < abs(cum[pos] - ideal) and pos - 1 >= cuts[-1]:
            pos -= 1
        near = bounds[(np.abs(cum[bounds] - ideal) <= 0.5 * tol * mean) & (bounds >= cuts[-1])]
        if near.size:
            pos = int(near[np.argmin(np.abs(cum[near] - ideal))])
        cuts.append(pos)
    cuts.append(idx.size)
    ranks = np.zeros(idx.size, dtype=np.int32)
    for k in range(nranks):
        ranks[cuts[k]:cuts[k + 1]] = k
    out[idx] = ranks
    return out
