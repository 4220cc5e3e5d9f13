"""Domain decomposition: which nodes this rank simulates.

The neuron->rank map (``rank_of``, from :func:`parsnn.partition.make_map`) is global and the same
on every rank; a rank keeps only its local node ids (ascending), the global->local index map and,
for every population, the slice of its local nodes that belongs to it. Inside a rank, its threads own
blocks of the local nodes cut to balance the expected work (:func:`thread_owners`): by default (rule
"mixed", :func:`mixed_owners`) four per thread, dealt so that each source population's events fall on
every thread alike; "major" one block per thread; "split" a part of every population per thread.
"""
from __future__ import annotations

import numpy as np

from parsnn.engine import aligned
from parsnn.errors import ParameterError

#: the owner rules of :func:`thread_owners` (``Simulation(thread_owners=...)``; the first is the default)
OWNER_RULES = ("mixed", "major", "split")
#: blocks per thread the rule "mixed" deals out (:func:`mixed_owners`)
MIXED_BLOCKS = 4
#: swaps whose exact cost :func:`mixed_owners` weighs in each round (the ones that lower the variance most)
SWAP_CANDIDATES = 32


def check_owner_rule(rule) -> str:
    """``rule`` if it names an owner rule of :data:`OWNER_RULES`, else ParameterError."""
    if rule not in OWNER_RULES:
        raise ParameterError(f"thread_owners must be one of {', '.join(OWNER_RULES)}, got {rule!r}")
    return rule


