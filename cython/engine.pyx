# cython: language_level=3
"""The engine's hot loops: one min-delay interval of neuron updates, packing
spikes for the exchange, and canonical delivery into the delay ring buffers.

Update order per step follows NEST's iaf_psc_exp / iaf_psc_delta: the input
that arrives in step t is read from ring slot t % D at the start of the step,
the threshold test and reset come at its end, and a spike of step t carries
the time stamp (t + 1) * h. A spike emitted in step t with delay d enters the
target's input in step t + d.

Delivery order is canonical: spikes of an interval are sorted by (emission
step, source gid) before their synapses are visited, and the synapses of one
source keep their generation order, so every floating-point input sum is
formed in the same order whatever the number of ranks or the partition.
"""
import numpy as np
cimport numpy as cnp
from libc.stdlib cimport qsort, malloc, free
from libc.string cimport memset

include "philox.pxi"
include "plastic.pxi"

cdef extern from "update.h" nogil:
    int64_t parsnn_update_exp_uniform(int64_t start, int64_t end, double* V, double* iex, double* iin,
                                      int32_t* r, double* rex, double* rin, double p22, double p21ex,
                                      double p21in, double p20, double p11ex, double p11in, double ie,
                                      double theta, double vreset, int32_t refr, int64_t* out)

cdef extern from "deliver.h" nogil:
    void parsnn_scatter_row(int64_t a, int64_t b, int64_t slot0, int64_t D, int64_t n, const uint32_t* tgt,
                            const float* w, const uint16_t* d, double* rex, double* rin)

cnp.import_array()

cdef uint64_t LOW32 = 0xFFFFFFFFUL

cdef enum:
    M_EXP = 0
    M_DELTA = 1
    M_POISSON = 2
    M_ALPHA = 4


cdef int _cmp_u64(const void* a, const void* b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t*> a)[0], y = (<const uint64_t*> b)[0]
    return (x > y) - (x < y)


cdef class EngineState:
    """All per-rank arrays the kernels touch. Filled by parsnn.simulation."""
    # sizes
    cdef public int64_t n_loc, D, n_nodes
    cdef public uint64_t seed, purpose_source
    # segments of local neurons with one model: (start, end, model code, parameter stride);
    # stride 0 marks a segment whose parameters are all equal: read them at index start
    cdef public int64_t[:, ::1] segments
    cdef public int64_t[::1] gids            # local index -> gid (ascending)
    # neuron state and propagators
    cdef public double[::1] V, i_ex, i_in
    cdef public int32_t[::1] r, refr
    cdef public double[::1] p22, p21ex, p21in, p20, p11ex, p11in, ie, theta, vreset, vmin, el
    # poisson_source nodes: mean count per step, active steps [on, off)
    cdef public double[::1] lam
    cdef public int64_t[::1] t_on, t_off
    # Poisson input devices: CSR over local neurons
    cdef public int64_t[::1] pd_ptr, pd_delay
    cdef public double[::1] pd_lam, pd_w
    cdef public uint64_t[::1] pd_purpose
    # ring buffers [D * n_loc], slot-major
    cdef public double[::1] ring_ex, ring_in
    # spikes of the current interval: (lag << 32) | gid
    cdef public uint64_t[::1] spk
    cdef public int64_t n_spk
    # spike recording
    cdef public uint8_t[::1] rec_mask
    cdef public int64_t[::1] rec_step
    cdef public int32_t[::1] rec_gid
    cdef public int64_t n_rec
    # voltage recording
    cdef public int64_t[::1] v_idx
    cdef public int64_t v_every, n_vrows, v_on
    cdef public double[:, ::1] v_buf
    cdef public int64_t[::1] v_step
    # exchange: destinations per local neuron (CSR), gid -> local index
    cdef public int64_t[::1] dst_ptr
    cdef public int32_t[::1] dst_rank
    cdef public int32_t[::1] g2l
    cdef public int32_t[::1] scount, sdispl, rcount, rdispl
    cdef public uint64_t[::1] sendbuf, recvbuf
    # synapses grouped by source gid
    cdef public int64_t[::1] syn_ptr
    cdef public uint32_t[::1] syn_tgt
    cdef public float[::1] syn_w
    cdef public uint16_t[::1] syn_d
    # spikes of virtual sources (spike generators) that have targets here: sorted (step, gid)
    cdef public int64_t[::1] gen_step
    cdef public int32_t[::1] gen_gid
    cdef public int64_t gen_pos
    # counters
    cdef public int64_t n_events, n_delivered_spikes, n_remote_sends
    cdef public int64_t[::1] n_fired          # spikes emitted by each local neuron (counted in pack)
    cdef public int32_t my_rank
    # 1: segments with one parameter set and no Poisson devices use the vector kernel
    # of update.h; 0: every segment takes the scalar kernels (for tests)
    cdef public bint vector_update
    # iaf_psc_alpha (M_ALPHA): the derivatives of the currents and the extra propagators
    # (parsnn/neurons/iaf_psc_alpha.py says which array holds which propagator)
    cdef public double[::1] di_ex, di_in, p31ex, p31in, a21ex, a21in, psc_ex, psc_in
    # plastic synapses and post-spike archives (plastic.pxi); plastic_on: the network has some
    cdef public PlasticState plastic
    cdef public bint plastic_on


