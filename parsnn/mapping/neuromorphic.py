"""Mapping a network onto neuromorphic hardware: cores, chips, routes, traffic, time and energy.

Targets are data (``parsnn/mapping/hardware/*.toml``: SpiNNaker 1 and 2, Loihi 1 and 2, a generic
2D-mesh NoC); every number there cites its source or is marked as an assumption. The pipeline
works at the granularity the hardware has (neurons -> cores -> routers/chips) and, like
:mod:`parsnn.partition_metrics`, from population-level expected connectivity: no synapse is
enumerated, so full-scale PD14 maps in seconds.

1. **Cores.** A core holds at most ``core.neurons`` neurons and ``core.synapse_memory_bytes /
   core.synapse_bytes`` synapses (a neuron's in-degree K_in is stored on its core), so
   ``n_core = min(neurons, floor(syn_per_core / max K_in))`` and ``C = ceil(N / n_core)`` cores
   (more with ``cores=``). Neurons are split over the C cores with the MPI runs' partitioner
   (:func:`parsnn.partition.partition`: ``graph``, ``block`` or ``round_robin``); above
   ``GRAPH_MAX_PARTS`` cores ``graph`` partitions into super-cores that are then cut into
   contiguous cores. If a core then exceeds a limit, C grows and the split is redone.
2. **Placement.** Cores fill routers (``cores_per_router``: 16 application cores per SpiNNaker
   chip, 4 cores per Loihi tile, ...) and routers take slots of the mesh in Hilbert-curve order
   (chip by chip, then within the chip). ``graph`` first groups cores into routers with METIS on
   the core traffic graph (capacity repaired greedily) and then refines the slot assignment by
   pairwise swaps within a window that lower sum_{r,r'} T[r,r'] hops(r, r') (T: expected packets
   per second between router groups). ``block``/``round_robin`` fill the slots in core order.
3. **Routes.** Dimension-order routes between routers: XY on a mesh; on SpiNNaker's triangular
   (hexagonal) grid, diagonal (NE/SW) moves first, then x, then y, on the torus the shortest wrap.
   With ``routing = "tree"`` a spike is one packet copied where the routes to its destinations
   diverge (a link carries it at most once); with ``"unicast"`` (Loihi) a neuron sends one message
   per destination core along its XY path.
4. **Traffic (expected).** p0[s, q]: probability that a neuron of population s has no synapse on
   core q (closed forms of the connection rules, :func:`partition_metrics.nohit_probabilities`).
   Routes keyed per neuron (``route_key = "neuron"``): core q receives a spike of a neuron of s on
   core a with probability 1 - p0[s, q]; keyed per core (SpiNNaker, sPyNNaker's keys): every spike
   of core a goes to each core targeted by ANY neuron of a, 1 - prod_s p0[s, q]^n[s, a]. A link l
   of a tree carries the spike with probability 1 - prod_{d: l on route(a, d)} nohit(a, d), so the
   expected load is ``load[l] = sum_a R_a (1 - exp(sum_{d: l in route(a,d)} log nohit(a, d)))``
   with R_a the spikes per second of the group (measured per neuron from a SONATA spike file, or
   the model's mean rates). Unicast: ``load[l] = sum_a R_a sum_{d: l in route(a,d)} E[messages to d]``.
   A router's load is the packets it injects plus those entering over its links; its routing table
   holds one entry per source group whose tree visits it (an upper bound: no default routing and no
   key merging). Synaptic events on core q: ``E_q = sum_{s->t} R_s (K_st / N_s) (n[t, q] / N_t)``.
5. **Time per step.** Per step k and core q, with c[k, s] the spikes of population s in step k
   (binned from the spike file, or Poisson draws around the mean rates):
   ``t_core[k, q] = t_step + n_q t_neuron + sum_s c[k, s] (recv[s, q] t_in + ev[s, q] t_event + out[s, q] t_out)``
   (recv, ev, out: packets received, synaptic events, messages sent on q per spike of s);
   the hottest links (``TOP_LINKS``) take ``sum_s c[k, s] lp[s, l] / capacity_l``; a step lasts
   ``t[k] = max(max_q t_core, max_l t_link) + t_sync``. Barrier-synchronised targets (Loihi, NoC):
   ``RTF = mean_k t[k] / dt``. SpiNNaker ``mode="split"`` (sPyNNaker's neuron/synapse split): each
   neuron core q gets m synapse cores, each taking 1/m of q's incoming rows and events,
   ``t_syn = t_syn_step + n_q t_write + sum_s c[k, s] (recv t_in + ev t_event) / m`` and
   ``t_neu = t_step + n_q (t_neuron + m t_read) + sum_s c[k, s] out t_out``; a slice and its synapse
   cores share a chip. ``placement="population"`` cuts every population into the fewest equal slices
   that fit a core (sPyNNaker never mixes populations on a core). Timer-driven targets (SpiNNaker): the tick is set so that
   ``rtf_quantile`` of the steps finish in time, ``RTF = max(min_rtf, quantile_k t[k] / dt)``.
   A link or router whose packets in a step exceed its capacity during that step's wall time
   (dt * RTF) risks dropped packets (reported as the fraction of such steps).
6. **Energy per second of model time.** ``E = E_event * events + E_neuron * N / dt + E_out *
   packets injected + sum_l E_hop(l) load[l] + P_static * RTF`` with P_static = powered chips x
   ``chip_static_w`` + boards x ``board_static_w``; energy per synaptic event = E / events.

Left out (see analysis/results/neuromorphic_validation.md): packet-level contention and queueing,
router back-pressure and re-routing, routing-table minimisation, synapse cores sized per
population (Rhodes et al. 2019; split mode gives every neuron core the same number), Poisson source
cores, host I/O and loading time, delays' effect on burst spreading,
OneToOne projections in the traffic.
"""
from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources

import numba
import numpy as np

from parsnn import partition_metrics as pm
from parsnn.errors import ParameterError

TARGETS = ("spinnaker", "spinnaker2", "loihi", "loihi2", "noc")
PLACEMENTS = ("graph", "block", "round_robin", "population")
MODES = ("combined", "split")
GRAPH_MAX_PARTS = 1000        # at most this many METIS parts of the neuron graph
GRAPH_CORES_PER_PART = 8      # graph: METIS parts (super-cores) of about this many cores, packed into cores
FAN_IN_ATTEMPTS = 12          # enforce_fan_in: re-splits with smaller cores until no core exceeds the fan-in
TOP_LINKS = 64                # links whose per-step load is followed step by step
MAX_CORES = 20000             # dense core-pair matrices above this would not fit comfortably
DEFAULT_STEPS = 5000          # synthetic Poisson steps in mean-rate mode
# directions of a link from its router: E, W, N, S, NE, SW (the last two on hexagonal grids only)
DIRS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1]], dtype=np.int64)
NDIR = 6


