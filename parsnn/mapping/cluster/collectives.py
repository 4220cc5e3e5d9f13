"""Communication of the cluster cost model: node layout and the engine's one collective per
interval, a fixed-block MPI_Alltoall whose block adapts to the traffic plus its overflow rounds
(MPICH's default algorithms), and the expected maxima over ranks they need. See
:mod:`parsnn.mapping.cluster` for the model; all times in seconds.
"""
from __future__ import annotations

import math

import numpy as np

from parsnn.machines import Machine


def expected_max_normal(P: int) -> float:
    """E[max of P independent standard normal variables] (0 for P = 1)."""
    if P <= 1:
        return 0.0
    x = np.linspace(-8.0, 8.0 + math.sqrt(2 * math.log(P)), 4001)
    phi = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    from scipy.special import ndtr
    Phi = ndtr(x)
    f = P * x * phi * Phi ** (P - 1)
    return float(np.sum((f[1:] + f[:-1]) * np.diff(x)) * 0.5)


def node_layout(P: int, machine: Machine, ranks_per_node: int | None):
    """(ranks per node, nodes): blocks of ``ranks_per_node`` (default: the cores of a node);
    beyond the machine's nodes, the ranks share the nodes there are."""
    rpn = max(1, min(int(ranks_per_node or machine.cores_per_node), P))
    nodes = -(-P // rpn)
    if nodes > machine.max_nodes:
        nodes = machine.max_nodes
        rpn = -(-P // nodes)
    return rpn, nodes


#: the engine's exchange block (cython/engine.pyx, parsnn/engine/exchange.py): first block in words,
#: smallest block, intervals over which it may shrink
FIRST_BLOCK_WORDS, MIN_BLOCK_WORDS, BLOCK_WINDOW = 32, 8, 1024
#: bytes per word of the exchange (uint64 spike codes, one header word per block)
WORD_BYTES = 8


def _log_cdf_max(mu: np.ndarray, counts: np.ndarray, k: int) -> float:
    """log P(max over the pairs of Poisson(mu) counts <= k), pairs grouped as (mu, how many)."""
    from scipy.stats import poisson
    return float(np.sum(counts * poisson.logcdf(k, mu)))


def expected_block(wl: dict, T: float) -> dict:
    """The block the engine's exchange settles on and its overflow rounds per interval.

    Every rank sends every rank (itself included) a block whose first word is a header; the block
    holds B - 1 spike codes. The engine (``_adapt_block``) grows the block to 1.5x the need (the
    largest count + 1 over all pairs) when a need exceeds it, and halves it to 2x the window's
    largest need (>= 8 words) when a window of 1,024 intervals needed a quarter of it at most. The
    count r -> q in an interval is Poisson with the expected spikes of r needed on q (own rank
    included); the need of a window is the median of its largest count (P(max <= k)^1024 >= 1/2).
    An interval overflows when its largest count exceeds B - 1: one more Alltoall of the missing words.
    Returns ``block_words``, ``need_words`` (a window's largest need), ``overflow_per_interval`` and
    ``overflow_words`` (the overflow round's block given that there is one)."""
    to = np.array(wl["spikes_to_per_s"], dtype=float) * T
    P = to.shape[0]
    if P == 1:
        return {"block_words": 0, "need_words": 0, "overflow_per_interval": 0.0, "overflow_words": 0}
    own = wl.get("own_spikes_per_s")
    if own is None:
        own = np.maximum(np.asarray(wl["copies_per_s"], dtype=float) - wl["spikes_to_per_s"].sum(axis=1), 0.0)
    to[np.diag_indices(P)] = np.asarray(own, dtype=float) * T
    # group the pairs by their expected count (64 bins, each at its largest value: conservative)
    flat = to.ravel()
    edges = np.unique(np.quantile(flat, np.linspace(0.0, 1.0, 65)))
    idx = np.clip(np.searchsorted(edges, flat, side="left"), 0, edges.size - 1)
    mu = edges[np.unique(idx)]
    cnt = np.bincount(idx)[np.unique(idx)].astype(float)
    half = math.log(0.5) / BLOCK_WINDOW
    k = int(max(0.0, flat.max()))
    while _log_cdf_max(mu, cnt, k) < half:
        k += 1 + k // 8
    while k > 0 and _log_cdf_max(mu, cnt, k - 1) >= half:
        k -= 1
    need = k + 1
    if need > FIRST_BLOCK_WORDS:
        block = need + need // 2
    elif 4 * need <= FIRST_BLOCK_WORDS:
        block = max(MIN_BLOCK_WORDS, 2 * need)
    else:
        block = FIRST_BLOCK_WORDS
    p_over = 1.0 - math.exp(_log_cdf_max(mu, cnt, block - 1))
    return {"block_words": int(block), "need_words": int(need), "overflow_per_interval": float(p_over),
            "overflow_words": int(max(1, need - block + 1))}


def alltoall_block(P: int, words: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """MPI_Alltoall of ``words`` uint64 per destination rank (MPICH's default selection), seconds:
    Bruck's algorithm for blocks <= ``alltoall_short_bytes`` (256) on >= ``alltoall_bruck_min_ranks``
    (8) ranks -- ceil(log2 P) rounds of alpha + 2o + (P/2) blocks' bytes beta plus packing; else all
    P - 1 pairs at once, ``alltoall_throttle`` (32) requests in flight (a further latency per batch),
    bytes and messages through the node's network interface when there are several nodes."""
    if P == 1:
        return {"algorithm": "none", "rounds": 0, "seconds": 0.0}
    col = machine.data.get("collectives", {})
    shm, net = machine.link("shm"), machine.link("inter")
    bruck_min = int(col.get("alltoall_bruck_min_ranks", 8))
    short = float(col.get("alltoall_short_bytes", 256))
    throttle = max(1, int(col.get("alltoallv_throttle", 32)))
    nic_bw = 1e9 * float(machine._get("network", "inter", "nic_bandwidth_gbs",
                                      default=machine._get("network", "inter", "bandwidth_gbs")))
    fixed = 1e-6 * float(col.get("alltoall_fixed_us", 0.0))
    b = WORD_BYTES * max(1, int(words))
    inter = nodes > 1
    lk = net if inter else shm
    if P >= bruck_min and b <= short:
        rounds = int(math.ceil(math.log2(P)))
        round_us = 1e-6 * float(col.get("bruck_round_us", 0.0))
        block_s = 1e-9 * float(col.get("bruck_block_ns", 0.0))
        t = 0.0
        for k in range(rounds):
            nbytes = b * (P / 2.0)
            tb = nbytes * lk["beta"]
            if inter:
                # ranks of a node whose partner is on another node share the node's interface
                tb = max(tb, min(1 << k, rpn) * nbytes / nic_bw)
            t += lk["alpha"] + 2 * lk["o"] + tb + round_us + (P / 2.0) * block_s
        return {"algorithm": "bruck", "rounds": rounds, "seconds": t + fixed}
    f_off = 0.0 if not inter else max(0.0, (P - rpn) / (P - 1.0))
    o = (1 - f_off) * shm["o"] + f_off * net["o"]
    beta = (1 - f_off) * shm["beta"] + f_off * net["beta"]
    t = fixed + lk["alpha"] + (P - 1) * (2 * o + b * beta) + (math.ceil((P - 1) / throttle) - 1) * lk["alpha"]
    if inter:
        off = rpn * (P - rpn)                                  # messages leaving a node
        t = max(t, fixed + lk["alpha"] + off * b / nic_bw)
        rate = float(machine._get("network", "inter", "nic_message_rate_mps", default=0.0))
        if rate > 0:
            t += off / (rate * 1e6)
    return {"algorithm": "isend_irecv", "rounds": 1, "seconds": t}


def exchange_collective(wl: dict, T: float, P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """The engine's one collective per interval: the fixed-block Alltoall of :func:`expected_block`'s
    block, plus the expected overflow rounds (each an Alltoall of the missing words), seconds."""
    blk = expected_block(wl, T)
    if P == 1:
        return {**blk, "algorithm": "none", "rounds": 0, "seconds": 0.0, "alltoall_s": 0.0, "overflow_s": 0.0}
    main = alltoall_block(P, blk["block_words"], rpn, nodes, machine)
    over = alltoall_block(P, blk["overflow_words"], rpn, nodes, machine)
    t_over = blk["overflow_per_interval"] * over["seconds"]
    return {**blk, "algorithm": main["algorithm"], "rounds": main["rounds"], "alltoall_s": main["seconds"],
            "overflow_s": t_over, "seconds": main["seconds"] + t_over}
