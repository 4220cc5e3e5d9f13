"""Refinement of a cluster partition on the exact objective (expected remote deliveries).

Used by the ``graph`` strategy (:mod:`parsnn.partition.graph_strategy`) after METIS: clusters move
greedily, one at a time, to the rank that lowers the expected remote deliveries most, while every
rank's cost stays under a cap. The objective is kept per (source population, rank) as the log of
the probability of no random-rule target there, split into its finite part and a count of
certain hits (-inf terms), so that a move updates it exactly.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from parsnn.connectivity import O2O, Connectivity
from parsnn.partition.metrics import log_nohit


@numba.njit(cache=True)
def _g_split(kind, n, p, Ns, Nt, same_noaut, x):
    """log_nohit as (finite part, 1 if -inf else 0)."""
    v = log_nohit(kind, n, p, Ns, Nt, same_noaut, x)
    if v == -np.inf:
        return 0.0, 1
    return v, 0


@numba.njit(cache=True)
def _initial_state(cl_pop, cl_size, cl_rho, cl_w, parts, nranks, sizes, src, kind, n, p, autapses, in_ptr, in_j):
    """Neurons (cnt) and rate weight (R) of each population on each rank, rank loads, clusters per
    rank, the no-hit logs (finite part Lf, -inf count Li) and the objective F of ``parts``."""
    S = sizes.shape[0]
    C = cl_pop.shape[0]
    P = nranks
    cnt = np.zeros((S, P))
    R = np.zeros((S, P))
    load = np.zeros(P)
    ncl = np.zeros(P, dtype=np.int64)
    for c in range(C):
        cnt[cl_pop[c], parts[c]] += cl_size[c]
        R[cl_pop[c], parts[c]] += cl_rho[c]
        load[parts[c]] += cl_w[c]
        ncl[parts[c]] += 1
    Rtot = R.sum(axis=1)
    Lf = np.zeros((S, P))
    Li = np.zeros((S, P), dtype=np.int64)
    for t in range(S):
        for k in range(in_ptr[t], in_ptr[t + 1]):
            j = in_j[k]
            s = src[j]
            for q in range(P):
                v, inf = _g_split(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]),
                                  (s == t) and not autapses[j], cnt[t, q])
                Lf[s, q] += v
                Li[s, q] += inf
    F = 0.0
    for s in range(S):
        for q in range(P):
            p0 = 0.0 if Li[s, q] > 0 else math.exp(Lf[s, q])
            F += (Rtot[s] - R[s, q]) * (1.0 - p0)
    return cnt, R, Rtot, load, ncl, Lf, Li, F


@numba.njit(cache=True)
def _touch(s, nt, mark, touched, dfa, dfb, dia, dib):
    """Add population s to the touched set of a candidate move (once, zeroing its changes);
    returns the new size of the set."""
    if mark[s] == 0:
        mark[s] = 1
        touched[nt] = s
        nt += 1
        dfa[s] = 0.0
        dfb[s] = 0.0
        dia[s] = 0
        dib[s] = 0
    return nt


@numba.njit(cache=True)
def _move_delta(t, a, b, z, rho, cnt, R, Rtot, Lf, Li, sizes, src, kind, n, p, autapses, in_ptr, in_j,
                mark, touched, dfa, dfb, dia, dib):
    """Change of the objective if a cluster of population t (z neurons, rate weight rho) moved from
    rank a to rank b. Fills the no-hit log changes (dfa, dia on a; dfb, dib on b) of the touched
    source populations (touched[:nt], marked); returns (change, nt)."""
    # changes of log no-hit of every source population s projecting into t
    nt = 0
    for k in range(in_ptr[t], in_ptr[t + 1]):
        j = in_j[k]
        s = src[j]
        same = (s == t) and not autapses[j]
        va0, ia0 = _g_split(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same, cnt[t, a])
        va1, ia1 = _g_split(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same, cnt[t, a] - z)
        vb0, ib0 = _g_split(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same, cnt[t, b])
        vb1, ib1 = _g_split(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same, cnt[t, b] + z)
        nt = _touch(s, nt, mark, touched, dfa, dfb, dia, dib)
        dfa[s] += va1 - va0
        dia[s] += ia1 - ia0
        dfb[s] += vb1 - vb0
        dib[s] += ib1 - ib0
    nt = _touch(t, nt, mark, touched, dfa, dfb, dia, dib)
    d = 0.0
    for u in range(nt):
        s = touched[u]
        pa = 0.0 if Li[s, a] > 0 else math.exp(Lf[s, a])
        pb = 0.0 if Li[s, b] > 0 else math.exp(Lf[s, b])
        pa1 = 0.0 if Li[s, a] + dia[s] > 0 else math.exp(Lf[s, a] + dfa[s])
        pb1 = 0.0 if Li[s, b] + dib[s] > 0 else math.exp(Lf[s, b] + dfb[s])
        Ra, Rb = R[s, a], R[s, b]
        Ra1, Rb1 = Ra, Rb
        if s == t:
            Ra1 = Ra - rho
            Rb1 = Rb + rho
        d += (Rtot[s] - Ra1) * (1.0 - pa1) - (Rtot[s] - Ra) * (1.0 - pa)
        d += (Rtot[s] - Rb1) * (1.0 - pb1) - (Rtot[s] - Rb) * (1.0 - pb)
    return d, nt


@numba.njit(cache=True)
def _apply_move(c, t, a, b, z, rho, w, parts, cnt, R, load, ncl, Lf, Li, src, in_ptr, in_j, mark, touched,
                best_fa, best_fb, best_ia, best_ib):
    """Move cluster c (population t, z neurons, rate weight rho, cost w) from rank a to rank b with
    the no-hit log changes best_* of the chosen move."""
    # recompute the touched set for the chosen move and apply it
    nt = 0
    for k in range(in_ptr[t], in_ptr[t + 1]):
        s = src[in_j[k]]
        if mark[s] == 0:
            mark[s] = 1
            touched[nt] = s
            nt += 1
    for u in range(nt):
        s = touched[u]
        Lf[s, a] += best_fa[s]
        Li[s, a] += best_ia[s]
        Lf[s, b] += best_fb[s]
        Li[s, b] += best_ib[s]
        mark[s] = 0
    cnt[t, a] -= z
    cnt[t, b] += z
    R[t, a] -= rho
    R[t, b] += rho
    load[a] -= w
    load[b] += w
    ncl[a] -= 1
    ncl[b] += 1
    parts[c] = b


@numba.njit(cache=True)
def _refine_kernel(cl_pop, cl_size, cl_rho, cl_w, parts, nranks, sizes, src, tgt, kind, n, p, autapses,
                   in_ptr, in_j, cap, max_sweeps, rel_tol):
    """Greedy sweeps over the clusters (see :func:`refine_clusters`); returns (parts, objective)."""
    S = sizes.shape[0]
    C = cl_pop.shape[0]
    P = nranks
    cnt, R, Rtot, load, ncl, Lf, Li, F = _initial_state(cl_pop, cl_size, cl_rho, cl_w, parts, nranks, sizes, src,
                                                        kind, n, p, autapses, in_ptr, in_j)
    # per source population: no-hit log changes of the candidate move (finite part on a and b,
    # -inf counts on a and b), of the best move so far, and the touched set with its marks
    dfa, dfb, dia, dib = np.zeros(S), np.zeros(S), np.zeros(S, dtype=np.int64), np.zeros(S, dtype=np.int64)
    best_fa, best_fb = np.zeros(S), np.zeros(S)
    best_ia, best_ib = np.zeros(S, dtype=np.int64), np.zeros(S, dtype=np.int64)
    mark, touched = np.zeros(S, dtype=np.uint8), np.empty(S, dtype=np.int64)
    for sweep in range(max_sweeps):
        gain_sweep = 0.0
        for c in range(C):
            t = cl_pop[c]
            a = parts[c]
            if ncl[a] <= 1:
                continue
            z = cl_size[c]
            rho = cl_rho[c]
            best_d = -1e-12 * max(F, 1e-300)
            best_b = -1
            for b in range(P):
                if b == a or load[b] + cl_w[c] > cap:
                    continue
                d, nt = _move_delta(t, a, b, z, rho, cnt, R, Rtot, Lf, Li, sizes, src, kind, n, p, autapses,
                                    in_ptr, in_j, mark, touched, dfa, dfb, dia, dib)
                if d < best_d:
                    best_d = d
                    best_b = b
                    for u in range(nt):
                        s = touched[u]
                        best_fa[s] = dfa[s]
                        best_fb[s] = dfb[s]
                        best_ia[s] = dia[s]
                        best_ib[s] = dib[s]
                for u in range(nt):
                    mark[touched[u]] = 0
            if best_b >= 0:
                _apply_move(c, t, a, best_b, z, rho, cl_w[c], parts, cnt, R, load, ncl, Lf, Li, src, in_ptr, in_j,
                            mark, touched, best_fa, best_fb, best_ia, best_ib)
                F += best_d
                gain_sweep -= best_d
        if gain_sweep <= rel_tol * max(F, 1e-300):
            break
    return parts, F


def refine_clusters(conn: Connectivity, cl: dict, parts, nranks: int, rates=None, max_ratio: float = 1.03,
                    max_sweeps: int = 20) -> np.ndarray:
    """Move clusters between ranks while that lowers the expected remote deliveries
    (random rules; OneToOne partners are ignored here) and every rank's cost stays
    below ``max_ratio`` x the mean (or its current maximum, if higher). Greedy, deterministic.

    ``cl``: the clusters of the graph strategy (:mod:`parsnn.partition.graph_strategy`: ``pop``, ``size``,
    ``cost``, ``rate`` per cluster); ``parts``: cluster -> rank."""
    rnd = np.flatnonzero((conn.kind != O2O) & ~conn.virtual[conn.src])
    order = rnd[np.argsort(conn.tgt[rnd], kind="stable")]
    in_ptr = np.zeros(len(conn.names) + 1, dtype=np.int64)
    in_ptr[1:] = np.cumsum(np.bincount(conn.tgt[order], minlength=len(conn.names)))
    w = cl["cost"] * cl["size"]
    load = np.bincount(parts, weights=w, minlength=nranks)
    cap = max(max_ratio * w.sum() / nranks, load.max())
    out, _ = _refine_kernel(cl["pop"], cl["size"].astype(np.float64), (cl["rate"] * cl["size"]).astype(np.float64),
                            w.astype(np.float64), np.array(parts, dtype=np.int64), int(nranks), conn.sizes,
                            conn.src, conn.tgt, conn.kind, conn.n, conn.p, conn.autapses, in_ptr,
                            order.astype(np.int64), float(cap), int(max_sweeps), 1e-4)
    return out
