"""Target-centric synapse generation (NEST's connection manager).

Every rank generates only the synapses onto its own neurons, with the Cython connect kernels
(``parsnn._connect``), into one CSR table grouped by source gid: ``ptr[g]..ptr[g+1]`` are the
synapses of source ``g`` (target uint16 on a rank with at most 2 x 65536 neurons: the local index on
a rank of at most 65536, else the index relative to its window, :func:`target_blocks`; else uint32;
weight float32: 6 or 8 bytes, :data:`STATIC_SYNAPSE_BYTES`), each row grouped by
delay and its delays stored once per run of equal delay (:class:`DelayRuns`), not per synapse. The
draws of a projection come from the streams
``purpose("proj", k, name, "struct"|"value"|"split")``, so the table of a rank does not depend on
how the other nodes are placed.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from mpi4py import MPI

from parsnn import _connect as connect_kernels
from parsnn.engine.decomposition import thread_owners
from parsnn.engine.source_rows import SourceRows
from parsnn.engine.footprint import (NARROW_MAX_LOCAL, NARROW_MAX_WINDOWS, STATIC_SYNAPSE_BYTES,  # noqa: F401
                                     STATIC_SYNAPSE_BYTES_WIDE, static_synapse_bytes)
from parsnn.engine.streams import DEFAULT_REALISATION, REALISATIONS, purpose
from parsnn.errors import ParameterError
from parsnn.network import (RULE_CODES, FixedIndegree, FixedTotalNumber, FromList, OneToOne, PairwiseBernoulli,
                            dist_spec)


def _fixed_counts(net, k: int, proj, tgt_gids: np.ndarray, toff: int, seed: int) -> np.ndarray:
    """Per-target synapse numbers of a fixed-number rule (empty for the other rules)."""
    rule = proj.rule
    if isinstance(rule, FixedTotalNumber):
        # the split of n over targets is a projection-level draw, made identically on every rank
        tgt_size = net.populations[proj.target].size
        bitgen = np.random.Philox(key=np.array([seed, purpose("proj", k, proj.name, "split")], dtype=np.uint64))
        per_target = np.random.Generator(bitgen).multinomial(int(rule.n), np.full(tgt_size, 1.0 / tgt_size))
        return per_target[tgt_gids - toff].astype(np.int64)
    if isinstance(rule, FixedIndegree):
        return np.full(tgt_gids.size, int(rule.k), dtype=np.int64)
    return np.zeros(0, dtype=np.int64)


def _list_plan(net, proj, local, offsets, pop_local, h: float, threads: int, blocks=None) -> dict:
    """The synapses of an explicit list (FromList) onto the local neurons, in canonical order
    (source gid, target gid, list position): source gids, local target indices, weights, delay steps,
    and the thread that owns each target (the part of the target population it falls in); with
    ``blocks`` (:class:`TargetBlocks`) the target's block instead of its thread and its index
    relative to the block's first neuron."""
    a, b = pop_local[proj.target]
    rule = proj.rule
    toff, soff = offsets[proj.target], offsets[proj.source]
    lookup = np.full(net.populations[proj.target].size, -1, dtype=np.int64)
    lookup[local[a:b] - toff] = np.arange(a, b)
    tl = lookup[np.asarray(rule.post, dtype=np.int64)]
    keep = np.flatnonzero(tl >= 0)
    src = np.asarray(rule.pre, dtype=np.int64)[keep] + soff
    tl = tl[keep]
    order = np.lexsort((keep, tl, src))
    steps = np.floor(np.asarray(rule.delay, dtype=np.float64)[keep][order] / h + 0.5)
    tl = tl[order]
    if blocks is None:
        owner = thread_owners(pop_local, local.size, threads)[0][tl].astype(np.int64)
    else:
        owner = blocks.block[tl].astype(np.int64)
        tl = tl - blocks.base[owner]
    return dict(rule=RULE_CODES[FromList], list_src=src[order], list_tgt=tl.astype(np.uint32),
                list_th=owner.astype(np.int64),
                list_w=np.asarray(rule.weight, dtype=np.float64)[keep][order].astype(np.float32),
                list_d=np.clip(steps, 1, 65535).astype(np.uint16))


def _fill_from_list(pl: dict, fill: np.ndarray, nsrc: int, tgt, w, d, first: int = 0) -> tuple[int, int]:
    """Write a FromList plan's synapses into their sub-rows (``fill[th * nsrc + g - first]``: the next
    free position of source g's sub-row for block th, the sources ``first`` .. ``first + nsrc - 1``;
    each sub-row keeps the plan's order) and advance ``fill``; returns the (smallest, largest) delay in steps."""
    src = pl["list_src"]
    if src.size == 0:
        return 1 << 40, 0
    key = pl["list_th"] * nsrc + (src - first)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    counts = np.diff(np.append(starts, key.size))
    pos = fill[key] + np.arange(key.size) - np.repeat(starts, counts)
    tgt[pos], w[pos], d[pos] = pl["list_tgt"][order], pl["list_w"][order], pl["list_d"][order]
    fill[key[starts]] += counts
    return int(pl["list_d"].min()), int(pl["list_d"].max())


