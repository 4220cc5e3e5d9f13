# Plastic synapses and the postsynaptic spike archive (included by engine.pyx); the kernels are
# in plastic.h, the build in parsnn/engine/plasticity.py.

cdef extern from "plastic.h" nogil:
    ctypedef struct parsnn_hent_t:
        int64_t t
        int32_t cnt
    ctypedef struct parsnn_hist_t:
        parsnn_hent_t* e
        double* k
        int32_t start, end, cap
    ctypedef struct parsnn_hq_t:
        int64_t newest, prev, prev2, kq_t
        int32_t pn, pp
        double kq_v
    ctypedef struct parsnn_plastic_t:
        int64_t n
        parsnn_hist_t* hist
        parsnn_hq_t* hq
        double* kminus
        int64_t* last_t
        const double* tau_minus_inv
        const int32_t* n_incoming
        const int32_t* max_delay
        int64_t min_delay
        double h
        int64_t n_proj
        const int64_t* soff
        const int64_t* nsrc
        const int64_t* row_off
        const int64_t* src_off
        const int32_t* model
        const double* tau_plus
        const double* lambda_ "lambda"
        const double* alpha
        const double* mu_plus
        const double* mu_minus
        const double* wmax
        const int64_t* ptr
        const void* tgt
        int32_t tgt16
        const uint16_t* d
        const int64_t* d_base
        const int32_t* dconst
        double* w
        double* kplus
        int64_t* tlast
        int64_t T
        double* pre_k
        int64_t* pre_t
        int64_t pre_cap
        double* ftab
        int32_t power
        int64_t* fac
    enum: PARSNN_FTAB_LEN
    enum: PARSNN_POWER_LIBM
    enum: PARSNN_POWER_NEWTON
    double parsnn_wpow(int32_t newton, double x, double y)
    void parsnn_root25_init()
    int parsnn_fac_set_level(int level)
    int parsnn_fac_get_level()
    void parsnn_fac_apply_lambda "parsnn_fac_apply_l" (double lam, double mu, const double* x, const double* kp, double* out,
                                                       int32_t n)
    parsnn_hist_t* parsnn_hist_alloc(int64_t n)
    int parsnn_plastic_tables(parsnn_plastic_t* p)
    int parsnn_hist_push(parsnn_hist_t* hs, int64_t t, double k, int32_t cnt)
    void parsnn_hist_free(parsnn_hist_t* hs)
    void parsnn_hq_reset(parsnn_plastic_t* p)
    int parsnn_archive_spike(parsnn_plastic_t* p, int64_t i, int64_t t)
    int parsnn_archive_spikes(parsnn_plastic_t* p, const uint64_t* codes, int64_t nspk, const int32_t* g2l,
                              int64_t t0)
    int64_t parsnn_plastic_prepare(parsnn_plastic_t* p, const uint64_t* codes, int64_t nrecv, int64_t t0)
    int64_t parsnn_plastic_deliver(parsnn_plastic_t* p, int64_t k, int64_t g, int64_t s, int64_t slot0,
                                   int64_t D, int64_t n, double* rex, double* rin, int64_t th, int64_t mult)


#: (name, dtype) of the arrays a PlasticState points into (and "tgt": uint16 or uint32)
_PLASTIC_ARRAYS = (
    ("kminus", np.float64), ("last_t", np.int64), ("tau_minus_inv", np.float64), ("n_incoming", np.int32),
    ("max_delay", np.int32), ("soff", np.int64), ("nsrc", np.int64), ("row_off", np.int64),
    ("src_off", np.int64), ("model", np.int32), ("tau_plus", np.float64), ("lambda", np.float64),
    ("alpha", np.float64), ("mu_plus", np.float64), ("mu_minus", np.float64), ("wmax", np.float64),
    ("ptr", np.int64), ("d", np.uint16), ("d_base", np.int64), ("dconst", np.int32), ("w", np.float64),
    ("kplus", np.float64), ("tlast", np.int64))

#: the kernel's codes of the ways stdp_pl_synapse_hom's facilitation computes w^mu (parsnn.engine.plasticity)
WEIGHT_POWERS = {"libm": PARSNN_POWER_LIBM, "newton": PARSNN_POWER_NEWTON}