cdef inline void _poisson_input(EngineState st, int64_t i, int64_t t, double* wex, double* win) noexcept nogil:
    """Add the Poisson input devices' spikes arriving at neuron i in step t (drawn for
    their emission step t - delay) to *wex (weights >= 0) or *win (weights < 0)."""
    cdef int64_t j
    cdef double w
    cdef px_stream s
    for j in range(st.pd_ptr[i], st.pd_ptr[i + 1]):
        if t >= st.pd_delay[j]:
            px_init(&s, st.seed, st.pd_purpose[j], <uint64_t> st.gids[i], <uint64_t> (t - st.pd_delay[j]))
            w = st.pd_w[j] * <double> px_poisson(&s, st.pd_lam[j])
            if st.pd_w[j] >= 0.0:
                wex[0] = wex[0] + w
            else:
                win[0] = win[0] + w


cdef inline int64_t _emit(EngineState st, int64_t i, int64_t t, int64_t lag, int64_t nspk) noexcept nogil:
    """Append neuron i's spike of step t to the interval's spikes (and the recording)."""
    st.spk[nspk] = ((<uint64_t> lag) << 32) | <uint64_t> st.gids[i]
    if st.plastic_on:    # plastic hook: archive the spike (stamp t + 1) for the STDP synapses onto i
        if parsnn_archive_spike(&st.plastic.c, i, t + 1) != 0:
            st.plastic.out_of_memory = 1
    if st.rec_mask[i]:
        st.rec_step[st.n_rec] = t
        st.rec_gid[st.n_rec] = <int32_t> st.gids[i]
        st.n_rec += 1
    return nspk + 1


cdef int64_t _update_exp(EngineState st, int64_t start, int64_t end, int64_t stride, int64_t base,
                         int64_t t, int64_t lag, int64_t nspk) noexcept nogil:
    """One step of the iaf_psc_exp neurons start..end-1 (NEST's update order).

    Works on raw pointers so that the compiler keeps the array addresses in
    registers; parameters are read at start + (i - start) * stride (stride 0:
    one set shared by the whole segment)."""
    cdef double* V = &st.V[0]
    cdef double* iex = &st.i_ex[0]
    cdef double* iin = &st.i_in[0]
    cdef int32_t* r = &st.r[0]
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef const double* p22 = &st.p22[start]
    cdef const double* p21ex = &st.p21ex[start]
    cdef const double* p21in = &st.p21in[start]
    cdef const double* p20 = &st.p20[start]
    cdef const double* p11ex = &st.p11ex[start]
    cdef const double* p11in = &st.p11in[start]
    cdef const double* ie = &st.ie[start]
    cdef const double* theta = &st.theta[start]
    cdef const double* vreset = &st.vreset[start]
    cdef const int32_t* refr = &st.refr[start]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double wex, win, v
    for i in range(start, end):
        k = (i - start) * stride
        wex = rex[i]
        win = rin[i]
        rex[i] = 0.0
        rin[i] = 0.0
        if devices:
            _poisson_input(st, i, t, &wex, &win)
        v = V[i]
        if r[i] == 0:
            v = v * p22[k] + iex[i] * p21ex[k] + iin[i] * p21in[k] + ie[k] * p20[k]
        else:
            r[i] -= 1
        iex[i] = iex[i] * p11ex[k] + wex
        iin[i] = iin[i] * p11in[k] + win
        if v >= theta[k]:
            r[i] = refr[k]
            v = vreset[k]
            V[i] = v
            nspk = _emit(st, i, t, lag, nspk)
        else:
            V[i] = v
    return nspk


