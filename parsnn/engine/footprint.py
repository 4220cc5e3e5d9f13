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
#: bytes per static synapse on a rank with more than NARROW_MAX_LOCAL local neurons (uint32 targets)
STATIC_SYNAPSE_BYTES_WIDE = 8
#: the largest local neuron count whose indices the 16-bit targets hold
NARROW_MAX_LOCAL = 65536
#: bytes per neuron and delay slot of one input ring buffer (float64; parsnn/engine/rings.py:
#: one ring per neuron when its excitatory and inhibitory propagators agree, else two)
RING_SLOT_BYTES = 8


def static_synapse_bytes(n_local):
    """Bytes per static synapse (target + weight) on a rank with ``n_local`` local neurons (an int, or
    a numpy array of per-rank counts: an array of bytes)."""
    if isinstance(n_local, (int,)) or getattr(n_local, "ndim", 1) == 0:
        return STATIC_SYNAPSE_BYTES if int(n_local) <= NARROW_MAX_LOCAL else STATIC_SYNAPSE_BYTES_WIDE
    import numpy as np
    return np.where(np.asarray(n_local) <= NARROW_MAX_LOCAL, STATIC_SYNAPSE_BYTES, STATIC_SYNAPSE_BYTES_WIDE)
