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
from openmp cimport omp_get_thread_num
from libc.stdlib cimport calloc, malloc, free
from libc.stdint cimport uintptr_t
from posix.time cimport clock_gettime, timespec, CLOCK_THREAD_CPUTIME_ID

include "philox.pxi"

cnp.import_array()

# rule codes (parsnn.network.RULE_CODES)
cdef enum:
    R_FTN = 0
    R_FI = 1
    R_PB = 2
    R_A2A = 3
    R_O2O = 4

cdef extern from "connect_draw.h" nogil:
    ctypedef struct px2_zcache:
        double x[32]
        uint32_t ok
        uint64_t nb
    void px2z_fill_portable(const uint32_t* buf, px2_zcache* z)
    void px2z_fill(const uint32_t* buf, px2_zcache* z)
    int64_t px_delay_steps(double dms, double inv_h)
    void px2_values(px2_stream* sv, int64_t cnt, int wk, int dk, const double* ws, const double* ds, double inv_h,
                    float* wbuf, uint16_t* dbuf, int64_t* dext)

cdef extern from *:
    """
    static inline void parsnn_prefetch_w(const void *p) { __builtin_prefetch(p, 1, 3); }
    """
    void parsnn_prefetch_w(const void* p) nogil

#: realisation schemes (parsnn.engine.streams.REALISATIONS): 1 = v1, 2 = v2
SCHEMES = (1, 2)

#: per-OpenMP-thread CPU seconds of the build's parallel phases (count, generate, group), one cache
#: line per thread: each thread adds to its own row only (read with :func:`thread_cpu_seconds`)
DEF CPU_THREADS = 64
DEF CPU_PHASES = 3
cdef double _thread_cpu[CPU_THREADS][8]
PH_COUNT, PH_GENERATE, PH_GROUP = 0, 1, 2


cdef inline double _tcpu() noexcept nogil:
    """The calling thread's CPU seconds."""
    cdef timespec ts
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef inline void _tcpu_add(int phase, double t0) noexcept nogil:
    """Add the calling thread's CPU seconds since t0 to its counter of ``phase``."""
    cdef int th = omp_get_thread_num()
    if th < CPU_THREADS:
        _thread_cpu[th][phase] += _tcpu() - t0


def thread_cpu_seconds(int threads, bint reset=False):
    """The CPU seconds each of the first ``threads`` OpenMP threads spent in the build's parallel
    phases since the last reset: float64 array [threads, 3] (count, generate, group); ``reset``
    then zeroes the counters."""
    cdef int th, ph
    out = np.array([[_thread_cpu[th][ph] for ph in range(CPU_PHASES)] for th in range(min(threads, CPU_THREADS))])
    if reset:
        for th in range(CPU_THREADS):
            for ph in range(CPU_PHASES):
                _thread_cpu[th][ph] = 0.0
    return out

# the stored target index: uint16 on a rank with <= 65536 local neurons, else uint32
# (parsnn.engine.synapses.target_dtype); the kernels that write or move targets take either
ctypedef fused tgt_t:
    uint16_t
    uint32_t

ctypedef struct _plan:      # one projection onto the local targets, as the kernels read it
    int rule
    const int64_t* tgt_gids     # target gids
    const uint32_t* tgt_local   # their local indices (NULL when only counting)
    const int64_t* fixed        # synapses per target of a fixed-number rule (else NULL)
    const int64_t* tb           # thread th's targets: tb[th] .. tb[th+1]-1
    int64_t src_off, n_src, tgt_off, one_target
    double p, log1mp
    int autapses, wk, dk
    uint64_t ps, pv
    double ws[4]
    double ds[4]


cdef int _set_plan(_plan* P, int rule, const int64_t[::1] tgt_gids, const uint32_t[::1] tgt_local,
                   const int64_t[::1] fixed_counts, int64_t src_off, int64_t n_src, int64_t tgt_off, double p,
                   bint allow_autapses, uint64_t purpose_struct, uint64_t purpose_value, wspec, dspec,
                   const int64_t[::1] tb, int64_t T) except -1:
    """Fill P from a projection's arguments (the arrays must outlive P's use); ``tgt_local``,
    ``wspec`` and ``dspec`` may be None when only counting."""
    cdef bint fixed = rule == R_FTN or rule == R_FI
    cdef int j
    if tb.shape[0] != T + 1 or tb[0] != 0 or tb[T] != tgt_gids.shape[0]:
        raise ValueError("the thread bounds tb must span the targets with T + 1 entries")
    if fixed and fixed_counts.shape[0] < tgt_gids.shape[0]:
        raise ValueError("fixed_counts must give every target's synapse number")
    P.rule, P.src_off, P.n_src, P.tgt_off, P.p, P.autapses = rule, src_off, n_src, tgt_off, p, allow_autapses
    P.log1mp = log1p(-p) if 0.0 < p < 1.0 else 0.0
    P.ps, P.pv, P.wk, P.dk = purpose_struct, purpose_value, 0, 0
    P.tgt_gids = &tgt_gids[0] if tgt_gids.shape[0] else NULL
    P.tgt_local = &tgt_local[0] if tgt_local is not None and tgt_local.shape[0] else NULL
    P.fixed = &fixed_counts[0] if fixed and fixed_counts.shape[0] else NULL
    P.tb = &tb[0]
    P.one_target = 1
    if rule == R_A2A or rule == R_PB:
        P.one_target = max(n_src, 1)
    elif fixed and tgt_gids.shape[0]:
        P.one_target = max(int(np.max(fixed_counts[:tgt_gids.shape[0]])), 1)
    if wspec is not None:
        P.wk, P.dk = wspec[0], dspec[0]
        for j in range(4):
            P.ws[j], P.ds[j] = wspec[j + 1], dspec[j + 1]
    return 0


cdef class Plans:
    """Projections in the kernels' form, for :func:`count_plans` and :func:`generate_plans`: made
    from the build's plan dicts (keys of :func:`parsnn.engine.synapses._projection_plan`), which
    it keeps alive with their arrays. ``threads``: the number of target parts (sub-row blocks, each
    plan's ``tb`` has one more entry); ``nthreads``: the OpenMP threads that draw them (default
    ``threads``; it must divide it: thread j draws the parts j * threads / nthreads onwards, one
    thread's windows)."""
    cdef _plan* p
    cdef readonly int n, T, nth
    cdef list keep

    def __cinit__(self, list plans, int threads, int nthreads=0):
        cdef int k
        self.n, self.T, self.keep = len(plans), max(threads, 1), list(plans)
        self.nth = self.T if nthreads <= 0 else nthreads
        if self.T % self.nth:
            raise ValueError(f"{self.nth} threads cannot share {self.T} target parts evenly")
        self.p = <_plan*> calloc(max(self.n, 1), sizeof(_plan))
        if self.p == NULL:
            raise MemoryError("out of memory for the connection plans")
        for k, pl in enumerate(plans):
            _set_plan(&self.p[k], pl["rule"], pl["tgt_gids"], pl.get("tgt_local"), pl["fixed"], pl["soff"],
                      pl["nsrc"], pl["toff"], pl["p"], pl["autapses"], pl["ps"], pl["pv"], pl.get("wspec"),
                      pl.get("dspec"), pl["tb"], self.T)

    def __dealloc__(self):
        free(self.p)