# ---------------------------------------------------------------------------
# hardware descriptions
# ---------------------------------------------------------------------------

def available_hardware() -> list[str]:
    d = resources.files("parsnn.mapping").joinpath("hardware")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


@dataclass
class Hardware:
    """A target description (``hardware/*.toml``)."""
    name: str
    data: dict
    path: str = ""

    def __getitem__(self, key):
        return self.data[key]

    def get(self, section, key, default=None):
        return self.data.get(section, {}).get(key, default)

    @property
    def hw(self):
        return self.data["hardware"]


REQUIRED = {"hardware": ("topology", "routing", "route_key", "cores_per_router", "routers_per_chip", "sync"),
            "core": ("neurons", "synapse_bytes", "synapse_memory_bytes"),
            "time": ("neuron_update_s", "synaptic_event_s", "link_packets_per_s", "router_packets_per_s"),
            "energy": ("synaptic_event_j", "neuron_update_j", "hop_j", "chip_static_w")}


def load_hardware(name_or_path) -> Hardware:
    """A target by name (``available_hardware()``) or TOML path."""
    if isinstance(name_or_path, Hardware):
        return name_or_path
    name_or_path = str(name_or_path)
    if os.path.exists(name_or_path):
        with open(name_or_path, "rb") as f:
            data, path = tomllib.load(f), os.path.abspath(name_or_path)
    else:
        res = resources.files("parsnn.mapping").joinpath("hardware", name_or_path + ".toml")
        if not res.is_file():
            raise ParameterError(f"--target must be one of {', '.join(available_hardware())} or a TOML file, "
                                 f"got '{name_or_path}'")
        with res.open("rb") as f:
            data, path = tomllib.load(f), str(res)
    for sec, keys in REQUIRED.items():
        for k in keys:
            if k not in data.get(sec, {}):
                raise ParameterError(f"hardware description {path}: missing [{sec}] {k}")
    h = data["hardware"]
    if h["topology"] not in ("mesh", "hex") or h["routing"] not in ("tree", "unicast") \
            or h["route_key"] not in ("core", "neuron") or h["sync"] not in ("timer", "barrier"):
        raise ParameterError(f"hardware description {path}: topology must be mesh|hex, routing tree|unicast, "
                             f"route_key core|neuron, sync timer|barrier")
    return Hardware(str(h.get("name", os.path.basename(path)[:-5])), data, path)


# ---------------------------------------------------------------------------
# geometry: router grid, chips, Hilbert slot order
# ---------------------------------------------------------------------------

def hilbert_order(w: int, h: int) -> np.ndarray:
    """(x, y) of the cells of a w x h grid in Hilbert-curve order ([w*h, 2])."""
    n = 1
    while n < max(w, h):
        n *= 2
    d = np.arange(n * n, dtype=np.int64)
    x = np.zeros_like(d)
    y = np.zeros_like(d)
    t = d.copy()
    s = 1
    while s < n:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        # rotate
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t = t // 4
        s *= 2
    keep = (x < w) & (y < h)
    return np.stack([x[keep], y[keep]], axis=1)


