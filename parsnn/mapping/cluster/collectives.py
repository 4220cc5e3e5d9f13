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


def _nic_bandwidth(machine: Machine) -> float:
    """Bytes per second through a node's network interface (``nic_bandwidth_gbs``, else the link's)."""
    return 1e9 * float(machine._get("network", "inter", "nic_bandwidth_gbs",
                                    default=machine._get("network", "inter", "bandwidth_gbs")))


def _through_nic(machine: Machine, t: float, start: float, messages: float, nbytes: float) -> float:
    """An exchange of time ``t`` whose ``messages`` messages of ``nbytes`` bytes in all leave a node:
    at least ``start`` plus the bytes through the interface, plus the messages at its message rate."""
    t = max(t, start + nbytes / _nic_bandwidth(machine))
    rate = float(machine._get("network", "inter", "nic_message_rate_mps", default=0.0))
    return t + messages / (rate * 1e6) if rate > 0 else t


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
    nic_bw = _nic_bandwidth(machine)
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
        t = _through_nic(machine, t, fixed + lk["alpha"], off, off * b)
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


def route_probabilities(counts: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """P x P: the probability that rank r holds a neuron with a synapse on rank q (the engine then
    routes r -> q: a neighbour of both in the graph communicator of ``--exchange neighbor``).
    ``counts``: neurons of each population on each rank (S x P), ``hit``: the probability that one
    neuron of a population has a target on a rank (S x P); the diagonal is 0."""
    with np.errstate(divide="ignore"):
        log_none = np.log1p(-np.minimum(hit, 1.0))                 # S x P, -inf where sure
    log_none = np.maximum(log_none, -700.0)
    p = -np.expm1(np.asarray(counts, dtype=float).T @ log_none)   # [r, q]
    np.fill_diagonal(p, 0.0)
    return p


def expected_neighbours(wl: dict, rpn: int) -> dict:
    """The neighbours of the engine's graph communicator from the workload's ``route_probability``
    (P x P; without it every pair with traffic counts): ``k`` the largest expected neighbour count
    of a rank (in or out, as the engine's ``max_neighbours``), ``k_off`` its neighbours on other
    nodes (ranks in blocks of ``rpn``), ``k_off_node`` the out-edges that leave the busiest node."""
    P = int(np.shape(wl["spikes_to_per_s"])[0])
    p = wl.get("route_probability")
    if p is None:
        p = (np.asarray(wl["spikes_to_per_s"], dtype=float) > 0).astype(float)
        np.fill_diagonal(p, 0.0)
    node = np.arange(P) // max(1, int(rpn))
    off = node[:, None] != node[None, :]
    k_out, k_in = p.sum(axis=1), p.sum(axis=0)
    off_out, off_in = (p * off).sum(axis=1), (p * off).sum(axis=0)
    per_node = np.bincount(node, weights=off_out)
    return {"k": float(max(k_out.max(), k_in.max())) if P > 1 else 0.0,
            "k_off": float(max(off_out.max(), off_in.max())) if P > 1 else 0.0,
            "k_off_node": float(per_node.max()) if P > 1 else 0.0}


def neighbor_block(P: int, words: int, k: float, k_off: float, k_off_node: float, rpn: int, nodes: int,
                   machine: Machine) -> dict:
    """The engine's ``MPI_Neighbor_alltoallv`` of ``words`` uint64 per edge with ``k`` neighbours
    (``k_off`` of them on other nodes, ``k_off_node`` edges leaving the busiest node), seconds:
    MPICH posts one Isend and one Irecv per edge and waits for all (its default linear algorithm),
    so the cost grows with k, not with P: ``neighbor_fixed_us`` (the call, the engine's per-edge
    layout set-up) + alpha + k (``neighbor_edge_us`` + bytes beta) + the network's extra overhead of
    the off-node edges; the bytes and messages leaving a node pass its interface."""
    if P == 1:
        return {"algorithm": "none", "rounds": 0, "seconds": 0.0}
    col = machine.data.get("collectives", {})
    shm, net = machine.link("shm"), machine.link("inter")
    inter = nodes > 1 and k_off > 0
    lk = net if inter else shm
    b = WORD_BYTES * max(1, int(words))
    fixed = 1e-6 * float(col.get("neighbor_fixed_us", col.get("alltoall_fixed_us", 0.0)))
    edge = 1e-6 * float(col.get("neighbor_edge_us", 2e6 * shm["o"]))
    k_on = max(0.0, k - k_off)
    t = fixed + lk["alpha"] + k * edge + k_on * b * shm["beta"] + k_off * (b * net["beta"] + 2 * max(0.0, net["o"] - shm["o"]))
    if nodes > 1 and k_off_node > 0:
        t = _through_nic(machine, t, fixed + lk["alpha"], k_off_node, k_off_node * b)
    return {"algorithm": "neighbor_linear", "rounds": 1, "seconds": t}


def neighbor_collective(wl: dict, T: float, P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """The engine's neighbourhood exchange per interval (``--exchange neighbor``): the block of
    :func:`expected_block` on every edge of :func:`expected_neighbours`, plus the expected overflow
    (codes beyond a block go point-to-point to that neighbour only: one message, latency and 2 o)."""
    blk = expected_block(wl, T)
    nb = expected_neighbours(wl, rpn)
    if P == 1:
        return {**blk, **nb, "algorithm": "none", "rounds": 0, "seconds": 0.0, "alltoall_s": 0.0, "overflow_s": 0.0}
    main = neighbor_block(P, blk["block_words"], nb["k"], nb["k_off"], nb["k_off_node"], rpn, nodes, machine)
    lk = machine.link("inter" if nodes > 1 and nb["k_off"] > 0 else "shm")
    one = lk["alpha"] + 2 * lk["o"] + WORD_BYTES * blk["overflow_words"] * lk["beta"]
    t_over = blk["overflow_per_interval"] * one
    return {**blk, **nb, "algorithm": main["algorithm"], "rounds": main["rounds"], "alltoall_s": main["seconds"],
            "overflow_s": t_over, "seconds": main["seconds"] + t_over}


def best_exchange(wl: dict, T: float, P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """The scheme ``--exchange auto`` takes by the cost model: :func:`exchange_collective` (``alltoall``)
    or :func:`neighbor_collective` (``neighbor``), whichever is cheaper per interval, with ``scheme``
    and both totals (``alltoall_total_s``, ``neighbor_total_s``)."""
    a = exchange_collective(wl, T, P, rpn, nodes, machine)
    n = neighbor_collective(wl, T, P, rpn, nodes, machine)
    # a neighbourhood of all other ranks saves nothing: the Alltoall then (as the engine decides)
    best = n if (P > 1 and n.get("k", P - 1) <= P - 1.5 and n["seconds"] < a["seconds"]) else a
    return {**best, "scheme": "neighbor" if best is n else "alltoall", "alltoall_total_s": a["seconds"],
            "neighbor_total_s": n["seconds"], "neighbours": n.get("k", 0.0), "neighbours_off_node": n.get("k_off", 0.0)}


def engine_choice(machine: Machine, P: int, k: int, k_off: int, k_off_node: int, rpn: int, nodes: int,
                  words: int = FIRST_BLOCK_WORDS) -> dict:
    """The engine's ``--exchange auto`` before the run, from its routes alone (no rates yet): the
    first block (``words``) through the fixed-block ``MPI_Alltoall`` vs the neighbourhood exchange with
    the largest neighbour counts over the ranks; ``scheme`` and both costs in us."""
    a = alltoall_block(P, words, rpn, nodes, machine)["seconds"]
    n = neighbor_block(P, words, k, k_off, k_off_node, rpn, nodes, machine)["seconds"]
    return {"scheme": "neighbor" if (k < P - 1 and n < a) else "alltoall", "alltoall_us": 1e6 * a,
            "neighbor_us": 1e6 * n}