def local_nodes(rank_of: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(local gids ascending as int64, global->local index map of length N with -1 elsewhere)."""
    local = np.flatnonzero(rank_of == rank).astype(np.int64)
    g2l = np.full(rank_of.size, -1, dtype=np.int32)
    g2l[local] = np.arange(local.size, dtype=np.int32)
    return local, g2l


class PopulationRanges(dict):
    """{population: (a, b)}: ``local[a:b]`` are the rank's local nodes of each simulated population,
    in the order of ``net.populations``; ``weight`` {population: expected work of one of its nodes}
    (:func:`node_weights`), which :func:`thread_owners` balances between the threads. A plain dict
    in its place weighs every node alike. ``rule``: the owner rule of :func:`thread_owners`
    (:data:`OWNER_RULES`; a plain dict: "major"). For the rule "mixed": ``fluctuation`` {population:
    vector} (:func:`parsnn.partition.rates.population_fluctuations`) and ``meeting_events``, what a meeting place
    costs (:func:`parsnn.partition.rates.thread_meeting_events`)."""

    def __init__(self, ranges: dict, weight: dict | None = None, rule: str = "major",
                 fluctuation: dict | None = None, meeting_events: float = 0.0):
        super().__init__(ranges)
        self.weight = dict(weight or {})
        self.rule = check_owner_rule(rule)
        self.fluctuation = dict(fluctuation or {})
        self.meeting_events = float(meeting_events)
        self.memo = {}


def node_weights(conn) -> dict:
    """{population: expected work of one node per model second} of the Connectivity ``conn``: its
    update plus its expected incoming synaptic events (in-degree x the sources' expected rates), with
    the partitioner's weights (:func:`parsnn.partition.rates.population_costs`); known before any
    step is simulated, the same on every rank."""
    from parsnn.partition.rates import population_costs
    cost = population_costs(conn)
    return {name: float(c) for name, c, v in zip(conn.names, cost, conn.virtual) if not v}


def population_ranges(net, local: np.ndarray, offsets: dict, conn=None, weighted: bool = True,
                      rule: str = OWNER_RULES[0]) -> PopulationRanges:
    """:class:`PopulationRanges` of the local nodes, weighted by :func:`node_weights` of ``conn``
    (default: the Connectivity of ``net``); ``weighted=False``: no weights (one thread needs none);
    ``rule``: the owner rule (:func:`thread_owners`)."""
    ranges = {}
    for name, pop in net.populations.items():
        if pop.is_virtual:
            continue
        off = offsets[name]
        a, b = np.searchsorted(local, [off, off + pop.size])
        ranges[name] = (int(a), int(b))
    if not weighted:
        return PopulationRanges(ranges, rule=rule)
    if conn is None:
        from parsnn.connectivity import Connectivity
        conn = Connectivity.from_network(net)
    if rule != "mixed":
        return PopulationRanges(ranges, node_weights(conn), rule)
    from parsnn.partition.rates import population_fluctuations, thread_meeting_events
    return PopulationRanges(ranges, node_weights(conn), rule, population_fluctuations(conn), thread_meeting_events())


def _weights(pop_local: dict, n: int) -> np.ndarray:
    """The work of each of the ``n`` local nodes: its population's weight (``pop_local.weight``;
    1 without one, or when no node weighs anything)."""
    per_pop = getattr(pop_local, "weight", {})
    w = np.ones(n)
    for name, (a, b) in pop_local.items():
        w[a:b] = per_pop.get(name, 1.0)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        w[:] = 1.0
    return w


def thread_parts(size: int, threads: int) -> np.ndarray:
    """Bounds of the ``threads`` equal parts of a population of ``size`` nodes: part j is
    ``parts[j] .. parts[j+1]-1`` of it (sizes differ by at most one)."""
    return (np.arange(threads + 1, dtype=np.int64) * size) // threads


def _line_bound(e: int, pos: int, b: int, items: int, excess: int) -> int:
    """The bound of a part that starts at ``pos`` and would end at ``e`` in the equal split: the
    multiple of ``items`` just below or just above ``e`` (clamped to ``pos`` .. ``b``), whichever
    leaves its owner's load nearer the goal (``excess``: the owner's load minus the goal if the part
    ended at ``pos``; a tie goes down)."""
    down = e - e % items
    up = down if down == e else down + items
    down, up = min(max(down, pos), b), min(max(up, pos), b)
    if down == pos:
        return up
    return down if abs(excess + down - pos) <= abs(excess + up - pos) else up


def split_owners(pop_local: dict, n: int, threads: int,
                 items: int = aligned.SPLIT_ITEMS) -> tuple[np.ndarray, np.ndarray]:
    """The owner rule "split" (the engine's rule of sessions 5-11): every population's local nodes
    cut into ``threads`` equal parts, inner bounds on multiples of ``items``; where two populations meet inside a line
    the thread owning the last nodes of the one owns the first nodes of the next; the other parts
    go to the threads with the fewest nodes so far. Every source's row is then shared about equally
    by all threads in every interval; under "major" (:func:`thread_owners`) the threads' shares of a
    spike's events follow its population, so the interval's slower thread changes with which
    populations fired (``benchmarks/results/layout13_loaded_zen5/README.md``).
    Returns (owner, toff) as :func:`thread_owners`, ``toff`` the threads' spike-buffer offsets."""
    owner = np.zeros(n, dtype=np.int32)
    load = np.zeros(threads, dtype=np.int64)
    last = -1                                   # the owner of the node before the population
    for a, b in pop_local.values():
        if a == b:
            continue
        goal = (int(load.sum()) + b - a) / threads
        free = sorted(range(threads), key=lambda k: (load[k], k))
        if last >= 0 and a % items:             # its first line holds the previous node
            free.remove(last)
            free.insert(0, last)
        pos, equal = a, a + thread_parts(b - a, threads)
        for j in range(1, threads + 1):
            end = b if j == threads else _line_bound(int(equal[j]), pos, b, items, load[free[0]] - goal)
            if end > pos:
                last = free.pop(0)
                owner[pos:end] = last
                load[last] += end - pos
                pos = end
    toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)
    return owner, toff


def thread_owners(pop_local: dict, n: int, threads: int,
                  items: int = aligned.SPLIT_ITEMS) -> tuple[np.ndarray, np.ndarray]:
    """(owner thread of each of the ``n`` local nodes, first-node offsets ``toff`` of the threads'
    spike buffers): thread k owns one contiguous block, ``toff[k] .. toff[k+1]-1`` (thread-major),
    cut where the nodes' cumulated weight (:func:`_weights`: update plus expected synaptic events,
    :func:`node_weights`) is nearest k / threads of the total, among the multiples of ``items`` in
    local index: no cache line of an aligned state array (:mod:`parsnn.engine.aligned`) holds two
    threads' nodes, and the threads' parts meet at threads - 1 places only (a meeting place inside a
    population costs time in the update: ``benchmarks/results/idle_xeon_s11_layouts/README.md``).
    A thread may own no node (a rank of few nodes). Who owns a node never changes a result, only the
    time. This is the rule "major"; ``pop_local.rule`` "split": :func:`split_owners`, "mixed":
    :func:`mixed_owners`."""
    rule = getattr(pop_local, "rule", "major")
    if rule == "split":
        return split_owners(pop_local, n, threads, items)
    if rule == "mixed":
        memo = getattr(pop_local, "memo", None)         # the deal's search, once per build
        key = (int(n), int(threads), int(items))
        if memo is not None and key in memo:
            return memo[key][0].copy(), memo[key][1].copy()
        owner, toff = mixed_owners(pop_local, n, threads, items)
        if memo is not None:
            memo[key] = (owner.copy(), toff.copy())
        return owner, toff
    return _blocks(pop_local, n, threads, items)