cdef int64_t _update_delta(EngineState st, int64_t start, int64_t end, int64_t stride, int64_t base,
                           int64_t t, int64_t lag, int64_t nspk) noexcept nogil:
    """One step of the iaf_psc_delta neurons start..end-1 (NEST's update order:
    input arriving during refractoriness is discarded); parameters as in _update_exp."""
    cdef double* V = &st.V[0]
    cdef int32_t* r = &st.r[0]
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef const double* p22 = &st.p22[start]
    cdef const double* p20 = &st.p20[start]
    cdef const double* ie = &st.ie[start]
    cdef const double* vmin = &st.vmin[start]
    cdef const double* theta = &st.theta[start]
    cdef const double* vreset = &st.vreset[start]
    cdef const int32_t* refr = &st.refr[start]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double w, v
    for i in range(start, end):
        k = (i - start) * stride
        w = rex[i] + rin[i]
        rex[i] = 0.0
        rin[i] = 0.0
        if devices:
            _poisson_input(st, i, t, &w, &w)      # one input sum for delta synapses
        v = V[i]
        if r[i] == 0:
            v = p20[k] * ie[k] + p22[k] * v + w
            if v < vmin[k]:
                v = vmin[k]
        else:
            r[i] -= 1
        if v >= theta[k]:
            r[i] = refr[k]
            v = vreset[k]
            nspk = _emit(st, i, t, lag, nspk)
        V[i] = v
    return nspk


cdef int64_t _update_alpha(EngineState st, int64_t start, int64_t end, int64_t stride, int64_t base,
                           int64_t t, int64_t lag, int64_t nspk) noexcept nogil:
    """One step of the iaf_psc_alpha neurons start..end-1 in NEST's update order: membrane
    (with the currents of the previous step; clipped at V_min), refractory count, currents,
    this step's input into dI, threshold. Parameters as in _update_exp."""
    cdef double* V = &st.V[0]
    cdef double* iex = &st.i_ex[0]
    cdef double* iin = &st.i_in[0]
    cdef double* dex = &st.di_ex[0]
    cdef double* din = &st.di_in[0]
    cdef int32_t* r = &st.r[0]
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double wex, win, v
    for i in range(start, end):
        k = start + (i - start) * stride
        wex = rex[i]
        win = rin[i]
        rex[i] = 0.0
        rin[i] = 0.0
        if devices:
            _poisson_input(st, i, t, &wex, &win)
        v = V[i]
        if r[i] == 0:
            v = (st.p20[k] * st.ie[k] + st.p31ex[k] * dex[i] + st.p21ex[k] * iex[i] + st.p31in[k] * din[i]
                 + st.p21in[k] * iin[i] + st.p22[k] * v + v)
            if v < st.vmin[k]:
                v = st.vmin[k]
        else:
            r[i] -= 1
        iex[i] = st.a21ex[k] * dex[i] + st.p11ex[k] * iex[i]
        dex[i] = dex[i] * st.p11ex[k]
        dex[i] = dex[i] + st.psc_ex[k] * wex
        iin[i] = st.a21in[k] * din[i] + st.p11in[k] * iin[i]
        din[i] = din[i] * st.p11in[k]
        din[i] = din[i] + st.psc_in[k] * win
        if v >= st.theta[k]:
            r[i] = st.refr[k]
            v = st.vreset[k]
            nspk = _emit(st, i, t, lag, nspk)
        V[i] = v
    return nspk


def run_interval(EngineState st, int64_t t0, int64_t m):
    """Update all local neurons for steps t0 .. t0+m-1. Returns the number of spikes."""
    cdef int64_t n = st.n_loc, D = st.D
    cdef int64_t t, i, j, seg, start, end, model, stride, base, lag, nspk = 0
    cdef int64_t nseg = st.segments.shape[0]
    cdef px_stream s
    cdef int64_t nv = st.v_idx.shape[0], nf
    cdef int64_t* fired = <int64_t*> malloc(max(n, 1) * sizeof(int64_t))
    if fired == NULL:
        raise MemoryError()
    with nogil:
        for t in range(t0, t0 + m):
            base = (t % D) * n
            lag = t - t0
            for seg in range(nseg):
                start = st.segments[seg, 0]
                end = st.segments[seg, 1]
                model = st.segments[seg, 2]
                stride = st.segments[seg, 3]
                if model == M_EXP and stride == 0 and st.vector_update and st.pd_ptr[end] == st.pd_ptr[start]:
                    # one parameter set, no Poisson devices: the vectorized kernel of update.h
                    nf = parsnn_update_exp_uniform(start, end, &st.V[0], &st.i_ex[0], &st.i_in[0], &st.r[0],
                                                   &st.ring_ex[base], &st.ring_in[base], st.p22[start],
                                                   st.p21ex[start], st.p21in[start], st.p20[start],
                                                   st.p11ex[start], st.p11in[start], st.ie[start],
                                                   st.theta[start], st.vreset[start], st.refr[start], fired)
                    for j in range(nf):
                        nspk = _emit(st, fired[j], t, lag, nspk)
                elif model == M_EXP:
                    nspk = _update_exp(st, start, end, stride, base, t, lag, nspk)
                elif model == M_DELTA:
                    nspk = _update_delta(st, start, end, stride, base, t, lag, nspk)
                elif model == M_ALPHA:
                    nspk = _update_alpha(st, start, end, stride, base, t, lag, nspk)
                elif model == M_POISSON:
                    for i in range(start, end):
                        if t >= st.t_on[i] and t < st.t_off[i]:
                            px_init(&s, st.seed, st.purpose_source, <uint64_t> st.gids[i], <uint64_t> t)
                            if px_poisson(&s, st.lam[i]) > 0:
                                nspk = _emit(st, i, t, lag, nspk)
            if st.v_on and (t + 1) % st.v_every == 0:
                for j in range(nv):
                    i = st.v_idx[j]
                    st.v_buf[st.n_vrows, j] = st.V[i] + st.el[i]
                st.v_step[st.n_vrows] = t
                st.n_vrows += 1
    free(fired)
    st.n_spk = nspk
    if st.plastic_on and st.plastic.out_of_memory:      # plastic hook: an archive could not grow
        raise MemoryError("out of memory for the postsynaptic spike archives")
    return nspk


