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

Cost model (for the balance): ``COST_UPDATE_S`` per neuron per 0.1 ms step
and ``COST_EVENT_S`` per synaptic event (measured figures of the engine on
this hardware class; only their ratio matters for the balance).

The kernels are numba functions; the cost is O(N + projections x ranks +
populations x ranks).
"""
from __future__ import annotations

import json
import math

import numba
import numpy as np

from parsnn.connectivity import A2A, FIN, FTN, O2O, PWB, Connectivity  # noqa: F401
from parsnn import registry
from parsnn.errors import ParameterError

BYTES_PER_SPIKE = 8                  # one uint64 word per spike and destination rank
COST_UPDATE_S = 4.5e-9               # s per neuron update per 0.1 ms step
COST_UPDATE_STEP_MS = 0.1
COST_EVENT_S = 11e-9                 # s per synaptic event
DEFAULT_RATE = 5.0                   # spikes/s where a model gives no expected rate

def as_connectivity(net) -> Connectivity:
    """Transitional: a Connectivity for a Network or a description dict (callers will pass a Connectivity)."""
    if isinstance(net, Connectivity):
        return net
    if isinstance(net, dict):
        return Connectivity.from_description(net)
    return Connectivity.from_network(net)


# ---------------------------------------------------------------------------
# rates and costs
# ---------------------------------------------------------------------------

def population_rates(net, default: float = DEFAULT_RATE) -> np.ndarray:
    """Expected rate (spikes/s) of every population.

    From the network's model (:func:`parsnn.registry.expected_rates`: the rates its metadata
    carries, else its model's expected rates), the rate parameter for poisson_source populations,
    0 for spike generators (they are never sent), else ``default``."""
    conn = as_connectivity(net)
    known = registry.expected_rates(conn.metadata)
    known.update(conn.source_rates)
    out = np.empty(len(conn.names))
    for i, name in enumerate(conn.names):
        out[i] = 0.0 if conn.virtual[i] else float(known.get(name, default))
    return out


def neuron_rates(net, rates=None) -> np.ndarray:
    """Per-neuron rates (float64 [N]) from None (expected population rates), a
    {population: rate} dict, a per-population array or a per-neuron array."""
    conn = as_connectivity(net)
    if rates is None:
        return np.repeat(population_rates(conn), conn.sizes)
    if isinstance(rates, dict):
        base = population_rates(conn)
        for k, v in rates.items():
            base[conn.names.index(k)] = float(v)
        return np.repeat(base, conn.sizes)
    r = np.asarray(rates, dtype=np.float64)
    if r.shape == (len(conn.names),):
        return np.repeat(r, conn.sizes)
    if r.shape != (conn.num_nodes,):
        raise ParameterError(f"rates must be per population ({len(conn.names)}) or per neuron "
                             f"({conn.num_nodes}), got shape {r.shape}")
    return r


def population_costs(net, rates=None) -> np.ndarray:
    """Expected compute cost of one neuron of every population, in seconds of
    wall time per second of model time: updates plus incoming synaptic events."""
    conn = as_connectivity(net)
    pr = _pop_mean_rates(conn, rates)
    steps_per_s = 1000.0 / conn.resolution
    upd = COST_UPDATE_S * (conn.resolution / COST_UPDATE_STEP_MS) * steps_per_s   # per neuron per model second
    K = conn.expected_synapses()
    events = np.zeros(len(conn.names))
    np.add.at(events, conn.tgt, K * pr[conn.src])
    cost = upd + COST_EVENT_S * events / conn.sizes
    cost[conn.virtual] = 0.0
    return cost


def _pop_mean_rates(conn, rates):
    if rates is None:
        return population_rates(conn)
    r = neuron_rates(conn, rates)
    return np.add.reduceat(r, conn.offsets) / conn.sizes if r.size else r


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
def _log_nohit(kind, n, p, Ns, Nt, same_noaut, x):
    """log P(a given source neuron has no target among x neurons of the target
    population) for one projection (x >= 0; the source itself is not among them)."""
    if x <= 0:
        return 0.0
    if kind == FTN:
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
            L[s, q] += _log_nohit(kind[j], n[j], p[j], float(sizes[s]), float(sizes[t]), same_noaut,
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
                if k == FTN:
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


def remote_ranks_per_neuron(net, rank_of, nranks: int) -> np.ndarray:
    """Expected number of OTHER ranks that receive each neuron's spikes (float64 [N]; 0 for virtual)."""
    conn = as_connectivity(net)
    rank_of = np.ascontiguousarray(rank_of, dtype=np.int64)
    counts = counts_per_rank(conn, rank_of, nranks)
    p0 = nohit_probabilities(conn, counts)
    ptr, shift = _o2o_tables(conn)
    per, _, _ = _neuron_kernel(rank_of, conn.pop_of, conn.offsets, np.zeros(rank_of.size), p0, ptr, shift, nranks)
    return per


