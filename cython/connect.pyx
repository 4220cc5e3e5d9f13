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
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free

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


cdef int64_t _count_target(int rule, int64_t g, int64_t nfix, int64_t src_off, int64_t n_src, int64_t tgt_off,
                          double p, double log1mp, bint allow_autapses, uint64_t seed, uint64_t purpose_struct,
                          int64_t* per_source) noexcept nogil:
    """Add target g's synapses to per_source[src] (the calling thread's own counts); returns their number."""
    cdef int64_t j, k, total = 0
    cdef px_stream ss
    if rule == R_FTN or rule == R_FI or rule == R_O2O:
        px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
        for k in range(1 if rule == R_O2O else nfix):
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


def count_by_source(int rule, const int64_t[::1] tgt_gids, const int64_t[::1] fixed_counts,
                    int64_t src_off, int64_t n_src, int64_t tgt_off, double p, bint allow_autapses,
                    uint64_t seed, uint64_t purpose_struct, int64_t[::1] per_source,
                    const int64_t[::1] tb):
    """Pass 1: add this projection's synapses onto the given targets to ``per_source[th * N + gid]``
    (N = len(per_source) / T), where th is the thread that owns the target: thread th owns the
    targets tb[th] .. tb[th+1]-1 (T = len(tb) - 1; the threads count their targets in parallel,
    each into its own block of counts).

    Replays exactly the source draws of :func:`generate` (the structure stream),
    without drawing weights or delays. ``fixed_counts`` gives the number of
    synapses per target for fixed_total_number / fixed_indegree."""
    cdef int64_t T = tb.shape[0] - 1, th, i, total = 0
    cdef double log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    cdef bint fixed = rule == R_FTN or rule == R_FI
    cdef int64_t* ps = &per_source[0]
    cdef int64_t N = per_source.shape[0] // max(T, 1)
    with nogil:
        for th in prange(T, num_threads=T, schedule="static", chunksize=1):
            for i in range(tb[th], tb[th + 1]):
                total += _count_target(rule, tgt_gids[i], fixed_counts[i] if fixed else 0, src_off, n_src, tgt_off,
                                       p, log1mp, allow_autapses, seed, purpose_struct, ps + th * N)
    return total


cdef void _generate_target(int rule, int64_t g, uint32_t tl, int64_t cnt0, int64_t src_off, int64_t n_src,
                           int64_t tgt_off, double p, double log1mp, bint allow_autapses, const double* ws,
                           const double* ds, int wk, int dk, double inv_h, uint64_t seed, uint64_t purpose_struct,
                           uint64_t purpose_value, int64_t* fill, uint32_t* out_tgt, float* out_w, uint16_t* out_d,
                           int64_t* dext) noexcept nogil:
    """Write target g's synapses to the slots fill[src] (the calling thread's own; advancing them);
    dext[0], dext[1]: running min and max delay in steps."""
    cdef int64_t j, k, cnt, src, pos, dsteps
    cdef px_stream ss, sv
    px_init(&ss, seed, purpose_struct, <uint64_t> g, 0)
    px_init(&sv, seed, purpose_value, <uint64_t> g, 0)
    if rule == R_FTN or rule == R_FI or rule == R_O2O:
        cnt = 1 if rule == R_O2O else cnt0
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
        out_w[pos] = <float> px_draw(&sv, wk, ws[0], ws[1], ws[2], ws[3])
        dsteps = _delay_steps(px_draw(&sv, dk, ds[0], ds[1], ds[2], ds[3]), inv_h)
        if dsteps < dext[0]:
            dext[0] = dsteps
        if dsteps > dext[1]:
            dext[1] = dsteps
        out_d[pos] = <uint16_t> (dsteps if dsteps < 65536 else 65535)


def generate(int rule, const int64_t[::1] tgt_gids, const uint32_t[::1] tgt_local,
             const int64_t[::1] fixed_counts, int64_t src_off, int64_t n_src, int64_t tgt_off,
             double p, bint allow_autapses, wspec, dspec, double h,
             uint64_t seed, uint64_t purpose_struct, uint64_t purpose_value,
             int64_t[::1] fill, uint32_t[::1] out_tgt, float[::1] out_w, uint16_t[::1] out_d,
             const int64_t[::1] tb):
    """Pass 2: write this projection's synapses straight into the by-(source, thread) arrays.

    ``fill[th * N + gid]`` (N = len(fill) / T; one block per thread, so the threads never write
    the same cache line) is the next free slot of the sub-row of source gid onto thread th's
    targets (initially its CSR start, as counted by :func:`count_by_source` with the same ``tb``),
    so each sub-row holds its synapses in generation order (projection, target, draw); the
    threads generate their targets in parallel. Targets are rank-local indices, weights float32,
    delays whole steps (rounded, at least 1). Returns (min_delay, max_delay) in steps; max_delay
    65536 flags a delay that does not fit in 16 bits."""
    cdef int64_t T = tb.shape[0] - 1, th, i
    cdef int64_t N = fill.shape[0] // max(T, 1)
    cdef int wk = wspec[0], dk = dspec[0]
    cdef double ws[4]
    cdef double ds[4]
    cdef double log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    cdef double inv_h = 1.0 / h
    cdef bint fixed = rule == R_FTN or rule == R_FI
    cdef int64_t[:, ::1] dext = np.zeros((max(T, 1), 8), dtype=np.int64)     # padded: one cache line per thread
    ws[0], ws[1], ws[2], ws[3] = wspec[1], wspec[2], wspec[3], wspec[4]
    ds[0], ds[1], ds[2], ds[3] = dspec[1], dspec[2], dspec[3], dspec[4]
    for th in range(T):
        dext[th, 0] = 1 << 40
    with nogil:
        for th in prange(T, num_threads=T, schedule="static", chunksize=1):
            for i in range(tb[th], tb[th + 1]):
                _generate_target(rule, tgt_gids[i], tgt_local[i], fixed_counts[i] if fixed else 0, src_off, n_src,
                                 tgt_off, p, log1mp, allow_autapses, ws, ds, wk, dk, inv_h, seed, purpose_struct,
                                 purpose_value, &fill[th * N], &out_tgt[0], &out_w[0], &out_d[0], &dext[th, 0])
    return int(np.min(dext[:, 0])), int(np.max(dext[:, 1]))


