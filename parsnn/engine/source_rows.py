"""The sources that have static synapse rows on a rank (the compact source index of the synapse table).

A rank stores sub-rows only for the sources of the populations with at least one static synapse onto
its neurons, not for every node of the network: compact row r holds the synapses of source gid
``gids()[r]``, its sub-row b is ``ptr[r * B + b] .. ptr[r * B + b + 1]`` (B blocks,
:class:`parsnn.engine.synapses.TargetBlocks`). ``index`` (int32, one entry per node: 4 bytes x all
nodes, once, not x B) maps a gid to its compact row; a gid without rows maps to row R (= ``count``),
an empty row at the end of the table, so the delivery needs no branch. The rows keep gid order, and
the sub-rows' contents are those of the all-nodes layout, so the delivery sums are unchanged.
"""
from __future__ import annotations

import numpy as np

from parsnn.engine.footprint import SOURCE_INDEX_BYTES


class SourceRows:
    """The gid ranges ``ranges`` [(first gid, end gid)] with rows on this rank (disjoint; sorted here),
    out of ``num_nodes`` nodes: compact rows in gid order, range k's first row ``first[k]``."""

    def __init__(self, ranges, num_nodes: int):
        self.ranges = sorted((int(a), int(b)) for a, b in ranges)
        self.num_nodes = int(num_nodes)
        sizes = np.array([b - a for a, b in self.ranges], dtype=np.int64)
        if np.any(sizes < 0) or any(b0 > a1 for (_, b0), (a1, _) in zip(self.ranges[:-1], self.ranges[1:])):
            raise ValueError("source ranges must be disjoint (first gid, end gid) pairs")
        self.first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.count = int(self.first[-1])
        if self.count >= np.iinfo(np.int32).max:
            raise ValueError(f"{self.count} source rows exceed the 32-bit compact source index")
        self._start = {a: int(r) for (a, _), r in zip(self.ranges, self.first[:-1])}
        self.index = np.full(self.num_nodes, self.count, dtype=np.int32)
        for (a, b), r in zip(self.ranges, self.first[:-1]):
            self.index[a:b] = np.arange(r, r + b - a, dtype=np.int32)

    @classmethod
    def every_node(cls, num_nodes: int) -> "SourceRows":
        """One row per node (the all-nodes layout)."""
        return cls([(0, int(num_nodes))] if num_nodes else [], num_nodes)

    def row(self, gid: int) -> int:
        """The compact row of the first gid of one of the ranges."""
        return self._start[int(gid)]

    def gids(self) -> np.ndarray:
        """The gid of every compact row (int64 [count])."""
        return np.concatenate([np.zeros(0, np.int64)] + [np.arange(a, b, dtype=np.int64) for a, b in self.ranges])

    @property
    def nbytes(self) -> int:
        """Bytes of the gid -> row index."""
        return int(self.index.size) * SOURCE_INDEX_BYTES

    def by_gid(self, ptr: np.ndarray, B: int) -> np.ndarray:
        """The sub-row pointers ``ptr`` of this layout ((count + 1) x B + 1 entries, the last row
        empty) spread over all nodes, as the all-nodes layout stores them: [num_nodes x B + 1], sub-row b
        of gid g at g * B + b (a new array, for reading a table back; the engine never builds it)."""
        ptr = np.asarray(ptr, dtype=np.int64)
        if ptr.size != (self.count + 1) * B + 1:
            raise ValueError(f"ptr needs (rows + 1) x {B} + 1 entries, has {ptr.size}")
        lengths = np.zeros((self.num_nodes, B), dtype=np.int64)
        lengths[self.gids()] = np.diff(ptr)[:self.count * B].reshape(self.count, B)
        return np.concatenate([[0], np.cumsum(lengths.reshape(-1))]).astype(np.int64) + ptr[0]
