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

cdef inline int64_t _bern_next(px_stream* s, int64_t j, double log1mp, int64_t n) noexcept nogil:
    """Index of the next Bernoulli success after j (geometric skip), or n when past the end."""
    cdef double skip = floor(log(px_uniform_pos(s)) / log1mp)
    if skip >= <double> (n - j - 1):
        return n
    return j + 1 + <int64_t> skip


cdef inline int64_t _draw_source(px_stream* ss, int rule, int64_t k, int64_t g, int64_t src_off,
                                 int64_t n_src, int64_t tgt_off, bint allow_autapses) noexcept nogil:
    """Source gid of the k-th synapse of target g for the rules with a fixed count per target."""
    cdef int64_t src
    if rule == R_O2O:
        return src_off + (g - tgt_off)
    src = src_off + <int64_t> px_below(ss, <uint64_t> n_src)
    if rule == R_FI and not allow_autapses:
        while src == g:
            src = src_off + <int64_t> px_below(ss, <uint64_t> n_src)
    return src


cdef inline int64_t _delay_steps(double dms, double inv_h) noexcept nogil:
    """Round a delay in ms to whole steps (at least 1); 65536 flags an overflow."""
    cdef double x = floor(dms * inv_h + 0.5)
    if x < 1.0:
        return 1
    if x > 65535.0:
        return 65536
    return <int64_t> x


def count_by_source(int rule, const int64_t[::1] tgt_gids, const int64_t[::1] fixed_counts,
                    int64_t src_off, int64_t n_src, int64_t tgt_off, double p, bint allow_autapses,
                    uint64_t seed, uint64_t purpose_struct, int64_t[::1] per_source):
    """Pass 1: add this projection's synapses onto the given targets to ``per_source[gid]``.

    Replays exactly the source draws of :func:`generate` (the structure stream),
    without drawing weights or delays. ``fixed_counts`` gives the number of
    synapses per target for fixed_total_number / fixed_indegree."""
    cdef Py_ssize_t n = tgt_gids.shape[0], i
    cdef int64_t g, j, k, total = 0
    cdef double log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    cdef px_stream ss
    with nogil:
        for i in range(n):
            g = tgt_gids[i]
            if rule == R_FTN or rule == R_FI or rule == R_O2O:
                px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
                for k in range(1 if rule == R_O2O else fixed_counts[i]):
                    per_source[_draw_source(&ss, rule, k, g, src_off, n_src, tgt_off, allow_autapses)] += 1
                    total += 1
            elif rule == R_A2A or (rule == R_PB and p >= 1.0):
                for j in range(n_src):
                    if allow_autapses or src_off + j != g:
                        per_source[src_off + j] += 1
                        total += 1
            elif rule == R_PB and p > 0.0:
                px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
                j = _bern_next(&ss, -1, log1mp, n_src)
                while j < n_src:
                    if allow_autapses or src_off + j != g:
                        per_source[src_off + j] += 1
                        total += 1
                    j = _bern_next(&ss, j, log1mp, n_src)
    return total