cdef void _group_row(int64_t a, int64_t b, uint32_t* tgt, float* w, uint16_t* d, uint32_t* t2, float* w2,
                     uint16_t* d2, int64_t* start) noexcept nogil:
    """Stable counting sort of the row a..b-1 by delay (scratch t2, w2, d2 of the row's length,
    start of 65537 entries)."""
    cdef int64_t q, pos, dmin = 65535, dmax = 0, k
    if b - a < 2:
        return
    for q in range(a, b):
        if d[q] < dmin:
            dmin = d[q]
        if d[q] > dmax:
            dmax = d[q]
    if dmin == dmax:
        return
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


def group_rows_by_delay(const int64_t[::1] ptr, uint32_t[::1] tgt, float[::1] w, uint16_t[::1] d, int threads=1):
    """Stable counting sort of every row by delay, in place, on ``threads`` threads.

    Consecutive synapses of a spike then write into the same ring-buffer row.
    Stability keeps the generation order among synapses of equal delay, so the
    order of contributions to any one ring-buffer cell (and so every input sum)
    is unchanged."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int64_t maxlen = 0
    cdef uint32_t* t2
    cdef float* w2
    cdef uint16_t* d2
    cdef int64_t* start
    cdef int failed = 0
    cdef int* failp = &failed
    for r in range(nrows):
        if ptr[r + 1] - ptr[r] > maxlen:
            maxlen = ptr[r + 1] - ptr[r]
    if maxlen < 2:
        return
    with nogil, parallel(num_threads=max(threads, 1)):
        t2 = <uint32_t*> malloc(maxlen * sizeof(uint32_t))
        w2 = <float*> malloc(maxlen * sizeof(float))
        d2 = <uint16_t*> malloc(maxlen * sizeof(uint16_t))
        start = <int64_t*> malloc(65537 * sizeof(int64_t))
        if t2 == NULL or w2 == NULL or d2 == NULL or start == NULL:
            failp[0] = 1
        else:
            for r in prange(nrows, schedule="dynamic", chunksize=4096):
                _group_row(ptr[r], ptr[r + 1], &tgt[0], &w[0], &d[0], t2, w2, d2, start)
        free(t2)
        free(w2)
        free(d2)
        free(start)
    if failed:
        raise MemoryError("out of memory sorting the synapse rows by delay")


def delay_runs(const int64_t[::1] ptr, const uint16_t[::1] d):
    """The delay runs of rows grouped by delay (after :func:`group_rows_by_delay`): row r's
    synapses ptr[r] .. ptr[r+1] are the runs run_ptr[r] .. run_ptr[r+1], run k holding run_n[k]
    consecutive synapses of delay run_d[k] steps. Returns (run_ptr int64 [rows + 1], run_d uint16,
    run_n uint32): the delays, stored once per run instead of once per synapse."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int64_t q, k = 0, total = 0, start
    cdef int64_t[::1] run_ptr = np.zeros(nrows + 1, dtype=np.int64)
    with nogil:
        for r in range(nrows):
            for q in range(ptr[r], ptr[r + 1]):
                if q == ptr[r] or d[q] != d[q - 1]:
                    total += 1
            run_ptr[r + 1] = total
    run_d_arr = np.empty(total, dtype=np.uint16)
    run_n_arr = np.empty(total, dtype=np.uint32)
    cdef uint16_t[::1] run_d = run_d_arr
    cdef uint32_t[::1] run_n = run_n_arr
    with nogil:
        for r in range(nrows):
            start = ptr[r]
            for q in range(ptr[r], ptr[r + 1] + 1):
                if q > start and (q == ptr[r + 1] or d[q] != d[q - 1]):
                    run_d[k] = d[q - 1]
                    run_n[k] = <uint32_t> (q - start)
                    k += 1
                    start = q
    return np.asarray(run_ptr), run_d_arr, run_n_arr
