"""Expected traffic on links, routers and cores, and the per-step time of cores and links.

**Traffic (expected).** p0[s, q]: probability that a neuron of population s has no synapse on core
q (closed forms of the connection rules, :func:`parsnn.partition.metrics.nohit_probabilities`).
Routes keyed per neuron (``route_key = "neuron"``): core q receives a spike of a neuron of s on
core a with probability 1 - p0[s, q]; keyed per core (SpiNNaker, sPyNNaker's keys): every spike of
core a goes to each core targeted by ANY neuron of a, 1 - prod_s p0[s, q]^n[s, a]. With
``routing = "tree"`` a spike is one packet copied where the routes to its destinations diverge (a
link carries it at most once), so a link l carries the spike with probability
1 - prod_{d: l on route(a, d)} nohit(a, d) and the expected load is
``load[l] = sum_a R_a (1 - exp(sum_{d: l in route(a,d)} log nohit(a, d)))`` with R_a the spikes
per second of the group (measured per neuron from a SONATA spike file, or the model's mean rates).
With ``"unicast"`` (Loihi) a neuron sends one message per destination core along its XY path:
``load[l] = sum_a R_a sum_{d: l in route(a,d)} E[messages to d]``. A router's load is the packets
it injects plus those entering over its links; its routing table holds one entry per source group
whose tree visits it (an upper bound: no default routing and no key merging). Synaptic events on
core q: ``E_q = sum_{s->t} R_s (K_st / N_s) (n[t, q] / N_t)``.

**Time per step (cores and links).** Per step k and core q, with c[k, s] the spikes of population
s in step k (binned from the spike file, or Poisson draws around the mean rates):
``t_core[k, q] = t_step + n_q t_neuron + sum_s c[k, s] (recv[s, q] t_in + ev[s, q] t_event + out[s, q] t_out)``
(recv, ev, out: packets received, synaptic events, messages sent on q per spike of s); the hottest
links (``TOP_LINKS``) take ``sum_s c[k, s] lp[s, l] / capacity_l``. SpiNNaker ``mode="split"``
(sPyNNaker's neuron/synapse split): each neuron core q gets m synapse cores, each taking 1/m of q's
incoming rows and events,
``t_syn = t_syn_step + n_q t_write + sum_s c[k, s] (recv t_in + ev t_event) / m`` and
``t_neu = t_step + n_q (t_neuron + m t_read) + sum_s c[k, s] out t_out``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from parsnn.mapping.neuromorphic.cores import CoreSplit
from parsnn.mapping.neuromorphic.hardware import Hardware
from parsnn.mapping.neuromorphic.placement import Placement
from parsnn.mapping.neuromorphic.routing import NDIR, route

TOP_LINKS = 64                # links whose per-step load is followed step by step
DEFAULT_STEPS = 5000          # synthetic Poisson steps in mean-rate mode


@dataclass
class SpikeFlows:
    """Spike rates per population and core, and the log no-hit probabilities of the split."""
    per_core: np.ndarray       # [S, C]: spikes per s of population s sent from core q
    per_population: np.ndarray  # [S]: spikes per s of population s
    logp0: np.ndarray          # [S, C]: log p0 (0 for spike generators)


def spike_flows(conn, split: CoreSplit, rates: np.ndarray) -> SpikeFlows:
    """Per-(population, core) spike rates of the split for per-neuron ``rates``."""
    S = len(conn.names)
    pop_of = conn.pop_of
    core_of = split.core_of
    Rsa = np.zeros((S, split.cores))
    ok = core_of >= 0
    np.add.at(Rsa, (pop_of[ok], core_of[ok]), rates[ok])
    Rs = Rsa.sum(axis=1)
    logp0 = np.log(np.maximum(split.p0, 1e-300))
    logp0[conn.virtual] = 0.0
    return SpikeFlows(Rsa, Rs, logp0)


def core_traffic_matrix(hw: Hardware, split: CoreSplit, flows: SpikeFlows) -> np.ndarray:
    """Expected packets per s from core a to core b (diagonal 0), for grouping and refinement."""
    n, Rsa = split.counts, flows.per_core
    if hw.hw["route_key"] == "core":
        Pab = -np.expm1(n.T @ flows.logp0)                 # P(b in the tree of a)
        T_core = Rsa.sum(axis=0)[:, None] * Pab
    else:
        T_core = Rsa.T @ (1.0 - split.p0)
    np.fill_diagonal(T_core, 0.0)
    return T_core


@dataclass
class Traffic:
    """Expected traffic of a placed split (per second of model time, or per spike of a population)."""
    link_load: np.ndarray      # [L]: packets per s on every link
    link_ps: np.ndarray        # [S, L]: packets on every link per spike of population s
    link_to: np.ndarray        # [L]: router at the far end of every link (-1: none)
    recv: np.ndarray           # [C]: packets received per core per s
    recv_ps: np.ndarray        # [S, C]: packets received per core per spike of s
    injected: np.ndarray       # [R]: packets injected per router per s
    entries: np.ndarray        # [R]: expected routing-table entries
    ev_ps: np.ndarray          # [S, C]: synaptic events per core per spike of s
    events: np.ndarray         # [C]: synaptic events per core per s
    out_ps: np.ndarray         # [S, C]: messages sent per core per spike of s


def _source_groups(split: CoreSplit, flows: SpikeFlows, core_mode: bool):
    """(core, population weights, rate, share of each population's spikes) of every source group: a
    core (routes keyed per core) or a population on a core (keyed per neuron)."""
    n, Rsa, Rs = split.counts, flows.per_core, flows.per_population
    S = Rsa.shape[0]
    if core_mode:
        g_core = np.flatnonzero(Rsa.sum(axis=0) > 0)
        g_w = n[:, g_core].T.copy()
        g_rate = Rsa[:, g_core].sum(axis=0)
        g_share = (Rsa[:, g_core] / np.maximum(Rs[:, None], 1e-300)).T.copy()
    else:
        ss, aa = np.nonzero(Rsa > 0)
        g_core = aa
        g_w = np.zeros((ss.size, S))
        g_w[np.arange(ss.size), ss] = 1.0
        g_rate = Rsa[ss, aa]
        g_share = np.zeros((ss.size, S))
        g_share[np.arange(ss.size), ss] = Rsa[ss, aa] / np.maximum(Rs[ss], 1e-300)
    return g_core, g_w, g_rate, g_share


def expected_traffic(conn, hw: Hardware, split: CoreSplit, flows: SpikeFlows, place: Placement) -> Traffic:
    """Link, router and core loads of the split placed by ``place`` (see the module docstring)."""
    tree = hw.hw["routing"] == "tree"
    g_core, g_w, g_rate, g_share = _source_groups(split, flows, hw.hw["route_key"] == "core")
    geom = place.geom
    link_to = geom.link_target()
    link_to_safe = np.where(link_to < 0, 0, link_to)
    (link_load, recv, recv_ps, link_ps, injected, entries, msgs) = traffic_kernel(
        g_core.astype(np.int64), g_w, g_rate, g_share, flows.logp0, place.core_router, link_to_safe,
        geom.W, geom.H, geom.hexa, geom.torus, tree)
    # per-core work
    S, C = flows.per_core.shape
    n, Rs = split.counts, flows.per_population
    ev_ps = np.zeros((S, C))
    K = conn.expected_synapses()
    for j in range(conn.src.size):
        s, t = conn.src[j], conn.tgt[j]
        if conn.virtual[s]:
            continue
        ev_ps[s] += K[j] / conn.sizes[s] * n[t] / conn.sizes[t]
    events = Rs @ ev_ps                                  # per core per s
    share_sq = flows.per_core / np.maximum(Rs[:, None], 1e-300)     # [S, C]: share of s's spikes sent from core q
    if tree:                                             # one packet per spike
        out_ps = share_sq
    else:                                                # one message per destination core
        out_ps = np.zeros((S, C))
        for gi in range(g_core.size):
            out_ps[:, g_core[gi]] += g_share[gi] * msgs[gi]
    return Traffic(link_load, link_ps, link_to, recv, recv_ps, injected, entries, ev_ps, events, out_ps)


@dataclass
class LinkLoads:
    """Link capacities and the links followed step by step; router loads."""
    chip_of_router: np.ndarray  # [R]
    offchip: np.ndarray        # bool [L]: the link leaves its chip
    capacity: np.ndarray       # [L]: packets per s
    utilisation: np.ndarray    # [L]: load / capacity
    top: np.ndarray            # the hottest links (at most TOP_LINKS, load > 0)
    top_coef: np.ndarray       # [S, len(top)]: seconds of link time per spike of s
    router_load: np.ndarray    # [R]: packets per s through every router


def link_loads(hw: Hardware, geom, traffic: Traffic) -> LinkLoads:
    """Capacity (on / off chip) of every link, the hottest ones followed per step, and router loads."""
    tm = hw["time"]
    link_to, link_load = traffic.link_to, traffic.link_load
    link_to_safe = np.where(link_to < 0, 0, link_to)
    chip_r = geom.chip_of_router()
    link_src = np.repeat(np.arange(geom.routers), NDIR)
    offchip = (link_to >= 0) & (chip_r[link_src] != chip_r[link_to_safe])
    cap_on = float(tm["link_packets_per_s"])
    cap_off = float(tm.get("offchip_link_packets_per_s", cap_on))
    link_cap = np.where(offchip, cap_off, cap_on)
    util = link_load / link_cap
    top = np.argsort(-util)[:TOP_LINKS]
    top = top[link_load[top] > 0]
    lcoef = (traffic.link_ps[:, top] / link_cap[top]).copy()
    router_load = traffic.injected.copy()
    valid = link_to >= 0
    np.add.at(router_load, link_to[valid], link_load[valid])
    return LinkLoads(chip_r, offchip, link_cap, util, top, lcoef, router_load)


def core_step_costs(hw: Hardware, neurons: np.ndarray, traffic: Traffic, m_syn: int):
    """(base, coef): a core's time per step is ``base[q] + sum_s c[s] coef[s, q]`` (seconds); in split
    mode the neuron cores come first, then one synapse core (of m) per neuron core."""
    recv_ps, ev_ps, out_ps = traffic.recv_ps, traffic.ev_ps, traffic.out_ps
    tm = hw["time"]
    t_in = float(tm.get("spike_in_s", 0.0))
    t_out = float(tm.get("spike_out_s", 0.0))
    t_ev = float(tm["synaptic_event_s"])
    t_fix = float(tm.get("step_overhead_s", 0.0))
    base = t_fix + neurons * float(tm["neuron_update_s"])
    coef = recv_ps * t_in + ev_ps * t_ev + out_ps * t_out
    if m_syn:
        # neuron core: its neurons, reading m input buffers per neuron from SDRAM, sending spikes;
        # each synapse core: 1/m of the slice's incoming spikes (rows) and synaptic events, then
        # writing its input buffer (one value per neuron) to SDRAM
        sp = hw.data.get("split", {})
        base_n = base + neurons * m_syn * float(sp.get("input_read_s", 0.0))
        base_s = float(sp.get("synapse_step_overhead_s", t_fix)) + neurons * float(sp.get("input_write_s", 0.0))
        base = np.concatenate([base_n, base_s])
        coef = np.concatenate([out_ps * t_out, (recv_ps * t_in + ev_ps * t_ev) / m_syn], axis=1)
    return np.asarray(base, dtype=np.float64), coef


def step_spike_counts(step_counts, pop_rates: np.ndarray, dt: float, steps: int, seed: int):
    """([K, S] spikes per step and population, where they come from): ``step_counts`` (measured) or
    Poisson draws of ``steps`` steps around the populations' rates."""
    S = pop_rates.shape[0]
    Rs = pop_rates
    if step_counts is None:
        rng = np.random.default_rng(seed)
        step_counts = rng.poisson(np.broadcast_to(Rs * dt, (int(steps), S))).astype(np.float64)
        counts_from = "poisson"
    else:
        step_counts = np.asarray(step_counts, dtype=np.float64)
        counts_from = "spike file"
    return step_counts, counts_from


@numba.njit(cache=True)
def traffic_kernel(g_core, g_w, g_rate, g_share, logp0, core_router, link_to, W, H, hexa, torus, tree):
    """Expected traffic of every source group (a core, or a population on a core).

    Returns link_load [L], recv [C] (packets received per core per s), recv_ps [S, C] and
    link_ps [S, L] (the same per spike of population s), injected [R] (packets injected per
    router per s), entries [R] (expected routing-table entries), msgs_per_spike [G]."""
    G, S = g_w.shape
    C = logp0.shape[1]
    R = W * H
    L = R * 6
    link_load = np.zeros(L)
    link_ps = np.zeros((S, L))
    recv = np.zeros(C)
    recv_ps = np.zeros((S, C))
    injected = np.zeros(R)
    entries = np.zeros(R)
    msgs = np.zeros(G)
    lr = np.zeros(R)
    mr = np.zeros(R)
    acc, racc, touched, rtouched, mark, rmark = _tree_scratch(L, R)
    buf = np.empty(4 * (W + H) + 8, dtype=np.int64)
    for g in range(G):
        a = g_core[g]
        rs = core_router[a]
        rate = g_rate[g]
        for r in range(R):
            lr[r] = 0.0
            mr[r] = 0.0
        for q in range(C):
            l = 0.0
            for s in range(S):
                w = g_w[g, s]
                if w > 0.0:
                    l += w * logp0[s, q]
            pq = 1.0 - math.exp(l)
            recv[q] += rate * pq
            for s in range(S):
                if g_share[g, s] > 0.0:
                    recv_ps[s, q] += g_share[g, s] * pq
            if q != a:
                lr[core_router[q]] += l
                mr[core_router[q]] += pq
        if tree:
            _tree_group(g, rs, rate, lr, g_share, link_to, W, H, hexa, torus, buf, acc, racc, touched, rtouched,
                        mark, rmark, link_load, link_ps, injected, entries, msgs)
        else:
            _unicast_group(g, rs, rate, mr, g_share, W, H, hexa, torus, buf, link_load, link_ps, injected, msgs)
    return link_load, recv, recv_ps, link_ps, injected, entries, msgs


@numba.njit(cache=True)
def _tree_group(g, rs, rate, lr, g_share, link_to, W, H, hexa, torus, buf, acc, racc, touched, rtouched, mark, rmark,
                link_load, link_ps, injected, entries, msgs):
    """Tree routing of source group g (router rs, ``rate`` spikes/s, lr[d]: log no-hit of router d): add its
    packets to the link, router-injection and routing-table counts (``acc``..``rmark``: zeroed scratch)."""
    S = g_share.shape[1]
    R = lr.shape[0]
    nt = 0
    nrt = 0
    tot = 0.0
    for d in range(R):
        tot += lr[d]
        if d == rs or lr[d] == 0.0:
            continue
        n = route(rs, d, W, H, hexa, torus, buf)
        for k in range(n):
            li = buf[k]
            nt = _touch(li, mark, touched, nt)
            acc[li] += lr[d]
            rr = link_to[li]
            nrt = _touch(rr, rmark, rtouched, nrt)
            racc[rr] += lr[d]
    pany = 1.0 - math.exp(tot)
    injected[rs] += rate * pany
    entries[rs] += pany
    msgs[g] = pany
    for k in range(nt):
        li = touched[k]
        p = 1.0 - math.exp(acc[li])
        link_load[li] += rate * p
        for s in range(S):
            if g_share[g, s] > 0.0:
                link_ps[s, li] += g_share[g, s] * p
        acc[li] = 0.0
        mark[li] = 0
    for k in range(nrt):
        rr = rtouched[k]
        entries[rr] += 1.0 - math.exp(racc[rr])
        racc[rr] = 0.0
        rmark[rr] = 0


@numba.njit(cache=True)
def _tree_scratch(L, R):
    """Zeroed scratch of :func:`_tree_group` for L links and R routers: per link and per router the summed
    log no-hit, the indices touched and their marks."""
    return (np.zeros(L), np.zeros(R), np.empty(L, dtype=np.int64), np.empty(R, dtype=np.int64),
            np.zeros(L, dtype=np.uint8), np.zeros(R, dtype=np.uint8))


@numba.njit(cache=True)
def _touch(i, mark, touched, count):
    """Record index i once in touched[:count] (mark[i]: already recorded); returns the new count."""
    if mark[i] == 0:
        mark[i] = 1
        touched[count] = i
        count += 1
    return count


@numba.njit(cache=True)
def _unicast_group(g, rs, rate, mr, g_share, W, H, hexa, torus, buf, link_load, link_ps, injected, msgs):
    """Unicast routing of source group g (router rs, ``rate`` spikes/s, mr[d]: expected messages to router d):
    add its messages to the link and router-injection counts."""
    S = g_share.shape[1]
    R = mr.shape[0]
    tot = 0.0
    for d in range(R):
        m = mr[d]
        if m <= 0.0:
            continue
        tot += m
        if d == rs:
            continue
        n = route(rs, d, W, H, hexa, torus, buf)
        for k in range(n):
            li = buf[k]
            link_load[li] += rate * m
            for s in range(S):
                if g_share[g, s] > 0.0:
                    link_ps[s, li] += g_share[g, s] * m
    injected[rs] += rate * tot
    msgs[g] = tot


@numba.njit(cache=True)
def step_kernel(counts, base, coef, lcoef):
    """Per step: the slowest core's time and the slowest followed link's time (seconds)."""
    K, S = counts.shape
    C = base.shape[0]
    T = lcoef.shape[1]
    tcore = np.zeros(K)
    tlink = np.zeros(K)
    arg = np.zeros(K, dtype=np.int64)
    t = np.empty(C)
    u = np.empty(T)
    for k in range(K):
        for q in range(C):
            t[q] = base[q]
        for j in range(T):
            u[j] = 0.0
        for s in range(S):
            c = counts[k, s]
            if c == 0.0:
                continue
            for q in range(C):
                t[q] += c * coef[s, q]
            for j in range(T):
                u[j] += c * lcoef[s, j]
        m = -1.0
        for q in range(C):
            if t[q] > m:
                m = t[q]
                arg[k] = q
        tcore[k] = m
        m = 0.0
        for j in range(T):
            if u[j] > m:
                m = u[j]
        tlink[k] = m
    return tcore, tlink, arg