# ---------------------------------------------------------------------------
# expected metrics
# ---------------------------------------------------------------------------

def expected_metrics(net, rank_of, nranks: int | None = None, rates=None) -> dict:
    """Expected communication and load metrics of ``rank_of`` for the description ``net``.

    ``rates``: None (the model's expected population rates), {population: rate},
    per-population or per-neuron array (e.g. measured rates of a run)."""
    conn = as_connectivity(net)
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


# ---------------------------------------------------------------------------
# measured metrics
# ---------------------------------------------------------------------------

def _spike_counts(conn: Connectivity, spikes: dict) -> tuple[np.ndarray, list]:
    """Per-neuron spike counts from {population: (times, node_ids)}; also the
    placed populations that were not recorded."""
    counts = np.zeros(conn.num_nodes)
    missing = []
    for s, name in enumerate(conn.names):
        if conn.virtual[s]:
            continue
        if name not in spikes:
            missing.append(name)
            continue
        ids = np.asarray(spikes[name][1], dtype=np.int64)
        counts[conn.offsets[s]:conn.offsets[s] + conn.sizes[s]] = np.bincount(ids, minlength=conn.sizes[s])
    return counts, missing


def predicted_vs_counted(conn, rank_of, nranks, spikes: dict, t_ms: float, counted: int) -> dict:
    """Remote deliveries predicted from the partition and the measured per-neuron
    rates, against the engine's count."""
    T = t_ms * 1e-3
    nspk, missing = _spike_counts(conn, spikes)
    rates = nspk / T
    if missing:       # populations not recorded: fall back to their expected rates
        exp = neuron_rates(conn)
        for name in missing:
            s = conn.names.index(name)
            a = conn.offsets[s]
            rates[a:a + conn.sizes[s]] = exp[a:a + conn.sizes[s]]
    m = expected_metrics(conn, rank_of, nranks, rates=rates)
    predicted = m["remote_deliveries_per_s"] * T
    return {"predicted_remote_deliveries": predicted, "counted_remote_deliveries": int(counted),
            "relative_error": (predicted - counted) / counted if counted else float("nan"),
            "unrecorded_populations": missing, "expected_with_measured_rates": m}


def measured_metrics(sim) -> dict:
    """Measured metrics of a Simulation after ``run`` (collective: call on every rank).

    Remote deliveries and bytes as counted by the engine, the fraction of built
    synapses crossing ranks, the communicating rank pairs of the routes, the
    load imbalance of the cost model with the counted synaptic events (and of
    the wall-clock update+deliver time). With recorded spikes kept in memory,
    also the remote deliveries predicted from the partition and the measured
    per-neuron rates (``prediction``)."""
    from mpi4py import MPI
    comm = sim.comm
    perf = sim.performance()
    T = perf["model_time_ms"] * 1e-3
    ptr = sim._syn_arrays[0]
    per_src = np.diff(ptr)
    placed = sim.rank_of >= 0
    cross = int(per_src[placed & (sim.rank_of != sim.rank)].sum())
    local = int(per_src[placed].sum())
    cross, total = comm.allreduce(cross, op=MPI.SUM), comm.allreduce(local, op=MPI.SUM)
    dst = set(np.asarray(sim.st.dst_rank).tolist()) - {sim.rank}
    pairs = comm.allreduce(len(dst), op=MPI.SUM)
    rd = np.asarray(perf["remote_deliveries"], dtype=float)
    steps = perf["model_time_ms"] / sim.h
    cost = (np.asarray(perf["num_local_neurons"]) * steps * COST_UPDATE_S * sim.h / COST_UPDATE_STEP_MS
            + np.asarray(perf["synaptic_events"]) * COST_EVENT_S)
    wall = np.asarray(perf["timer_update"]) + np.asarray(perf["timer_deliver"])
    out = {
        "ranks": sim.size,
        "model_time_ms": perf["model_time_ms"],
        "remote_deliveries": int(rd.sum()),
        "remote_deliveries_per_s": float(rd.sum() / T) if T > 0 else float("nan"),
        "bytes_per_rank_per_s": float(BYTES_PER_SPIKE * rd.max() / T) if T > 0 else float("nan"),
        "bytes_per_rank_per_s_mean": float(BYTES_PER_SPIKE * rd.mean() / T) if T > 0 else float("nan"),
        "cut_fraction": cross / total if total else 0.0,
        "communicating_pairs": int(pairs),
        "imbalance": float(cost.max() / cost.mean()) if cost.mean() > 0 else 1.0,
        "imbalance_wall": float(wall.max() / wall.mean()) if wall.mean() > 0 else 1.0,
    }
    if sim.keep_spikes and T > 0:
        spikes = sim.spikes()
        conn = as_connectivity(sim.net)
        out["prediction"] = predicted_vs_counted(conn, sim.rank_of, sim.size, spikes, perf["model_time_ms"],
                                                 out["remote_deliveries"])
    return out


