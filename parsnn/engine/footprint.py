"""Bytes of the engine's storage per static synapse and per ring-buffer slot: the one place the
cluster cost model (:mod:`parsnn.mapping.cluster.workload`) reads them from. Importing this module
loads neither MPI nor the kernels (the serial commands use it).

Keep these equal to what the engine allocates: ``tests/test_engine_footprint.py`` builds a
network and compares them with its synapse table and ring buffers.
"""
from __future__ import annotations

#: bytes per static synapse in a sub-row: uint16 local target + float32 weight (cython/deliver.h;
#: the delays are stored once per run of equal delay, not per synapse: parsnn.engine.synapses.DelayRuns)
STATIC_SYNAPSE_BYTES = 6
#: bytes per static synapse on a rank with more than NARROW_MAX_LOCAL x NARROW_MAX_WINDOWS local
#: neurons (uint32 targets)
STATIC_SYNAPSE_BYTES_WIDE = 8
#: the neurons one window of 16-bit targets spans: a rank with at most this many stores its local
#: indices; a larger one stores each target relative to its window's first neuron (a thread's
#: neurons split into windows of at most this span: parsnn.engine.synapses.target_blocks)
NARROW_MAX_LOCAL = 65536
#: the most windows per thread with 16-bit targets (beyond: uint32 targets); every thread's neurons
#: lie within the rank's, so a rank of at most NARROW_MAX_LOCAL x NARROW_MAX_WINDOWS neurons needs no more
NARROW_MAX_WINDOWS = 2
#: bytes per entry of the sub-row pointers and of the delay-run pointers (int64; two arrays of (rows + 1) x
#: blocks + 1 entries: parsnn.engine.source_rows, only the sources with synapses on the rank have rows)
ROW_POINTER_BYTES = 8
#: bytes per node of the network of the gid -> compact source row index (int32, parsnn.engine.source_rows)
SOURCE_INDEX_BYTES = 4
#: bytes per neuron and delay slot of one input ring buffer (float64; parsnn/engine/rings.py:
#: one ring per neuron when its excitatory and inhibitory propagators agree, else two)
RING_SLOT_BYTES = 8


def static_synapse_bytes(n_local):
    """Bytes per static synapse (target + weight) on a rank with ``n_local`` local neurons (an int, or
    a numpy array of per-rank counts: an array of bytes): 16-bit targets up to NARROW_MAX_LOCAL x
    NARROW_MAX_WINDOWS neurons, for any number of threads."""
    limit = NARROW_MAX_LOCAL * NARROW_MAX_WINDOWS
    if isinstance(n_local, (int,)) or getattr(n_local, "ndim", 1) == 0:
        return STATIC_SYNAPSE_BYTES if int(n_local) <= limit else STATIC_SYNAPSE_BYTES_WIDE
    import numpy as np
    return np.where(np.asarray(n_local) <= limit, STATIC_SYNAPSE_BYTES, STATIC_SYNAPSE_BYTES_WIDE)


def row_pointer_bytes(num_nodes, source_rows, blocks):
    """Bytes of a rank's static-table bookkeeping besides the synapses and runs: the gid -> row index
    (SOURCE_INDEX_BYTES x all nodes) and the sub-row and delay-run pointers (ROW_POINTER_BYTES x
    ((source_rows + 1) x blocks + 1) each), ``source_rows`` the sources with synapses on the rank (those of
    the populations with a synapse there), ``blocks`` the sub-rows per source (threads x target windows).
    Ints or numpy arrays (per rank)."""
    return SOURCE_INDEX_BYTES * num_nodes + 2 * ROW_POINTER_BYTES * ((source_rows + 1) * blocks + 1)