def _projection_plan(net, k: int, proj, local, offsets, pop_local, seed: int, threads: int, scheme: int,
                     blocks=None) -> dict:
    """The connect kernels' arguments for projection ``k`` onto the local neurons; thread th
    generates the synapses onto the neurons it owns (:func:`parsnn.engine.decomposition.thread_owners`),
    ``tb[th] .. tb[th+1]-1`` of the targets, which are the population's local neurons grouped by
    owner (each owner's in ascending order: the same synapses onto each target, whatever the order of
    the targets); ``scheme``: the realisation scheme's code. With ``blocks`` (:class:`TargetBlocks`)
    the parts are the blocks (a thread's windows) and the stored targets are relative to their
    block's first neuron."""
    a, b = pop_local[proj.target]
    rule = proj.rule
    toff, soff = offsets[proj.target], offsets[proj.source]
    blk = (thread_owners(pop_local, local.size, threads)[0] if blocks is None else blocks.block)[a:b]
    nblk = threads if blocks is None else blocks.base.size
    order = np.argsort(blk, kind="stable")
    idx = a + order
    tgt_gids = local[idx]
    tb = np.searchsorted(blk[order], np.arange(nblk + 1), side="left").astype(np.int64)
    tgt_local = idx.astype(np.uint32)
    if blocks is not None:
        tgt_local = (idx - blocks.base[blk[order]]).astype(np.uint32)
    return dict(rule=RULE_CODES[type(rule)], tgt_gids=tgt_gids,
                tgt_local=tgt_local, fixed=_fixed_counts(net, k, proj, tgt_gids, toff, seed),
                soff=soff, nsrc=net.populations[proj.source].size, toff=toff,
                p=float(rule.p) if isinstance(rule, PairwiseBernoulli) else 0.0,
                autapses=bool(getattr(rule, "allow_autapses", True)),
                ps=purpose("proj", k, proj.name, "struct"), pv=purpose("proj", k, proj.name, "value"),
                wspec=dist_spec(proj.weight), dspec=dist_spec(proj.delay),
                tb=tb, scheme=int(scheme))


def target_dtype(n_local: int) -> np.dtype:
    """The stored target of a rank with ``n_local`` neurons: uint16 when every thread's neurons fit in
    at most NARROW_MAX_WINDOWS windows of NARROW_MAX_LOCAL (``n_local <= NARROW_MAX_LOCAL x
    NARROW_MAX_WINDOWS``; :func:`target_blocks`), else uint32. The delivery sums are the same either way."""
    return np.dtype(np.uint16) if int(n_local) <= NARROW_MAX_LOCAL * NARROW_MAX_WINDOWS else np.dtype(np.uint32)


def local_index_dtype(n_local: int) -> np.dtype:
    """The dtype in which targets are read back as local indices (:attr:`Simulation._syn_arrays`):
    uint16 on a rank of at most NARROW_MAX_LOCAL neurons, else uint32."""
    return np.dtype(np.uint16) if int(n_local) <= NARROW_MAX_LOCAL else np.dtype(np.uint32)


