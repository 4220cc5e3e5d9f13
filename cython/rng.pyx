# cython: language_level=3
"""Counter-based random numbers keyed by (seed, purpose, id): Philox4x64-10 (realisation scheme
v1) and Philox4x32-10 (v2), see cython/philox.h.

Python entry points for per-node draws at build time and for tests. Every
value depends only on its key and id, never on the rank that computes it.
"""
import numpy as np
cimport numpy as cnp
from cpython.mem cimport PyMem_Malloc, PyMem_Free

include "philox.pxi"

cnp.import_array()


def philox_block(counter, key, int bits=64):
    """One Philox block: Philox4x64-10 (``bits`` 64, scheme v1's generator) or Philox4x32-10 (``bits``
    32, scheme v2's): four words for a 4-word counter and a 2-word key."""
    cdef uint64_t c[4]
    cdef uint64_t k[2]
    cdef uint64_t o[4]
    cdef uint32_t c32[4]
    cdef uint32_t k32[2]
    cdef uint32_t o32[4]
    if bits not in (32, 64):
        raise ValueError(f"bits must be 32 or 64, got {bits}")
    for i in range(4):
        c[i] = <uint64_t> int(counter[i])
        c32[i] = <uint32_t> c[i]
    for i in range(2):
        k[i] = <uint64_t> int(key[i])
        k32[i] = <uint32_t> k[i]
    if bits == 32:
        px2_block(c32, k32, o32)
        return np.array([o32[0], o32[1], o32[2], o32[3]], dtype=np.uint32)
    px_block(c, k, o)
    return np.array([o[0], o[1], o[2], o[3]], dtype=np.uint64)


def philox2_batch(uint64_t first_block, fix, key, int kernel=2):
    """Scheme v2's batch of 16 Philox4x32-10 blocks ``first_block`` .. +15 (a multiple of 16) with the
    counter words 2, 3 ``fix`` and ``key``, as 64 words in stream order, computed by ``kernel``
    (2 AVX-512, 1 AVX2, 0 portable loop; capped at what this CPU has). Returns (words, the kernel
    this CPU would use). For the tests: every kernel must give the same words."""
    if first_block % 16:
        raise ValueError(f"first_block must be a multiple of 16, got {first_block}")
    out = np.empty(64, dtype=np.uint32)
    cdef uint32_t[::1] o = out
    px2_blocks_with(kernel, first_block, <uint32_t> int(fix[0]), <uint32_t> int(fix[1]), <uint32_t> int(key[0]),
                    <uint32_t> int(key[1]), &o[0])
    return out, px2_kernel()


cdef void _draw_nodes(pxs* scheme, const int64_t[::1] ids, int kind, double a, double b, double lo, double hi,
                      uint64_t seed, uint64_t purpose, double[::1] o) noexcept nogil:
    """o[i] = the first draw of stream (seed, purpose, ids[i]) of the scheme (selected by the type of the
    null pointer ``scheme``)."""
    cdef pxs s
    cdef Py_ssize_t i
    for i in range(ids.shape[0]):
        s_init(&s, seed, purpose, <uint64_t> ids[i], 0)
        o[i] = s_draw(&s, kind, a, b, lo, hi)


