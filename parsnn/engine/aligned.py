"""Cache-line-aligned per-neuron state (the one place that allocates it).

Every per-neuron array the update or the delivery writes (V_m, the synaptic currents and their
derivatives, the refractory counters, the ring buffers, the time-varying input currents) starts on a
64-byte cache line, the rings' slot stride (:func:`ring_stride`) is a whole number of lines, and the
threads' split points inside a population are multiples of :data:`SPLIT_ITEMS` local indices
(:func:`parsnn.engine.decomposition.thread_owners`). Then no cache line of these arrays holds
neurons of two threads: two threads never write one line (false sharing, which made the 1 x 2
update slower than 2 x 1: ``benchmarks/update_segments_probe.py``). Only the time changes, never
a result.
"""
from __future__ import annotations

import numpy as np

#: bytes of a cache line
LINE = 64
#: items of the narrowest per-neuron array the threads write (int32 refractory counters) in one line:
#: the threads' split points are multiples of it, in absolute local index
SPLIT_ITEMS = LINE // np.dtype(np.int32).itemsize
#: the per-neuron arrays of EngineState the update or delivery writes (aligned by :func:`align_state`)
WRITTEN = ("V", "i_ex", "i_in", "r", "di_ex", "di_in", "ie", "ring_ex", "ring_in", "fired")


def empty(n: int, dtype) -> np.ndarray:
    """An uninitialised 1-d array of ``n`` items of ``dtype`` whose first item starts a cache line
    (a view into a slightly larger byte buffer, which it keeps alive)."""
    dtype = np.dtype(dtype)
    nbytes = int(n) * dtype.itemsize
    buf = np.empty(nbytes + LINE, dtype=np.uint8)
    off = (-buf.ctypes.data) % LINE
    return buf[off:off + nbytes].view(dtype)


def zeros(n: int, dtype) -> np.ndarray:
    """:func:`empty`, filled with zeros."""
    a = empty(n, dtype)
    a[...] = 0
    return a


def copy(a, dtype=None) -> np.ndarray:
    """A line-aligned contiguous 1-d copy of ``a`` (as ``dtype`` if given); ``a`` itself if it is
    already aligned, contiguous, 1-d and of that type."""
    a = np.asarray(a)
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    if a.ndim == 1 and a.dtype == dtype and a.flags.c_contiguous and is_aligned(a):
        return a
    out = empty(a.size, dtype)
    out[...] = a.reshape(-1)
    return out


def is_aligned(a) -> bool:
    """Whether the first item of ``a`` starts a cache line (an empty array counts as aligned)."""
    a = np.asarray(a)
    return a.size == 0 or a.ctypes.data % LINE == 0


def ring_stride(n: int) -> int:
    """The slot stride of the float64 ring buffers for ``n`` local neurons: ``n`` rounded up to a
    whole number of cache lines, so that every slot starts on a line."""
    items = LINE // np.dtype(np.float64).itemsize
    return -(-int(n) // items) * items


def align_state(st):
    """Replace every array of :data:`WRITTEN` on the EngineState ``st`` that is not line-aligned by an
    aligned copy (same values and type)."""
    for name in WRITTEN:
        a = getattr(st, name, None)
        if a is not None and not is_aligned(a):
            setattr(st, name, copy(a))
