"""Communication and load metrics of a neuron->rank map.

Every spike of a neuron is sent once to each OTHER rank that hosts at least
one of its targets (the engine's routes). For a map ``rank_of`` these
functions give, from the network description alone (expected values) or from
a run (measured values):

- ``remote_deliveries_per_s``: spike copies sent to other ranks per second of
  model time, summed over ranks (the engine counts exactly this in
  ``performance()['remote_deliveries']``);
- ``bytes_per_rank_per_s``: spike words (8 bytes each) sent per rank per second
  (max and mean over ranks; the per-interval ``Alltoall`` of the counts is extra);
- ``cut_fraction``: fraction of synapses whose source and target are on
  different ranks (synapses from spike generators, which are known on every
  rank, are left out);
- ``communicating_pairs``: ordered rank pairs (r, q), r != q, with at least one
  synapse from r to q (expected number from the description);
- ``imbalance``: max / mean over ranks of the expected compute cost
  (1.0 = perfectly balanced).

Expected values need no synapse: the connection rules fix the distribution of
each source neuron's targets, uniform over the target population. For a
source neuron i of population s that is not on rank q, the probability that no
target of i lives on q is a product over the projections s -> t of

- FixedTotalNumber(n):  (1 - x/(N_s N_t))^n  (every synapse draws its source
  and target uniformly and independently),
- FixedIndegree(k):     (1 - 1/N_s)^(k x)   (N_s - 1 without autapses when s = t),
- PairwiseBernoulli(p): (1 - p)^x,
- AllToAll:             0 if x > 0,
- OneToOne:             0 if i's partner is on q, else 1 (handled per neuron),

where x is the number of neurons of t on q. These are exact expectations over
network realisations; ``remote_deliveries_per_s`` is then
``sum_i rate_i sum_{q != rank(i)} (1 - P_i(no target on q))``.

Balance: ``imbalance`` uses the cost model of :mod:`parsnn.partition.rates`. Measured values of a
run: :mod:`parsnn.partition.measured`.

The kernels are numba functions; the cost is O(N + projections x ranks +
populations x ranks).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from parsnn.connectivity import A2A, FIN, FTN, LST, O2O, PWB, Connectivity
from parsnn.errors import ParameterError
from parsnn.partition.rates import neuron_rates, population_costs

BYTES_PER_SPIKE = 8                  # one uint64 word per spike and destination rank


def counts_per_rank(conn: Connectivity, rank_of: np.ndarray, nranks: int) -> np.ndarray:
    """n[s, q]: neurons of population s on rank q (int64 [S, P])."""
    out = np.zeros((len(conn.names), nranks), dtype=np.int64)
    for s in range(len(conn.names)):
        if conn.virtual[s]:
            continue
        a = conn.offsets[s]
        out[s] = np.bincount(rank_of[a:a + conn.sizes[s]], minlength=nranks)[:nranks]
    return out


# ---------------------------------------------------------------------------
# numba kernels
# ---------------------------------------------------------------------------

@numba.njit(cache=True)
def log_nohit(kind, n, p, Ns, Nt, same_noaut, x):
    """log P(a given source neuron has no target among x neurons of the target
    population) for one projection (x >= 0; the source itself is not among them)."""
    if x <= 0:
        return 0.0
    if kind == FTN or kind == LST:      # an explicit list: estimated as n uniformly placed synapses
        q = x / (Ns * Nt)
        if q >= 1.0:
            return -np.inf if n > 0 else 0.0
        return n * math.log1p(-q)
    if kind == FIN:
        cand = Ns - 1.0 if same_noaut else Ns
        if n <= 0:
            return 0.0
        if cand <= 1.0:
            return -np.inf
        return n * x * math.log1p(-1.0 / cand)
    if kind == PWB:
        if p >= 1.0:
            return -np.inf
        return x * math.log1p(-p)
    if kind == A2A:
        return -np.inf
    return 0.0


@numba.njit(cache=True)
def _logp0_kernel(counts, sizes, src, tgt, kind, n, p, autapses, nsrc):
    """L[s, q] = log P(a neuron of s placed elsewhere has no random-rule target on q)."""
    P = counts.shape[1]
    L = np.zeros((nsrc, P))
    for j in range(src.shape[0]):
        if kind[j] == O2O:
            continue
        s, t = src[j], tgt[j]
        same_noaut = (s == t) and not autapses[j]
        for q in range(P):
            L[s, q] += log_nohit(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same_noaut,
                                  float(counts[t, q]))
    return L


@numba.njit(cache=True)
def _neuron_kernel(rank_of, pop_of, offsets, rates, p0, o2o_ptr, o2o_shift, nranks):
    """Per neuron: expected number of other ranks with targets. Accumulates per-rank
    sent and received spike copies (rate-weighted); returns (per_neuron, sent, recv_corr).

    recv_corr holds only the OneToOne corrections; the bulk of the received
    copies is computed per population afterwards."""
    N = rank_of.shape[0]
    S = p0.shape[0]
    per_neuron = np.zeros(N)
    sent = np.zeros(nranks)
    recv_corr = np.zeros(nranks)
    A = np.zeros(S)
    for s in range(S):
        for q in range(nranks):
            A[s] += 1.0 - p0[s, q]
    seen = np.empty(64, dtype=np.int64)
    for i in range(N):
        r = rank_of[i]
        if r < 0:
            continue
        s = pop_of[i]
        e = A[s] - (1.0 - p0[s, r])
        m = 0
        for k in range(o2o_ptr[s], o2o_ptr[s + 1]):
            q = rank_of[i + o2o_shift[k]]
            if q == r or q < 0:
                continue
            dup = False
            for u in range(m):
                if seen[u] == q:
                    dup = True
                    break
            if dup:
                continue
            if m < 64:
                seen[m] = q
                m += 1
            e += p0[s, q]
            recv_corr[q] += rates[i] * p0[s, q]
        per_neuron[i] = e
        sent[r] += rates[i] * e
    return per_neuron, sent, recv_corr


@numba.njit(cache=True)
def _pair_nohit_kernel(counts, sizes, src, tgt, kind, n, p, autapses, keep, o2o_pairs):
    """L[r, q] = log P(no synapse from a neuron on r to a neuron on q), r != q (exact per rule)."""
    P = counts.shape[1]
    L = np.zeros((P, P))
    for j in range(src.shape[0]):
        if not keep[j]:
            continue
        s, t = src[j], tgt[j]
        Ns, Nt = float(sizes[s]), float(sizes[t])
        for r in range(P):
            a = float(counts[s, r])
            if a <= 0:
                continue
            for q in range(P):
                b = float(counts[t, q])
                if q == r or b <= 0:
                    continue
                k = kind[j]
                if k == FTN or k == LST:
                    x = a * b / (Ns * Nt)
                    L[r, q] += (-np.inf if n[j] > 0 else 0.0) if x >= 1.0 else n[j] * math.log1p(-x)
                elif k == FIN:
                    cand = Ns - 1.0 if (s == t and not autapses[j]) else Ns
                    if n[j] > 0:
                        L[r, q] += -np.inf if a >= cand else n[j] * b * math.log1p(-a / cand)
                elif k == PWB:
                    L[r, q] += -np.inf if p[j] >= 1.0 else a * b * math.log1p(-p[j])
                elif k == A2A:
                    L[r, q] = -np.inf
    for r in range(P):
        for q in range(P):
            if q != r and o2o_pairs[r, q] > 0:
                L[r, q] = -np.inf
    return L


def _o2o_tables(conn: Connectivity):
    """OneToOne partners as (ptr, shift): the gid shifts from a neuron of s to its partners are
    shift[ptr[s]:ptr[s + 1]]."""
    S = len(conn.names)
    lists = [[] for _ in range(S)]
    for j in np.flatnonzero(conn.kind == O2O):
        s, t = conn.src[j], conn.tgt[j]
        lists[s].append(int(conn.offsets[t] - conn.offsets[s]))
    ptr = np.zeros(S + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    shift = np.array([v for x in lists for v in x], dtype=np.int64)
    return ptr, shift


def nohit_probabilities(conn: Connectivity, counts: np.ndarray) -> np.ndarray:
    """p0[s, q]: probability that a neuron of s (not on q) has no target on q
    through the random rules (OneToOne excluded)."""
    L = _logp0_kernel(counts, conn.sizes, conn.src, conn.tgt, conn.kind, conn.n, conn.p,
                      conn.autapses, len(conn.names))
    return np.exp(L)


def remote_ranks_per_neuron(conn: Connectivity, rank_of, nranks: int) -> np.ndarray:
    """Expected number of OTHER ranks that receive each neuron's spikes (float64 [N]; 0 for virtual)."""
    rank_of = np.ascontiguousarray(rank_of, dtype=np.int64)
    counts = counts_per_rank(conn, rank_of, nranks)
    p0 = nohit_probabilities(conn, counts)
    ptr, shift = _o2o_tables(conn)
    per, _, _ = _neuron_kernel(rank_of, conn.pop_of, conn.offsets, np.zeros(rank_of.size), p0, ptr, shift, nranks)
    return per