def pack(EngineState st, int nranks):
    """Sort the interval's spikes into per-destination blocks of the send buffer.

    Only ranks that host targets of a neuron receive its spikes. Fills scount,
    sdispl; counts each local neuron's spikes (n_fired); counts the spike copies sent to other ranks (remote deliveries);
    returns the number of words to send."""
    cdef int64_t k, i, j, q, total = 0
    cdef int rnk
    cdef uint64_t code
    with nogil:
        for rnk in range(nranks):
            st.scount[rnk] = 0
        for k in range(st.n_spk):
            i = st.g2l[<int64_t> (st.spk[k] & LOW32)]
            st.n_fired[i] += 1
            for j in range(st.dst_ptr[i], st.dst_ptr[i + 1]):
                st.scount[st.dst_rank[j]] += 1
        for rnk in range(nranks):
            st.sdispl[rnk] = <int32_t> total
            total += st.scount[rnk]
        st.n_remote_sends += total - st.scount[st.my_rank]
        for rnk in range(nranks):
            st.rcount[rnk] = st.sdispl[rnk]     # reused as fill pointers
        for k in range(st.n_spk):
            code = st.spk[k]
            i = st.g2l[<int64_t> (code & LOW32)]
            for j in range(st.dst_ptr[i], st.dst_ptr[i + 1]):
                rnk = st.dst_rank[j]
                q = st.rcount[rnk]
                st.sendbuf[q] = code
                st.rcount[rnk] = <int32_t> (q + 1)
    return total


def recv_displacements(EngineState st, int nranks):
    """Prefix sum of rcount into rdispl; returns the total number of words."""
    cdef int64_t total = 0
    cdef int rnk
    for rnk in range(nranks):
        st.rdispl[rnk] = <int32_t> total
        total += st.rcount[rnk]
    return total


def deliver(EngineState st, int64_t t0, int64_t m, int64_t n_recv):
    """Deliver the received spikes of the interval [t0, t0+m) (plus spike-generator
    spikes of that interval) into the ring buffers, in canonical order."""
    cdef int64_t n = st.n_loc, D = st.D
    cdef int64_t k, q, g, slot0, slot, base, nrecv = n_recv, events = 0
    cdef uint64_t code
    cdef float w
    cdef uint64_t* buf = &st.recvbuf[0]
    with nogil:
        # spike generators: their spikes are known on every rank
        while st.gen_pos < st.gen_step.shape[0] and st.gen_step[st.gen_pos] < t0 + m:
            if st.gen_step[st.gen_pos] >= t0:
                buf[nrecv] = ((<uint64_t> (st.gen_step[st.gen_pos] - t0)) << 32) | <uint64_t> st.gen_gid[st.gen_pos]
                nrecv += 1
            st.gen_pos += 1
        if nrecv > 1:
            qsort(buf, nrecv, sizeof(uint64_t), _cmp_u64)
        for k in range(nrecv):
            code = buf[k]
            g = <int64_t> (code & LOW32)
            slot0 = (t0 + <int64_t> (code >> 32)) % D     # ring slot of the emission step
            parsnn_scatter_row(st.syn_ptr[g], st.syn_ptr[g + 1], slot0, D, n, &st.syn_tgt[0], &st.syn_w[0],
                               &st.syn_d[0], &st.ring_ex[0], &st.ring_in[0])
            events += st.syn_ptr[g + 1] - st.syn_ptr[g]
            if st.plastic_on:    # plastic hook: the plastic rows of g, after its static row (canonical order)
                events += parsnn_plastic_deliver(&st.plastic.c, g, t0 + <int64_t> (code >> 32), slot0, D, n,
                                                 &st.ring_ex[0], &st.ring_in[0])
        st.n_events += events
        st.n_delivered_spikes += nrecv
    return nrecv