@dataclass
class Geometry:
    W: int
    H: int
    hexa: bool
    torus: bool
    chip_w: int                 # routers per chip in x, y
    chip_h: int
    slots: np.ndarray           # router ids in placement order
    chips_x: int                # chips in x (of the chip grid)

    @property
    def routers(self) -> int:
        return self.W * self.H

    def chip_of_router(self) -> np.ndarray:
        r = np.arange(self.routers)
        x, y = r % self.W, r // self.W
        return (y // self.chip_h) * self.chips_x + x // self.chip_w

    def link_target(self) -> np.ndarray:
        """Router at the far end of every link (-1 if it leaves a non-torus grid)."""
        r = np.repeat(np.arange(self.routers), NDIR)
        d = np.tile(np.arange(NDIR), self.routers)
        x = r % self.W + DIRS[d, 0]
        y = r // self.W + DIRS[d, 1]
        if self.torus:
            x, y = x % self.W, y % self.H
            ok = np.ones_like(x, dtype=bool)
        else:
            ok = (x >= 0) & (x < self.W) & (y >= 0) & (y < self.H)
        if not self.hexa:
            ok &= d < 4
        return np.where(ok, y * self.W + x, -1)


def make_geometry(hw: Hardware, routers_needed: int, boards: int | None = None) -> Geometry:
    h = hw.hw
    hexa = h["topology"] == "hex"
    torus = bool(h.get("torus", False))
    cw, ch = (int(v) for v in h["routers_per_chip"])
    if cw == 0:          # one chip sized to the need (generic NoC)
        W = max(1, math.ceil(math.sqrt(routers_needed)))
        H = max(1, math.ceil(routers_needed / W))
        return Geometry(W, H, hexa, torus, W, H, _hilbert_ids(W, H), 1)
    per_chip = cw * ch
    chips = max(1, math.ceil(routers_needed / per_chip))
    cpb = int(h.get("chips_per_board", 1))
    if boards is not None:
        if boards * cpb < chips:
            raise ParameterError(f"--boards {boards}: {boards * cpb} chips, but the network needs {chips} chips")
        chips = boards * cpb
    if h.get("board_grid") == "triad":       # SpiNNaker: 3 boards = one 12x12 chip torus
        triads = max(1, math.ceil(math.ceil(chips / cpb) / 3))
        a = max(1, int(math.floor(math.sqrt(triads))))
        while triads % a:
            a -= 1
        b = triads // a
        if b > 2 * a:                         # prime counts: near-square, some spare chips
            a = math.ceil(math.sqrt(triads))
            b = math.ceil(triads / a)
        nx, ny = 12 * b, 12 * a
    else:
        nx = max(1, math.ceil(math.sqrt(chips)))
        ny = max(1, math.ceil(chips / nx))
    # slots: chips in Hilbert order over the chip grid, routers in Hilbert order within each chip
    cgx, cgy = nx, ny
    W, H = cgx * cw, cgy * ch
    inner = hilbert_order(cw, ch)
    outer = hilbert_order(cgx, cgy)
    xs = (outer[:, None, 0] * cw + inner[None, :, 0]).ravel()
    ys = (outer[:, None, 1] * ch + inner[None, :, 1]).ravel()
    return Geometry(W, H, hexa, torus, cw, ch, ys * W + xs, cgx)


def _hilbert_ids(W, H):
    o = hilbert_order(W, H)
    return o[:, 1] * W + o[:, 0]


# ---------------------------------------------------------------------------
# numba kernels: routes, traffic, steps, placement refinement
# ---------------------------------------------------------------------------

@numba.njit(cache=True)
def _hops(dx, dy, hexa):
    if hexa and dx * dy > 0:
        return max(abs(dx), abs(dy))
    return abs(dx) + abs(dy)


@numba.njit(cache=True)
def _delta(src, dst, W, H, hexa, torus):
    dx = dst % W - src % W
    dy = dst // W - src // W
    if torus:
        best = 1 << 60
        bx, by = dx, dy
        for ox in (-W, 0, W):
            for oy in (-H, 0, H):
                c = _hops(dx + ox, dy + oy, hexa)
                if c < best:
                    best = c
                    bx, by = dx + ox, dy + oy
        dx, dy = bx, by
    return dx, dy


@numba.njit(cache=True)
def _route(src, dst, W, H, hexa, torus, buf):
    """Links (router * 6 + direction) of the dimension-order route src -> dst; returns their number."""
    dx, dy = _delta(src, dst, W, H, hexa, torus)
    x, y = src % W, src // W
    n = 0
    if hexa and dx * dy > 0:
        k = min(abs(dx), abs(dy))
        st = 1 if dx > 0 else -1
        d = 4 if st > 0 else 5
        for _ in range(k):
            buf[n] = (y * W + x) * 6 + d
            n += 1
            x = (x + st) % W
            y = (y + st) % H
        dx -= st * k
        dy -= st * k
    while dx != 0:
        st = 1 if dx > 0 else -1
        buf[n] = (y * W + x) * 6 + (0 if st > 0 else 1)
        n += 1
        x = (x + st) % W
        dx -= st
    while dy != 0:
        st = 1 if dy > 0 else -1
        buf[n] = (y * W + x) * 6 + (2 if st > 0 else 3)
        n += 1
        y = (y + st) % H
        dy -= st
    return n


@numba.njit(cache=True)
def _traffic_kernel(g_core, g_w, g_rate, g_share, logp0, core_router, link_to, W, H, hexa, torus, tree):
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
    acc = np.zeros(L)
    racc = np.zeros(R)
    touched = np.empty(L, dtype=np.int64)
    rtouched = np.empty(R, dtype=np.int64)
    mark = np.zeros(L, dtype=np.uint8)
    rmark = np.zeros(R, dtype=np.uint8)
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
        nt = 0
        nrt = 0
        if tree:
            tot = 0.0
            for d in range(R):
                tot += lr[d]
                if d == rs or lr[d] == 0.0:
                    continue
                n = _route(rs, d, W, H, hexa, torus, buf)
                for k in range(n):
                    li = buf[k]
                    if mark[li] == 0:
                        mark[li] = 1
                        touched[nt] = li
                        nt += 1
                    acc[li] += lr[d]
                    rr = link_to[li]
                    if rmark[rr] == 0:
                        rmark[rr] = 1
                        rtouched[nrt] = rr
                        nrt += 1
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
        else:
            tot = 0.0
            for d in range(R):
                m = mr[d]
                if m <= 0.0:
                    continue
                tot += m
                if d == rs:
                    continue
                n = _route(rs, d, W, H, hexa, torus, buf)
                for k in range(n):
                    li = buf[k]
                    link_load[li] += rate * m
                    for s in range(S):
                        if g_share[g, s] > 0.0:
                            link_ps[s, li] += g_share[g, s] * m
            injected[rs] += rate * tot
            msgs[g] = tot
    return link_load, recv, recv_ps, link_ps, injected, entries, msgs


@numba.njit(cache=True)
def _step_kernel(counts, base, coef, lcoef):
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


@numba.njit(cache=True)
def _refine_slots(T, part_slot, slot_router, slot_of_router, W, H, hexa, torus, radius, max_sweeps):
    """Swap router groups between slots (or move into empty ones) while sum T hops decreases."""
    P = T.shape[0]
    NS = slot_router.shape[0]
    slot_part = np.full(NS, -1, dtype=np.int64)
    for p in range(P):
        slot_part[part_slot[p]] = p
    gain_total = 0.0
    for sweep in range(max_sweeps):
        moved = 0
        for p in range(P):
            sp = part_slot[p]
            rp = slot_router[sp]
            x0, y0 = rp % W, rp // W
            for ox in range(-radius, radius + 1):
                for oy in range(-radius, radius + 1):
                    if ox == 0 and oy == 0:
                        continue
                    x, y = x0 + ox, y0 + oy
                    if torus:
                        x, y = x % W, y % H
                    elif x < 0 or x >= W or y < 0 or y >= H:
                        continue
                    sc = slot_of_router[y * W + x]
                    if sc < 0:
                        continue
                    q = slot_part[sc]
                    rc = slot_router[sc]
                    g = 0.0
                    for k in range(P):
                        if k == p or k == q:
                            continue
                        rk = slot_router[part_slot[k]]
                        dx1, dy1 = _delta(rp, rk, W, H, hexa, torus)
                        dx2, dy2 = _delta(rc, rk, W, H, hexa, torus)
                        d1 = _hops(dx1, dy1, hexa)
                        d2 = _hops(dx2, dy2, hexa)
                        g += T[p, k] * (d1 - d2)
                        if q >= 0:
                            g += T[q, k] * (d2 - d1)
                    if g > 1e-12:
                        part_slot[p] = sc
                        slot_part[sc] = p
                        slot_part[sp] = q
                        if q >= 0:
                            part_slot[q] = sp
                        gain_total += g
                        moved += 1
                        sp = sc
                        rp = rc
                        x0, y0 = rp % W, rp // W
        if moved == 0:
            break
    return part_slot, gain_total


# ---------------------------------------------------------------------------
# network side: connectivity, capacities, neuron -> core split
# ---------------------------------------------------------------------------

class _Offsets(np.ndarray):
    """The offsets array that can also be called like ``Network.offsets()`` ({name: offset})."""

    def __array_finalize__(self, obj):
        self._names = getattr(obj, "_names", None)

    def __call__(self):
        return {n: int(o) for n, o in zip(self._names, np.asarray(self))}


class _Desc(pm.Connectivity):
    """A Connectivity that the partition strategies accept in place of a Network
    (``num_nodes``, ``offsets()``, ``populations[name].size/.is_virtual``)."""

    @classmethod
    def wrap(cls, conn):
        obj = cls.__new__(cls)
        obj.__dict__.update(conn.__dict__)
        off = np.asarray(conn.offsets).view(_Offsets)
        off._names = list(conn.names)
        obj.offsets = off
        return obj

    @property
    def populations(self):
        class _P:
            def __init__(self, size, virtual):
                self.size, self.is_virtual = size, virtual
        return {n: _P(int(s), bool(v)) for n, s, v in zip(self.names, self.sizes, self.virtual)}


def _conn(net):
    if isinstance(net, _Desc):
        return net
    return _Desc.wrap(pm.as_connectivity(net))


def indegrees(conn) -> np.ndarray:
    """Mean in-degree (synapses stored per neuron) of every population."""
    K = conn.expected_synapses()
    k_in = np.zeros(len(conn.names))
    np.add.at(k_in, conn.tgt, K)
    return k_in / np.maximum(conn.sizes, 1)


def neurons_per_core(conn, hw: Hardware, npc=None, syn_scale: int = 1) -> int:
    """The most neurons on one core: ``npc`` (default the target's ``[core] neurons``), fewer if the
    synapse memory (times ``syn_scale``: split mode spreads a slice's rows over its synapse cores)
    cannot hold that many of the neurons with the largest in-degree."""
    cap = int(npc or hw["core"]["neurons"])
    syn = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    kin = indegrees(conn)[~conn.virtual]
    kmax = float(kin.max()) if kin.size else 0.0
    if kmax > 0:
        cap = min(cap, int(syn // kmax))
    if cap < 1:
        raise ParameterError(f"a neuron with {kmax:.0f} synapses does not fit the {hw.name} core's synapse memory")
    return cap


_neurons_per_core = neurons_per_core   # map_network's keyword of the same name shadows it


def _core_shares(conn, hw, npc=None, syn_scale: int = 1) -> np.ndarray:
    """Every neuron's share of one core: max(1 / neurons per core, K_in / synapses per core); 0 if virtual."""
    syn_cap = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    w = np.maximum(1.0 / float(npc or hw["core"]["neurons"]), indegrees(conn)[conn.pop_of] / syn_cap)
    w[np.repeat(conn.virtual, conn.sizes)] = 0.0
    return w


def min_cores(net, target) -> int:
    """The fewest cores of ``target`` that hold the network."""
    return max(1, math.ceil(float(_core_shares(_conn(net), load_hardware(target)).sum()) - 1e-9))


def fan_in_neurons_per_core(conn, cap: int, kmax: int) -> np.ndarray:
    """Per population t, the most neurons of t (<= kmax) that one core can hold while the expected number
    of distinct presynaptic sources (input axons) stays <= cap; 0 if even one neuron exceeds it."""
    S = len(conn.names)
    out = np.zeros(S, dtype=np.int64)
    ks = np.arange(1, kmax + 1, dtype=np.int64)
    for t in np.flatnonzero(~conn.virtual):           # one probe per population (S is small)
        counts = np.zeros((S, ks.size), dtype=np.int64)
        counts[t] = ks
        fi = conn.sizes.astype(float) @ (1.0 - pm.nohit_probabilities(conn, counts))
        ok = np.flatnonzero(fi <= cap + 1e-9)
        out[t] = ks[ok[-1]] if ok.size else 0
    return out


def population_cores(conn, w) -> tuple[np.ndarray, int]:
    """sPyNNaker's splitting: every population on its own cores, cut into the fewest equal slices whose
    summed share ``w`` fits one core (cores never hold two populations). Returns (core_of, cores)."""
    sizes = conn.sizes.astype(np.int64)
    real = ~conn.virtual
    wsum = np.bincount(conn.pop_of, weights=w, minlength=len(sizes))
    k = np.where(real & (sizes > 0), np.maximum(1, np.ceil(wsum - 1e-9)), 0).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    p = conn.pop_of
    local = np.arange(p.size, dtype=np.int64) - off[p]
    core_of = first[p] + (local * k[p]) // np.maximum(sizes[p], 1)
    core_of[~real[p]] = -1
    return core_of.astype(np.int64), int(k.sum())


def split_cores(conn, ncores: int, placement: str, w, w_pack=None) -> tuple[np.ndarray, int]:
    """neuron -> core map (int64, -1 for spike generators) with the MPI partitioner, and the core count.

    ``w``: each neuron's share of a core (max of 1/neurons-cap and K_in/synapse-cap). ``block`` and
    ``round_robin`` partition into ``ncores`` parts directly; ``graph`` partitions into super-cores
    of about ``GRAPH_CORES_PER_PART`` cores (METIS balances expected cost, not neurons) and packs
    each one, in gid order, into cores that fit. Any core over a limit is cut into pieces that fit."""
    from parsnn.partition import partition
    if placement == "graph" and ncores > 1:
        b = max(GRAPH_CORES_PER_PART, math.ceil(ncores / GRAPH_MAX_PARTS))
        sup = max(1, math.ceil(ncores / b))
        opts = {"clusters_per_rank": 4} if sup > 100 else {}
        top = partition(conn, sup, "graph", **opts).rank_of.astype(np.int64)
        # pack each super-core into cores of load <= 1 (w_pack: scaled up when more cores were asked for)
        return _pack_overfull(top, w if w_pack is None else w_pack, force=True)
    core_of = partition(conn, ncores, placement).rank_of.astype(np.int64)
    return _pack_overfull(core_of, w)


@numba.njit(cache=True)
def _pack_kernel(order, core_of, w):
    """Walk the neurons core by core (in gid order) and open a new core whenever the load would pass 1."""
    out = np.empty(order.shape[0], dtype=np.int64)
    cur = -1
    prev_core = -1
    load = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        c = core_of[i]
        if c != prev_core or load + w[i] > 1.0 + 1e-9:
            cur += 1
            load = 0.0
            prev_core = c
        load += w[i]
        out[k] = cur
    return out, cur + 1


def _pack_overfull(core_of, w, force=False):
    """Split the cores whose summed load w exceeds 1 into contiguous pieces; returns (core_of, cores)."""
    ok = core_of >= 0
    load = np.bincount(core_of[ok], weights=w[ok])
    if load.max() <= 1.0 + 1e-9 and not force:
        return core_of, int(core_of.max()) + 1
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((idx, core_of[idx]))]
    new, C = _pack_kernel(order.astype(np.int64), core_of.astype(np.int64), w.astype(np.float64))
    out = np.full(core_of.size, -1, dtype=np.int64)
    out[order] = new
    return out, int(C)


def core_counts(conn, core_of, ncores) -> np.ndarray:
    """n[s, q]: neurons of population s on core q."""
    return pm.counts_per_rank(conn, np.where(core_of < 0, 0, core_of), ncores) * 1


# ---------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------

def _metis_groups(T_core, ngroups, cap, seed):
    import pymetis
    C = T_core.shape[0]
    Ts = T_core + T_core.T
    np.fill_diagonal(Ts, 0.0)
    k = min(C - 1, 24)
    nbr = np.argpartition(-Ts, k, axis=1)[:, :k]
    rows = np.repeat(np.arange(C), k)
    cols = nbr.ravel()
    import scipy.sparse as sp
    w = Ts[rows, cols]
    A = sp.coo_matrix((w, (rows, cols)), shape=(C, C)).tocsr()
    A = A.maximum(A.T).tocsr()
    A.setdiag(0.0)
    A.eliminate_zeros()
    if A.nnz == 0:
        return np.arange(C) // cap
    tot = A.data.sum()
    A.data = np.maximum(1, np.round(A.data * (1e8 / tot))).astype(np.int64)
    A.sort_indices()
    opts = pymetis.Options(seed=int(seed), ufactor=1)
    _, parts = pymetis.part_graph(int(ngroups), pymetis.CSRAdjacency(A.indptr.astype(np.int64),
                                                                     A.indices.astype(np.int64)),
                                  eweights=A.data, recursive=False, options=opts)
    parts = np.asarray(parts, dtype=np.int64)
    # repair capacity: move the least attached cores of over-full groups to groups with room
    M = sp.csr_matrix((np.ones(C), (np.arange(C), parts)), shape=(C, ngroups))
    aff = np.asarray((M.T @ Ts).T)       # aff[c, g] = traffic of c with group g
    cnt = np.bincount(parts, minlength=ngroups)
    for g in np.flatnonzero(cnt > cap):
        while cnt[g] > cap:
            members = np.flatnonzero(parts == g)
            c = members[np.argmin(aff[members, g])]
            room = np.flatnonzero(cnt < cap)
            h = room[np.argmax(aff[c, room])]
            parts[c] = h
            cnt[g] -= 1
            cnt[h] += 1
            aff[:, g] -= Ts[:, c]
            aff[:, h] += Ts[:, c]
    # groups numbered in order of their lowest core (keeps population order along the curve)
    first = np.full(ngroups, C)
    np.minimum.at(first, parts, np.arange(C))
    rank = np.empty(ngroups, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(ngroups)
    return rank[parts]


def map_network(net, target="spinnaker", placement="graph", rates=None, step_counts=None, cores=None,
                boards=None, seed=0, steps=DEFAULT_STEPS, keep_arrays=False, neurons_per_core=None,
                mode=None, synapse_cores=None, enforce_fan_in=False) -> dict:
    """Map ``net`` (Network, Connectivity or describe() dict) onto ``target``; see the module docstring.

    ``rates``: None (the model's expected rates) or per-neuron rates (spikes/s, e.g. measured);
    ``step_counts``: [K, S] spikes per step and population (measured), else Poisson draws;
    ``cores``: at least this many cores; ``boards``: powered boards (SpiNNaker) / chip count floor;
    ``neurons_per_core``: cap on neurons per (neuron) core, default the target's ``[core] neurons``;
    ``mode``: ``combined`` (a core does its neurons' synaptic and neural work) or ``split`` (every
    neuron core gets ``synapse_cores`` synapse cores on the same chip that share its incoming spikes
    and hand the summed input over in SDRAM, sPyNNaker's neuron/synapse split); default from the
    target's ``[split]`` section, else combined; ``enforce_fan_in``: cap every population's neurons per
    core so that a core's expected input axons stay within ``[core] fan_in``, then re-split with
    smaller cores while a core that mixes populations still exceeds it (error if one neuron already
    exceeds it, or if FAN_IN_ATTEMPTS splits do not get there)."""
    hw = load_hardware(target)
    if placement not in PLACEMENTS:
        raise ParameterError(f"--placement must be one of {', '.join(PLACEMENTS)}, got '{placement}'")
    split_cfg = hw.data.get("split", {})
    mode = mode or split_cfg.get("mode", "combined")
    if mode not in MODES:
        raise ParameterError(f"--mode must be one of {', '.join(MODES)}, got '{mode}'")
    m_syn = int(synapse_cores if synapse_cores is not None else split_cfg.get("synapse_cores", 1)) \
        if mode == "split" else 0
    if mode == "split" and m_syn < 1:
        raise ParameterError(f"split mode needs at least 1 synapse core per neuron core, got {m_syn}")
    if neurons_per_core is not None and int(neurons_per_core) < 1:
        raise ParameterError(f"--neurons-per-core must be at least 1, got {neurons_per_core}")
    conn = _conn(net)
    dt = float(conn.resolution) * 1e-3
    r = pm.neuron_rates(conn, rates).copy()
    placeable = ~np.repeat(conn.virtual, conn.sizes)
    r[~placeable] = 0.0
    N = int(placeable.sum())
    if N == 0:
        raise ParameterError("the network has no neurons to place")
    npc = neurons_per_core
    # split mode: the synapse memory of a slice is spread over its synapse cores
    syn_scale = max(1, m_syn)
    ncap = _neurons_per_core(conn, hw, npc, syn_scale)
    syn_cap = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    kin = indegrees(conn)
    # each neuron's share of a core: neurons and synapse memory; their sum is the minimum core count
    w = _core_shares(conn, hw, npc, syn_scale)
    fan_in_cap = int(hw.get("core", "fan_in", 0) or 0)
    if enforce_fan_in and fan_in_cap:
        k_fit = fan_in_neurons_per_core(conn, fan_in_cap, int(ncap))
        bad = [conn.names[t] for t in np.flatnonzero((k_fit == 0) & ~conn.virtual)]
        if bad:
            raise ParameterError(f"one neuron of {', '.join(bad)} already has more than {fan_in_cap} expected "
                                 f"input axons on {hw.name}: the fan-in limit cannot be met without axon sharing")
        share = np.where(k_fit > 0, 1.0 / np.maximum(k_fit, 1), 0.0)[conn.pop_of]
        w = np.maximum(w, share)
        w[np.repeat(conn.virtual, conn.sizes)] = 0.0
    load = float(w.sum())
    C = max(1, math.ceil(load - 1e-9))
    w_pack = w
    if cores and cores > load:     # more cores than needed: graph packs every neuron as a larger share
        w_pack = w * (cores / load)
        C = int(cores)
    if C > MAX_CORES:
        raise ParameterError(f"the network needs {C} cores of {hw.name}; at most {MAX_CORES} are supported")
    C = min(C, N)
    enforce = bool(enforce_fan_in and fan_in_cap)
    for attempt in range(FAN_IN_ATTEMPTS if enforce else 1):
        if placement == "population":
            core_of, C = population_cores(conn, w_pack)
        else:
            core_of, C = split_cores(conn, C, placement, w, w_pack)
        n = core_counts(conn, core_of, C).astype(np.float64)          # [S, C]
        p0 = pm.nohit_probabilities(conn, n.astype(np.int64))
        fan_in = conn.sizes.astype(float) @ (1.0 - p0)                 # expected distinct sources per core
        if not enforce or fan_in.max() <= fan_in_cap + 1e-9:
            break
        # cores that mix populations draw on the union of their sources: the per-population cap is not
        # enough; shrink every core by the overshoot and split again
        grow = min(2.0, float(fan_in.max()) / fan_in_cap) + 0.01
        w_pack = w_pack * grow
        C = min(N, max(C + 1, math.ceil(float(w_pack.sum()) - 1e-9)))
        if C > MAX_CORES:
            break
    if enforce and fan_in.max() > fan_in_cap + 1e-9:
        raise ParameterError(f"placement '{placement}' could not keep the input axons within {fan_in_cap} per core "
                             f"on {hw.name} ({fan_in.max():.0f} after {attempt + 1} splits); placement "
                             f"'population' keeps every core's fan-in within the limit")
    neurons = n.sum(axis=0)
    synapses = kin @ n
    if C > MAX_CORES:
        raise ParameterError(f"the network needs {C} cores of {hw.name}; at most {MAX_CORES} are supported")
    S = len(conn.names)
    pop_of = conn.pop_of
    # per (population, core) spike rates
    Rsa = np.zeros((S, C))
    ok = core_of >= 0
    np.add.at(Rsa, (pop_of[ok], core_of[ok]), r[ok])
    Rs = Rsa.sum(axis=1)
    logp0 = np.log(np.maximum(p0, 1e-300))
    logp0[conn.virtual] = 0.0
    core_mode = hw.hw["route_key"] == "core"
    tree = hw.hw["routing"] == "tree"
    # core traffic matrix (expected packets a -> b per s), for grouping and refinement
    if core_mode:
        Pab = -np.expm1(n.T @ logp0)                       # P(b in the tree of a)
        T_core = Rsa.sum(axis=0)[:, None] * Pab
    else:
        T_core = Rsa.T @ (1.0 - p0)
    np.fill_diagonal(T_core, 0.0)
    cpr = int(hw.hw["cores_per_router"]) // (1 + m_syn)   # split: a slice and its synapse cores share a chip
    if cpr < 1:
        raise ParameterError(f"{m_syn} synapse cores per neuron core do not fit the {hw.name} router's "
                             f"{hw.hw['cores_per_router']} cores")
    ngroups = math.ceil(C / cpr)
    geom = make_geometry(hw, ngroups, boards)
    if ngroups > geom.slots.size:
        raise ParameterError(f"{ngroups} routers needed but the {hw.name} geometry has {geom.slots.size}")
    # router groups: cores in order (block, round_robin); graph also tries METIS groups of the core
    # traffic graph, refines both slot assignments and keeps the one with the lower sum T x hops
    import scipy.sparse as sp
    cands = [np.arange(C, dtype=np.int64) // cpr]
    if placement == "graph" and cpr > 1 and C > cpr:
        cands.append(_metis_groups(T_core, math.ceil(C / cpr), cpr, seed))
    best = None
    for group in cands:
        ngroups = int(group.max()) + 1
        per_chip = geom.chip_w * geom.chip_h
        nslots = geom.slots.size if boards is not None else \
            min(geom.slots.size, max(ngroups, math.ceil(ngroups / per_chip) * per_chip))
        slot_router = geom.slots[:nslots].astype(np.int64)
        part_slot = np.arange(ngroups, dtype=np.int64)
        refine_gain = 0.0
        M = sp.csr_matrix((np.ones(C), (np.arange(C), group)), shape=(C, ngroups))
        Tg = np.asarray((M.T @ (M.T @ T_core).T).T)
        Tg = Tg + Tg.T
        np.fill_diagonal(Tg, 0.0)
        if placement == "graph" and ngroups > 1:
            slot_of_router = np.full(geom.routers, -1, dtype=np.int64)
            slot_of_router[slot_router] = np.arange(nslots)
            part_slot, refine_gain = _refine_slots(Tg, part_slot, slot_router, slot_of_router, geom.W, geom.H,
                                                   geom.hexa, geom.torus, 2, 8)
        hop_cost = _hop_cost(Tg, slot_router[part_slot], geom)
        if best is None or hop_cost < best[0] - 1e-9:
            best = (hop_cost, group, ngroups, slot_router, part_slot, refine_gain)
    hop_cost, group, ngroups, slot_router, part_slot, refine_gain = best
    core_router = slot_router[part_slot[group]]
    # source groups
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
    link_to = geom.link_target()
    link_to_safe = np.where(link_to < 0, 0, link_to)
    (link_load, recv, recv_ps, link_ps, injected, entries, msgs) = _traffic_kernel(
        g_core.astype(np.int64), g_w, g_rate, g_share, logp0, core_router, link_to_safe,
        geom.W, geom.H, geom.hexa, geom.torus, tree)
    # per-core work
    ev_ps = np.zeros((S, C))
    K = conn.expected_synapses()
    for j in range(conn.src.size):
        s, t = conn.src[j], conn.tgt[j]
        if conn.virtual[s]:
            continue
        ev_ps[s] += K[j] / conn.sizes[s] * n[t] / conn.sizes[t]
    events = Rs @ ev_ps                                  # per core per s
    share_sq = Rsa / np.maximum(Rs[:, None], 1e-300)     # [S, C]: share of s's spikes sent from core q
    if tree:                                             # one packet per spike
        out_ps = share_sq
    else:                                                # one message per destination core
        out_ps = np.zeros((S, C))
        for gi in range(g_core.size):
            out_ps[:, g_core[gi]] += g_share[gi] * msgs[gi]
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
    # links: capacity (on / off chip), the hottest ones followed per step
    chip_r = geom.chip_of_router()
    link_src = np.repeat(np.arange(geom.routers), NDIR)
    offchip = (link_to >= 0) & (chip_r[link_src] != chip_r[link_to_safe])
    cap_on = float(tm["link_packets_per_s"])
    cap_off = float(tm.get("offchip_link_packets_per_s", cap_on))
    link_cap = np.where(offchip, cap_off, cap_on)
    util = link_load / link_cap
    top = np.argsort(-util)[:TOP_LINKS]
    top = top[link_load[top] > 0]
    lcoef = (link_ps[:, top] / link_cap[top]).copy()
    router_load = injected.copy()
    valid = link_to >= 0
    np.add.at(router_load, link_to[valid], link_load[valid])
    # per-step spike counts
    if step_counts is None:
        rng = np.random.default_rng(seed)
        step_counts = rng.poisson(np.broadcast_to(Rs * dt, (int(steps), S))).astype(np.float64)
        counts_from = "poisson"
    else:
        step_counts = np.asarray(step_counts, dtype=np.float64)
        counts_from = "spike file"
    tcore, tlink, argcore = _step_kernel(step_counts, np.asarray(base, dtype=np.float64), coef, lcoef)
    tcore_mean_model = float(base.max())   # lower bound, for reference
    used_chips = np.unique(chip_r[core_router])
    sync = float(tm.get("sync_s", 0.0)) if used_chips.size <= 1 else float(tm.get("sync_offchip_s",
                                                                                 tm.get("sync_s", 0.0)))
    tstep = np.maximum(tcore, tlink) + sync
    h = hw.hw
    if h["sync"] == "timer":
        q = float(h.get("rtf_quantile", 0.999))
        rtf = max(float(h.get("min_rtf", 1.0)), float(np.quantile(tstep, q)) / dt)
    else:
        rtf = max(float(h.get("min_rtf", 0.0)), float(tstep.mean()) / dt)
    wall_step = dt * rtf
    # dropped-packet risk on the followed links and on routers
    link_step_pk = step_counts @ link_ps[:, top] if top.size else np.zeros((len(step_counts), 0))
    over_link = (link_step_pk > link_cap[top] * wall_step) if top.size else np.zeros((len(step_counts), 0), bool)
    r_cap = float(tm["router_packets_per_s"])
    # router per-step load approximated by its mean share of the spikes
    tot_spk = float(Rs.sum())
    peak_spk = float(step_counts.sum(axis=1).max()) if len(step_counts) else 0.0
    router_peak = router_load.max() / max(tot_spk, 1e-300) * peak_spk
    # energy per second of model time
    en = hw["energy"]
    n_events = float(events.sum())
    e_syn = n_events * float(en["synaptic_event_j"])
    e_neu = N / dt * float(en["neuron_update_j"])
    e_out = float(injected.sum()) * float(en.get("spike_out_j", 0.0))
    dirs = np.tile(np.arange(NDIR), geom.routers)
    hop_j = np.where(offchip, float(en.get("offchip_hop_j", en["hop_j"])),
                     np.where(dirs < 2, float(en.get("hop_ew_j", en["hop_j"])), float(en["hop_j"])))
    e_hop = float((link_load * hop_j).sum())
    cpb = int(h.get("chips_per_board", 1))
    if h.get("board_grid") == "triad":
        n_boards = max(int(boards or 0), math.ceil(used_chips.size / cpb))
        powered_chips = n_boards * cpb
    else:
        powered_chips = max(used_chips.size, int(boards or 0) * cpb if boards else 0)
        n_boards = math.ceil(powered_chips / cpb)
    p_static = powered_chips * float(en["chip_static_w"]) + n_boards * float(en.get("board_static_w", 0.0))
    e_static = p_static * rtf
    e_dyn = e_syn + e_neu + e_out + e_hop
    e_tot = e_dyn + e_static
    tbl = int(h.get("routing_table_entries", 0) or 0)
    # router load per step (packets)
    res = {
        "target": hw.name, "description": h.get("description", ""), "placement": placement,
        "model": (conn.metadata or {}).get("model", ""), "neurons": N, "synapses": float(K[~conn.virtual[conn.src]].sum()),
        "resolution_ms": conn.resolution, "traffic_from": counts_from,
        "spikes_per_s": tot_spk, "synaptic_events_per_s": n_events,
        "neurons_per_core_cap": ncap, "mode": mode, "synapse_cores_per_neuron_core": m_syn,
        "neuron_cores": C, "cores": C * (1 + m_syn), "routers": ngroups, "chips": int(used_chips.size),
        "boards": n_boards, "powered_chips": powered_chips,
        "mesh": [geom.W, geom.H], "topology": h["topology"], "routing": h["routing"],
        "max_neurons_per_core": float(neurons.max()), "max_synapses_per_core": float(synapses.max()),
        "synapses_per_core_cap": float(syn_cap),
        "max_fan_in": float(fan_in.max()), "fan_in_cap": fan_in_cap,
        "fan_in_exceeded": bool(fan_in_cap and fan_in.max() > fan_in_cap),
        "max_link_load_per_s": float(link_load.max()), "max_link_load_per_step": float(link_load.max() * dt),
        "peak_link_load_per_step": float(link_step_pk.max()) if link_step_pk.size else 0.0,
        "max_link_utilisation": float(util.max()), "total_hops_per_s": float(link_load.sum()),
        "offchip_hops_per_s": float(link_load[offchip].sum()),
        "packets_injected_per_s": float(injected.sum()),
        "max_router_load_per_s": float(router_load.max()), "router_peak_per_step": float(router_peak),
        "max_core_events_per_step": float(events.max() * dt), "mean_core_events_per_step": float(events.mean() * dt),
        "max_core_packets_in_per_step": float(recv.max() * dt),
        "max_routing_entries": float(entries.max()), "routing_table_size": tbl,
        "routing_table_overflow": bool(tbl and entries.max() > tbl),
        "hop_cost": float(hop_cost), "refine_gain": float(refine_gain),
        "time_per_step_s": {"mean": float(tstep.mean()), "quantile": float(np.quantile(tstep, float(h.get("rtf_quantile", 0.999)))),
                            "max": float(tstep.max()), "core_mean": float(tcore.mean()), "link_mean": float(tlink.mean()),
                            "sync": sync, "base_max": tcore_mean_model},
        "bottleneck": "link" if float(np.mean(tlink > tcore)) > 0.5 else "core",
        "rtf": float(rtf), "steps_analysed": int(len(step_counts)),
        "dropped_risk_link_steps": float(over_link.any(axis=1).mean()) if over_link.size else 0.0,
        "dropped_risk_router": bool(router_peak > r_cap * wall_step),
        "energy_per_model_s_j": e_tot, "energy_breakdown_j": {"synaptic": e_syn, "neuron": e_neu, "spike_out": e_out,
                                                             "hops": e_hop, "static": e_static},
        "power_w": e_tot / rtf if rtf > 0 else float("nan"),
        "energy_per_synaptic_event_j": e_tot / n_events if n_events > 0 else float("nan"),
        "dynamic_energy_per_synaptic_event_j": e_dyn / n_events if n_events > 0 else float("nan"),
        "hardware_file": hw.path,
    }
    if keep_arrays:
        res["_arrays"] = {"link_load": link_load, "router_load": router_load, "geom": geom, "core_router": core_router,
                          "chip_of_router": chip_r, "entries": entries, "events": events, "recv": recv,
                          "tstep": tstep, "core_of": core_of}
    return res


def _hop_cost(Tg, pos, geom):
    P = Tg.shape[0]
    if P < 2:
        return 0.0
    x, y = pos % geom.W, pos // geom.W
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    if geom.torus:
        cands = []
        for ox in (-geom.W, 0, geom.W):
            for oy in (-geom.H, 0, geom.H):
                cands.append(_hops_np(dx + ox, dy + oy, geom.hexa))
        d = np.min(cands, axis=0)
    else:
        d = _hops_np(dx, dy, geom.hexa)
    return float((Tg * d).sum() / 2.0)


def _hops_np(dx, dy, hexa):
    if hexa:
        same = dx * dy > 0
        return np.where(same, np.maximum(np.abs(dx), np.abs(dy)), np.abs(dx) + np.abs(dy))
    return np.abs(dx) + np.abs(dy)


# ---------------------------------------------------------------------------
# inputs from a run file
# ---------------------------------------------------------------------------

def run_inputs(path, warmup_ms: float = 500.0, max_steps: int | None = None) -> dict:
    """Connectivity, per-neuron measured rates and per-step population spike counts of a run file."""
    from parsnn.runfile import sonata
    meta = sonata.read_metadata(path)
    desc = meta.get("parameters")
    if not isinstance(desc, dict) or "populations" not in desc:
        raise ParameterError(f"{path}: no network description in /parsnn parameters")
    conn = pm.Connectivity.from_description(desc)
    t_sim = float(meta.get("t_sim", 0.0))
    t0 = warmup_ms if t_sim > warmup_ms else 0.0
    if t_sim <= t0:
        raise ParameterError(f"{path}: t_sim {t_sim} ms leaves no spikes after the warm-up ({warmup_ms} ms)")
    h = float(conn.resolution)
    K = int(round((t_sim - t0) / h))
    if max_steps:
        K = min(K, int(max_steps))
    t1 = t0 + K * h
    spikes = sonata.read_spikes(path, t_start=t0, t_stop=t1, allow_incomplete=True)
    rates = pm.neuron_rates(conn).copy()
    counts = np.zeros((K, len(conn.names)))
    missing = []
    for s, name in enumerate(conn.names):
        if conn.virtual[s]:
            continue
        if name not in spikes:
            missing.append(name)
            counts[:, s] = np.random.default_rng(s).poisson(rates[conn.offsets[s]] * h * 1e-3 * conn.sizes[s], K)
            continue
        t, ids = spikes[name]
        a = conn.offsets[s]
        rates[a:a + conn.sizes[s]] = np.bincount(ids.astype(np.int64), minlength=conn.sizes[s])[:conn.sizes[s]] \
            / ((t1 - t0) * 1e-3)
        k = np.minimum(((t - t0) / h).astype(np.int64), K - 1)
        counts[:, s] = np.bincount(k, minlength=K)
    return {"conn": conn, "rates": rates, "step_counts": counts, "window_ms": [t0, t1], "unrecorded": missing,
            "meta": {k: meta.get(k) for k in ("model", "seed", "num_ranks", "partition", "t_sim")}}


def scaling_curve(net, target, placement="graph", rates=None, step_counts=None,
                  factors=(1, 1.5, 2, 3, 4, 6, 8), **kw) -> list[dict]:
    """Strong scaling: the mapping with C_min x factor cores."""
    hw = load_hardware(target)
    conn = _conn(net)
    N = int(conn.sizes[~conn.virtual].sum())
    cmin = min_cores(conn, hw)
    out = []
    seen = set()
    for f in factors:
        c = min(N, max(1, int(round(cmin * f))))
        if c in seen or c > MAX_CORES:
            continue
        seen.add(c)
        m = map_network(conn, hw, placement, rates=rates, step_counts=step_counts, cores=c, **kw)
        out.append({k: m[k] for k in SUMMARY_KEYS})
    return out


SUMMARY_KEYS = ("target", "placement", "cores", "chips", "boards", "max_link_load_per_step", "peak_link_load_per_step",
                "max_core_events_per_step", "total_hops_per_s", "rtf", "energy_per_synaptic_event_j", "power_w",
                "bottleneck", "max_routing_entries", "dropped_risk_link_steps")


def format_table(rows: list[dict]) -> str:
    head = (f"{'target':<10} {'placement':<11} {'cores':>6} {'chips':>5} {'boards':>6} {'link pk/step':>12} "
            f"{'peak':>8} {'core ev/step':>12} {'hops/s':>10} {'RTF':>8} {'E/event':>10} {'power W':>9} {'limit':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['target']:<10} {r['placement']:<11} {r['cores']:>6} {r['chips']:>5} {r['boards']:>6} "
                     f"{r['max_link_load_per_step']:>12.2f} {r['peak_link_load_per_step']:>8.1f} "
                     f"{r['max_core_events_per_step']:>12.1f} {r['total_hops_per_s']:>10.3g} {r['rtf']:>8.3f} "
                     f"{_fmt_energy(r['energy_per_synaptic_event_j']):>10} {r['power_w']:>9.3g} {r['bottleneck']:>5}")
    return "\n".join(lines)


def _fmt_energy(j):
    if not math.isfinite(j):
        return "nan"
    for unit, f in (("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if j >= f:
            return f"{j / f:.3g} {unit}"
    return f"{j:.2e} J"


def plot(result: dict, curve: list[dict] | None, out_dir: str) -> list[str]:
    """Heat map of link load on the mesh and the scaling curve (PNG files in out_dir)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    arr = result["_arrays"]
    geom = arr["geom"]
    dt = result["resolution_ms"] * 1e-3
    per_router = arr["link_load"].reshape(geom.routers, NDIR).max(axis=1) * dt
    img = per_router.reshape(geom.H, geom.W)
    tag = f"{result['model'] or 'network'}_{result['target']}_{result['placement']}"
    paths = []
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(img, origin="lower", cmap="inferno", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="max outgoing link load (packets / step)")
    for x in range(geom.chip_w, geom.W, geom.chip_w):
        ax.axvline(x - 0.5, color="w", lw=0.3)
    for y in range(geom.chip_h, geom.H, geom.chip_h):
        ax.axhline(y - 0.5, color="w", lw=0.3)
    ax.set_title(f"{tag}: {result['cores']} cores, {result['chips']} chips, RTF {result['rtf']:.3g}")
    ax.set_xlabel("router x")
    ax.set_ylabel("router y")
    p = os.path.join(out_dir, f"{tag}_link_load.png")
    fig.savefig(p, dpi=120, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        c = [r["cores"] for r in curve]
        ax.plot(c, [r["rtf"] for r in curve], "o-", label="RTF")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cores")
        ax.set_ylabel("real-time factor")
        ax2 = ax.twinx()
        ax2.plot(c, [r["energy_per_synaptic_event_j"] * 1e9 for r in curve], "s--", color="C1", label="E/event")
        ax2.set_ylabel("energy per synaptic event (nJ)", color="C1")
        ax2.set_yscale("log")
        ax.set_title(f"{tag}: strong scaling")
        p = os.path.join(out_dir, f"{tag}_scaling.png")
        fig.savefig(p, dpi=120, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)
    return paths
