"""Placement of cores on routers and of routers on the grid.

Cores fill routers (``cores_per_router``; in SpiNNaker's split mode a neuron core and its synapse
cores share a router) and router groups take the grid's slots in Hilbert-curve order
(:mod:`parsnn.mapping.neuromorphic.routing`). ``block``/``round_robin``/``population`` fill the
slots in core order. ``graph`` also groups cores into routers with METIS on the core traffic graph
(capacity repaired greedily), refines both slot assignments by pairwise swaps within a window that
lower ``sum_{r,r'} T[r,r'] hops(r, r')`` (T: expected packets per second between router groups),
and keeps the assignment with the lower sum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from parsnn.errors import ParameterError
from parsnn.mapping.neuromorphic.hardware import Hardware
from parsnn.mapping.neuromorphic.routing import Geometry, hop_cost, hops, make_geometry, shortest_delta


@dataclass
class Placement:
    """Where the cores are: the grid, every (neuron) core's router, and the placement's quality."""
    geom: Geometry
    core_router: np.ndarray    # int64 [C]: router of every neuron core
    routers: int               # router groups used
    hop_cost: float            # sum over router-group pairs of traffic x hops
    refine_gain: float         # what the swap refinement took off hop_cost


def place_cores(hw: Hardware, placement: str, T_core: np.ndarray, m_syn: int, boards=None, seed=0) -> Placement:
    """Group the C cores (traffic matrix ``T_core`` [C, C], packets per s) into routers and place the
    routers on the grid of ``hw``; ``m_syn`` synapse cores share a router with each neuron core."""
    C = T_core.shape[0]
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
    cands = [np.arange(C, dtype=np.int64) // cpr]
    if placement == "graph" and cpr > 1 and C > cpr:
        cands.append(_metis_groups(T_core, math.ceil(C / cpr), cpr, seed))
    best = None
    for group in cands:
        cand = _place_groups(geom, placement, T_core, group, boards)
        if best is None or cand.hop_cost < best.hop_cost - 1e-9:
            best = cand
    return best


def _place_groups(geom: Geometry, placement: str, T_core, group, boards) -> Placement:
    """Router groups ``group`` (of every core) on the grid's slots in order, refined by swaps for ``graph``."""
    import scipy.sparse as sp
    C = T_core.shape[0]
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
    cost = hop_cost(Tg, slot_router[part_slot], geom)
    return Placement(geom, slot_router[part_slot[group]], ngroups, cost, refine_gain)



def _metis_groups(T_core, ngroups, cap, seed):
    """Group the C cores into ngroups routers of at most cap cores with METIS on the core traffic graph
    (its 24 strongest neighbours per core), then repair the capacity greedily."""
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
                        dx1, dy1 = shortest_delta(rp, rk, W, H, hexa, torus)
                        dx2, dy2 = shortest_delta(rc, rk, W, H, hexa, torus)
                        d1 = hops(dx1, dy1, hexa)
                        d2 = hops(dx2, dy2, hexa)
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