def draw_per_node(const int64_t[::1] ids, spec, uint64_t seed, uint64_t purpose, int scheme=1):
    """One value per id from the distribution ``spec`` = (kind, a, b, low, high);
    the value for id i is the first draw of stream (seed, purpose, i) of realisation ``scheme``
    (1: v1, 2: v2)."""
    cdef int kind = spec[0]
    cdef double a = spec[1], b = spec[2], lo = spec[3], hi = spec[4]
    if scheme not in (1, 2):
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    out = np.empty(ids.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        if scheme == 2:
            _draw_nodes(<px2_stream*> NULL, ids, kind, a, b, lo, hi, seed, purpose, o)
        else:
            _draw_nodes(<px_stream*> NULL, ids, kind, a, b, lo, hi, seed, purpose, o)
    return out


cdef void _values(pxs* scheme, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra, int what,
                  double lam, uint64_t bound, double[::1] o) noexcept nogil:
    """o[i] = the i-th value of one stream of the scheme (selected by the type of the null pointer
    ``scheme``): what 0 uniform, 1 normal, 2 Poisson (mean lam; v1 only), 3 integer in [0, bound)."""
    cdef pxs s
    cdef Py_ssize_t i
    s_init(&s, seed, purpose, id, extra)
    for i in range(o.shape[0]):
        if what == 0:
            o[i] = s_uniform(&s)
        elif what == 1:
            o[i] = s_normal(&s)
        elif what == 3:
            o[i] = <double> s_below(&s, bound)
        elif pxs is px_stream:
            o[i] = <double> px_poisson(&s, lam)


def stream_values(uint64_t seed, uint64_t purpose, uint64_t id, Py_ssize_t n, str what="uniform",
                  double lam=1.0, uint64_t extra=0, int scheme=1, uint64_t bound=0):
    """n successive values of one stream of realisation ``scheme`` (1: v1, 2: v2): 'raw' (the words: 64-bit
    in v1, 32-bit in v2), 'uniform', 'normal', 'poisson' (mean lam; v1 only) or 'below' (integers in
    [0, bound) as float64, exact below 2^53)."""
    cdef px_stream s1
    cdef px2_stream s2
    cdef Py_ssize_t i
    codes = {"uniform": 0, "normal": 1, "poisson": 2, "below": 3}
    if scheme not in (1, 2):
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    if what == "raw":
        raw = np.empty(n, dtype=np.uint64 if scheme == 1 else np.uint32)
        px_init(&s1, seed, purpose, id, extra)
        px2_init(&s2, seed, purpose, id, extra)
        for i in range(n):
            raw[i] = px_next(&s1) if scheme == 1 else px2_next32(&s2)
        return raw
    if what not in codes or (what == "poisson" and scheme == 2):
        raise ValueError(f"what must be raw, uniform, normal, below or (v1) poisson, got {what!r}")
    if what == "below" and bound == 0:
        raise ValueError("'below' needs bound >= 1")
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef int w = codes[what]
    with nogil:
        if scheme == 2:
            _values(<px2_stream*> NULL, seed, purpose, id, extra, w, lam, bound, o)
        else:
            _values(<px_stream*> NULL, seed, purpose, id, extra, w, lam, bound, o)
    return out


cdef extern from "poisson.h" nogil:
    ctypedef struct parsnn_pinv_t:
        double lam
        int32_t len
        double F[1000]
    void parsnn_pinv_clear(parsnn_pinv_t* tb)
    void parsnn_pinv_build(parsnn_pinv_t* tb, double lam)
    int64_t parsnn_pinv_count(const parsnn_pinv_t* tb, double u)
    int64_t px_poisson_small(double u, double lam)
    void parsnn_poisson_batch_with(int level, parsnn_pinv_t* tb, uint64_t seed, int64_t n, const uint64_t* purpose,
                                   const uint64_t* id, const uint64_t* extra, const double* lam, int64_t* cnt,
                                   double* u, double* c)
    int parsnn_px_kernel()
    void parsnn_px_uniforms_with(int level, uint64_t seed, int64_t n, const uint64_t* purpose, const uint64_t* id,
                                 const uint64_t* extra, double* u)


def first_uniforms(uint64_t seed, const uint64_t[::1] purpose, const uint64_t[::1] ids, const uint64_t[::1] extra,
                   int kernel=2):
    """The first uniform of each v1 stream (seed, purpose[e], ids[e], extra[e]) (px_uniform's first value), as
    the Poisson devices' batches compute them (cython/poisson.h): by ``kernel`` 2 (AVX-512, 8 blocks per
    vector) or 0 (one block after the other), capped at what this CPU has. Returns (u, the kernel this CPU
    would use). For the tests: both kernels must give the same bits."""
    cdef Py_ssize_t n = ids.shape[0]
    if not (purpose.shape[0] == extra.shape[0] == n):
        raise ValueError("purpose, ids and extra must have one length")
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    if n > 0:
        with nogil:
            parsnn_px_uniforms_with(kernel, seed, n, &purpose[0], &ids[0], &extra[0], &o[0])
    return out, parsnn_px_kernel()


def poisson_counts(uint64_t seed, const uint64_t[::1] purpose, const uint64_t[::1] ids, const uint64_t[::1] extra,
                   const double[::1] lam, bint batched=True, int kernel=2):
    """The v1 Poisson count of each stream (seed, purpose[e], ids[e], extra[e]) with mean lam[e] (the first
    draw of the stream, as the update's Poisson devices draw): ``batched`` by cython/poisson.h's kernel
    (its inversion table follows the first mean; its uniforms by ``kernel``, as first_uniforms), else one
    px_poisson per stream. For the tests: equal."""
    cdef Py_ssize_t n = lam.shape[0], e
    if not (purpose.shape[0] == ids.shape[0] == extra.shape[0] == n):
        raise ValueError("purpose, ids, extra and lam must have one length")
    out = np.zeros(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef double[::1] u = np.empty(max(n, 1), dtype=np.float64)
    cdef double[::1] c = np.empty(max(n, 1), dtype=np.float64)
    cdef parsnn_pinv_t* tb = <parsnn_pinv_t*> PyMem_Malloc(sizeof(parsnn_pinv_t))
    cdef px_stream s
    if tb == NULL:
        raise MemoryError()
    parsnn_pinv_clear(tb)
    try:
        with nogil:
            if batched and n > 0:
                parsnn_poisson_batch_with(kernel, tb, seed, n, &purpose[0], &ids[0], &extra[0], &lam[0], &o[0],
                                          &u[0], &c[0])
            elif not batched:
                for e in range(n):
                    px_init(&s, seed, purpose[e], ids[e], extra[e])
                    o[e] = px_poisson(&s, lam[e])
    finally:
        PyMem_Free(tb)
    return out


def poisson_inversion(const double[::1] u, double lam, bint table=True):
    """px_poisson's inversion count for each uniform u[e] and the mean 0 < lam < 10: from the table of
    cython/poisson.h (``table``; also returned, its sums F_0 .. F_{len-1}) or by px_poisson's own loop."""
    cdef Py_ssize_t e
    out = np.empty(u.shape[0], dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef parsnn_pinv_t* tb = <parsnn_pinv_t*> PyMem_Malloc(sizeof(parsnn_pinv_t))
    if tb == NULL:
        raise MemoryError()
    try:
        parsnn_pinv_build(tb, lam)
        for e in range(u.shape[0]):
            o[e] = parsnn_pinv_count(tb, u[e]) if table else px_poisson_small(u[e], lam)
        F = np.array([tb.F[e] for e in range(tb.len)])
    finally:
        PyMem_Free(tb)
    return out, F