def generate(int rule, const int64_t[::1] tgt_gids, const uint32_t[::1] tgt_local,
             const int64_t[::1] fixed_counts, int64_t src_off, int64_t n_src, int64_t tgt_off,
             double p, bint allow_autapses, wspec, dspec, double h,
             uint64_t seed, uint64_t purpose_struct, uint64_t purpose_value,
             int64_t[::1] fill, uint32_t[::1] out_tgt, float[::1] out_w, uint16_t[::1] out_d):
    """Pass 2: write this projection's synapses straight into the by-source arrays.

    ``fill[gid]`` is the next free slot of source gid (initially the CSR row
    start, as counted by :func:`count_by_source`), so each source's synapses
    end up in generation order (projection, target, draw). Targets are
    rank-local indices, weights float32, delays whole steps (rounded, at least
    1). Returns (min_delay, max_delay) in steps; max_delay 65536 flags a delay
    that does not fit in 16 bits."""
    cdef Py_ssize_t n = tgt_gids.shape[0], i
    cdef int wk = wspec[0], dk = dspec[0]
    cdef double wa = wspec[1], wb = wspec[2], wlo = wspec[3], whi = wspec[4]
    cdef double da = dspec[1], db = dspec[2], dlo = dspec[3], dhi = dspec[4]
    cdef int64_t g, j, k, cnt, src, pos, dsteps, dmin = 1 << 40, dmax = 0
    cdef double log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    cdef double inv_h = 1.0 / h
    cdef uint32_t tl
    cdef px_stream ss, sv
    with nogil:
        for i in range(n):
            g = tgt_gids[i]
            tl = tgt_local[i]
            px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
            px_init(&sv, seed, purpose_value, <uint64_t> g, 0)
            if rule == R_FTN or rule == R_FI or rule == R_O2O:
                cnt = 1 if rule == R_O2O else fixed_counts[i]
                j = -1
            elif rule == R_A2A or (rule == R_PB and p >= 1.0):
                cnt = n_src
                j = 0
            elif rule == R_PB and p > 0.0:
                cnt = -1
                j = _bern_next(&ss, -1, log1mp, n_src)
            else:
                cnt = 0
                j = -1
            k = 0
            while True:
                # next source of this target, in draw order
                if rule == R_FTN or rule == R_FI or rule == R_O2O:
                    if k >= cnt:
                        break
                    src = _draw_source(&ss, rule, k, g, src_off, n_src, tgt_off, allow_autapses)
                    k += 1
                elif cnt >= 0:
                    if j >= n_src:
                        break
                    src = src_off + j
                    j += 1
                    if not allow_autapses and src == g:
                        continue
                else:
                    if j >= n_src:
                        break
                    src = src_off + j
                    j = _bern_next(&ss, j, log1mp, n_src)
                    if not allow_autapses and src == g:
                        continue
                pos = fill[src]
                fill[src] = pos + 1
                out_tgt[pos] = tl
                out_w[pos] = <float> px_draw(&sv, wk, wa, wb, wlo, whi)
                dsteps = _delay_steps(px_draw(&sv, dk, da, db, dlo, dhi), inv_h)
                if dsteps < dmin:
                    dmin = dsteps
                if dsteps > dmax:
                    dmax = dsteps
                out_d[pos] = <uint16_t> (dsteps if dsteps < 65536 else 65535)
    return dmin, dmax


def group_rows_by_delay(const int64_t[::1] ptr, uint32_t[::1] tgt, float[::1] w, uint16_t[::1] d):
    """Stable counting sort of every source's row by delay, in place.

    Consecutive synapses of a spike then write into the same ring-buffer row.
    Stability keeps the generation order among synapses of equal delay, so the
    order of contributions to any one ring-buffer cell (and so every input sum)
    is unchanged."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int64_t a, b, q, pos, maxlen = 0, dmin, dmax, k
    for r in range(nrows):
        if ptr[r + 1] - ptr[r] > maxlen:
            maxlen = ptr[r + 1] - ptr[r]
    if maxlen == 0:
        return
    cdef uint32_t[::1] t2 = np.empty(maxlen, dtype=np.uint32)
    cdef float[::1] w2 = np.empty(maxlen, dtype=np.float32)
    cdef uint16_t[::1] d2 = np.empty(maxlen, dtype=np.uint16)
    cdef int64_t[::1] start = np.zeros(65537, dtype=np.int64)
    with nogil:
        for r in range(nrows):
            a = ptr[r]
            b = ptr[r + 1]
            if b - a < 2:
                continue
            dmin = 65535
            dmax = 0
            for q in range(a, b):
                if d[q] < dmin:
                    dmin = d[q]
                if d[q] > dmax:
                    dmax = d[q]
            if dmin == dmax:
                continue
            for k in range(dmin, dmax + 2):
                start[k] = 0
            for q in range(a, b):
                start[d[q] + 1] += 1
            for k in range(dmin + 1, dmax + 2):
                start[k] += start[k - 1]
            for q in range(a, b):
                pos = start[d[q]]
                start[d[q]] = pos + 1
                t2[pos] = tgt[q]
                w2[pos] = w[q]
                d2[pos] = d[q]
            for q in range(b - a):
                tgt[a + q] = t2[q]
                w[a + q] = w2[q]
                d[a + q] = d2[q]
