"""Communication of the cluster cost model: node layout, MPI_Alltoall of the counts and
MPI_Alltoallv of the spikes (MPICH's default algorithms), and the expected maxima over ranks
they need. See :mod:`parsnn.mapping.cluster` for the model; all times in seconds.
"""
from __future__ import annotations

import math

import numpy as np

from parsnn.machines import Machine
from parsnn.partition.metrics import BYTES_PER_SPIKE


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


def expected_max_sparse(cost: np.ndarray, prob: np.ndarray) -> float:
    """E[max_r X_r] for independent X_r = cost_r with probability prob_r, else 0."""
    order = np.argsort(-cost)
    c, p = cost[order], np.clip(prob[order], 0.0, 1.0)
    none_before = np.concatenate([[1.0], np.cumprod(1.0 - p)[:-1]])
    return float(np.sum(c * p * none_before))


def node_layout(P: int, machine: Machine, ranks_per_node: int | None):
    """(ranks per node, nodes): blocks of ``ranks_per_node`` (default: the cores of a node);
    beyond the machine's nodes, the ranks share the nodes there are."""
    rpn = max(1, min(int(ranks_per_node or machine.cores_per_node), P))
    nodes = -(-P // rpn)
    if nodes > machine.max_nodes:
        nodes = machine.max_nodes
        rpn = -(-P // nodes)
    return rpn, nodes


def alltoall_counts(P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """MPI_Alltoall of one int32 per rank (MPICH defaults), seconds."""
    if P == 1:
        return {"algorithm": "none", "rounds": 0, "seconds": 0.0}
    col = machine.data.get("collectives", {})
    shm, net = machine.link("shm"), machine.link("inter")
    bruck_min = int(col.get("alltoall_bruck_min_ranks", 8))
    nic_bw = 1e9 * float(machine._get("network", "inter", "nic_bandwidth_gbs",
                                      default=machine._get("network", "inter", "bandwidth_gbs")))
    fixed = 1e-6 * float(col.get("alltoall_fixed_us", 0.0))
    if P < bruck_min:
        lk = net if nodes > 1 else shm
        t = fixed + lk["alpha"] + (P - 1) * 2 * lk["o"] + (P - 1) * 4 * lk["beta"]
        return {"algorithm": "isend_irecv", "rounds": 1, "seconds": t}
    rounds = int(math.ceil(math.log2(P)))
    round_us = 1e-6 * float(col.get("bruck_round_us", 0.0))
    block_s = 1e-9 * float(col.get("bruck_block_ns", 0.0))
    t = 0.0
    for k in range(rounds):
        d = 1 << k
        nbytes = 4.0 * (P / 2.0)
        # with nodes > 1 some rank's partner is on the next node in every round: that round
        # waits for the network; min(d, rpn) ranks of each node send through its interface
        inter = nodes > 1
        lk = net if inter else shm
        tb = nbytes * lk["beta"]
        if inter:
            # ranks of a node whose partner is on another node share the node's interface
            tb = max(tb, min(d, rpn) * nbytes / nic_bw)
        t += lk["alpha"] + 2 * lk["o"] + tb + round_us + (P / 2.0) * block_s
    return {"algorithm": "bruck", "rounds": rounds, "seconds": t + fixed}


def alltoallv_spikes(wl: dict, T: float, P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """MPI_Alltoallv of the interval's spikes (MPICH scattered), seconds; see :mod:`parsnn.mapping.cluster`."""
    if P == 1:
        return {"seconds": 0.0, "max_send_messages": 0.0, "mean_send_messages": 0.0, "mean_recv_messages": 0.0}
    col = machine.data.get("collectives", {})
    throttle = max(1, int(col.get("alltoallv_throttle", 32)))
    shm, net = machine.link("shm"), machine.link("inter")
    mu = wl["spikes_to_per_s"] * T                                   # spikes r -> q per interval
    nonempty = 1.0 - np.exp(-mu)
    np.fill_diagonal(nonempty, 0.0)
    sends = nonempty.sum(axis=1)
    recvs = nonempty.sum(axis=0)
    lam = wl["spikes_out_per_s"] * T
    pi = 1.0 - np.exp(-lam)                                          # P(rank spikes in the interval)
    with np.errstate(divide="ignore", invalid="ignore"):
        D = np.where(pi > 0, sends / pi, 0.0)                        # destinations given that it spikes
    f_off = 0.0 if nodes == 1 else max(0.0, (P - rpn) / (P - 1.0))
    o_s = (1 - f_off) * shm["o"] + f_off * net["o"]
    alpha = net["alpha"] if nodes > 1 else shm["alpha"]
    # a wait per batch of `throttle` messages; the first batch's wait is the one latency added below
    send_cost = D * o_s + np.maximum(np.ceil(D / throttle) - 1.0, 0.0) * alpha
    t_send = expected_max_sparse(send_cost, pi)
    e = expected_max_normal(P)
    t_recv = (recvs.mean() + math.sqrt(max(recvs.mean(), 0.0)) * e) * ((1 - f_off) * shm["o"] + f_off * net["o"])
    bytes_heavy = float(np.max(np.where(pi > 0, BYTES_PER_SPIKE * mu.sum(axis=1) / np.maximum(pi, 1e-300), 0.0)))
    t_bytes = bytes_heavy * ((1 - f_off) * shm["beta"] + f_off * net["beta"])
    t_nic = 0.0
    if nodes > 1:
        rate = float(machine._get("network", "inter", "nic_message_rate_mps", default=0.0))
        if rate > 0:
            node_msgs = sends.sum() * f_off / nodes
            t_nic = node_msgs / (rate * 1e6)
    any_msg = 1.0 - float(np.prod(1.0 - np.clip(pi, 0, 1)))
    fixed = 1e-6 * float(col.get("alltoallv_fixed_us", 0.0))
    t = fixed + any_msg * alpha + t_send + t_recv + t_bytes + t_nic
    return {"seconds": t, "max_send_messages": expected_max_sparse(D, pi), "mean_send_messages": float(sends.mean()),
            "mean_recv_messages": float(recvs.mean()), "send_s": t_send, "recv_s": t_recv, "bytes_s": t_bytes,
            "nic_s": t_nic, "latency_s": any_msg * alpha, "off_node_fraction": f_off}