def measured_from_file(path) -> dict:
    """Predicted (partition + measured per-neuron rates) against counted remote
    deliveries for a finished run's HDF5 file (needs recorded spikes)."""
    import h5py
    with h5py.File(path, "r") as f:
        g = f["parsnn"]
        rank_of = g["partition_map"][:].astype(np.int64)
        desc = json.loads(g.attrs["parameters"])
        perf = g["performance"].attrs
        rd = np.asarray(perf["remote_deliveries"], dtype=np.int64)
        t_ms = float(perf["model_time_ms"])
        nranks = int(g.attrs["num_ranks"])
        spikes = {name: (None, f[f"spikes/{name}/node_ids"][:]) for name in f.get("spikes", {})}
        strategy = str(g.attrs.get("partition", ""))
    conn = Connectivity.from_description(desc)
    out = predicted_vs_counted(conn, rank_of, nranks, spikes, t_ms, int(rd.sum()))
    out.update(strategy=strategy, ranks=nranks, model_time_ms=t_ms,
               remote_deliveries_per_rank=rd.tolist(),
               remote_deliveries_per_s=float(rd.sum()) / (t_ms * 1e-3))
    return out


# ---------------------------------------------------------------------------
# refinement of a cluster partition on the exact objective
# ---------------------------------------------------------------------------

@numba.njit(cache=True)
def _g_split(kind, n, p, Ns, Nt, same_noaut, x):
    """_log_nohit as (finite part, 1 if -inf else 0)."""
    v = _log_nohit(kind, n, p, Ns, Nt, same_noaut, x)
    if v == -np.inf:
        return 0.0, 1
    return v, 0


@numba.njit(cache=True)
def _refine_kernel(cl_pop, cl_size, cl_rho, cl_w, parts, nranks, sizes, src, tgt, kind, n, p, autapses,
                   in_ptr, in_j, cap, max_sweeps, rel_tol):
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
    dfa = np.zeros(S)
    dfb = np.zeros(S)
    dia = np.zeros(S, dtype=np.int64)
    dib = np.zeros(S, dtype=np.int64)
    mark = np.zeros(S, dtype=np.uint8)
    touched = np.empty(S, dtype=np.int64)
    best_fa = np.zeros(S)
    best_fb = np.zeros(S)
    best_ia = np.zeros(S, dtype=np.int64)
    best_ib = np.zeros(S, dtype=np.int64)
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
            nt = 0
            for b in range(P):
                if b == a or load[b] + cl_w[c] > cap:
                    continue
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
                    if mark[s] == 0:
                        mark[s] = 1
                        touched[nt] = s
                        nt += 1
                        dfa[s] = 0.0
                        dfb[s] = 0.0
                        dia[s] = 0
                        dib[s] = 0
                    dfa[s] += va1 - va0
                    dia[s] += ia1 - ia0
                    dfb[s] += vb1 - vb0
                    dib[s] += ib1 - ib0
                if mark[t] == 0:
                    mark[t] = 1
                    touched[nt] = t
                    nt += 1
                    dfa[t] = 0.0
                    dfb[t] = 0.0
                    dia[t] = 0
                    dib[t] = 0
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
                b = best_b
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
                load[a] -= cl_w[c]
                load[b] += cl_w[c]
                ncl[a] -= 1
                ncl[b] += 1
                parts[c] = b
                F += best_d
                gain_sweep -= best_d
        if gain_sweep <= rel_tol * max(F, 1e-300):
            break
    return parts, F


def refine_clusters(conn, cl: dict, parts, nranks: int, rates=None, max_ratio: float = 1.03,
                    max_sweeps: int = 20) -> np.ndarray:
    """Move clusters between ranks while that lowers the expected remote deliveries
    (random rules; OneToOne partners are ignored here) and every rank's cost stays
    below ``max_ratio`` x the mean (or its current maximum, if higher). Greedy, deterministic."""
    conn = as_connectivity(conn)
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