def weight_power(const double[::1] x, double mu, str scheme):
    """The facilitation's x^mu for every x as the kernel computes it under ``scheme`` (WEIGHT_POWERS) for a
    stdp_pl_synapse_hom projection of exponent ``mu`` (for tests)."""
    cdef int32_t newton = WEIGHT_POWERS[scheme] == PARSNN_POWER_NEWTON and mu == 0.4
    cdef Py_ssize_t i
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    for i in range(x.shape[0]):
        o[i] = parsnn_wpow(newton, x[i], mu)
    return out


def facilitation_level(level=None):
    """The facilitation pass stdp_pl_synapse_hom's Newton power runs in this process (cython/plastic.h parsnn_fac_level):
    -1 the loop synapse by synapse, 0, 1, 2 the batched pass with the baseline, AVX2 or AVX-512 kernel. With ``level``,
    sets it first (a level this CPU lacks, or None with nothing set yet: the best it has). Every level gives the same
    bits; for tests and benchmarks."""
    if level is not None:
        return parsnn_fac_set_level(int(level))
    return parsnn_fac_get_level()


def facilitation_batch(const double[::1] x, const double[::1] kp, double lam):
    """stdp_pl_synapse_hom's facilitation x + lam x^0.4 kp of every x as the batched pass computes it (at the current
    facilitation_level's kernel; Newton power; outside its range the library's pow), for tests."""
    if x.shape[0] != kp.shape[0]:
        raise ValueError("x and kp differ in length")
    parsnn_root25_init()
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    if x.shape[0]:
        parsnn_fac_apply_lambda(lam, 0.4, &x[0], &kp[0], &o[0], <int32_t> x.shape[0])
    return out


#: bytes per local neuron of its post-spike archive's header and dense record (parsnn_hq_t), and of one
#: projection's facilitation table
PLASTIC_HIST_BYTES = sizeof(parsnn_hist_t) + sizeof(parsnn_hq_t)
PLASTIC_FTAB_BYTES = PARSNN_FTAB_LEN * sizeof(double)


cdef void* _data(object arr):
    return cnp.PyArray_DATA(<cnp.ndarray> arr)


