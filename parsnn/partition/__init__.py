"""Placement of neurons on ranks: a neuron->rank map is a first-class value.

The engine accepts any int32 array ``rank_of[gid]``; strategies here produce
one from a :class:`parsnn.connectivity.Connectivity` (made once at the entry with
``Connectivity.from_network(net)`` or ``.from_description(d)``). Spike generators are virtual
(known on every rank) and get rank -1.

Strategies (all deterministic: the same description, seed and number of
ranks give the same map on every rank and in every process):

- ``round_robin``: NEST's placement, the k-th placeable node on rank k mod P.
- ``block``: contiguous gid blocks of equal neuron counts.
- ``population``: contiguous gid blocks of equal expected cost (neuron
  updates plus incoming synaptic events, :mod:`parsnn.partition.rates`),
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
reports the metrics of :func:`parsnn.partition.metrics.expected_metrics`.

The package's modules: :mod:`~parsnn.partition.strategies` (round_robin, block, population),
:mod:`~parsnn.partition.graph_strategy` (graph),
:mod:`~parsnn.partition.refine` (its refinement),
:mod:`~parsnn.partition.rates` (expected rates and the cost model),
:mod:`~parsnn.partition.metrics` (expected metrics of a map), :mod:`~parsnn.partition.measured`
(metrics of a run).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from parsnn import tables
from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.partition.strategies import block, population, round_robin

__all__ = ["STRATEGIES", "METRIC_KEYS", "Partition", "compare", "format_table", "make_map", "partition"]



def graph(conn: Connectivity, nranks: int, **options) -> np.ndarray:
    """The ``graph`` strategy (:func:`parsnn.partition.graph_strategy.graph`), imported at its first
    use: it and the metrics are numba kernels, and numba with llvmlite takes ~66 MB per process that
    a simulation placed by another strategy need not load (benchmarks/plastic_memory.py, ``imports``)."""
    from parsnn.partition.graph_strategy import graph as graph_strategy
    return graph_strategy(conn, nranks, **options)


def expected_metrics(conn: Connectivity, rank_of, nranks: int | None = None, rates=None) -> dict:
    """:func:`parsnn.partition.metrics.expected_metrics` (imported at its first use, as :func:`graph`)."""
    from parsnn.partition.metrics import expected_metrics as metrics
    return metrics(conn, rank_of, nranks, rates)


STRATEGIES = {"round_robin": round_robin, "block": block, "population": population, "graph": graph}


def make_map(conn: Connectivity, nranks: int, strategy="round_robin") -> tuple[str, np.ndarray]:
    """(name, rank_of) for a strategy name, a :class:`Partition` or an explicit array."""
    if isinstance(strategy, Partition):
        if strategy.nranks != nranks:
            raise ParameterError(f"the partition was made for {strategy.nranks} ranks, not {nranks}")
        return strategy.strategy, make_map(conn, nranks, strategy.rank_of)[1]
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ParameterError(f"partition must be one of {', '.join(STRATEGIES)} or an array, got '{strategy}'")
        return strategy, STRATEGIES[strategy](conn, nranks)
    rank_of = np.asarray(strategy)
    if rank_of.shape != (conn.num_nodes,) or not np.issubdtype(rank_of.dtype, np.integer):
        raise ParameterError(f"partition array must be integer with one entry per node ({conn.num_nodes}), "
                             f"got shape {rank_of.shape} dtype {rank_of.dtype}")
    mask = conn.placeable
    if mask.any() and (rank_of[mask].min() < 0 or rank_of[mask].max() >= nranks):
        raise ParameterError(f"partition array entries must be in [0, {nranks - 1}] for the {nranks} ranks")
    out = rank_of.astype(np.int32, copy=True)
    out[~mask] = -1
    return "custom", out


@dataclass(frozen=True)
class Partition:
    """A neuron->rank map with its provenance (cf. Arbor's domain decomposition)."""
    strategy: str
    nranks: int
    rank_of: np.ndarray
    seconds: float = 0.0

    @property
    def num_domains(self) -> int:
        """Number of domains (ranks) of the partition."""
        return self.nranks

    def gid_domain(self, gid: int) -> int:
        """Rank of node ``gid`` (-1 for spike generators, which every rank knows)."""
        return int(self.rank_of[gid])

    def local_gids(self, rank: int) -> np.ndarray:
        """Gids of the nodes placed on ``rank`` (ascending)."""
        return np.flatnonzero(self.rank_of == rank)

    def num_local_cells(self, rank: int) -> int:
        """Number of nodes placed on ``rank``."""
        return int(np.count_nonzero(self.rank_of == rank))

    def population_counts(self, conn: Connectivity) -> dict:
        """{population: neurons on each rank (int array [P])}."""
        out = {}
        for name, gids in conn.population_slices().items():
            r = self.rank_of[gids]
            out[name] = np.bincount(r[r >= 0], minlength=self.nranks)
        return out

    def metrics(self, conn: Connectivity, rates=None) -> dict:
        """Expected metrics (:func:`parsnn.partition.metrics.expected_metrics`) plus strategy and seconds."""
        m = expected_metrics(conn, self.rank_of, self.nranks, rates=rates)
        return {"strategy": self.strategy, "seconds": self.seconds, **m}


def partition(conn: Connectivity, nranks: int, strategy="graph", **options) -> Partition:
    """Partition ``conn`` over ``nranks`` ranks; ``options`` go to the strategy function."""
    if isinstance(nranks, bool) or not isinstance(nranks, (int, np.integer)) or nranks < 1:
        raise ParameterError(f"ranks must be an integer >= 1, got {nranks!r}")
    t0 = time.perf_counter()
    if isinstance(strategy, str) and strategy in STRATEGIES and options:
        name, rank_of = strategy, STRATEGIES[strategy](conn, int(nranks), **options)
    else:
        name, rank_of = make_map(conn, int(nranks), strategy)
    return Partition(name, int(nranks), rank_of, time.perf_counter() - t0)


METRIC_KEYS = ("strategy", "ranks", "remote_deliveries_per_s", "remote_per_spike", "bytes_per_rank_per_s",
               "cut_fraction", "communicating_pairs", "imbalance", "seconds")


def compare(conn: Connectivity, nranks: int, strategies=None, rates=None) -> list[dict]:
    """Metrics of every strategy (default: all) on ``nranks`` ranks, one dict each (the CLI's table/JSON)."""
    rows = []
    for name in (strategies or list(STRATEGIES)):
        part = partition(conn, nranks, name)
        m = part.metrics(conn, rates=rates)
        rows.append({k: m[k] for k in METRIC_KEYS} | {"bytes_per_rank_per_s_mean": m["bytes_per_rank_per_s_mean"],
                                                      "spikes_per_s": m["spikes_per_s"]})
    return rows


_TABLE_COLUMNS = (
    tables.Column("strategy", "strategy", "", 12, "<"),
    tables.Column("ranks", "ranks", "", 5),
    tables.Column("remote deliv/s", "remote_deliveries_per_s", ",.0f", 15),
    tables.Column("per spike", "remote_per_spike", ".3f", 9),
    tables.Column("MB/rank/s", lambda row: row["bytes_per_rank_per_s"] / 1e6, ".3f", 9),
    tables.Column("cut frac", "cut_fraction", ".4f", 8),
    tables.Column("rank pairs", "communicating_pairs", ".1f", 10),
    tables.Column("imbalance", "imbalance", ".4f", 9),
    tables.Column("seconds", "seconds", ".3f", 8),
)


def format_table(rows: list[dict]) -> str:
    """Plain-text table of :func:`compare` rows."""
    return tables.format_table(list(_TABLE_COLUMNS), rows)
