"""Bytes of the engine's storage per static synapse and per ring-buffer slot: the one place the
cluster cost model (:mod:`parsnn.mapping.cluster.workload`) reads them from. Importing this module
loads neither MPI nor the kernels (the serial commands use it).

Keep these equal to what the engine allocates: ``tests/test_engine_footprint.py`` builds a
network and compares them with its synapse table and ring buffers.
"""
from __future__ import annotations

#: bytes per static synapse in a sub-row: uint32 local target + float32 weight (cython/deliver.h;
#: the delays are stored once per run of equal delay, not per synapse: parsnn.engine.synapses.DelayRuns)
STATIC_SYNAPSE_BYTES = 8
#: bytes per neuron and delay slot of one input ring buffer (float64; parsnn/engine/rings.py:
#: one ring per neuron when its excitatory and inhibitory propagators agree, else two)
RING_SLOT_BYTES = 8