cdef class PlasticState:
    """The plastic synapses of one rank (rows by projection and source, split per owning thread) and the post-spike
    archives of its neurons. ``arrays`` holds the numpy arrays the C kernels work on in place
    (``w`` the weights, ``kplus``/``tlast`` the sources' traces, ``kminus``/``last_t`` the
    neurons' traces); the histories live in C memory (:meth:`history`, :meth:`set_history`)."""
    cdef parsnn_plastic_t c
    cdef public dict arrays
    cdef public int out_of_memory

    def __cinit__(self):
        memset(&self.c, 0, sizeof(parsnn_plastic_t))

    def setup(self, int64_t n, double h, int64_t min_delay, dict arrays, int64_t threads=1, int power=0):
        """Point the kernel at ``arrays`` (the names of _PLASTIC_ARRAYS; converted to their dtypes)
        for ``n`` local neurons whose rows are split into ``threads`` sub-rows; empty histories.
        ``power``: how stdp_pl_synapse_hom's facilitation computes w^mu (WEIGHT_POWERS' codes)."""
        cdef int64_t i
        self._free()
        self.arrays = {name: np.ascontiguousarray(arrays[name], dtype=dt) for name, dt in _PLASTIC_ARRAYS}
        tgt = arrays["tgt"]
        if tgt.dtype not in (np.uint16, np.uint32) or not tgt.flags.c_contiguous:
            raise ValueError(f"the plastic targets must be a contiguous uint16 or uint32 array, got {tgt.dtype}")
        self.arrays["tgt"] = tgt
        a = self.arrays
        if power not in (PARSNN_POWER_LIBM, PARSNN_POWER_NEWTON):
            raise ValueError(f"unknown weight power code {power}")
        self.c.power = power
        self.c.n, self.c.h, self.c.min_delay, self.c.T = n, h, min_delay, threads
        self.c.n_proj = a["soff"].shape[0]
        self.c.kminus = <double*> _data(a["kminus"])
        self.c.last_t = <int64_t*> _data(a["last_t"])
        self.c.tau_minus_inv = <double*> _data(a["tau_minus_inv"])
        self.c.n_incoming = <int32_t*> _data(a["n_incoming"])
        self.c.max_delay = <int32_t*> _data(a["max_delay"])
        self.c.soff = <int64_t*> _data(a["soff"])
        self.c.nsrc = <int64_t*> _data(a["nsrc"])
        self.c.row_off = <int64_t*> _data(a["row_off"])
        self.c.src_off = <int64_t*> _data(a["src_off"])
        self.c.model = <int32_t*> _data(a["model"])
        self.c.tau_plus = <double*> _data(a["tau_plus"])
        self.c.lambda_ = <double*> _data(a["lambda"])
        self.c.alpha = <double*> _data(a["alpha"])
        self.c.mu_plus = <double*> _data(a["mu_plus"])
        self.c.mu_minus = <double*> _data(a["mu_minus"])
        self.c.wmax = <double*> _data(a["wmax"])
        self.c.ptr = <int64_t*> _data(a["ptr"])
        self.c.tgt = _data(a["tgt"])
        self.c.tgt16 = a["tgt"].dtype == np.uint16
        self.c.d = <uint16_t*> _data(a["d"])
        self.c.d_base = <int64_t*> _data(a["d_base"])
        self.c.dconst = <int32_t*> _data(a["dconst"])
        self.c.w = <double*> _data(a["w"])
        self.c.kplus = <double*> _data(a["kplus"])
        self.c.tlast = <int64_t*> _data(a["tlast"])
        self.c.hist = parsnn_hist_alloc(n)
        # line-aligned: with the threads' split points on 16-neuron bounds no line holds two threads' memos
        if posix_memalign(<void**> &self.c.hq, 64, <size_t> max(n, 1) * sizeof(parsnn_hq_t)) != 0:
            self.c.hq = NULL
        self.c.fac = <int64_t*> calloc(<size_t> max(threads, 1) * 8, sizeof(int64_t))  # one line per thread
        if self.c.hist == NULL or self.c.hq == NULL or self.c.fac == NULL or parsnn_plastic_tables(&self.c) != 0:
            raise MemoryError()
        for i in range(n):
            parsnn_hist_free(&self.c.hist[i])     # the empty state (no entries, no memo)
        parsnn_hq_reset(&self.c)

    def history(self):
        """The archives as CSR over local neurons: (counts int64 [n], stamps int64, Kminus float64,
        access counters int32)."""
        cdef int64_t i, j, total = 0
        counts = np.zeros(self.c.n, dtype=np.int64)
        for i in range(self.c.n):
            counts[i] = self.c.hist[i].end - self.c.hist[i].start
            total += counts[i]
        t = np.empty(total, dtype=np.int64)
        k = np.empty(total, dtype=np.float64)
        cnt = np.empty(total, dtype=np.int32)
        total = 0
        for i in range(self.c.n):
            for j in range(self.c.hist[i].start, self.c.hist[i].end):
                t[total] = self.c.hist[i].e[j].t
                k[total] = self.c.hist[i].k[j]
                cnt[total] = self.c.hist[i].e[j].cnt
                total += 1
            if counts[i] > 0:                      # the two newest entries' reads counted in hq
                cnt[total - 1] += self.c.hq[i].pn
            if counts[i] > 1:
                cnt[total - 2] += self.c.hq[i].pp
        return counts, t, k, cnt

    def facilitations(self):
        """Facilitations since :meth:`setup`, over all threads: post spikes read by a plastic synapse (each
        archived post spike is read once by every plastic synapse onto its neuron whose source spikes after it)."""
        cdef int64_t th, total = 0
        if self.c.fac != NULL:
            for th in range(self.c.T):
                total += self.c.fac[th * 8]
        return int(total)

    def history_windows(self):
        """Facilitation windows since :meth:`setup`, over all threads, that may hold older post spikes than the dense
        record's two newest, so that the neuron's history was searched (cython/plastic.h: the common window needs
        the dense record alone). Their share of the plastic events grows while the archives fill."""
        cdef int64_t th, total = 0
        if self.c.fac != NULL:
            for th in range(self.c.T):
                total += self.c.fac[th * 8 + 1]
        return int(total)

    def set_history(self, counts, t, k, cnt):
        """Replace the archives by the CSR arrays of :meth:`history`."""
        cdef int64_t i, j, pos = 0
        for i in range(self.c.n):
            parsnn_hist_free(&self.c.hist[i])
            for j in range(counts[i]):
                if parsnn_hist_push(&self.c.hist[i], t[pos], k[pos], cnt[pos]) != 0:
                    raise MemoryError()
                pos += 1
        parsnn_hq_reset(&self.c)

    def _free(self):
        cdef int64_t i
        free(self.c.pre_k)
        free(self.c.pre_t)
        free(self.c.ftab)
        free(self.c.hq)
        free(self.c.fac)
        self.c.pre_k, self.c.pre_t, self.c.pre_cap, self.c.ftab, self.c.hq, self.c.fac = NULL, NULL, 0, NULL, NULL, NULL
        if self.c.hist != NULL:
            for i in range(self.c.n):
                parsnn_hist_free(&self.c.hist[i])
            free(self.c.hist)
            self.c.hist = NULL

    def __dealloc__(self):
        cdef int64_t i
        free(self.c.pre_k)
        free(self.c.pre_t)
        free(self.c.ftab)
        free(self.c.hq)
        free(self.c.fac)
        if self.c.hist != NULL:
            for i in range(self.c.n):
                parsnn_hist_free(&self.c.hist[i])
            free(self.c.hist)