cdef inline int64_t _bern_next(pxs* s, int64_t j, double log1mp, int64_t n) noexcept nogil:
    """Index of the next Bernoulli success after j (geometric skip), or n when past the end."""
    cdef double skip = floor(log(s_uniform_pos(s)) / log1mp)
    if skip >= <double> (n - j - 1):
        return n
    return j + 1 + <int64_t> skip


cdef inline int64_t _draw_source(pxs* ss, int rule, int64_t k, int64_t g, int64_t src_off,
                                 int64_t n_src, int64_t tgt_off, bint allow_autapses) noexcept nogil:
    """Source gid of the k-th synapse of target g for the rules with a fixed count per target."""
    cdef int64_t src
    if rule == R_O2O:
        return src_off + (g - tgt_off)
    src = src_off + <int64_t> s_below(ss, <uint64_t> n_src)
    if rule == R_FI and not allow_autapses:
        while src == g:
            src = src_off + <int64_t> s_below(ss, <uint64_t> n_src)
    return src


cdef inline int64_t _delay_steps(double dms, double inv_h) noexcept nogil:
    """Round a delay in ms to whole steps (at least 1); 65536 flags an overflow (connect_draw.h)."""
    return px_delay_steps(dms, inv_h)


cdef int64_t _count_target(pxs* ss, const _plan* P, int64_t i, uint64_t seed, int64_t* per_source) noexcept nogil:
    """Add the synapses of P's target i to per_source[src - P.src_off] (the calling thread's own counts,
    indexed by the source's index in its population); returns their number. ``ss``: the calling
    thread's structure stream (of the realisation scheme), restarted here."""
    cdef int rule = P.rule
    cdef int64_t g = P.tgt_gids[i], src_off = P.src_off, n_src = P.n_src
    cdef int64_t j, k, total = 0
    cdef bint allow_autapses = P.autapses
    if rule == R_FTN or rule == R_FI or rule == R_O2O:
        s_init(ss, seed, P.ps, <uint64_t> g, 0)
        for k in range(1 if rule == R_O2O else P.fixed[i]):
            per_source[_draw_source(ss, rule, k, g, src_off, n_src, P.tgt_off, allow_autapses) - src_off] += 1
            total += 1
    elif rule == R_A2A or (rule == R_PB and P.p >= 1.0):
        for j in range(n_src):
            if allow_autapses or src_off + j != g:
                per_source[j] += 1
                total += 1
    elif rule == R_PB and P.p > 0.0:
        s_init(ss, seed, P.ps, <uint64_t> g, 0)
        j = _bern_next(ss, -1, P.log1mp, n_src)
        while j < n_src:
            if allow_autapses or src_off + j != g:
                per_source[j] += 1
                total += 1
            j = _bern_next(ss, j, P.log1mp, n_src)
    return total


cdef void _count_plans(pxs* scheme, const _plan* plans, int nplans, int th, uint64_t seed, int64_t* per_source,
                       int64_t* totals, int64_t first) noexcept nogil:
    """Thread th's part of pass 1: the targets it owns in every plan, in plan order, counted into
    its own per_source block (source gid g at per_source[g - first]); totals[k] += plan k's synapses onto them.
    ``scheme``: a null pointer whose type selects the realisation scheme's streams."""
    cdef pxs ss
    cdef int k
    cdef int64_t i
    for k in range(nplans):
        for i in range(plans[k].tb[th], plans[k].tb[th + 1]):
            totals[k] += _count_target(&ss, &plans[k], i, seed, per_source + (plans[k].src_off - first))


def count_plans(Plans plans, uint64_t seed, int64_t[::1] per_source, int scheme=1, int64_t first=0):
    """Pass 1 of every plan at once, in one parallel region: thread th counts its targets of all
    plans into ``per_source[th * N + gid - first]`` (N = len(per_source) / T; ``first``: the gid of the
    first source it covers, e.g. the plans' first source for counts over their sources only, T x their
    number instead of T x all nodes). Returns each plan's synapse number (int64 array)."""
    cdef int64_t T = plans.T, N = per_source.shape[0] // plans.T
    cdef int th, k, nth = plans.nth, chunk = plans.T // plans.nth
    cdef double t0
    tot = np.zeros((T, max(plans.n, 1) + 8), dtype=np.int64)       # padded rows: one block per thread
    cdef int64_t[:, ::1] totals = tot
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    for k in range(plans.n):
        if plans.p[k].tb[T] > plans.p[k].tb[0] and (plans.p[k].src_off < first or
                                                    plans.p[k].src_off - first + plans.p[k].n_src > N):
            raise ValueError("per_source does not cover the plans' sources")
    with nogil:
        for th in prange(T, num_threads=nth, schedule="static", chunksize=chunk):
            t0 = _tcpu()
            if scheme == 2:
                _count_plans(<px2_stream*> NULL, plans.p, plans.n, th, seed, &per_source[0] + th * N, &totals[th, 0],
                             first)
            else:
                _count_plans(<px_stream*> NULL, plans.p, plans.n, th, seed, &per_source[0] + th * N, &totals[th, 0],
                             first)
            _tcpu_add(0, t0)
    return tot.sum(axis=0)[:plans.n]


DEF PAGE = 4096
DEF HUGE = 2 << 20