def _blocks(pop_local: dict, n: int, threads: int, items: int) -> tuple[np.ndarray, np.ndarray]:
    """The rule "major" (:func:`thread_owners`): ``threads`` contiguous blocks of equal weight."""
    w = _weights(pop_local, n)
    cum = np.concatenate([[0.0], np.cumsum(w)])              # cum[i]: the weight of nodes 0 .. i-1
    lines = np.arange(0, n + items, items)
    lines[-1] = n                                              # the candidate cuts: line bounds and n
    toff = np.zeros(threads + 1, dtype=np.int64)
    toff[threads] = n
    for k in range(1, threads):
        goal = cum[n] * k / threads
        cut = int(lines[np.argmin(np.abs(cum[lines] - goal))])    # a tie goes to the lower cut
        toff[k] = min(max(cut, toff[k - 1]), n)
    owner = np.repeat(np.arange(threads, dtype=np.int32), np.diff(toff))
    return owner, toff


def _meetings(g: np.ndarray) -> int:
    """Places where consecutive blocks (non-empty, in local order) have different threads."""
    return int(np.count_nonzero(g[1:] != g[:-1]))


def mixed_owners(pop_local: dict, n: int, threads: int,
                 items: int = aligned.SPLIT_ITEMS) -> tuple[np.ndarray, np.ndarray]:
    """The owner rule "mixed": the local nodes cut into :data:`MIXED_BLOCKS` x ``threads`` contiguous blocks of
    equal weight (as "major" cuts them into ``threads``, on multiples of ``items``) and dealt to the threads,
    :data:`MIXED_BLOCKS` each, so that every source population's events fall about equally on every thread in
    each interval, with few places where two threads' nodes meet. Under "major" a thread's events follow the
    populations it holds, and the populations fire together: PD14 0.25 on 1 x 2 waits ~13 % of its time at the
    team's meetings (``benchmarks/results/idle_xeon_s23/README.md``); "split" balances every interval but makes
    2 x populations meeting places, which cost more in the update than it saves. Here the deal minimises
    sqrt(J) + ``pop_local.meeting_events`` x meeting places, J = sum over threads of the squared distance of the
    thread's fluctuation vector (``pop_local.fluctuation``: :func:`parsnn.partition.rates.population_fluctuations`,
    summed over its nodes) from the threads' mean: the variance of the threads' events per interval around
    their mean (independent Poisson spike counts), in events squared. From "major"'s deal, the best swap of
    two blocks of different threads is made while one lowers it. Only the time depends on it, never a result.
    Returns (owner, toff) as :func:`thread_owners`; "major"'s own deal (:func:`_blocks`) where the dealt one
    costs no less, or there is nothing to deal (one thread, no fluctuation vectors)."""
    T = int(threads)
    fl = getattr(pop_local, "fluctuation", None) or {}
    if T < 2 or not fl or n == 0:
        return _blocks(pop_local, n, T, items)
    B = MIXED_BLOCKS * T
    blk, _ = _blocks(pop_local, n, B, items)
    e = _vectors(pop_local, fl, blk, B)                      # each block's fluctuation vector
    e = e[:, np.any(e != 0.0, axis=0)]                       # only the sources that reach the rank
    live = np.flatnonzero(np.bincount(blk, minlength=B))     # blocks with nodes, in local order
    g = (np.arange(B) // MIXED_BLOCKS).astype(np.int64)      # "major"'s deal
    mu = float(getattr(pop_local, "meeting_events", 0.0))

    def sums(gl):
        E = np.zeros((T, e.shape[1]))
        np.add.at(E, gl, e)
        return E

    def cost(gl):
        return _spread(sums(gl)) + mu * _meetings(gl[live])

    best = cost(g)
    i, j = np.triu_indices(B, 1)
    G = e @ e.T                                              # the blocks' inner products: B x B, whatever X
    dd = G[i, i] + G[j, j] - 2.0 * G[i, j]                   # |e_j - e_i|^2, a swap's change of a thread's vector
    for _ in range(2 * B):
        cand = np.flatnonzero(g[i] != g[j])
        if cand.size == 0:
            break
        # J after each swap (the mean does not move), then the exact cost of the most promising ones
        E = sums(g)
        M = e @ E.T                                          # B x T
        ic, jc, ti, tj = i[cand], j[cand], g[i[cand]], g[j[cand]]
        dJ = 2.0 * ((M[jc, ti] - M[jc, tj]) - (M[ic, ti] - M[ic, tj])) + 2.0 * dd[cand]
        top = cand[np.argsort(np.maximum(_spread(E) ** 2 + dJ, 0.0), kind="stable")[:SWAP_CANDIDATES]]
        costs = []
        for c in top:
            gl = g.copy()
            gl[i[c]], gl[j[c]] = g[j[c]], g[i[c]]
            costs.append(cost(gl))
        k = int(np.argmin(costs))
        if not costs[k] < best * (1 - 1e-9):
            break
        c = top[k]
        g[i[c]], g[j[c]] = g[j[c]], g[i[c]]
        best = float(costs[k])
    major = _blocks(pop_local, n, T, items)
    if _spread(_vectors(pop_local, fl, major[0], T)) + mu * _meetings(major[0]) <= best:
        return major                                         # nothing better than "major"'s own deal
    owner = g[blk].astype(np.int32)
    toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=T))]).astype(np.int64)
    return owner, toff


