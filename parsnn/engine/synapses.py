"""Target-centric synapse generation (NEST's connection manager).

Every rank generates only the synapses onto its own neurons, with the Cython connect kernels
(``parsnn._connect``), into one CSR table grouped by source gid: ``ptr[g]..ptr[g+1]`` are the
synapses of source ``g`` (local target index, weight float32, delay in steps uint16), each row
grouped by delay. The draws of a projection come from the streams
``purpose("proj", k, name, "struct"|"value"|"split")``, so the table of a rank does not depend on
how the other nodes are placed.
"""
from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI

from parsnn import _connect as connect_kernels
from parsnn.engine.decomposition import thread_parts
from parsnn.engine.streams import purpose
from parsnn.errors import ParameterError
from parsnn.network import RULE_CODES, FixedIndegree, FixedTotalNumber, PairwiseBernoulli, dist_spec


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


def _projection_plan(net, k: int, proj, local, offsets, pop_local, seed: int, threads: int) -> dict:
    """The connect kernels' arguments for projection ``k`` onto the local neurons; thread th
    generates the th-th part of them (:func:`parsnn.engine.decomposition.thread_parts`), the
    neurons it owns."""
    a, b = pop_local[proj.target]
    tgt_gids = local[a:b]
    rule = proj.rule
    toff, soff = offsets[proj.target], offsets[proj.source]
    return dict(rule=RULE_CODES[type(rule)], tgt_gids=tgt_gids,
                tgt_local=np.arange(a, b, dtype=np.uint32), fixed=_fixed_counts(net, k, proj, tgt_gids, toff, seed),
                soff=soff, nsrc=net.populations[proj.source].size, toff=toff,
                p=float(rule.p) if isinstance(rule, PairwiseBernoulli) else 0.0,
                autapses=bool(getattr(rule, "allow_autapses", True)),
                ps=purpose("proj", k, proj.name, "struct"), pv=purpose("proj", k, proj.name, "value"),
                wspec=dist_spec(proj.weight), dspec=dist_spec(proj.delay),
                tb=thread_parts(b - a, threads))


def generate_synapses(net, local: np.ndarray, offsets: dict, pop_local: dict, seed: int, h: float,
                      build_timers: dict, threads: int = 1):
    """Synapses onto the local neurons, grouped by source gid and, inside a source's row, by the
    thread that owns the target (CSR over (gid, thread): ``ptr[g*T+th] .. ptr[g*T+th+1]``, T =
    ``threads``; thread th owns the th-th part of every population's local neurons). Each sub-row keeps the order
    that the source's whole row has with one thread, so delivery sums in the same order.

    Pass 1 counts each source's synapses by replaying the source draws;
    pass 2 draws again and writes every synapse straight into its row, so
    no unsorted copy of the synapses ever exists. Adds the seconds spent counting and
    grouping to ``build_timers["count"]`` and ``["group"]``.
    Returns (ptr, target local index, weight, delay steps, smallest delay, largest delay)."""
    T, N = int(threads), net.num_nodes
    plans = []
    per_source = np.zeros((T, N), dtype=np.int64)       # one block per thread: no shared cache lines
    t0 = time.perf_counter()
    for k, proj in enumerate(net.projections):
        plan = _projection_plan(net, k, proj, local, offsets, pop_local, seed, T)
        plan["count"] = connect_kernels.count_by_source(
            plan["rule"], plan["tgt_gids"], plan["fixed"], plan["soff"], plan["nsrc"], plan["toff"], plan["p"],
            plan["autapses"], seed, plan["ps"], per_source.reshape(-1), plan["tb"])
        plans.append(plan)
    build_timers["count"] += time.perf_counter() - t0
    # ptr[g*T+th] .. ptr[g*T+th+1]: synapses of source g onto thread th
    ptr = np.concatenate([[0], np.cumsum(per_source.T.reshape(-1))]).astype(np.int64)
    del per_source
    total = int(ptr[-1])
    tgt = np.empty(total, dtype=np.uint32)
    w = np.empty(total, dtype=np.float32)
    d = np.empty(total, dtype=np.uint16)
    fill = ptr[:-1].reshape(N, T).T.copy().reshape(-1)     # fill[th * N + g] = ptr[g*T+th] (a copy)
    dmin, dmax = 1 << 40, 0
    for pl in plans:
        if pl["count"] == 0:
            continue
        lo, hi = connect_kernels.generate(pl["rule"], pl["tgt_gids"], pl["tgt_local"], pl["fixed"], pl["soff"],
                                          pl["nsrc"], pl["toff"], pl["p"], pl["autapses"], pl["wspec"],
                                          pl["dspec"], h, seed, pl["ps"], pl["pv"], fill, tgt, w, d, pl["tb"])
        dmin, dmax = min(dmin, lo), max(dmax, hi)
    if not np.array_equal(fill.reshape(T, N).T.reshape(-1), ptr[1:]):
        raise RuntimeError("internal error: pass 2 wrote a different number of synapses than pass 1 counted")
    t0 = time.perf_counter()
    connect_kernels.group_rows_by_delay(ptr, tgt, w, d, T)      # delivery then writes ring rows one delay at a time
    build_timers["group"] += time.perf_counter() - t0
    return ptr, tgt, w, d, dmin, dmax


def delay_extent(comm, dmin: int, dmax: int, h: float) -> tuple[int, int]:
    """Global (min, max) synaptic delay in steps over all ranks (collective). The min delay sets
    the communication interval; without any synapse it is 1 ms worth of steps."""
    dmin = comm.allreduce(dmin, op=MPI.MIN)
    dmax = comm.allreduce(dmax, op=MPI.MAX)
    if dmax >= 65536:
        raise ParameterError("a synaptic delay exceeds 65535 steps; use a coarser resolution or shorter delays")
    if dmax == 0:        # no synapses at all: any interval length is exact
        dmin = max(1, int(round(1.0 / h)))
    return int(dmin), int(dmax)