class TargetBlocks:
    """How a rank's static sub-rows are split and what their targets store. Thread th owns the th-th
    block of the local neurons (:func:`parsnn.engine.decomposition.thread_owners`); its neurons, from
    its first one on, are cut into ``W`` windows of NARROW_MAX_LOCAL neurons; block ``th * W + w``
    (window w of thread th) starts at local index ``base[th * W + w]``, and a synapse stores its
    target relative to its block's first neuron, so 16-bit targets hold any rank of at most
    NARROW_MAX_LOCAL x NARROW_MAX_WINDOWS neurons. A rank of at most NARROW_MAX_LOCAL neurons (or one
    too large for 16 bits) has one block per thread with base 0: the targets are local indices.
    ``block[i]``: the block of local neuron i; ``dtype``: the stored target type."""

    def __init__(self, pop_local: dict, n_local: int, threads: int):
        T, n = int(threads), int(n_local)
        owner, _ = thread_owners(pop_local, n, T)
        self.dtype = target_dtype(n)
        self.W, self.base, self.block = 1, np.zeros(T, dtype=np.int64), owner.astype(np.int64)
        if n <= NARROW_MAX_LOCAL or self.dtype != np.uint16:
            return
        idx = np.arange(n, dtype=np.int64)
        first = np.array([idx[owner == th].min(initial=n) for th in range(T)], dtype=np.int64)
        last = np.array([idx[owner == th].max(initial=-1) for th in range(T)], dtype=np.int64)
        W = int(max(1, (np.maximum(last - first + 1, 0) + NARROW_MAX_LOCAL - 1).max() // NARROW_MAX_LOCAL))
        self.W = W
        self.base = (np.minimum(first, n)[:, None] + NARROW_MAX_LOCAL * np.arange(W)[None, :]).reshape(-1)
        self.block = owner * W + (idx - first[owner]) // NARROW_MAX_LOCAL

    @property
    def relative(self) -> bool:
        """True when some block's targets are stored relative to a nonzero base."""
        return bool(np.any(self.base))

    def local_targets(self, ptr: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """The local index of every stored target of the table with sub-row pointer ``ptr`` (one
        entry per (source, block), plus one): ``tgt`` itself when no base is nonzero."""
        if not self.relative:
            return tgt
        nb = self.base.size
        per_row = np.tile(self.base, (ptr.size - 1) // nb)
        return (np.repeat(per_row, np.diff(ptr)) + tgt).astype(np.uint32)


class DelayRuns:
    """The delays of a CSR table whose rows are grouped by delay: row r is the runs ``ptr[r] ..
    ptr[r+1]``, run k holds ``n[k]`` consecutive synapses of delay ``d[k]`` steps."""

    def __init__(self, row_ptr: np.ndarray, delays: np.ndarray):
        self.ptr, self.d, self.n = connect_kernels.delay_runs(row_ptr, delays)

    @classmethod
    def from_blocks(cls, nrows: int, blocks) -> "DelayRuns":
        """The runs of a table of ``nrows`` rows made block by block: ``blocks`` lists, in row
        order, (first row, run_ptr, run_d, run_n) of consecutive rows (run_ptr local to the block);
        rows in no block are empty."""
        runs = cls.__new__(cls)
        per_row = np.zeros(nrows, dtype=np.int64)
        for r0, ptr, _, _ in blocks:
            per_row[r0:r0 + ptr.size - 1] = np.diff(ptr)
        runs.ptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
        runs.d = np.concatenate([np.zeros(0, np.uint16)] + [b[2] for b in blocks])
        runs.n = np.concatenate([np.zeros(0, np.uint32)] + [b[3] for b in blocks])
        return runs

    @property
    def nbytes(self) -> int:
        """Bytes of the run table (run pointers, delays, lengths)."""
        return int(self.ptr.nbytes + self.d.nbytes + self.n.nbytes)

    def per_synapse(self) -> np.ndarray:
        """The delay in steps of every synapse, in storage order (uint16; a new array)."""
        return np.repeat(self.d, self.n)


def _expected_synapses(pl: dict) -> np.ndarray:
    """Each target's expected number of synapses in a drawn plan, plus 1 for the per-target work:
    the weights by which the generation is cut into chunks (exact for the fixed-number rules)."""
    n, rule = pl["tgt_gids"].size, pl["rule"]
    if pl["fixed"].size:
        return pl["fixed"][:n].astype(np.float64) + 1.0
    per = {RULE_CODES[PairwiseBernoulli]: pl["p"] * pl["nsrc"], RULE_CODES[OneToOne]: 1.0}.get(rule, float(pl["nsrc"]))
    return np.full(n, per + 1.0)


def _chunk_units(gplans: list, B: int, C: int, by_owner: bool):
    """A source population's drawn plans cut into C chunks: the sequence of units (block b, plan j,
    its targets of block b), block-major then in plan order, cut into C contiguous pieces of about
    equal expected synapse numbers (``by_owner``: chunk c the blocks of thread c instead). Returns
    (units int64 [n, 4] of rows (plan j, block b, first target, end target), uoff [C + 1]): chunk c
    has units uoff[c] .. uoff[c+1]-1, in sequence order."""
    per_chunk = [[] for _ in range(C)]
    if by_owner:
        for b in range(B):
            for j, pl in enumerate(gplans):
                per_chunk[b * C // B].append((j, b, int(pl["tb"][b]), int(pl["tb"][b + 1])))
    else:
        seq = [(b, j) for b in range(B) for j in range(len(gplans))]
        weights = [_expected_synapses(pl) for pl in gplans]
        parts = [weights[j][gplans[j]["tb"][b]:gplans[j]["tb"][b + 1]] for b, j in seq]
        cum = np.cumsum(np.concatenate([np.zeros(0)] + parts))
        edges = np.concatenate([[0], np.cumsum([p.size for p in parts])])
        cuts = np.concatenate([[0], np.searchsorted(cum, cum[-1] * np.arange(1, C) / C, side="right")
                               if cum.size else np.zeros(C - 1, np.int64), [edges[-1]]])
        for (b, j), e0, e1 in zip(seq, edges[:-1], edges[1:]):
            t0 = int(gplans[j]["tb"][b]) - int(e0)
            for c in range(C):
                lo, hi = max(int(e0), int(cuts[c])), min(int(e1), int(cuts[c + 1]))
                if lo < hi:
                    per_chunk[c].append((j, b, t0 + lo, t0 + hi))
    uoff = np.concatenate([[0], np.cumsum([len(u) for u in per_chunk])]).astype(np.int64)
    units = np.array([u for us in per_chunk for u in us], dtype=np.int64).reshape(-1, 4)
    return units, uoff


def _pair_counters(units: np.ndarray, uoff: np.ndarray, B: int, nsrc: int):
    """The (chunk, block) pairs of a source population's chunked units (:func:`_chunk_units`; C =
    len(uoff) - 1 chunks, B blocks): each chunk covers a contiguous range of blocks, so there are at
    most B + C - 1 pairs, in chunk then block order, each with ``nsrc`` counters (one per source of
    the population). Returns (the units with column 1 the first counter of their pair, pair x nsrc;
    each pair's block; each pair's chunk)."""
    C = uoff.size - 1
    chunk = np.repeat(np.arange(C, dtype=np.int64), np.diff(uoff))
    key = chunk * B + units[:, 1]
    if np.any(np.diff(key) < 0):
        raise RuntimeError("internal error: a chunk's units are not in block order")
    new = np.concatenate([[True], key[1:] != key[:-1]]) if key.size else np.zeros(0, dtype=bool)
    out = units.copy()
    out[:, 1] = (np.cumsum(new) - 1) * nsrc
    return out, units[new, 1].copy(), chunk[new]


def _add_pairs(per_row: np.ndarray, key: tuple, group: dict, counts: np.ndarray, r0: int):
    """Add a source population's pair counts (``counts``, its counters from ``group["base"]`` on) to the
    synapse numbers of its sub-rows ``per_row[row, block]``, its sources' compact rows from ``r0`` on
    (:class:`parsnn.engine.source_rows.SourceRows`; a loop over its few pairs)."""
    s0, s1 = key
    cnt = counts[group["base"]:group["base"] + group["pair_block"].size * (s1 - s0)].reshape(-1, s1 - s0)
    for i, b in enumerate(group["pair_block"]):
        per_row[r0:r0 + s1 - s0, b] += cnt[i]


def _count_chunked(net, local, offsets: dict, pop_local: dict, seed: int, h: float, blocks, threads: int,
                   scheme: int):
    """Pass 1: the plan of every static projection (with its synapse count and its sources' gid
    range ``src``); ``rows``: the sources with rows here (:class:`parsnn.engine.source_rows.SourceRows`:
    those of the source populations with a synapse on this rank); ``rowlen``: the synapse number of
    every sub-row r * B + b of compact row r after a leading 0 (int64 [(rows.count + 1) * B + 1], the last
    row empty, B the number of ``blocks``, :class:`TargetBlocks`); ``counts``: the counters
    of every drawn source population's (chunk, block) pairs, C = ``threads`` chunks
    (:func:`_pair_counters`: at most (B + C - 1) x its size, not C x B x num_nodes); ``groups``:
    {source gid range: {plans, units, uoff, pair_block, pair_chunk, base (its first counter)}}
    (:func:`_chunk_units`; a source population with an explicit list is cut by owner, its list counted
    in ``rowlen`` only). The drawn projections are counted all at once on ``threads`` threads, each its
    own chunks. Returns (plans, rows, rowlen, counts, groups)."""
    plans = []
    B, C, N = blocks.base.size, int(threads), net.num_nodes
    for k, proj in enumerate(net.projections):
        if proj.plastic:          # built by parsnn.engine.plasticity
            continue
        if isinstance(proj.rule, FromList):
            plan = _list_plan(net, proj, local, offsets, pop_local, h, threads, blocks)
            plan["count"] = int(plan["list_src"].size)
        else:
            plan = _projection_plan(net, k, proj, local, offsets, pop_local, seed, threads, scheme, blocks)
        soff = offsets[proj.source]
        plan["src"] = (soff, soff + net.populations[proj.source].size)
        plans.append(plan)
    drawn = [pl for pl in plans if "list_src" not in pl]
    listed = {pl["src"] for pl in plans if "list_src" in pl}
    groups, all_units, index, base = {}, [], {id(pl): i for i, pl in enumerate(drawn)}, 0
    for key in sorted({pl["src"] for pl in drawn}):
        gplans = [pl for pl in drawn if pl["src"] == key]
        units, uoff = _chunk_units(gplans, B, C, key in listed)
        units, pair_block, pair_chunk = _pair_counters(units, uoff, B, key[1] - key[0])
        groups[key] = dict(plans=gplans, units=units, uoff=uoff, pair_block=pair_block, pair_chunk=pair_chunk,
                           base=base)
        gidx = np.array([index[id(pl)] for pl in gplans], dtype=np.int64)
        all_units.append([np.column_stack([gidx[u[:, 0]], u[:, 1] + base, u[:, 2:]])
                          for u in (units[uoff[c]:uoff[c + 1]] for c in range(C))])
        base += pair_block.size * (key[1] - key[0])
    counts = np.zeros(base, dtype=np.int64)
    if drawn:
        per_c = [np.concatenate([g[c] for g in all_units]).reshape(-1, 4) for c in range(C)]
        uoff = np.concatenate([[0], np.cumsum([u.shape[0] for u in per_c])]).astype(np.int64)
        got = connect_kernels.count_units(connect_kernels.Plans(drawn, B, threads), np.ascontiguousarray(
            np.concatenate(per_c)), uoff, seed, counts, scheme)
        for pl, c in zip(drawn, got):
            pl["count"] = int(c)
    rows = SourceRows({pl["src"] for pl in plans if pl["count"]}, N)      # sources with synapses here
    rowlen = np.zeros((rows.count + 1) * B + 1, dtype=np.int64)
    per_row = rowlen[1:].reshape(rows.count + 1, B)
    for pl in plans:
        if "list_src" in pl:
            np.add.at(per_row, (rows.index[pl["list_src"]], pl["list_th"]), 1)
    for key, group in groups.items():
        if key in rows.ranges:
            _add_pairs(per_row, key, group, counts, rows.row(key[0]))
    return plans, rows, rowlen, counts, groups


def _count_plans(net, local, offsets: dict, pop_local: dict, seed: int, h: float, blocks, threads: int,
                 scheme: int):
    """Pass 1 (:func:`_count_chunked`): the plans and the synapse counts per (block, source gid), (B, num_nodes)."""
    plans, rows, rowlen, _, _ = _count_chunked(net, local, offsets, pop_local, seed, h, blocks, threads, scheme)
    B = blocks.base.size
    return plans, np.diff(rows.by_gid(np.cumsum(rowlen), B)).reshape(net.num_nodes, B).T


def _source_blocks(plans) -> list:
    """The plans grouped by source population, as [(first gid, end gid, plans in projection
    order)] in gid order: the rows of one block receive synapses from its plans only."""
    blocks: dict = {}
    for pl in plans:
        if pl["count"]:
            blocks.setdefault(pl["src"], []).append(pl)
    return [(s0, s1, pls) for (s0, s1), pls in sorted(blocks.items())]


def _write_block(block, r0: int, ptr, tgt, w, dbuf, T: int, h: float, seed: int, build_timers: dict, scratch,
                 threads: int):
    """Pass 2 for one source block (T sub-rows per source, its sources' compact rows from ``r0`` on,
    drawn on ``threads`` threads): draw its
    plans' synapses into their rows (``tgt``, ``w`` and,
    block-local, the delay scratch ``dbuf``), group every row by delay and take the delay runs
    (seconds added to ``build_timers["group"]``; when every plan is drawn, each thread groups its own
    rows right after drawing them, and only the runs' writing is timed); ``scratch``: the connect
    kernels' per-thread scratch. Returns ((smallest, largest) delay, (first row, run_ptr, run_d, run_n))."""
    s0, s1, plans = block
    ns = s1 - s0
    a, b = int(ptr[r0 * T]), int(ptr[(r0 + ns) * T])
    rows = ptr[r0 * T:(r0 + ns) * T + 1] - a               # the block's rows, positions relative to a
    fill = rows[:-1].reshape(ns, T).T.copy().reshape(-1)    # fill[th * ns + g - s0]: sub-row (g, th) (a copy)
    tv, wv, dv = tgt[a:b], w[a:b], dbuf[:b - a]
    dmin, dmax = 1 << 40, 0
    nruns = None
    for listed, run in itertools.groupby(plans, key=lambda pl: "list_src" in pl):
        run = list(run)               # consecutive drawn plans: one parallel region for all of them
        if not listed and len(run) == len(plans):       # all drawn: the threads group their rows there too
            nruns = np.zeros(rows.size, dtype=np.int64)
        extents = ([_fill_from_list(pl, fill, ns, tv, wv, dv, s0) for pl in run] if listed else
                   [connect_kernels.generate_plans(connect_kernels.Plans(run, T, threads), h, seed, fill, tv, wv, dv,
                                                   run[0]["scheme"], scratch, None if nruns is None else rows, nruns,
                                                   s0)])
        dmin, dmax = min([dmin] + [lo for lo, _ in extents]), max([dmax] + [hi for _, hi in extents])
    if not np.array_equal(fill.reshape(T, ns).T.reshape(-1), rows[1:]):
        raise RuntimeError("internal error: pass 2 wrote a different number of synapses than pass 1 counted")
    t0 = time.perf_counter()
    if nruns is None:
        connect_kernels.group_rows_by_delay(rows, tv, wv, dv, threads)    # delivery then writes ring rows one delay at a time
        piece = (r0 * T, *connect_kernels.delay_runs(rows, dv, threads))
    else:
        piece = (r0 * T, *connect_kernels.runs_of_counts(rows, dv, nruns, threads))
    build_timers["group"] += time.perf_counter() - t0
    return (dmin, dmax), piece


def _pair_starts(key: tuple, group: dict, counts: np.ndarray, ptr: np.ndarray, B: int, r0: int):
    """A source population's pair counters (``counts`` from ``group["base"]`` on) turned, in place, into
    its chunks' cursors: where in every sub-row (``ptr``) each pair's synapses begin, after those of
    the earlier chunks' pairs of the same block; the sources' compact rows start at ``r0``. Returns
    (the cursors (pairs x sources, a view), the
    pairs in block then chunk order, each sub-row's end (sources x B, a view))."""
    s0, s1 = key
    cur = counts[group["base"]:group["base"] + group["pair_block"].size * (s1 - s0)].reshape(-1, s1 - s0)
    order = np.lexsort((group["pair_chunk"], group["pair_block"]))
    row_start = ptr[:-1].reshape(-1, B)[r0:r0 + s1 - s0]
    prev, run = -1, None
    for i in order:                  # a few pairs (at most B + C - 1): a vector over the sources each
        b = group["pair_block"][i]
        if b != prev:
            prev, run = b, row_start[:, b].copy()
        run, cur[i] = run + cur[i], run
    return cur, order, ptr[1:].reshape(-1, B)[r0:r0 + s1 - s0]


def _write_split(block, r0: int, group, counts, ptr, tgt, w, dbuf, T: int, h: float, seed: int,
                 build_timers: dict, scratch, threads: int):
    """Pass 2 for one source block with no explicit list, split in chunks of about equal synapse
    numbers (``group``: its drawn plans, units and pairs, :func:`_count_chunked`; its sources' compact
    rows from ``r0`` on), chunk c on thread c
    writing through its own cursors (its pairs' counters in ``counts``, made cursors here,
    :func:`_pair_starts`); then the rows grouped by delay and their runs, the rows cut where the
    synapses balance (seconds added to ``build_timers["group"]``). Returns as :func:`_write_block`."""
    s0, s1, _ = block
    gplans, units, uoff = group["plans"], group["units"], group["uoff"]
    C = uoff.size - 1
    starts, order, row_end = _pair_starts((s0, s1), group, counts, ptr, T, r0)
    keep = np.array([pl["count"] > 0 for pl in gplans], dtype=bool)[units[:, 0]]     # plans with no synapse: no units
    chunk = np.repeat(np.arange(C), np.diff(uoff))[keep]
    units, uoff = units[keep], np.concatenate([[0], np.cumsum(np.bincount(chunk, minlength=C))]).astype(np.int64)
    r1 = r0 + s1 - s0
    a, b = int(ptr[r0 * T]), int(ptr[r1 * T])
    rows = ptr[r0 * T:r1 * T + 1] - a
    fill = (starts - a).reshape(-1)                        # a copy: the chunks' cursors relative to a
    tv, wv, dv = tgt[a:b], w[a:b], dbuf[:b - a]
    dmin, dmax = connect_kernels.generate_units(connect_kernels.Plans(gplans, T, threads), units, uoff, h, seed, fill,
                                                tv, wv, dv, gplans[0]["scheme"], scratch)
    ends, pb = fill.reshape(starts.shape), group["pair_block"]
    nxt = list(order[1:]) + [None]
    if not all(np.array_equal(ends[i], (starts[j] if j is not None and pb[j] == pb[i] else row_end[:, pb[i]]) - a)
               for i, j in zip(order, nxt)):
        raise RuntimeError("internal error: pass 2 wrote a different number of synapses than pass 1 counted")
    t0 = time.perf_counter()
    nrows = rows.size - 1
    rb = np.concatenate([[0], np.minimum(np.searchsorted(rows, rows[-1] * np.arange(1, C) / C), nrows), [nrows]])
    nruns = np.zeros(rows.size, dtype=np.int64)
    connect_kernels.group_rows_split(rows, tv, wv, dv, nruns, np.maximum.accumulate(rb).astype(np.int64))
    piece = (r0 * T, *connect_kernels.runs_of_counts(rows, dv, nruns, threads))
    build_timers["group"] += time.perf_counter() - t0
    return (dmin, dmax), piece


def generate_synapses(net, local: np.ndarray, offsets: dict, pop_local: dict, seed: int, h: float,
                      build_timers: dict, threads: int = 1, scheme: int = REALISATIONS[DEFAULT_REALISATION]):
    """Static synapses onto the local neurons, grouped by source gid and, inside a source's row, by the
    block of the target (:class:`TargetBlocks`: the thread that owns it and, on a rank of more than
    NARROW_MAX_LOCAL neurons, its window; CSR over (compact source row, block): ``ptr[r*B+b] ..
    ptr[r*B+b+1]``, r = ``rows.index[g]`` (:class:`parsnn.engine.source_rows.SourceRows`: only the sources of
    populations with synapses here have rows, a last empty row for the others), B =
    ``threads`` x windows; thread th owns the th-th block of the local neurons and
    the blocks th*W .. th*W+W-1). Each sub-row keeps the order
    that the source's whole row has with one thread, so delivery sums in the same order.

    Pass 1 counts each source's synapses by replaying the source draws;
    pass 2 draws again and writes every synapse straight into its row, so
    no unsorted copy of the synapses ever exists; the draws are those of realisation ``scheme``
    (:data:`parsnn.engine.streams.REALISATIONS`). Targets are stored as :func:`target_dtype` of the
    local neuron count (uint16 up to 2 x 65536 local neurons), relative to their block's first
    neuron. Pass 2 runs one source population at a
    time (the projections from it, in projection order: every row gets the same synapses in the same
    order as in one pass), grouping its rows by delay right away, so the per-synapse delays exist
    only for the largest source population's synapses, not for all. Adds the seconds spent counting
    and grouping to ``build_timers["count"]`` and ``["group"]``.
    Returns (ptr, target (relative to its block), weight, :class:`DelayRuns` over the sub-rows,
    smallest delay, largest delay, :class:`TargetBlocks`, :class:`~parsnn.engine.source_rows.SourceRows`)."""
    tblocks = TargetBlocks(pop_local, local.size, threads)
    T = tblocks.base.size
    t0 = time.perf_counter()
    plans, rows, rowlen, counts, groups = _count_chunked(net, local, offsets, pop_local, seed, h, tblocks,
                                                         int(threads), scheme)
    build_timers["count"] += time.perf_counter() - t0
    # ptr[r*T+th] .. ptr[r*T+th+1]: synapses of compact row r onto block th (the counts summed in place)
    ptr = np.cumsum(rowlen, out=rowlen)
    total = int(ptr[-1])
    tgt = np.empty(total, dtype=tblocks.dtype)
    w = np.empty(total, dtype=np.float32)
    blocks = _source_blocks(plans)
    first = [rows.row(s0) for s0, _, _ in blocks]             # each block's first compact row
    sizes = [int(ptr[(r0 + s1 - s0) * T] - ptr[r0 * T]) for r0, (s0, s1, _) in zip(first, blocks)]
    dbuf = np.empty(max(sizes, default=0), dtype=np.uint16)     # one block's delays at a time
    for arr in (tgt, w, dbuf):     # faulted in before the threads write them: each page zeroed once, in parallel
        connect_kernels.touch_pages(arr, int(threads))
    dmin, dmax, pieces = 1 << 40, 0, []
    scratch = connect_kernels.Scratch(int(threads))        # allocated once for all projections
    for block, r0, size in zip(blocks, first, sizes):
        if size == 0:
            continue
        if any("list_src" in pl for pl in block[2]):
            (lo, hi), piece = _write_block(block, r0, ptr, tgt, w, dbuf, T, h, seed, build_timers, scratch,
                                           int(threads))
        else:
            (lo, hi), piece = _write_split(block, r0, groups[block[:2]], counts, ptr, tgt, w, dbuf, T, h, seed,
                                           build_timers, scratch, int(threads))
        dmin, dmax = min(dmin, lo), max(dmax, hi)
        pieces.append(piece)
    del dbuf, scratch, counts
    t0 = time.perf_counter()
    runs = DelayRuns.from_blocks((rows.count + 1) * T, pieces)
    build_timers["group"] += time.perf_counter() - t0
    return ptr, tgt, w, runs, dmin, dmax, tblocks, rows


def delay_extent(comm, dmin: int, dmax: int, h: float) -> tuple[int, int]:
    """Global (min, max) synaptic delay in steps over all ranks (collective). The min delay sets
    the communication interval; without any synapse it is 1 ms worth of steps."""
    dmin = comm.allreduce(dmin, op=MPI.MIN)
    dmax = comm.allreduce(dmax, op=MPI.MAX)
    if dmax >= 65536:
        raise ParameterError("a synaptic delay exceeds 65535 steps; use a coarser resolution or shorter delays")
    if dmax == 0:        # no synapses at all: any interval length is exact (a spike code holds lags < 2^16)
        dmin = min(max(1, int(round(1.0 / h))), 65535)
    return int(dmin), int(dmax)


def projection_synapses(net, k: int, seed: int, scheme: int = REALISATIONS[DEFAULT_REALISATION]):
    """All synapses of projection ``k`` of ``net`` (every target, on the calling rank alone), exactly
    as the build of realisation ``scheme`` draws them: (source index, target index (both population-local, int64), weight
    (float32, engine units), delay in steps (uint16)), grouped by source. For reading a network
    back (e.g. PyNN's Projection.get); the build itself never calls it."""
    from parsnn.engine.decomposition import population_ranges
    proj = net.projections[k]
    offsets = net.offsets()
    local = np.arange(net.num_nodes, dtype=np.int64)
    pop_local = population_ranges(net, local, offsets, weighted=False)     # one thread
    if isinstance(proj.rule, FromList):
        plan = _list_plan(net, proj, local, offsets, pop_local, net.resolution, 1)
        return (plan["list_src"] - offsets[proj.source], plan["list_tgt"].astype(np.int64) - offsets[proj.target],
                plan["list_w"], plan["list_d"])
    ptr, tgt, w, d, _, _ = draw_projection(net, k, local, offsets, pop_local, seed, net.resolution, scheme=scheme)
    src = np.repeat(np.arange(net.num_nodes, dtype=np.int64), np.diff(ptr))
    return src - offsets[proj.source], tgt.astype(np.int64) - offsets[proj.target], w, d


def draw_projection(net, k: int, local, offsets: dict, pop_local: dict, seed: int, h: float, threads: int = 1,
                    scheme: int = REALISATIONS[DEFAULT_REALISATION]):
    """Projection ``k``'s synapses onto the nodes ``local``, exactly as the build of realisation
    ``scheme`` draws them, as rows over all source gids split into ``threads`` sub-rows (thread th's
    targets; drawn on the ``threads`` threads): (ptr [num_nodes * threads + 1], targets (local index),
    weights, delay steps, smallest delay, largest delay). Rows are in target order, so the arrays do
    not depend on ``threads``; for the plastic store and for reading a projection back."""
    T, N = int(threads), net.num_nodes
    plan = _projection_plan(net, k, net.projections[k], local, offsets, pop_local, seed, T, scheme)
    per_source = np.zeros((T, N), dtype=np.int64)
    count_plan(plan, seed, per_source.reshape(-1))
    ptr = np.concatenate([[0], np.cumsum(per_source.T.reshape(-1))]).astype(np.int64)
    total = int(ptr[-1])
    tgt, w, d = np.empty(total, np.uint32), np.empty(total, np.float32), np.empty(total, np.uint16)
    lo, hi = 1 << 40, 0
    if total:
        fill = ptr[:-1].reshape(N, T).T.copy().reshape(-1)     # fill[th * N + g] = ptr[g*T+th]
        lo, hi = draw_plan(plan, seed, h, fill, tgt, w, d)
    return ptr, tgt, w, d, lo, hi


def count_plan(plan: dict, seed: int, per_source: np.ndarray, first: int = 0) -> int:
    """Pass 1 of a :func:`_projection_plan` (any subset of its targets): adds its synapses to
    ``per_source[th * N + gid - first]`` (N = len(per_source) / T; see ``parsnn._connect.count_by_source``);
    returns their number."""
    return connect_kernels.count_by_source(plan["rule"], plan["tgt_gids"], plan["fixed"], plan["soff"], plan["nsrc"],
                                           plan["toff"], plan["p"], plan["autapses"], seed, plan["ps"], per_source,
                                           plan["tb"], plan["scheme"], first)


def draw_plan(plan: dict, seed: int, h: float, fill: np.ndarray, tgt: np.ndarray, w: np.ndarray,
              d: np.ndarray, first: int = 0) -> tuple[int, int]:
    """Pass 2 of a :func:`_projection_plan` (any subset of its targets): writes its synapses into
    ``tgt``, ``w``, ``d`` at the slots ``fill[th * N + gid - first]`` (advanced; see
    ``parsnn._connect.generate``); returns the (smallest, largest) delay in steps."""
    return connect_kernels.generate(plan["rule"], plan["tgt_gids"], plan["tgt_local"], plan["fixed"], plan["soff"],
                                    plan["nsrc"], plan["toff"], plan["p"], plan["autapses"], plan["wspec"],
                                    plan["dspec"], h, seed, plan["ps"], plan["pv"], fill, tgt, w, d, plan["tb"],
                                    plan["scheme"], fill_first=first)
