"""Placement of neurons on ranks: a neuron->rank map is a first-class value.

The engine accepts any int32 array ``rank_of[gid]``; strategies here produce
one from a network description. Spike generators are virtual (known on every
rank) and get rank -1.

Strategies (all deterministic: the same description, seed and number of
ranks give the same map on every rank and in every process):

- ``round_robin``: NEST's placement, the k-th placeable node on rank k mod P.
- ``block``: contiguous gid blocks of equal neuron counts.
- ``population``: contiguous gid blocks of equal expected cost (neuron
  updates plus incoming synaptic events, :mod:`parsnn.partition_metrics`),
  with block boundaries moved to the nearest population boundary whenever
  that keeps every block within ``tol`` (5 %) of the mean cost, so that
  populations are split only when balance requires it. Populations are in the
  order they were added (for the multicolumn sheet: column by column).
- ``graph``: a multilevel partition (METIS through pymetis) of a coarsened
  traffic graph computed from the description alone, without any synapse:
  vertices are clusters (contiguous chunks of one population, about
  ``clusters_per_rank`` per rank in total), vertex weights their expected
  cost, edge weights the expected spike copies per second that would cross
  if the two clusters were on different ranks (source rate x size x
  probability that a source neuron has a target in the other cluster,
  symmetrised). METIS runs with a fixed seed; the result is then refined on
  the exact objective (expected remote deliveries) by moving clusters between
  ranks while balance allows, and the refinement is kept only if it lowers
  the objective.

:func:`partition` returns a :class:`Partition` (name, map, time taken, with
inspection helpers); :func:`compare` partitions with every strategy and
reports the metrics of :func:`parsnn.partition_metrics.expected_metrics`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from parsnn.errors import ParameterError


def _placeable(net) -> np.ndarray:
    """Boolean mask over gids: True for nodes that live on one rank (``net``: a Network or a
    partition_metrics.Connectivity, e.g. from a run file's description)."""
    if hasattr(net, "virtual"):
        return ~np.repeat(np.asarray(net.virtual, dtype=bool), net.sizes)
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


def population(net, nranks: int, rates=None, tol: float = 0.05) -> np.ndarray:
    """Contiguous blocks of equal expected cost that keep populations together.

    The k-th block boundary is ideally at cost k*C/P (C: total expected cost).
    If a population boundary lies within tol/2 * C/P of it (and after the
    previous boundary), the block ends there; otherwise it ends inside the
    population at the ideal point. Every block's cost is then within ``tol``
    of the mean."""
    from parsnn import partition_metrics as pm
    conn = pm.as_connectivity(net)
    mask = _placeable(net)
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    cost = np.repeat(pm.population_costs(conn, rates), conn.sizes)[idx]
    cum = np.concatenate([[0.0], np.cumsum(cost)])          # cum[k]: cost of the first k placeable nodes
    total, mean = cum[-1], cum[-1] / nranks
    # positions (in placeable-node index) where a population starts or ends
    pop_of = conn.pop_of[idx]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(pop_of)) + 1, [idx.size]])
    cuts = [0]
    for k in range(1, nranks):
        ideal = k * mean
        pos = int(np.searchsorted(cum, ideal))               # first node index with cum >= ideal
        pos = min(max(pos, cuts[-1]), idx.size)
        if pos > 0 and abs(cum[pos - 1] - ideal) < abs(cum[pos] - ideal) and pos - 1 >= cuts[-1]:
            pos -= 1
        near = bounds[(np.abs(cum[bounds] - ideal) <= 0.5 * tol * mean) & (bounds >= cuts[-1])]
        if near.size:
            pos = int(near[np.argmin(np.abs(cum[near] - ideal))])
        cuts.append(pos)
    cuts.append(idx.size)
    ranks = np.zeros(idx.size, dtype=np.int32)
    for k in range(nranks):
        ranks[cuts[k]:cuts[k + 1]] = k
    out[idx] = ranks
    return out


