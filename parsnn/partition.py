"""Placement of neurons on ranks: a neuron->rank map is a first-class value.

The engine accepts any int32 array ``rank_of[gid]``; strategies here produce
one from a network description. Spike generators are virtual (known on every
rank) and get rank -1.
"""
from __future__ import annotations

import numpy as np

from parsnn.errors import ParameterError


def _placeable(net) -> np.ndarray:
    """Boolean mask over gids: True for nodes that live on one rank."""
    mask = np.ones(net.num_nodes, dtype=bool)
    for name, off in net.offsets().items():
        pop = net.populations[name]
        if pop.is_virtual:
            mask[off:off + pop.size] = False
    return mask


def round_robin(net, nranks: int) -> np.ndarray:
    """NEST's placement: the k-th placeable node goes to rank k mod P."""
    mask = _placeable(net)
    out = np.full(net.num_nodes, -1, dtype=np.int32)
    out[mask] = np.arange(int(mask.sum()), dtype=np.int64) % nranks
    return out


def block(net, nranks: int) -> np.ndarray:
    """Contiguous blocks of placeable nodes, sizes differing by at most one."""
    mask = _placeable(net)
    n = int(mask.sum())
    out = np.full(net.num_nodes, -1, dtype=np.int32)
    out[mask] = (np.arange(n, dtype=np.int64) * nranks) // max(n, 1)
    return out


STRATEGIES = {"round_robin": round_robin, "block": block}


def make_map(net, nranks: int, strategy="round_robin") -> tuple[str, np.ndarray]:
    """(name, rank_of) for a strategy name or an explicit array."""
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ParameterError(f"partition must be one of {', '.join(STRATEGIES)} or an array, got '{strategy}'")
        return strategy, STRATEGIES[strategy](net, nranks)
    rank_of = np.asarray(strategy)
    if rank_of.shape != (net.num_nodes,) or not np.issubdtype(rank_of.dtype, np.integer):
        raise ParameterError(f"partition array must be integer with one entry per node ({net.num_nodes}), "
                             f"got shape {rank_of.shape} dtype {rank_of.dtype}")
    mask = _placeable(net)
    if mask.any() and (rank_of[mask].min() < 0 or rank_of[mask].max() >= nranks):
        raise ParameterError(f"partition array entries must be in [0, {nranks - 1}] for the {nranks} ranks")
    out = rank_of.astype(np.int32, copy=True)
    out[~mask] = -1
    return "custom", out