def _vectors(pop_local: dict, fl: dict, part: np.ndarray, k: int) -> np.ndarray:
    """[k, X]: the sums of the fluctuation vectors ``fl`` over the nodes of each of the ``k`` parts (``part[i]``: the
    part of local node i)."""
    X = len(next(iter(fl.values())))
    out = np.zeros((k, X))
    for name, (a, b) in pop_local.items():
        if name in fl and b > a:
            out += np.bincount(part[a:b], minlength=k)[:, None] * np.asarray(fl[name], dtype=float)[None, :]
    return out


def _spread(E: np.ndarray) -> float:
    """sqrt of the summed squared distances of the rows of ``E`` from their mean."""
    return float(np.sqrt(np.sum((E - E.mean(axis=0)) ** 2)))


def split_segments(segments: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """The update segments (rows (start, end, model, stride)) cut where the owner thread changes inside one, so that
    every thread's nodes of a segment are one range (:func:`segment_parts`; the rule "mixed" may give a thread two
    parts of a population). The same rows where no owner changes inside a segment."""
    seg = np.asarray(segments, dtype=np.int64).reshape(-1, 4)
    own = np.asarray(owner)
    out = []
    for s0, s1, model, stride in seg:
        cuts = s0 + 1 + np.flatnonzero(own[s0 + 1:s1] != own[s0:s1 - 1]) if s1 - s0 > 1 else np.zeros(0, np.int64)
        bounds = [s0, *cuts.tolist(), s1]
        out += [(a, b, model, stride) for a, b in zip(bounds[:-1], bounds[1:])]
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def segment_parts(segments: np.ndarray, owner: np.ndarray, threads: int) -> np.ndarray:
    """``bounds[s, k] = (start, end)``: the local nodes of update segment s (``segments[s, 0:2]``)
    that thread k owns, one contiguous range (empty: start = end); ValueError if a thread's nodes in a
    segment are not contiguous."""
    nseg = segments.shape[0]
    bounds = np.zeros((nseg, threads, 2), dtype=np.int64)
    for s in range(nseg):
        s0, s1 = int(segments[s, 0]), int(segments[s, 1])
        own = owner[s0:s1]
        for k in range(threads):
            idx = np.flatnonzero(own == k)
            if idx.size == 0:
                bounds[s, k] = (s0, s0)
                continue
            if idx[-1] - idx[0] + 1 != idx.size:
                raise ValueError(f"thread {k}'s nodes of segment {s} are not contiguous")
            bounds[s, k] = (s0 + idx[0], s0 + idx[-1] + 1)
    return bounds
