# cython: language_level=3
"""Target-centric connection generation.

Each rank calls these for the targets it owns only. All draws for the incoming
synapses of target gid ``g`` in a projection come from two streams keyed by
(seed, purpose, g): the *structure* stream picks sources, the *value* stream
draws weights and delays. The synapses of a neuron are thus the same on every
rank layout, and counting (pass 1) can replay the structure stream without
touching the values.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport floor, log, log1p

include "philox.pxi"

cnp.import_array()

# rule codes (parsnn.network.RULE_CODES)
cdef enum:
    R_FTN = 0
    R_FI = 1
    R_PB = 2
    R_A2A = 3
    R_O2O = 4

cdef inline int64_t _bern_next(px_stream* s, int64_t j, double log1mp) noexcept nogil:
    """Index of the next Bernoulli success after j (geometric skip)."""
    cdef double u = px_uniform_pos(s)
    return j + 1 + <int64_t> floor(log(u) / log1mp)


def count_incoming(int rule, const int64_t[::1] tgt_gids, const int64_t[::1] fixed_counts,
                   int64_t src_off, int64_t n_src, double p, bint allow_autapses,
                   uint64_t seed, uint64_t purpose_struct):
    """Number of incoming synapses per target (pass 1).

    ``fixed_counts`` gives them for fixed_total_number / fixed_indegree."""
    cdef Py_ssize_t n = tgt_gids.shape[0], i
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] c = out
    cdef int64_t g, j, cnt
    cdef double log1mp
    cdef px_stream s
    with nogil:
        if rule == R_FTN or rule == R_FI:
            for i in range(n):
                c[i] = fixed_counts[i]
        elif rule == R_O2O:
            for i in range(n):
                c[i] = 1
        elif rule == R_A2A:
            for i in range(n):
                g = tgt_gids[i]
                c[i] = n_src - (1 if (not allow_autapses and g >= src_off and g < src_off + n_src) else 0)
        elif rule == R_PB:
            if p <= 0.0:
                for i in range(n):
                    c[i] = 0
            elif p >= 1.0:
                for i in range(n):
                    g = tgt_gids[i]
                    c[i] = n_src - (1 if (not allow_autapses and g >= src_off and g < src_off + n_src) else 0)
            else:
                log1mp = log1p(-p)
                for i in range(n):
                    g = tgt_gids[i]
                    px_init(&s, seed, purpose_struct, <uint64_t> g, 0)
                    cnt = 0
                    j = _bern_next(&s, -1, log1mp)
                    while j < n_src:
                        if allow_autapses or src_off + j != g:
                            cnt += 1
                        j = _bern_next(&s, j, log1mp)
                    c[i] = cnt
    return out


def generate(int rule, const int64_t[::1] tgt_gids, const uint32_t[::1] tgt_local,
             const int64_t[::1] offsets, int64_t src_off, int64_t n_src, int64_t tgt_off,
             double p, bint allow_autapses, wspec, dspec, double h,
             uint64_t seed, uint64_t purpose_struct, uint64_t purpose_value,
             int32_t[::1] out_src, uint32_t[::1] out_tgt, float[::1] out_w, uint16_t[::1] out_d):
    """Fill synapses of target i into [offsets[i], offsets[i+1]) of the output arrays.

    Sources are global ids; targets are rank-local indices; weights float32;
    delays in whole steps (rounded, at least 1). Returns (min_delay, max_delay)
    in steps, with max_delay = 65536 flagging an overflow of uint16."""
    cdef Py_ssize_t n = tgt_gids.shape[0], i
    cdef int wk = wspec[0], dk = dspec[0]
    cdef double wa = wspec[1], wb = wspec[2], wlo = wspec[3], whi = wspec[4]
    cdef double da = dspec[1], db = dspec[2], dlo = dspec[3], dhi = dspec[4]
    cdef int64_t g, j, k, pos, end, src, dsteps, dmin = 1 << 40, dmax = 0
    cdef double log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    cdef double inv_h = 1.0 / h, dms
    cdef px_stream ss, sv
    with nogil:
        for i in range(n):
            g = tgt_gids[i]
            pos = offsets[i]
            end = offsets[i + 1]
            px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
            px_init(&sv, seed, purpose_value, <uint64_t> g, 0)
            if rule == R_FTN or rule == R_FI:
                for k in range(end - pos):
                    src = src_off + <int64_t> px_below(&ss, <uint64_t> n_src)
                    if rule == R_FI and not allow_autapses:
                        while src == g:
                            src = src_off + <int64_t> px_below(&ss, <uint64_t> n_src)
                    out_src[pos + k] = <int32_t> src
            elif rule == R_O2O:
                out_src[pos] = <int32_t> (src_off + (g - tgt_off))
            elif rule == R_A2A or (rule == R_PB and p >= 1.0):
                k = 0
                for j in range(n_src):
                    if allow_autapses or src_off + j != g:
                        out_src[pos + k] = <int32_t> (src_off + j)
                        k += 1
            elif rule == R_PB and p > 0.0:
                k = 0
                j = _bern_next(&ss, -1, log1mp)
                while j < n_src:
                    if allow_autapses or src_off + j != g:
                        out_src[pos + k] = <int32_t> (src_off + j)
                        k += 1
                    j = _bern_next(&ss, j, log1mp)
            # values: weight then delay for each synapse, in source-draw order
            for k in range(pos, end):
                out_tgt[k] = tgt_local[i]
                out_w[k] = <float> px_draw(&sv, wk, wa, wb, wlo, whi)
                dms = px_draw(&sv, dk, da, db, dlo, dhi)
                dsteps = <int64_t> floor(dms * inv_h + 0.5)
                if dsteps < 1:
                    dsteps = 1
                if dsteps > 65535:
                    dsteps = 65536
                if dsteps < dmin:
                    dmin = dsteps
                if dsteps > dmax:
                    dmax = dsteps
                out_d[k] = <uint16_t> (dsteps if dsteps < 65536 else 65535)
    return dmin, dmax


def sort_by_source(const int32_t[::1] src, const uint32_t[::1] tgt, const float[::1] w,
                   const uint16_t[::1] d, int64_t n_nodes):
    """Stable counting sort of synapses by source gid.

    Returns (ptr[n_nodes+1], tgt, w, d): the synapses of source g are
    [ptr[g], ptr[g+1]), in generation order."""
    cdef Py_ssize_t n = src.shape[0], i
    ptr_a = np.zeros(n_nodes + 1, dtype=np.int64)
    tgt_a = np.empty(n, dtype=np.uint32)
    w_a = np.empty(n, dtype=np.float32)
    d_a = np.empty(n, dtype=np.uint16)
    cdef int64_t[::1] ptr = ptr_a
    cdef uint32_t[::1] t2 = tgt_a
    cdef float[::1] w2 = w_a
    cdef uint16_t[::1] d2 = d_a
    cdef int64_t[::1] fill = np.empty(n_nodes, dtype=np.int64)
    cdef int64_t s, q
    with nogil:
        for i in range(n):
            ptr[src[i] + 1] += 1
        for s in range(n_nodes):
            ptr[s + 1] += ptr[s]
        for s in range(n_nodes):
            fill[s] = ptr[s]
        for i in range(n):
            s = src[i]
            q = fill[s]
            fill[s] = q + 1
            t2[q] = tgt[i]
            w2[q] = w[i]
            d2[q] = d[i]
    return ptr_a, tgt_a, w_a, d_a