# ---------------------------------------------------------------------------
# expected metrics
# ---------------------------------------------------------------------------

def expected_metrics(conn: Connectivity, rank_of, nranks: int | None = None, rates=None) -> dict:
    """Expected communication and load metrics of ``rank_of`` for the connectivity ``conn``.

    ``rates``: None (the model's expected population rates), {population: rate},
    per-population or per-neuron array (e.g. measured rates of a run)."""
    rank_of = np.ascontiguousarray(rank_of, dtype=np.int64)
    if rank_of.shape != (conn.num_nodes,):
        raise ParameterError(f"rank_of needs one entry per node ({conn.num_nodes}), got shape {rank_of.shape}")
    P = int(nranks if nranks is not None else rank_of.max() + 1)
    r = neuron_rates(conn, rates).copy()
    r[rank_of < 0] = 0.0
    counts = counts_per_rank(conn, rank_of, P)
    p0 = nohit_probabilities(conn, counts)
    ptr, shift = _o2o_tables(conn)
    pop_of = conn.pop_of
    per, sent, recv = _neuron_kernel(rank_of, pop_of, conn.offsets, r, p0, ptr, shift, P)
    # received copies: sum_s sum_{r != q} R[s, r] (1 - p0[s, q])
    R = np.zeros((len(conn.names), P))
    placed = rank_of >= 0
    np.add.at(R, (pop_of[placed], rank_of[placed]), r[placed])
    recv = recv + np.sum((1.0 - p0) * (R.sum(axis=1, keepdims=True) - R), axis=0)

    # synapses crossing ranks; rank pairs connected by at least one synapse
    K = conn.expected_synapses()
    keep = ~conn.virtual[conn.src]
    total = float(K[keep].sum())
    crossing = 0.0
    o2o_pairs = np.zeros((P, P))
    frac = counts / np.maximum(conn.sizes[:, None], 1)
    for j in np.flatnonzero(keep):
        s, t = conn.src[j], conn.tgt[j]
        if conn.kind[j] == O2O:
            a, b = conn.offsets[s], conn.offsets[t]
            rs, rt = rank_of[a:a + conn.sizes[s]], rank_of[b:b + conn.sizes[t]]
            M = np.zeros((P, P))
            np.add.at(M, (rs, rt), 1.0)
            o2o_pairs += M
            crossing += float(M.sum() - np.trace(M))
            continue
        same = float(np.dot(frac[s], frac[t]))
        if s == t and not conn.autapses[j] and conn.kind[j] != FTN:
            ns = counts[s].astype(float)
            N = float(conn.sizes[s])
            # the excluded self-pairs are all on the same rank
            same = float(np.sum(ns * (ns - 1))) / (N * (N - 1)) if N > 1 else 1.0
        crossing += K[j] * (1.0 - same)
    L = _pair_nohit_kernel(counts, conn.sizes, conn.src, conn.tgt, conn.kind, conn.n, conn.p, conn.autapses,
                           keep, o2o_pairs)
    off = ~np.eye(P, dtype=bool)
    pairs = float(np.sum(-np.expm1(L[off])))

    cost_pop = population_costs(conn, rates)
    cost = counts.T.astype(float) @ cost_pop
    spikes = float(r.sum())
    remote = float(sent.sum())
    return {
        "ranks": P,
        "remote_deliveries_per_s": remote,
        "remote_per_spike": remote / spikes if spikes > 0 else 0.0,
        "spikes_per_s": spikes,
        "bytes_per_rank_per_s": float(BYTES_PER_SPIKE * sent.max()) if P else 0.0,
        "bytes_per_rank_per_s_mean": float(BYTES_PER_SPIKE * sent.mean()) if P else 0.0,
        "bytes_sent_per_s": (BYTES_PER_SPIKE * sent).tolist(),
        "bytes_received_per_s": (BYTES_PER_SPIKE * recv).tolist(),
        "cut_fraction": float(crossing / total) if total > 0 else 0.0,
        "synapses": total,
        "communicating_pairs": pairs,
        "imbalance": float(cost.max() / cost.mean()) if cost.mean() > 0 else 1.0,
        "cost_per_rank": cost.tolist(),
        "neurons_per_rank": counts.sum(axis=0).tolist(),
    }