ctypedef fused plastic_tgt_t:
    uint16_t
    uint32_t


def plastic_place(const int64_t[::1] counts, int64_t[::1] fill, const uint32_t[::1] btgt, const float[::1] bw,
                  const uint16_t[::1] bd, plastic_tgt_t[::1] tgt, double[::1] w, uint16_t[::1] d, int64_t d_base,
                  bint one_weight, double weight, int32_t[::1] n_incoming, int32_t[::1] max_delay, int T=1):
    """Move a block of drawn synapses to their places in the plastic store (parsnn.engine.plastic_store).

    The block holds, one sub-row after the other, counts[r] synapses of every sub-row r (targets
    btgt, float32 weights bw, delays bd, in row order); they go to the sub-row's next slots
    fill[r] .. (advanced): targets into ``tgt`` (uint16 or uint32), weights into ``w`` as float64
    (all ``weight`` if ``one_weight``), delays into d[slot - d_base] unless ``d`` is empty (the
    projection keeps one delay). Adds each synapse to its target's count (n_incoming) and largest
    delay (max_delay). Sub-row r = s * T + th holds synapses onto thread th's targets only: ``T``
    threads place them, thread th its own sub-rows, so no two threads write one slot or one
    target's count (the first touch of the store's pages is shared too); the result does not
    depend on T."""
    cdef int64_t r, q, src, pos, nrows = counts.shape[0]
    cdef int64_t total = 0
    cdef int th
    cdef uint32_t i
    cdef bint keep_d = d.shape[0] > 0
    if T < 1:
        raise ValueError(f"plastic_place: T must be at least 1, got {T}")
    if fill.shape[0] < nrows:
        raise ValueError("plastic_place: fewer slots than sub-rows")
    cdef int64_t[::1] start = np.empty(nrows + 1, dtype=np.int64)     # sub-row r's first synapse in the block
    start[0] = 0
    for r in range(nrows):
        if counts[r] < 0:
            raise ValueError("plastic_place: a negative count")
        total += counts[r]
        start[r + 1] = total
        if fill[r] < 0 or fill[r] + counts[r] > tgt.shape[0] or fill[r] + counts[r] > w.shape[0] or (
                keep_d and (fill[r] - d_base < 0 or fill[r] + counts[r] - d_base > d.shape[0])):
            raise ValueError("plastic_place: a sub-row runs past the store")
    if total > btgt.shape[0] or total > bw.shape[0] or total > bd.shape[0]:
        raise ValueError("plastic_place: the block is shorter than its counts")
    if total == 0:
        return
    for th in prange(T, nogil=True, num_threads=T, schedule="static", chunksize=1):
        r = th
        while r < nrows:
            pos = fill[r]
            src = start[r]
            for q in range(counts[r]):
                i = btgt[src]
                tgt[pos] = <plastic_tgt_t> i
                w[pos] = weight if one_weight else <double> bw[src]
                if keep_d:
                    d[pos - d_base] = bd[src]
                n_incoming[i] += 1
                if bd[src] > max_delay[i]:
                    max_delay[i] = bd[src]
                pos = pos + 1
                src = src + 1
            fill[r] = pos
            r = r + T
