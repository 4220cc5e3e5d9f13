"""The plastic synapses of one rank, drawn straight into their store (for parsnn.engine.plasticity).

The store keeps per synapse its weight (float64), its target's local index (uint16 when the rank
has at most 65,536 local nodes, else uint32) and, only for a projection whose synapses do not all
have one delay (a drawn delay, or an explicit list with several), its delay (uint16 steps); a
projection with one delay keeps it once (``dconst``). Rows are grouped by (projection, source) and
split into one sub-row per owning thread, as before (see plasticity.py).

Build, without a second copy of the synapses:

1. :func:`count_projection` splits a projection's local targets into blocks of about
   :data:`BLOCK_SYNAPSES` synapses (block b holds the b-th chunk of every thread's targets) and
   replays each block's source draws (pass 1 of the static build, ``synapses.count_plan``): the
   length of every sub-row and each block's share of it;
2. the store's arrays are allocated once, at their final size (:func:`allocate`);
3. :func:`fill_store` draws each block again with the static build's kernel
   (``synapses.draw_plan``: the same synapses, weights and delays in the same order as a static
   projection or :func:`parsnn.engine.synapses.draw_projection`) into a scratch of one block, from
   where ``_engine.plastic_place`` moves them to their slots, each thread its own sub-rows (blocks come in
   target order, so each sub-row is filled in target order, as one pass over all targets would).

A block's counts are kept from pass 1 when they take little memory beside the synapses
(:data:`KEEP_COUNTS_BYTES` per synapse), else the block is counted again before it is drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from parsnn import _engine as engine_kernels
from parsnn.engine.synapses import _list_plan, _projection_plan, count_plan, draw_plan
from parsnn.network import RULE_CODES, FromList, Normal, OneToOne, PairwiseBernoulli, Uniform

#: synapses drawn per block (the scratch: 10 bytes each)
BLOCK_SYNAPSES = 1 << 20
#: a projection's per-block counts (4 bytes per sub-row and block) are kept if at most this per synapse
KEEP_COUNTS_BYTES = 0.25
#: the most local nodes for which targets are stored as uint16
UINT16_NODES = 65536
#: keep a projection's one delay once (False: always one per synapse; for tests)
ONE_DELAY_ONCE = True


@dataclass
class Counted:
    """A plastic projection after pass 1: ``rows`` is the length of every sub-row (source s,
    thread th at s * T + th); ``blocks`` the per-block plans with their counts (None: count
    again); ``listed`` the plan of an explicit list instead; ``weight`` the weight of every
    synapse (float64) if the projection has one, else None; ``one_delay`` whether all its synapses
    have one delay (not stored per synapse); ``empty``: no synapse onto this rank (the store leaves it out)."""
    k: int
    soff: int
    nsrc: int
    rows: np.ndarray
    blocks: list = field(default_factory=list)
    listed: dict | None = None
    weight: float | None = None
    one_delay: bool = True
    empty: bool = False


def _expected_indegree(plan: dict) -> float:
    """Expected synapses per target of a projection plan."""
    if plan["fixed"].size:
        return float(plan["fixed"].mean())
    if plan["rule"] == RULE_CODES[OneToOne]:
        return 1.0
    if plan["rule"] == RULE_CODES[PairwiseBernoulli]:
        return plan["nsrc"] * min(plan["p"], 1.0)
    return float(plan["nsrc"])


def _blocks(plan: dict) -> list[dict]:
    """The plan split into blocks of about BLOCK_SYNAPSES synapses: block b holds the b-th chunk of
    every thread's targets (so every thread draws in every block), each thread's in target order."""
    tb = np.asarray(plan["tb"], dtype=np.int64)
    n = int(tb[-1])
    if n == 0:
        return []
    nb = min(n, max(1, int(math.ceil(n * _expected_indegree(plan) / BLOCK_SYNAPSES))))
    chunk = -(-np.diff(tb) // nb)
    out = []
    for b in range(nb):
        lo = np.minimum(tb[:-1] + b * chunk, tb[1:])
        hi = np.minimum(lo + chunk, tb[1:])
        if not np.any(hi > lo):
            continue
        idx = np.concatenate([np.arange(x, y) for x, y in zip(lo, hi)])      # one range per thread
        out.append(dict(plan, tgt_gids=plan["tgt_gids"][idx], tgt_local=plan["tgt_local"][idx],
                        fixed=plan["fixed"][idx] if plan["fixed"].size else plan["fixed"],
                        tb=np.concatenate([[0], np.cumsum(hi - lo)]).astype(np.int64)))
    return out


def _block_counts(block: dict, seed: int, per_source: np.ndarray, T: int) -> np.ndarray:
    """The synapses of a block per sub-row (source s, thread th at s * T + th; int64); ``per_source``:
    a scratch of T x the projection's sources (int64), thread th's counts of source s at th * nsrc + s."""
    per_source[:] = 0
    count_plan(block, seed, per_source, block["soff"])
    return per_source.reshape(T, block["nsrc"]).T.reshape(-1).copy()


def count_projection(net, k: int, local, offsets: dict, pop_local: dict, seed: int, h: float, T: int,
                     scheme: int) -> Counted:
    """Pass 1 of plastic projection ``k`` onto the nodes ``local`` with T threads."""
    proj = net.projections[k]
    soff, nsrc = offsets[proj.source], net.populations[proj.source].size
    if isinstance(proj.rule, FromList):
        pl = _list_plan(net, proj, local, offsets, pop_local, h, T)
        # every source's synapses grouped by the owning thread (each thread's in the list's order):
        # plastic_place fills the sub-rows (source, thread) one after the other
        order = np.lexsort((np.arange(pl["list_src"].size), pl["list_th"], pl["list_src"]))
        pl = dict(pl, **{key: pl[key][order] for key in ("list_src", "list_tgt", "list_th", "list_w", "list_d")})
        rows = np.bincount((pl["list_src"] - soff) * T + pl["list_th"], minlength=nsrc * T).astype(np.int64)
        one = pl["list_d"].size == 0 or int(pl["list_d"].min()) == int(pl["list_d"].max())
        return Counted(k, soff, nsrc, rows, listed=pl, one_delay=one and ONE_DELAY_ONCE, empty=pl["list_src"].size == 0)
    plan = _projection_plan(net, k, proj, local, offsets, pop_local, seed, T, scheme)
    blocks = _blocks(plan)
    weight = None if isinstance(proj.weight, (Normal, Uniform)) else float(proj.weight)
    one_delay = ONE_DELAY_ONCE and not isinstance(proj.delay, (Normal, Uniform))
    if not blocks:          # no target here: every sub-row empty, read-only zeros that take no memory
        return Counted(k, soff, nsrc, np.broadcast_to(np.int64(0), (nsrc * T,)), weight=weight, one_delay=one_delay,
                       empty=True)
    expected = (plan["tb"][-1] - plan["tb"][0]) * _expected_indegree(plan)
    keep = len(blocks) * nsrc * T * 4 <= KEEP_COUNTS_BYTES * max(expected, 1.0)
    per_source = np.zeros(T * nsrc, dtype=np.int64)       # over the projection's sources only, not all nodes
    rows = np.zeros(nsrc * T, dtype=np.int64)
    counted = []
    for block in blocks:
        c = _block_counts(block, seed, per_source, T)
        rows += c
        counted.append((block, c.astype(np.int32) if keep else None))
    return Counted(k, soff, nsrc, rows, blocks=counted, weight=weight, one_delay=one_delay)


def allocate(counted: list[Counted], n: int) -> dict:
    """The store's arrays for the counted projections and ``n`` local nodes, at their final sizes
    (uninitialised synapse arrays: their pages are first touched when the synapses are placed):
    ptr (per projection nsrc * T + 1 sub-row bounds), row_off, syn_off, tgt, w, d, d_base, dconst,
    n_incoming, max_delay."""
    sizes = [int(c.rows.sum()) for c in counted]
    syn_off = np.cumsum([0] + sizes).astype(np.int64)
    row_off = np.cumsum([0] + [c.rows.size + 1 for c in counted]).astype(np.int64)
    ptr = np.empty(int(row_off[-1]), dtype=np.int64)       # written in place: no second copy of the bounds
    for c, off, r0 in zip(counted, syn_off, row_off):
        seg = ptr[r0:r0 + c.rows.size + 1]
        seg[0] = 0
        np.cumsum(c.rows, out=seg[1:])
        seg += off
    stored_d = [0 if c.one_delay else s for c, s in zip(counted, sizes)]
    d_start = np.cumsum([0] + stored_d)[:-1]
    total = int(syn_off[-1])
    return {"ptr": ptr, "row_off": row_off[:-1].copy(), "syn_off": syn_off,
            "tgt": np.empty(total, dtype=np.uint16 if n <= UINT16_NODES else np.uint32),
            "w": np.empty(total, dtype=np.float64), "d": np.empty(int(sum(stored_d)), dtype=np.uint16),
            "d_base": (syn_off[:-1] - d_start).astype(np.int64), "dconst": np.zeros(len(counted), dtype=np.int32),
            "n_incoming": np.zeros(n, dtype=np.int32), "max_delay": np.zeros(n, dtype=np.int32)}


def fill_store(store: dict, j: int, c: Counted, num_nodes: int, seed: int, h: float, T: int) -> tuple[int, int]:
    """Pass 2 of the j-th counted projection: draw it block by block and place its synapses in
    ``store`` (see :func:`allocate`); returns the (smallest, largest) delay in steps."""
    a = int(store["row_off"][j])
    fill = store["ptr"][a:a + c.nsrc * T].copy()        # the next free slot of every sub-row
    d = store["d"] if not c.one_delay else np.zeros(0, np.uint16)
    args = (store["tgt"], store["w"], d, int(store["d_base"][j]), c.weight is not None,
            0.0 if c.weight is None else c.weight, store["n_incoming"], store["max_delay"])
    lo, hi = 1 << 40, 0
    if c.listed is not None:
        pl = c.listed
        engine_kernels.plastic_place(c.rows, fill, pl["list_tgt"], pl["list_w"], pl["list_d"], *args, T=T)
        if pl["list_d"].size:
            lo, hi = int(pl["list_d"].min()), int(pl["list_d"].max())
    else:
        per_source = np.zeros(T * c.nsrc, dtype=np.int64)   # thread th's cursor of source s at th * nsrc + s
        scratch = (np.empty(0, np.uint32), np.empty(0, np.float32), np.empty(0, np.uint16))
        for block, counts in c.blocks:
            counts = (_block_counts(block, seed, per_source, T) if counts is None else counts).astype(np.int64)
            nb = int(counts.sum())
            if nb == 0:
                continue
            if scratch[0].size < nb:
                scratch = (np.empty(nb, np.uint32), np.empty(nb, np.float32), np.empty(nb, np.uint16))
            # the block's synapses one sub-row after the other: sub-row (s, th) from its start here
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            per_source.reshape(T, c.nsrc)[:] = start.reshape(c.nsrc, T).T
            b_lo, b_hi = draw_plan(block, seed, h, per_source, *(x[:nb] for x in scratch), first=c.soff)
            lo, hi = min(lo, b_lo), max(hi, b_hi)
            engine_kernels.plastic_place(counts, fill, *(x[:nb] for x in scratch), *args, T=T)
    if not np.array_equal(fill, store["ptr"][a + 1:a + c.nsrc * T + 1]):
        raise RuntimeError("internal error: the plastic synapses drawn differ from the ones counted")
    if c.one_delay and hi > 0:
        if lo != hi:
            raise RuntimeError("internal error: a projection with one delay drew several")
        store["dconst"][j] = lo
    return lo, hi