def graph(net, nranks: int, rates=None, seed: int = 0, clusters_per_rank: int = 32, ufactor: int = 30,
          refine: bool = True, min_chunk: int = 8) -> np.ndarray:
    """Multilevel partition (METIS) of the coarsened expected-traffic graph; see the module docstring.

    ``clusters_per_rank``: coarsening (clusters per rank in total; each
    population is cut into chunks in proportion to its cost, at least
    ``min_chunk`` neurons each). ``ufactor``: allowed imbalance in 1/1000
    (METIS's convention; 30 = 3 %). ``refine``: improve the METIS result on
    the exact objective."""
    from parsnn import partition_metrics as pm
    conn = pm.as_connectivity(net)
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    placeable = ~conn.virtual
    n_place = int(conn.sizes[placeable].sum())
    if nranks == 1 or n_place == 0:
        out[_placeable(net)] = 0
        return out
    if n_place < nranks:
        return round_robin(net, nranks)
    cl = _clusters(conn, nranks, rates, clusters_per_rank, min_chunk)
    if cl["size"].size < nranks:        # tiny populations: finer chunks, down to single neurons
        cl = _clusters(conn, nranks, rates, max(clusters_per_rank, n_place), 1)
    xadj, adjncy, ew = _cluster_graph(conn, cl, rates)
    vw = cl["cost"] * cl["size"]
    vwi = np.maximum(1, np.round(vw * (1e8 / vw.sum()))).astype(np.int64)
    max_ratio = 1.0 + ufactor / 1000.0
    # candidates: METIS k-way on the traffic graph, and contiguous cost-balanced runs of clusters
    # (population order); each is refined on the exact objective, the best balanced one wins
    cands = []
    if adjncy.size:
        import pymetis
        opts = pymetis.Options(seed=int(seed), ufactor=int(ufactor))
        _, parts = pymetis.part_graph(int(nranks), pymetis.CSRAdjacency(xadj, adjncy), vweights=vwi,
                                      eweights=ew, recursive=False, options=opts)
        parts = np.asarray(parts, dtype=np.int64)
        if np.unique(parts).size == nranks:          # METIS may leave a part empty on tiny graphs
            cands.append(parts)
    cands.append(_contiguous(vw, nranks))
    best, best_key = None, None
    for parts in cands:
        options = [parts]
        if refine:
            options.append(pm.refine_clusters(conn, cl, parts.copy(), nranks, rates, max_ratio))
        for x in options:
            m = pm.expected_metrics(conn, _expand(conn, cl, x), nranks, rates)
            key = (np.unique(x).size < nranks, m["imbalance"] > max_ratio + 1e-9, m["remote_deliveries_per_s"])
            if best_key is None or key < best_key:
                best, best_key = x, key
    parts = best
    # deterministic labels: ranks numbered in order of their first cluster
    _, first = np.unique(parts, return_index=True)
    relabel = np.empty(nranks, dtype=np.int64)
    relabel[parts[np.sort(first)]] = np.arange(nranks)
    parts = relabel[parts]
    return _expand(conn, cl, parts)


def _expand(conn, cl, parts):
    """Neuron->rank map from a cluster->rank map."""
    out = np.full(conn.num_nodes, -1, dtype=np.int32)
    for c in range(cl["size"].size):
        out[cl["start"][c]:cl["start"][c] + cl["size"][c]] = parts[c]
    return out