def touch_pages(cnp.ndarray arr, int threads=1):
    """Fault in the pages of the contiguous array ``arr`` before the generation writes it, on
    ``threads`` threads, each its own 2 MiB-aligned pieces (a write to one byte of every 4 KiB page;
    its contents are then undefined, as after ``np.empty``). Without it the threads' first writes meet
    in the same fresh (huge) pages: both fault one in at once, and the kernel zeroes it for each of
    them before keeping one; here every page is zeroed once, and in parallel."""
    cdef char* base
    cdef uintptr_t a, b, lo, hi, q
    cdef Py_ssize_t k, nchunks
    if not arr.flags["C_CONTIGUOUS"]:
        raise ValueError("touch_pages needs a contiguous array")
    if arr.nbytes == 0:
        return
    base = <char*> cnp.PyArray_DATA(arr)
    a = <uintptr_t> base
    b = a + <uintptr_t> arr.nbytes
    nchunks = <Py_ssize_t> ((b - 1) // HUGE - a // HUGE + 1)
    with nogil:
        for k in prange(nchunks, num_threads=max(threads, 1), schedule="static"):
            lo = (a // HUGE + <uintptr_t> k) * HUGE
            hi = lo + HUGE
            lo = a if lo < a else lo
            hi = b if hi > b else hi
            q = lo
            while q < hi:
                base[q - a] = 0
                q = (q // PAGE + 1) * PAGE


def ziggurat_candidates(const uint32_t[::1] words, bint portable=False):
    """The ziggurat's quick-path candidates of a v2 stream's buffer of 64 words (32 values, see
    connect_draw.h): (x float64 [32], accepted bool [32]), computed by this CPU's kernel or by the
    portable loop. For the tests: both must agree bit for bit."""
    cdef px2_zcache z
    if words.shape[0] != 64:
        raise ValueError(f"words must hold 64 words, got {words.shape[0]}")
    if portable:
        px2z_fill_portable(&words[0], &z)
    else:
        px2z_fill(&words[0], &z)
    return np.array([z.x[j] for j in range(32)]), np.array([(z.ok >> j) & 1 for j in range(32)], dtype=bool)


def count_by_source(int rule, const int64_t[::1] tgt_gids, const int64_t[::1] fixed_counts,
                    int64_t src_off, int64_t n_src, int64_t tgt_off, double p, bint allow_autapses,
                    uint64_t seed, uint64_t purpose_struct, int64_t[::1] per_source,
                    const int64_t[::1] tb, int scheme=1, int64_t first=0):
    """Pass 1 of one projection: add its synapses onto the given targets to ``per_source[th * N + gid]``
    (N = len(per_source) / T), where th is the thread that owns the target: thread th owns the
    targets tb[th] .. tb[th+1]-1 (T = len(tb) - 1; the threads count their targets in parallel,
    each into its own block of counts); :func:`count_plans` with one plan.

    Replays exactly the source draws of :func:`generate` (the structure stream of realisation
    ``scheme``, 1 or 2), without drawing weights or delays. ``fixed_counts`` gives the number of
    synapses per target for fixed_total_number / fixed_indegree. ``first``: as in :func:`count_plans`
    (the gid at per_source[0]). Returns their number."""
    plan = dict(rule=rule, tgt_gids=tgt_gids, fixed=fixed_counts, soff=src_off, nsrc=n_src, toff=tgt_off, p=p,
                autapses=allow_autapses, ps=purpose_struct, pv=0, tb=tb)
    return int(count_plans(Plans([plan], tb.shape[0] - 1), seed, per_source, scheme, first)[0])


cdef void _draw_values(pxs* sv, int64_t cnt, const double* ws, const double* ds, int wk, int dk, double inv_h,
                       float* wbuf, uint16_t* dbuf, int64_t* dext) noexcept nogil:
    """The weights and delays of ``cnt`` synapses in draw order from the value stream ``sv`` (weight,
    delay, weight, ...), as :func:`_draw_target` draws them; dext: running min and max delay."""
    cdef int64_t k, dsteps, dmin = dext[0], dmax = dext[1]
    cdef double wa = ws[0], wb = ws[1], wlo = ws[2], whi = ws[3], da = ds[0], db = ds[1], dlo = ds[2], dhi = ds[3]
    if pxs is px2_stream:
        px2_values(sv, cnt, wk, dk, ws, ds, inv_h, wbuf, dbuf, dext)      # the same draws, in C (connect_draw.h)
        return
    for k in range(cnt):
        wbuf[k] = <float> s_draw(sv, wk, wa, wb, wlo, whi)
        dsteps = _delay_steps(s_draw(sv, dk, da, db, dlo, dhi), inv_h)
        dmin = dsteps if dsteps < dmin else dmin
        dmax = dsteps if dsteps > dmax else dmax
        dbuf[k] = <uint16_t> (dsteps if dsteps < 65536 else 65535)
    dext[0], dext[1] = dmin, dmax


cdef int64_t _draw_target(pxs* ss, pxs* sv, int rule, int64_t g, int64_t cnt0, int64_t src_off, int64_t n_src,
                          int64_t tgt_off, double p, double log1mp, bint allow_autapses, const double* ws,
                          const double* ds, int wk, int dk, double inv_h, uint64_t seed, uint64_t purpose_struct,
                          uint64_t purpose_value, int64_t* sbuf, float* wbuf, uint16_t* dbuf,
                          int64_t* dext) noexcept nogil:
    """Draw target g's synapses in draw order into the calling thread's scratch: source gids (sbuf),
    weights (wbuf), delays in steps (dbuf); returns their number. ``ss``, ``sv``: the thread's
    structure and value streams (restarted here). dext[0], dext[1]: running min and max delay in steps."""
    cdef int64_t j, k, cnt, src, dsteps, n = 0
    s_init(ss, seed, purpose_struct, <uint64_t> g, 0)
    s_init(sv, seed, purpose_value, <uint64_t> g, 0)
    if rule == R_FTN or rule == R_FI or rule == R_O2O:     # the streams are independent: one loop each
        cnt = 1 if rule == R_O2O else cnt0
        for k in range(cnt):
            sbuf[k] = _draw_source(ss, rule, k, g, src_off, n_src, tgt_off, allow_autapses)
        _draw_values(sv, cnt, ws, ds, wk, dk, inv_h, wbuf, dbuf, dext)
        return cnt
    if rule == R_FTN or rule == R_FI or rule == R_O2O:
        cnt = 1 if rule == R_O2O else cnt0
        j = -1
    elif rule == R_A2A or (rule == R_PB and p >= 1.0):
        cnt = n_src
        j = 0
    elif rule == R_PB and p > 0.0:
        cnt = -1
        j = _bern_next(ss, -1, log1mp, n_src)
    else:
        cnt = 0
        j = -1
    k = 0
    while True:
        # next source of this target, in draw order
        if rule == R_FTN or rule == R_FI or rule == R_O2O:
            if k >= cnt:
                break
            src = _draw_source(ss, rule, k, g, src_off, n_src, tgt_off, allow_autapses)
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
            j = _bern_next(ss, j, log1mp, n_src)
            if not allow_autapses and src == g:
                continue
        sbuf[n] = src
        wbuf[n] = <float> s_draw(sv, wk, ws[0], ws[1], ws[2], ws[3])
        dsteps = _delay_steps(s_draw(sv, dk, ds[0], ds[1], ds[2], ds[3]), inv_h)
        if dsteps < dext[0]:
            dext[0] = dsteps
        if dsteps > dext[1]:
            dext[1] = dsteps
        dbuf[n] = <uint16_t> (dsteps if dsteps < 65536 else 65535)
        n += 1
    return n


#: synapses drawn before they are written to their rows (per thread), and the number of source
#: buckets they are first sorted into: each bucket's row ends then stay in cache while it is written
DEF BATCH = 1 << 19
DEF BUCKETS = 32

ctypedef struct _entry:    # one drawn synapse, in bucket order
    uint32_t src           # source index in its population
    uint32_t tl
    float w
    uint32_t d

ctypedef struct _scratch:
    int64_t cap            # entries: BATCH + the most synapses of one target
    int64_t* src
    float* w
    uint16_t* d
    uint32_t* tl
    _entry* sorted         # the same, in bucket order


cdef void _scatter(int64_t n, const int64_t* src, int64_t src_off, const uint32_t* tls, const float* wv,
                   const uint16_t* dv, int64_t* fill, tgt_t* out_tgt, float* out_w, uint16_t* out_d) noexcept nogil:
    """Write n synapses, in order, to the next slots fill[src - src_off] of their rows (advancing them)."""
    cdef int64_t q, s, pos
    for q in range(n):
        if q + 8 < n:       # the row slots a few synapses ahead may be cache misses: fetch them early
            pos = fill[src[q + 8] - src_off]
            parsnn_prefetch_w(&out_tgt[pos])
            parsnn_prefetch_w(&out_w[pos])
            parsnn_prefetch_w(&out_d[pos])
        s = src[q] - src_off
        pos = fill[s]
        fill[s] = pos + 1
        out_tgt[pos] = <tgt_t> tls[q]
        out_w[pos] = wv[q]
        out_d[pos] = dv[q]


cdef void _scatter_entries(int64_t n, const _entry* e, int64_t* fill, tgt_t* out_tgt, float* out_w,
                           uint16_t* out_d) noexcept nogil:
    """:func:`_scatter` of entries in bucket order (their sources already relative to the population)."""
    cdef int64_t q, s, pos
    for q in range(n):
        if q + 8 < n:
            pos = fill[e[q + 8].src]
            parsnn_prefetch_w(&out_tgt[pos])
            parsnn_prefetch_w(&out_w[pos])
            parsnn_prefetch_w(&out_d[pos])
        s = e[q].src
        pos = fill[s]
        fill[s] = pos + 1
        out_tgt[pos] = <tgt_t> e[q].tl
        out_w[pos] = e[q].w
        out_d[pos] = <uint16_t> e[q].d


cdef void _flush(_scratch* sc, int64_t n, int64_t src_off, int64_t n_src, int64_t* fill, tgt_t* out_tgt,
                 float* out_w, uint16_t* out_d) noexcept nogil:
    """Write the n drawn synapses of the scratch to their rows (the slots fill[src - src_off]): sorted
    stably by source bucket first (BUCKETS ranges of sources), so every row still receives its synapses
    in draw order."""
    cdef int64_t q, pos, b, sh = 0
    cdef int64_t start[BUCKETS + 1]
    if n < 4 * BUCKETS * 64:
        _scatter(n, sc.src, src_off, sc.tl, sc.w, sc.d, fill, out_tgt, out_w, out_d)
        return
    while ((n_src - 1) >> sh) >= BUCKETS:
        sh += 1
    for b in range(BUCKETS + 1):
        start[b] = 0
    for q in range(n):
        start[((sc.src[q] - src_off) >> sh) + 1] += 1
    for b in range(1, BUCKETS + 1):
        start[b] += start[b - 1]
    cdef int64_t j
    for q in range(n):
        j = sc.src[q] - src_off
        b = j >> sh
        pos = start[b]
        start[b] = pos + 1
        sc.sorted[pos].src = <uint32_t> j
        sc.sorted[pos].tl = sc.tl[q]
        sc.sorted[pos].w = sc.w[q]
        sc.sorted[pos].d = sc.d[q]
    _scatter_entries(n, sc.sorted, fill, out_tgt, out_w, out_d)


cdef inline int64_t _draw_targets(pxs* ss, pxs* sv, const _plan* P, int64_t i0, int64_t i1, double inv_h,
                                  uint64_t seed, int64_t n, int64_t* fill, tgt_t* out_tgt, float* out_w,
                                  uint16_t* out_d, _scratch* sc, int64_t* dext) noexcept nogil:
    """The synapses of targets i0 .. i1-1 of plan P drawn into the scratch ``sc`` after its ``n`` entries,
    the scratch written to the slots ``fill[src - P.src_off]`` (advancing them) whenever it could overflow; returns the
    entries left in the scratch."""
    cdef int64_t i, q, m
    cdef uint32_t tl
    for i in range(i0, i1):
        if n + P.one_target > sc.cap:
            _flush(sc, n, P.src_off, P.n_src, fill, out_tgt, out_w, out_d)
            n = 0
        m = _draw_target(ss, sv, P.rule, P.tgt_gids[i], P.fixed[i] if P.fixed != NULL else 0, P.src_off,
                         P.n_src, P.tgt_off, P.p, P.log1mp, P.autapses, P.ws, P.ds, P.wk, P.dk, inv_h, seed,
                         P.ps, P.pv, sc.src + n, sc.w + n, sc.d + n, dext)
        tl = P.tgt_local[i]
        for q in range(n, n + m):
            sc.tl[q] = tl
        n += m
    return n


cdef void _generate_plans(pxs* scheme, const _plan* plans, int nplans, int th, double inv_h, uint64_t seed,
                          int64_t* fill, tgt_t* out_tgt, float* out_w, uint16_t* out_d, _scratch* sc,
                          int64_t* dext) noexcept nogil:
    """Thread th's part of pass 2: the synapses of its targets of every plan (all from the same
    source population), plan after plan, target after target, drawn into the thread's scratch
    ``sc``, which is written to the slots fill[src - src_off] (the thread's own, indexed by the source's
    index in its population; advancing them) whenever it could overflow, and at the end. ``scheme``: a
    null pointer whose type selects the realisation scheme's streams."""
    cdef pxs ss, sv
    cdef const _plan* P
    cdef int k
    cdef int64_t n = 0
    for k in range(nplans):
        P = &plans[k]
        n = _draw_targets(&ss, &sv, P, P.tb[th], P.tb[th + 1], inv_h, seed, n, fill, out_tgt, out_w, out_d, sc,
                          dext)
    if nplans:
        _flush(sc, n, plans[0].src_off, plans[0].n_src, fill, out_tgt, out_w, out_d)


cdef int _scratch_alloc(_scratch* sc, int64_t one_target) noexcept nogil:
    """Allocate a thread's scratch; 1 when out of memory (then nothing to free but what is set)."""
    sc.cap = BATCH + one_target
    sc.src = <int64_t*> malloc(sc.cap * sizeof(int64_t))
    sc.w = <float*> malloc(sc.cap * sizeof(float))
    sc.d = <uint16_t*> malloc(sc.cap * sizeof(uint16_t))
    sc.tl = <uint32_t*> malloc(sc.cap * sizeof(uint32_t))
    sc.sorted = <_entry*> malloc(sc.cap * sizeof(_entry))
    return sc.src == NULL or sc.w == NULL or sc.d == NULL or sc.tl == NULL or sc.sorted == NULL


cdef void _scratch_free(_scratch* sc) noexcept nogil:
    """Free a thread's scratch (free(NULL) does nothing)."""
    free(sc.src)
    free(sc.w)
    free(sc.d)
    free(sc.tl)
    free(sc.sorted)
    sc.cap = 0


cdef class Scratch:
    """The per-thread scratch of :func:`generate` (34 bytes x (2^19 + the most synapses of one
    target) per thread), kept between calls: pass one to every :func:`generate` of a build so that
    it is allocated (and its pages touched) once, not once per projection. Freed with the object."""
    cdef _scratch* sc
    cdef int n

    def __cinit__(self, int threads):
        self.n = max(threads, 1)
        self.sc = <_scratch*> calloc(self.n, sizeof(_scratch))
        if self.sc == NULL:
            raise MemoryError("out of memory for the connection generation's scratch")

    cdef int reserve(self, int threads, int64_t one_target) except -1:
        """Make the first ``threads`` scratches hold BATCH + one_target synapses."""
        cdef int th
        if threads > self.n:
            raise ValueError(f"this scratch serves {self.n} threads, not {threads}")
        for th in range(threads):
            if self.sc[th].cap < BATCH + one_target:
                _scratch_free(&self.sc[th])
                if _scratch_alloc(&self.sc[th], one_target):
                    _scratch_free(&self.sc[th])
                    raise MemoryError("out of memory for the connection generation's scratch")
        return 0

    def __dealloc__(self):
        cdef int th
        if self.sc != NULL:
            for th in range(self.n):
                _scratch_free(&self.sc[th])
            free(self.sc)


def generate_plans(Plans plans, double h, uint64_t seed, int64_t[::1] fill, tgt_t[::1] out_tgt,
                   float[::1] out_w, uint16_t[::1] out_d, int scheme=1, Scratch scratch=None,
                   const int64_t[::1] rows=None, int64_t[::1] nruns=None, int64_t fill_first=0):
    """Pass 2 of every plan at once (plans of one source population), in one parallel region:
    write their synapses straight into the by-(source, thread) arrays.

    ``fill[th * N + gid - fill_first]`` (N = len(fill) / T; one block per thread, so the threads never
    write the same cache line; ``fill_first``: the gid of the first source it covers, the plans' first
    source for a fill over their sources only) is the next free slot of the sub-row of source gid onto thread th's
    targets (initially its CSR start, as counted by :func:`count_plans`), so each sub-row holds its
    synapses in generation order (plan, target, draw); thread th generates its targets of every
    plan, with the streams of realisation ``scheme`` (1 or 2), without waiting for the other
    threads between plans. Targets are rank-local indices (``out_tgt`` uint32, or uint16 when
    every index fits), weights float32, delays whole steps (rounded, at least 1).
    ``scratch``: a :class:`Scratch` for at least ``plans.nth`` threads to reuse (else one for this call).
    With ``rows`` (the sub-rows g * T + th of the plans' sources g = 0 .. nsrc-1, as positions in the
    output arrays: [nsrc * T + 1]) each thread then sorts its own sub-rows by delay, as
    :func:`group_rows_by_delay`, and puts their numbers of delay runs in ``nruns[r + 1]``
    ([nsrc * T + 1]), without waiting for the others: the plans must then fill the rows.
    Returns (min_delay, max_delay) in steps; max_delay 65536 flags a delay that does not fit in 16 bits."""
    cdef int64_t T = plans.T, N = fill.shape[0] // plans.T
    cdef int64_t nsrc = 0, shift = 0
    cdef int failed = 0
    cdef int* failp = &failed
    cdef int64_t cap = 1
    cdef int th, k, nth = plans.nth, chunk = plans.T // plans.nth
    cdef double inv_h = 1.0 / h, t0
    cdef int64_t[:, ::1] dext = np.zeros((T, 8), dtype=np.int64)     # padded: one cache line per thread
    cdef _scratch* sc
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    for k in range(plans.n):
        if plans.p[k].src_off != plans.p[0].src_off or plans.p[k].n_src != plans.p[0].n_src:
            raise ValueError("generate_plans takes plans of one source population")
        if plans.p[k].tgt_local == NULL and plans.p[k].tb[T] > 0:
            raise ValueError("generate_plans needs every plan's tgt_local")
        cap = max(cap, plans.p[k].one_target)
    if plans.n:
        shift = plans.p[0].src_off - fill_first        # the cursors of the plans' sources start at fill[th * N + shift]
        if shift < 0 or shift + plans.p[0].n_src > N:
            raise ValueError("fill does not cover the plans' sources")
    if rows is not None:
        nsrc = plans.p[0].n_src if plans.n else 0
        if rows.shape[0] != nsrc * T + 1 or nruns is None or nruns.shape[0] != rows.shape[0]:
            raise ValueError("rows and nruns need one entry per sub-row of the plans' sources, plus one")
        if rows[nsrc * T] > out_d.shape[0]:
            raise ValueError("rows reach beyond the output arrays")
    for th in range(T):
        dext[th, 0] = 1 << 40
    if scratch is None:
        scratch = Scratch(nth)
    scratch.reserve(nth, cap)
    sc = scratch.sc
    with nogil:
        # part th (a thread's window) on OpenMP thread th // chunk, in its scratch (flushed at the end of each part)
        for th in prange(T, num_threads=nth, schedule="static", chunksize=chunk):
            t0 = _tcpu()
            if scheme == 2:
                _generate_plans(<px2_stream*> NULL, plans.p, plans.n, th, inv_h, seed, &fill[0] + th * N + shift,
                                &out_tgt[0] if out_tgt.shape[0] else NULL, &out_w[0] if out_w.shape[0] else NULL,
                                &out_d[0] if out_d.shape[0] else NULL, &sc[omp_get_thread_num()], &dext[th, 0])
            else:
                _generate_plans(<px_stream*> NULL, plans.p, plans.n, th, inv_h, seed, &fill[0] + th * N + shift,
                                &out_tgt[0] if out_tgt.shape[0] else NULL, &out_w[0] if out_w.shape[0] else NULL,
                                &out_d[0] if out_d.shape[0] else NULL, &sc[omp_get_thread_num()], &dext[th, 0])
            _tcpu_add(1, t0)
            t0 = _tcpu()
            if nsrc > 0 and _group_own_rows(&rows[0], nsrc, T, th, &out_tgt[0] if out_tgt.shape[0] else NULL,
                                            &out_w[0] if out_w.shape[0] else NULL,
                                            &out_d[0] if out_d.shape[0] else NULL, &nruns[0]):
                failp[0] = 1
            _tcpu_add(2, t0)
    if failed:
        raise MemoryError("out of memory sorting the synapse rows by delay")
    return int(np.min(dext[:, 0])), int(np.max(dext[:, 1]))


def generate(int rule, const int64_t[::1] tgt_gids, const uint32_t[::1] tgt_local,
             const int64_t[::1] fixed_counts, int64_t src_off, int64_t n_src, int64_t tgt_off,
             double p, bint allow_autapses, wspec, dspec, double h,
             uint64_t seed, uint64_t purpose_struct, uint64_t purpose_value,
             int64_t[::1] fill, tgt_t[::1] out_tgt, float[::1] out_w, uint16_t[::1] out_d,
             const int64_t[::1] tb, int scheme=1, Scratch scratch=None, int64_t fill_first=0):
    """Pass 2 of one projection (:func:`generate_plans` with one plan): thread th owns the
    targets tb[th] .. tb[th+1]-1 (T = len(tb) - 1); ``fill`` and ``fill_first`` as there, counted by
    :func:`count_by_source` with the same ``tb``. Returns (min_delay, max_delay) in steps."""
    plan = dict(rule=rule, tgt_gids=tgt_gids, tgt_local=tgt_local, fixed=fixed_counts, soff=src_off, nsrc=n_src,
                toff=tgt_off, p=p, autapses=allow_autapses, ps=purpose_struct, pv=purpose_value, wspec=wspec,
                dspec=dspec, tb=tb)
    return generate_plans(Plans([plan], tb.shape[0] - 1), h, seed, fill, out_tgt, out_w, out_d, scheme, scratch,
                          fill_first=fill_first)


cdef void _group_row(int64_t a, int64_t b, tgt_t* tgt, float* w, uint16_t* d, tgt_t* t2, float* w2,
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


cdef int _group_own_rows(const int64_t* rows, int64_t nsrc, int64_t T, int64_t th, tgt_t* tgt, float* w,
                         uint16_t* d, int64_t* nruns) noexcept nogil:
    """Thread th's sub-rows r = g * T + th (g < nsrc; synapses rows[r] .. rows[r+1]) sorted stably
    by delay (:func:`group_rows_by_delay`) and their numbers of delay runs in nruns[r + 1].
    Returns 1 when out of memory."""
    cdef int64_t g, r, maxlen = 0
    cdef int failed = 0
    for g in range(nsrc):
        r = g * T + th
        if rows[r + 1] - rows[r] > maxlen:
            maxlen = rows[r + 1] - rows[r]
    cdef tgt_t* t2 = <tgt_t*> malloc(max(maxlen, 1) * sizeof(tgt_t))
    cdef float* w2 = <float*> malloc(max(maxlen, 1) * sizeof(float))
    cdef uint16_t* d2 = <uint16_t*> malloc(max(maxlen, 1) * sizeof(uint16_t))
    cdef int64_t* start = <int64_t*> malloc(65537 * sizeof(int64_t))
    if t2 == NULL or w2 == NULL or d2 == NULL or start == NULL:
        failed = 1
    else:
        for g in range(nsrc):
            r = g * T + th
            _group_row(rows[r], rows[r + 1], tgt, w, d, t2, w2, d2, start)
            nruns[r + 1] = _row_runs(d, rows[r], rows[r + 1])
    free(t2)
    free(w2)
    free(d2)
    free(start)
    return failed


def group_rows_by_delay(const int64_t[::1] ptr, tgt_t[::1] tgt, float[::1] w, uint16_t[::1] d, int threads=1):
    """Stable counting sort of every row by delay, in place, on ``threads`` threads.

    Consecutive synapses of a spike then write into the same ring-buffer row.
    Stability keeps the generation order among synapses of equal delay, so the
    order of contributions to any one ring-buffer cell (and so every input sum)
    is unchanged."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int64_t maxlen = 0
    cdef tgt_t* t2
    cdef float* w2
    cdef uint16_t* d2
    cdef int64_t* start
    cdef int failed = 0
    cdef int* failp = &failed
    cdef double t0
    for r in range(nrows):
        if ptr[r + 1] - ptr[r] > maxlen:
            maxlen = ptr[r + 1] - ptr[r]
    if maxlen < 2:
        return
    with nogil, parallel(num_threads=max(threads, 1)):
        t2 = <tgt_t*> malloc(maxlen * sizeof(tgt_t))
        w2 = <float*> malloc(maxlen * sizeof(float))
        d2 = <uint16_t*> malloc(maxlen * sizeof(uint16_t))
        start = <int64_t*> malloc(65537 * sizeof(int64_t))
        if t2 == NULL or w2 == NULL or d2 == NULL or start == NULL:
            failp[0] = 1
        else:
            t0 = _tcpu()
            for r in prange(nrows, schedule="dynamic", chunksize=4096):
                _group_row(ptr[r], ptr[r + 1], &tgt[0], &w[0], &d[0], t2, w2, d2, start)
            _tcpu_add(2, t0)
        free(t2)
        free(w2)
        free(d2)
        free(start)
    if failed:
        raise MemoryError("out of memory sorting the synapse rows by delay")


cdef inline int64_t _row_runs(const uint16_t* d, int64_t a, int64_t b) noexcept nogil:
    """The number of runs of equal delay in d[a] .. d[b-1]."""
    cdef int64_t q, n = 1 if b > a else 0
    for q in range(a + 1, b):
        n += d[q] != d[q - 1]
    return n


def delay_runs(const int64_t[::1] ptr, const uint16_t[::1] d, int threads=1):
    """The delay runs of rows grouped by delay (after :func:`group_rows_by_delay`): row r's
    synapses ptr[r] .. ptr[r+1] are the runs run_ptr[r] .. run_ptr[r+1], run k holding run_n[k]
    consecutive synapses of delay run_d[k] steps. Returns (run_ptr int64 [rows + 1], run_d uint16,
    run_n uint32): the delays, stored once per run instead of once per synapse. The rows are
    scanned on ``threads`` threads (the result does not depend on it)."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int nth = max(threads, 1)
    run_ptr_arr = np.zeros(nrows + 1, dtype=np.int64)
    cdef int64_t[::1] run_ptr = run_ptr_arr
    with nogil:
        for r in prange(nrows, num_threads=nth, schedule="static"):
            run_ptr[r + 1] = _row_runs(&d[0] if d.shape[0] else NULL, ptr[r], ptr[r + 1])
    return runs_of_counts(ptr, d, run_ptr_arr, threads)


def runs_of_counts(const int64_t[::1] ptr, const uint16_t[::1] d, run_ptr_arr, int threads=1):
    """:func:`delay_runs` of rows whose numbers of runs are known: ``run_ptr_arr`` (int64 [rows + 1])
    holds row r's in entry r + 1 (entry 0 is 0) and becomes the run pointer, in place."""
    cdef Py_ssize_t nrows = ptr.shape[0] - 1, r
    cdef int64_t q, k, start
    cdef int nth = max(threads, 1)
    cdef int64_t[::1] run_ptr = run_ptr_arr
    if run_ptr.shape[0] != nrows + 1 or run_ptr[0] != 0:
        raise ValueError("run_ptr_arr needs one entry per row after a leading 0")
    np.cumsum(run_ptr_arr, out=run_ptr_arr)
    cdef int64_t total = run_ptr[nrows]
    run_d_arr = np.empty(total, dtype=np.uint16)
    run_n_arr = np.empty(total, dtype=np.uint32)
    cdef uint16_t[::1] run_d = run_d_arr
    cdef uint32_t[::1] run_n = run_n_arr
    with nogil:
        for r in prange(nrows, num_threads=nth, schedule="static"):
            k = run_ptr[r]
            start = ptr[r]
            for q in range(ptr[r] + 1, ptr[r + 1] + 1):
                if q == ptr[r + 1] or d[q] != d[q - 1]:
                    run_d[k] = d[q - 1]
                    run_n[k] = <uint32_t> (q - start)
                    k = k + 1
                    start = q
    return run_ptr_arr, run_d_arr, run_n_arr



# ---- generation split by synapse count: chunks of (plan, cursors, target range) units --------------
# Chunk c is a contiguous piece of a source population's sequence of (block b, plan k, targets
# i0 .. i1-1), in block-major, then plan, then target order; the chunks hold about equal numbers of
# synapses. Every chunk counts its synapses per (block, source) into its own counts, so after pass 1
# each chunk knows where in every sub-row its synapses go (after those of the chunks before it); in
# pass 2 it writes them there through its own cursors, whatever thread owns the targets: the rows are
# those of the owner-split build, bit for bit. A chunk touches a contiguous range of blocks, so the
# population has at most B + C - 1 (chunk, block) pairs, each with one counter (cursor) per source of
# the population: a unit names the first of its pair's counters (``units[u, 1]``, an offset into the
# flat counts or cursors), and source j of the population (gid src_off + j) is that offset + j.

cdef int _check_units(Plans plans, const int64_t[:, ::1] units, const int64_t[::1] uoff, int64_t ncursors) except -1:
    """ValueError unless every unit of ``uoff``'s range names a plan, a target range of it and a pair
    of counters inside the ``ncursors`` counters (or cursors)."""
    cdef int64_t C = uoff.shape[0] - 1, u, k
    if C < 1 or uoff[0] != 0 or (units.shape[0] and units.shape[1] != 4) or uoff[C] > units.shape[0]:
        raise ValueError("units must be rows of (plan, first counter, i0, i1) covering uoff")
    for u in range(uoff[C]):
        k = units[u, 0]
        if not (0 <= k < plans.n and 0 <= units[u, 2] <= units[u, 3] <= plans.p[k].tb[plans.T]
                and 0 <= units[u, 1] and units[u, 1] + plans.p[k].n_src <= ncursors):
            raise ValueError(f"unit {u} names a plan, targets or counters that do not exist")
    return 0


cdef void _count_units(pxs* scheme, const _plan* plans, const int64_t* units, int64_t u0, int64_t u1,
                       uint64_t seed, int64_t* counts, int64_t* totals) noexcept nogil:
    """Chunk's pass 1: the units u0 .. u1-1 (rows of 4: plan, first counter, i0, i1) counted into
    counts[first counter + j] (j: the source's index in its population; the chunk's own counters);
    totals[k] += plan k's synapses in them."""
    cdef pxs ss
    cdef int64_t u, k, i
    cdef int64_t* cnt
    for u in range(u0, u1):
        k, cnt = units[4 * u], counts + units[4 * u + 1]
        for i in range(units[4 * u + 2], units[4 * u + 3]):
            totals[k] += _count_target(&ss, &plans[k], i, seed, cnt)


def count_units(Plans plans, const int64_t[:, ::1] units, const int64_t[::1] uoff, uint64_t seed,
                int64_t[::1] counts, int scheme=1):
    """Pass 1 split in chunks: chunk c (on thread c) counts the units uoff[c] .. uoff[c+1]-1 (rows
    of ``units``: plan index, first counter, first target, end target) into ``counts[first counter +
    j]``, j the source's index in its population (C = len(uoff) - 1 chunks; no two chunks may share a
    counter). Returns each plan's synapse number (int64 array)."""
    cdef int64_t C = uoff.shape[0] - 1
    cdef int c
    cdef double t0
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    _check_units(plans, units, uoff, counts.shape[0])
    tot = np.zeros((max(C, 1), max(plans.n, 1) + 8), dtype=np.int64)
    cdef int64_t[:, ::1] totals = tot
    cdef int64_t* cp = &counts[0] if counts.shape[0] else NULL
    with nogil:
        for c in prange(C, num_threads=C, schedule="static", chunksize=1):
            t0 = _tcpu()
            if scheme == 2:
                _count_units(<px2_stream*> NULL, plans.p, &units[0, 0] if units.shape[0] else NULL, uoff[c],
                             uoff[c + 1], seed, cp, &totals[c, 0])
            else:
                _count_units(<px_stream*> NULL, plans.p, &units[0, 0] if units.shape[0] else NULL, uoff[c],
                             uoff[c + 1], seed, cp, &totals[c, 0])
            _tcpu_add(0, t0)
    return tot.sum(axis=0)[:plans.n]


cdef void _generate_units(pxs* scheme, const _plan* plans, const int64_t* units, int64_t u0, int64_t u1,
                          double inv_h, uint64_t seed, int64_t* fill, tgt_t* out_tgt, float* out_w,
                          uint16_t* out_d, _scratch* sc, int64_t* dext) noexcept nogil:
    """Chunk's pass 2: the synapses of the units u0 .. u1-1 drawn into the scratch ``sc`` and
    written to the slots fill[first cursor + j] (the chunk's own cursors; advancing them), the scratch
    flushed whenever it could overflow, when the pair of cursors (the block) changes, and at the end."""
    cdef pxs ss, sv
    cdef const _plan* P = NULL
    cdef int64_t u, k, off, cur = -1, n = 0
    for u in range(u0, u1):
        k, off = units[4 * u], units[4 * u + 1]
        P = &plans[k]
        if off != cur:
            if n:
                _flush(sc, n, P.src_off, P.n_src, fill + cur, out_tgt, out_w, out_d)
            n, cur = 0, off
        n = _draw_targets(&ss, &sv, P, units[4 * u + 2], units[4 * u + 3], inv_h, seed, n, fill + off, out_tgt,
                          out_w, out_d, sc, dext)
    if n:
        _flush(sc, n, P.src_off, P.n_src, fill + cur, out_tgt, out_w, out_d)


def generate_units(Plans plans, const int64_t[:, ::1] units, const int64_t[::1] uoff, double h, uint64_t seed,
                   int64_t[::1] fill, tgt_t[::1] out_tgt, float[::1] out_w, uint16_t[::1] out_d, int scheme=1,
                   Scratch scratch=None):
    """Pass 2 split in chunks (plans of one source population): chunk c (on thread c) draws the
    units uoff[c] .. uoff[c+1]-1 (as :func:`count_units`) and writes each synapse to the slot
    ``fill[first cursor + j]`` of its sub-row (advanced), j its source's index in the population: the
    chunk's cursors, which start where the chunks before it end (from :func:`count_units`' counts).
    Returns (min_delay, max_delay) in steps; max_delay 65536 flags a delay that does not fit in 16 bits."""
    cdef int64_t C = uoff.shape[0] - 1, B = plans.T
    cdef int64_t cap = 1
    cdef int c, k
    cdef double inv_h = 1.0 / h, t0
    cdef _scratch* sc
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be 1 or 2, got {scheme}")
    _check_units(plans, units, uoff, fill.shape[0])
    for k in range(plans.n):
        if plans.p[k].src_off != plans.p[0].src_off or plans.p[k].n_src != plans.p[0].n_src:
            raise ValueError("generate_units takes plans of one source population")
        if plans.p[k].tgt_local == NULL and plans.p[k].tb[B] > 0:
            raise ValueError("generate_units needs every plan's tgt_local")
        cap = max(cap, plans.p[k].one_target)
    cdef int64_t[:, ::1] dext = np.zeros((C, 8), dtype=np.int64)
    for c in range(C):
        dext[c, 0] = 1 << 40
    if scratch is None:
        scratch = Scratch(C)
    scratch.reserve(C, cap)
    sc = scratch.sc
    cdef int64_t* fp = &fill[0] if fill.shape[0] else NULL
    with nogil:
        for c in prange(C, num_threads=C, schedule="static", chunksize=1):
            t0 = _tcpu()
            if scheme == 2:
                _generate_units(<px2_stream*> NULL, plans.p, &units[0, 0] if units.shape[0] else NULL, uoff[c],
                                uoff[c + 1], inv_h, seed, fp,
                                &out_tgt[0] if out_tgt.shape[0] else NULL, &out_w[0] if out_w.shape[0] else NULL,
                                &out_d[0] if out_d.shape[0] else NULL, &sc[omp_get_thread_num()], &dext[c, 0])
            else:
                _generate_units(<px_stream*> NULL, plans.p, &units[0, 0] if units.shape[0] else NULL, uoff[c],
                                uoff[c + 1], inv_h, seed, fp,
                                &out_tgt[0] if out_tgt.shape[0] else NULL, &out_w[0] if out_w.shape[0] else NULL,
                                &out_d[0] if out_d.shape[0] else NULL, &sc[omp_get_thread_num()], &dext[c, 0])
            _tcpu_add(1, t0)
    return int(np.min(dext[:, 0])), int(np.max(dext[:, 1]))


def group_rows_split(const int64_t[::1] ptr, tgt_t[::1] tgt, float[::1] w, uint16_t[::1] d, int64_t[::1] nruns,
                     const int64_t[::1] rbounds):
    """:func:`group_rows_by_delay` and the rows' numbers of delay runs (in ``nruns[r + 1]``, as
    :func:`generate_plans` with rows) in one pass, the rows cut in chunks: chunk c (on thread c)
    takes rows rbounds[c] .. rbounds[c+1]-1 (cut where the synapses balance)."""
    cdef int64_t C = rbounds.shape[0] - 1
    cdef int c
    cdef int64_t r, maxlen
    cdef tgt_t* t2
    cdef float* w2
    cdef uint16_t* d2
    cdef int64_t* start
    cdef int failed = 0
    cdef int* failp = &failed
    cdef double t0
    if C < 1 or rbounds[0] != 0 or rbounds[C] != ptr.shape[0] - 1 or nruns.shape[0] != ptr.shape[0]:
        raise ValueError("rbounds must cut the rows 0 .. len(ptr)-1; nruns needs one entry per row plus one")
    if ptr.shape[0] < 2 or ptr[ptr.shape[0] - 1] == 0:
        return
    with nogil:
        for c in prange(C, num_threads=C, schedule="static", chunksize=1):
            t0 = _tcpu()
            maxlen = 1
            for r in range(rbounds[c], rbounds[c + 1]):
                if ptr[r + 1] - ptr[r] > maxlen:
                    maxlen = ptr[r + 1] - ptr[r]
            t2 = <tgt_t*> malloc(maxlen * sizeof(tgt_t))
            w2 = <float*> malloc(maxlen * sizeof(float))
            d2 = <uint16_t*> malloc(maxlen * sizeof(uint16_t))
            start = <int64_t*> malloc(65537 * sizeof(int64_t))
            if t2 == NULL or w2 == NULL or d2 == NULL or start == NULL:
                failp[0] = 1
            else:
                for r in range(rbounds[c], rbounds[c + 1]):
                    _group_row(ptr[r], ptr[r + 1], &tgt[0], &w[0], &d[0], t2, w2, d2, start)
                    nruns[r + 1] = _row_runs(&d[0], ptr[r], ptr[r + 1])
            free(t2)
            free(w2)
            free(d2)
            free(start)
            _tcpu_add(2, t0)
    if failed:
        raise MemoryError("out of memory sorting the synapse rows by delay")
