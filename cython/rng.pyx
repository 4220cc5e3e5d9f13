# cython: language_level=3
"""Counter-based random numbers (Philox4x64-10) keyed by (seed, purpose, id).

Python entry points for per-node draws at build time and for tests. Every
value depends only on its key and id, never on the rank that computes it.
"""
import numpy as np
cimport numpy as cnp

include "philox.pxi"

cnp.import_array()


def philox_block(counter, key):
    """One Philox4x64-10 block: four 64-bit words for a 4-word counter and 2-word key."""
    cdef uint64_t c[4]
    cdef uint64_t k[2]
    cdef uint64_t o[4]
    for i in range(4):
        c[i] = <uint64_t> int(counter[i])
    for i in range(2):
        k[i] = <uint64_t> int(key[i])
    px_block(c, k, o)
    return np.array([o[0], o[1], o[2], o[3]], dtype=np.uint64)


def draw_per_node(const int64_t[::1] ids, spec, uint64_t seed, uint64_t purpose):
    """One value per id from the distribution ``spec`` = (kind, a, b, low, high);
    the value for id i is the first draw of stream (seed, purpose, i)."""
    cdef Py_ssize_t n = ids.shape[0], i
    cdef int kind = spec[0]
    cdef double a = spec[1], b = spec[2], lo = spec[3], hi = spec[4]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef px_stream s
    with nogil:
        for i in range(n):
            px_init(&s, seed, purpose, <uint64_t> ids[i], 0)
            o[i] = px_draw(&s, kind, a, b, lo, hi)
    return out


def stream_values(uint64_t seed, uint64_t purpose, uint64_t id, Py_ssize_t n, str what="uniform",
                  double lam=1.0, uint64_t extra=0):
    """n successive values of one stream: 'raw', 'uniform', 'normal' or 'poisson' (mean lam)."""
    cdef px_stream s
    cdef Py_ssize_t i
    px_init(&s, seed, purpose, id, extra)
    if what == "raw":
        raw = np.empty(n, dtype=np.uint64)
        for i in range(n):
            raw[i] = px_next(&s)
        return raw
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    if what == "uniform":
        for i in range(n):
            o[i] = px_uniform(&s)
    elif what == "normal":
        for i in range(n):
            o[i] = px_normal(&s)
    elif what == "poisson":
        for i in range(n):
            o[i] = <double> px_poisson(&s, lam)
    else:
        raise ValueError(f"what must be raw, uniform, normal or poisson, got {what!r}")
    return out