def _contiguous(weights, nranks):
    """Split the cluster sequence into nranks contiguous runs of about equal weight."""
    cum = np.cumsum(weights)
    parts = np.minimum((np.concatenate([[0.0], cum[:-1]]) + 0.5 * weights) * nranks // cum[-1], nranks - 1)
    parts = parts.astype(np.int64)
    if np.unique(parts).size < nranks:             # fewer heavy clusters than ranks: one run each
        parts = np.minimum(np.arange(weights.size) * nranks // weights.size, nranks - 1).astype(np.int64)
    return parts


def _clusters(conn, nranks, rates, clusters_per_rank, min_chunk):
    """Contiguous chunks of each placeable population, about clusters_per_rank*P in total."""
    from parsnn import partition_metrics as pm
    cost = pm.population_costs(conn, rates)
    prate = pm._pop_mean_rates(conn, rates)
    total = float((cost * conn.sizes).sum())
    target = max(1, int(clusters_per_rank)) * nranks
    pops, starts, sizes = [], [], []
    for s in np.flatnonzero(~conn.virtual):
        N = int(conn.sizes[s])
        share = cost[s] * N / total if total > 0 else N / conn.num_nodes
        m = int(np.clip(round(target * share), 1, max(1, N // max(1, min_chunk))))
        edges = (np.arange(m + 1, dtype=np.int64) * N) // m
        for k in range(m):
            pops.append(s)
            starts.append(conn.offsets[s] + edges[k])
            sizes.append(edges[k + 1] - edges[k])
    pops = np.array(pops, dtype=np.int64)
    return {"pop": pops, "start": np.array(starts, dtype=np.int64), "size": np.array(sizes, dtype=np.int64),
            "cost": cost[pops], "rate": prate[pops]}


def _cluster_graph(conn, cl, rates):
    """Symmetric METIS graph of the clusters: edge weight = expected spike copies per
    second between two clusters if they were on different ranks."""
    import scipy.sparse as sp
    from parsnn import partition_metrics as pm
    C = cl["size"].size
    by_pop = {}
    for c in range(C):
        by_pop.setdefault(int(cl["pop"][c]), []).append(c)
    by_pop = {s: np.array(v, dtype=np.int64) for s, v in by_pop.items()}
    pairs = {}
    for j in range(conn.src.size):
        s, t = int(conn.src[j]), int(conn.tgt[j])
        if conn.virtual[s]:
            continue
        pairs.setdefault((s, t), []).append(j)
    rows, cols, vals = [], [], []
    for (s, t), js in pairs.items():
        a_cl, b_cl = by_pop[s], by_pop[t]
        size_b = cl["size"][b_cl].astype(float)
        logp = np.zeros(b_cl.size)
        o2o = []
        for j in js:
            if conn.kind[j] == pm.O2O:
                o2o.append(j)
                continue
            same_noaut = bool(s == t and not conn.autapses[j])
            for k, x in enumerate(size_b):
                logp[k] += pm._log_nohit(int(conn.kind[j]), float(conn.n[j]), float(conn.p[j]), float(conn.sizes[s]),
                                         float(conn.sizes[t]), same_noaut, x)
        hit = -np.expm1(logp)
        send = cl["rate"][a_cl] * cl["size"][a_cl]
        if hit.any():
            w = np.outer(send, hit)
            if o2o:   # a OneToOne partner in b makes a hit certain for those neurons
                w = np.maximum(w, _o2o_block(conn, cl, a_cl, b_cl, s, t))
            rows.append(np.repeat(a_cl, b_cl.size))
            cols.append(np.tile(b_cl, a_cl.size))
            vals.append(w.ravel())
        elif o2o:
            w = _o2o_block(conn, cl, a_cl, b_cl, s, t)
            rows.append(np.repeat(a_cl, b_cl.size))
            cols.append(np.tile(b_cl, a_cl.size))
            vals.append(w.ravel())
    if not rows:
        return np.zeros(C + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    W = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(C, C)).tocsr()
    W = (W + W.T).tocsr()
    W.setdiag(0.0)
    W.eliminate_zeros()
    total = W.data.sum()
    if total <= 0:
        return np.zeros(C + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # integer weights for METIS (32-bit sums): the total stays below 1e9, negligible edges are dropped
    W.data = np.round(W.data * (1e9 / total) * 0.5)     # each undirected edge appears twice
    W.eliminate_zeros()
    W.sort_indices()
    return W.indptr.astype(np.int64), W.indices.astype(np.int64), W.data.astype(np.int64)


def _o2o_block(conn, cl, a_cl, b_cl, s, t):
    """Spike copies per second from clusters a (of s) to clusters b (of t) through OneToOne partners."""
    a0 = cl["start"][a_cl] - conn.offsets[s]
    a1 = a0 + cl["size"][a_cl]
    b0 = cl["start"][b_cl] - conn.offsets[t]
    b1 = b0 + cl["size"][b_cl]
    overlap = np.clip(np.minimum(a1[:, None], b1[None, :]) - np.maximum(a0[:, None], b0[None, :]), 0, None)
    return overlap * cl["rate"][a_cl][:, None]


STRATEGIES = {"round_robin": round_robin, "block": block, "population": population, "graph": graph}


def make_map(net, nranks: int, strategy="round_robin") -> tuple[str, np.ndarray]:
    """(name, rank_of) for a strategy name, a :class:`Partition` or an explicit array."""
    if isinstance(strategy, Partition):
        if strategy.nranks != nranks:
            raise ParameterError(f"the partition was made for {strategy.nranks} ranks, not {nranks}")
        return strategy.strategy, make_map(net, nranks, strategy.rank_of)[1]
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


@dataclass
class Partition:
    """A neuron->rank map with its provenance (cf. Arbor's domain decomposition)."""
    strategy: str
    nranks: int
    rank_of: np.ndarray
    seconds: float = 0.0

    @property
    def num_domains(self) -> int:
        return self.nranks

    def gid_domain(self, gid: int) -> int:
        """Rank of node ``gid`` (-1 for spike generators, which every rank knows)."""
        return int(self.rank_of[gid])

    def local_gids(self, rank: int) -> np.ndarray:
        return np.flatnonzero(self.rank_of == rank)

    def num_local_cells(self, rank: int) -> int:
        return int(np.count_nonzero(self.rank_of == rank))

    def population_counts(self, net) -> dict:
        """{population: neurons on each rank (int array [P])}."""
        out = {}
        for name, off in net.offsets().items():
            pop = net.populations[name]
            r = self.rank_of[off:off + pop.size]
            out[name] = np.bincount(r[r >= 0], minlength=self.nranks)
        return out

    def metrics(self, net, rates=None) -> dict:
        """Expected metrics (:func:`parsnn.partition_metrics.expected_metrics`) plus strategy and seconds."""
        from parsnn.partition_metrics import expected_metrics
        m = expected_metrics(net, self.rank_of, self.nranks, rates=rates)
        return {"strategy": self.strategy, "seconds": self.seconds, **m}


def partition(net, nranks: int, strategy="graph", **options) -> Partition:
    """Partition ``net`` over ``nranks`` ranks; ``options`` go to the strategy function."""
    if isinstance(nranks, bool) or not isinstance(nranks, (int, np.integer)) or nranks < 1:
        raise ParameterError(f"ranks must be an integer >= 1, got {nranks!r}")
    t0 = time.perf_counter()
    if isinstance(strategy, str) and strategy in STRATEGIES and options:
        name, rank_of = strategy, STRATEGIES[strategy](net, int(nranks), **options)
    else:
        name, rank_of = make_map(net, int(nranks), strategy)
    return Partition(name, int(nranks), rank_of, time.perf_counter() - t0)


METRIC_KEYS = ("strategy", "ranks", "remote_deliveries_per_s", "remote_per_spike", "bytes_per_rank_per_s",
               "cut_fraction", "communicating_pairs", "imbalance", "seconds")


def compare(net, nranks: int, strategies=None, rates=None) -> list[dict]:
    """Metrics of every strategy (default: all) on ``nranks`` ranks, one dict each (the CLI's table/JSON)."""
    rows = []
    for name in (strategies or list(STRATEGIES)):
        part = partition(net, nranks, name)
        m = part.metrics(net, rates=rates)
        rows.append({k: m[k] for k in METRIC_KEYS} | {"bytes_per_rank_per_s_mean": m["bytes_per_rank_per_s_mean"],
                                                      "spikes_per_s": m["spikes_per_s"]})
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text table of :func:`compare` rows."""
    head = (f"{'strategy':<12} {'ranks':>5} {'remote deliv/s':>15} {'per spike':>9} {'MB/rank/s':>9} "
            f"{'cut frac':>8} {'rank pairs':>10} {'imbalance':>9} {'seconds':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['strategy']:<12} {r['ranks']:>5} {r['remote_deliveries_per_s']:>15,.0f} "
                     f"{r['remote_per_spike']:>9.3f} {r['bytes_per_rank_per_s'] / 1e6:>9.3f} "
                     f"{r['cut_fraction']:>8.4f} {r['communicating_pairs']:>10.1f} {r['imbalance']:>9.4f} "
                     f"{r['seconds']:>8.3f}")
    return "\n".join(lines)
