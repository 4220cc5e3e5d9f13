# cython: language_level=3
"""The engine's hot loops: the whole min-delay step loop (neuron updates, the spike exchange,
canonical delivery into the delay ring buffers, record buffering) in one call, on T threads.

Update order per step follows NEST's iaf_psc_exp / iaf_psc_delta: the input
that arrives in step t is read from ring slot t % D at the start of the step,
the threshold test and reset come at its end, and a spike of step t carries
the time stamp (t + 1) * h. A spike emitted in step t with delay d enters the
target's input in step t + d.

Delivery order is canonical: spikes of an interval are sorted by (emission
step, source gid) before their synapses are visited, and the synapses of one
source keep their generation order, so every floating-point input sum is
formed in the same order whatever the number of ranks, threads or the partition.

Spike code (uint64, one per source and step): bits 0-31 the source gid, 32-47 the emission step's
lag in the interval (< min delay <= 65535 steps), 48-63 the multiplicity minus 1 (NEST's
SpikeEvent multiplicity: a poisson_source, NEST's poisson_generator -> parrot_neuron, passes on
its k spikes of a step as one event of multiplicity k; every other node sends k = 1, so its code
is (lag << 32) | gid). The code travels unchanged through the exchange. NEST unrolls the event into
k spikes of the same step (EventDeliveryManager::send_remote, "as plastic synapses only handle
individual spikes"): a static target receives weight x k (k x w, summed once: the value of k
additions up to their rounding, whose order NEST does not fix), a plastic synapse is updated k times
(cython/plastic.h), the spike record holds k rows (NEST's spike_recorder) and the spike counts
count k (NEST's local spike counter).

Synapse rows (cython/deliver.h, both widths in cython/deliver_kernels.h): target uint16 (syn_tgt16, when the rank has at most 2 x 65536
local neurons: tgt16; relative to the first neuron of its thread's window on a rank of more than
65536: syn_base) or uint32 (syn_tgt) + weight float32 per synapse, the delays once per run of equal
delay. Rings (parsnn/engine/rings.py): with one_ring, ring_ex takes every weight (one
current per neuron: i_ex; i_in stays 0) and ring_in is one slot of zeros that the update kernels
read; otherwise ring_ex takes the weights >= 0 and ring_in the others.

Threads (OpenMP): thread k owns the local neurons parsnn/engine/decomposition.py gives it (the
owner rule: "major", one contiguous block per thread, by default; "split", a part of every
population), contiguous within every update segment (st.owner[i]: the owner of neuron i), and the sub-rows
syn_ptr[r*B+k*W] .. syn_ptr[r*B+k*W+W] of every source g, r = syn_row[g] its compact row (B = T x W: its
synapses onto those neurons, window by window, in the order of the source's whole row; only the sources
with synapses on the rank have rows, the others map to an empty last row: parsnn/engine/source_rows.py).
Each thread updates its own neurons and walks all received
spikes in canonical order, scattering only into its own neurons' ring entries: no atomics and
no floating-point sum shared between threads.

Exchange (one collective per interval, as NEST): every rank sends every other rank a block of
x_block words by one MPI_Alltoall; the first word of a block holds the number of spikes for
that destination (low 32 bits) and the sender's largest such number (high 32 bits), the rest
the spike codes. So every rank learns the global largest count; if it exceeds a block, all ranks
run one overflow round (a second Alltoall with blocks of the missing size) and grow the block;
a block much larger than the traffic of many intervals shrinks.

Neighbourhood exchange (``set_neighbors``): on a distributed-graph communicator whose edges are the
routes (out: the ranks that host targets of my neurons; in: the ranks whose neurons target mine),
one MPI_Neighbor_alltoallv with a block per edge; both ends of an edge see the same counts, so they
grow and shrink the edge's block alike. Codes beyond a block go by point-to-point messages to that
neighbour only (the receiver knows from the header how many come): nothing involves a rank that is
not a neighbour, so the cost follows a rank's neighbour count, not P. Spikes for the own rank never
leave it.

Waiting (``set_wait``): W_POLL calls the blocking collectives (MPICH busy-polls inside); W_YIELD and
W_SLEEP start the non-blocking ones and test them: ``wait_polls`` tests, then a sched_yield between
tests (W_YIELD), or yields for as long as one short sleep costs on this machine and then nanosleeps of
1, 2, 4 .. 64 us (W_SLEEP), so that a rank waiting for a slower one leaves its core to other work.
W_SLEEP's yield budget (``wait_yield_ns``) is the measured cost of a 1 us nanosleep (``set_wait``):
a wait then costs at most about twice what the best choice would have cost, whatever the machine's
wake-up latency (20 us on one VM here, where 100 yields, about 15 us, ended most waits in a sleep).
While the step loop runs, the calling thread's timer slack is 1 ns (prctl), so that a sleep is not
stretched by the kernel's default 50 us slack; it is restored when the loop returns.
"""
import numpy as np
cimport numpy as cnp
from libc.stdlib cimport qsort, malloc, calloc, free, realloc
from libc.string cimport memcpy, memset
from posix.time cimport clock_gettime, nanosleep, timespec, CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID
from cython.parallel cimport prange, parallel
from openmp cimport omp_get_thread_num, omp_get_num_threads
from mpi4py cimport MPI
from mpi4py cimport libmpi as mpi

include "philox.pxi"
include "plastic.pxi"
include "currents.pxi"

cdef extern from "update.h" nogil:
    int64_t parsnn_update_exp_uniform(int64_t start, int64_t end, double* V, double* iex, double* iin,
                                      int32_t* r, double* rex, double* rin, double p22, double p21ex,
                                      double p21in, double p20, double p11ex, double p11in, double ie,
                                      double theta, double vreset, int32_t refr, int64_t* out)
    int64_t parsnn_update_exp_uniform_1ring(int64_t start, int64_t end, double* V, double* iex, int32_t* r,
                                            double* rex, double p22, double p21ex, double p21in, double p20,
                                            double p11ex, double ie, double theta, double vreset, int32_t refr,
                                            int64_t* out)

cdef extern from "update_alpha.h" nogil:
    ctypedef struct parsnn_alpha_par_t:
        double p20, ie, p31ex, p21ex, p31in, p21in, p22, vmin, theta, vreset
        double a21ex, p11ex, psc_ex, a21in, p11in, psc_in
        int32_t refr
    int64_t parsnn_update_alpha_uniform(int64_t start, int64_t end, double* V, double* iex, double* dex,
                                        double* iin, double* din, int32_t* r, const double* wex,
                                        const double* win, const parsnn_alpha_par_t* pp, int64_t* out)

cdef extern from "deliver_kernels.h" nogil:
    void parsnn_scatter_runs(int64_t a, int64_t b, const int64_t* wr, int64_t nw, const int64_t* wofs,
                             int64_t slot0, int64_t D, int64_t n,
                             const uint32_t* tgt, const float* w, const uint16_t* run_d, const uint32_t* run_n,
                             double* rex, double* rin, double mult, int64_t pf)
    void parsnn_scatter_runs16(int64_t a, int64_t b, const int64_t* wr, int64_t nw, const int64_t* wofs,
                               int64_t slot0, int64_t D, int64_t n,
                               const uint16_t* tgt, const float* w, const uint16_t* run_d, const uint32_t* run_n,
                               double* rex, double* rin, double mult, int64_t pf)
    int64_t PARSNN_PREFETCH

cdef extern from "poisson.h" nogil:
    ctypedef struct parsnn_pchunk_t:
        int64_t j0, j1
        int64_t cnt[256]
    void parsnn_pchunk_init(parsnn_pchunk_t* pc)
    void parsnn_pchunk_fill(parsnn_pchunk_t* pc, uint64_t seed, const int64_t* pd_ptr, const int64_t* delay,
                            const uint64_t* purpose, const double* lam, const int64_t* gids, int64_t i,
                            int64_t end, int64_t t)
    void parsnn_pone_input(parsnn_pchunk_t* pc, uint64_t seed, const int64_t* pd_ptr, const int64_t* delay,
                           const uint64_t* purpose, const double* lam, const double* pw, const int64_t* gids,
                           int64_t i, int64_t n, int64_t t, double* rex, double* rin, int one_ring,
                           double* wbx, double* wbi)
    int parsnn_pone_block(const int64_t* pd_ptr, int64_t i, int64_t n)

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** p, size_t alignment, size_t size)

cdef extern from "<sched.h>" nogil:
    int sched_yield()

cdef extern from "<sys/prctl.h>" nogil:
    int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)
    int PR_SET_TIMERSLACK
    int PR_GET_TIMERSLACK

cdef extern from "team.h" nogil:
    ctypedef struct parsnn_team_sync:
        pass
    void parsnn_team_init(parsnn_team_sync* s, int n, int64_t spin_ns, int64_t yield_ns)
    int64_t parsnn_team_arrive_wait(parsnn_team_sync* s)
    int64_t parsnn_team_collect(parsnn_team_sync* s)
    void parsnn_team_release(parsnn_team_sync* s)

cnp.import_array()

cdef uint64_t LOW32 = 0xFFFFFFFFUL
#: spike code fields (module docstring): lag = (code >> 32) & LAG_MASK, k = (code >> MULT_SHIFT) + 1;
#: the canonical order sorts by code & KEY_MASK = (lag, gid)
cdef uint64_t LAG_MASK = 0xFFFFUL
cdef int MULT_SHIFT = 48
cdef uint64_t KEY_MASK = 0xFFFFFFFFFFFFUL
#: largest multiplicity a code holds (poisson_source's check keeps the mean count per step far below)
cdef int64_t MULT_MAX = 65536

cdef enum:
    M_EXP = 0
    M_DELTA = 1
    M_POISSON = 2
    M_ALPHA = 4

#: how a rank waits for the exchange (see the module docstring)
cdef enum:
    W_POLL = 0
    W_YIELD = 1
    W_SLEEP = 2
WAIT_MODES = {"poll": W_POLL, "yield": W_YIELD, "sleep": W_SLEEP}
#: longest nanosleep of W_SLEEP (ns)
cdef long SLEEP_MAX_NS = 64000
#: bounds of W_SLEEP's yield budget (ns; the measured cost of a short sleep is clipped to them)
cdef int64_t YIELD_MIN_NS = 2000, YIELD_MAX_NS = 200000


cdef int64_t _sleep_cost_ns() noexcept nogil:
    """The median wall time of 9 nanosleeps of 1 us with a timer slack of 1 ns (the step loop's), in ns;
    the caller's timer slack is restored."""
    cdef timespec ts
    cdef double c[9]
    cdef double t0, x
    cdef int i, j
    cdef int old = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    ts.tv_sec = 0
    ts.tv_nsec = 1000
    for i in range(9):
        t0 = _now()
        nanosleep(&ts, NULL)
        x = _now() - t0
        j = i
        while j > 0 and c[j - 1] > x:      # insertion sort
            c[j] = c[j - 1]
            j -= 1
        c[j] = x
    if old > 0:
        prctl(PR_SET_TIMERSLACK, <unsigned long> old, 0, 0, 0)
    return <int64_t> (1e9 * c[4])
#: tag of the neighbourhood exchange's overflow messages (on its own communicator)
cdef int OVERFLOW_TAG = 7

#: intervals over which the exchange block may shrink
cdef int64_t X_WINDOW = 1024
#: default smallest work for a parallel region (neuron updates, synaptic events): below, one thread
#: does every thread's share in turn (the same result: the shares do not interact), saving the wake-up
PAR_MIN_UPDATES = 4096
PAR_MIN_EVENTS = 1024
#: a waiting thread of the team (cython/team.h) spins at most this long, then yields at most this long (ns), then sleeps
TEAM_SPIN_NS = 20000
TEAM_YIELD_NS = 200000


cdef int _cmp_spike(const void* a, const void* b) noexcept nogil:
    """Canonical order of spike codes: (lag, gid), then (never needed: one code per source and
    step) the whole code, so that the order is total."""
    cdef uint64_t x = (<const uint64_t*> a)[0], y = (<const uint64_t*> b)[0]
    cdef uint64_t kx = x & KEY_MASK, ky = y & KEY_MASK
    if kx != ky:
        return (kx > ky) - (kx < ky)
    return (x > y) - (x < y)


cdef inline int64_t _lag(uint64_t code) noexcept nogil:
    """The emission step's lag in the interval of a spike code."""
    return <int64_t> ((code >> 32) & LAG_MASK)


cdef inline int64_t _mult(uint64_t code) noexcept nogil:
    """The multiplicity (>= 1) of a spike code."""
    return <int64_t> (code >> MULT_SHIFT) + 1


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double> ts.tv_sec + 1e-9 * <double> ts.tv_nsec


cdef int _reserve(uint64_t** buf, int64_t* cap, int64_t need) noexcept nogil:
    """Grow the malloc'ed buffer *buf to at least ``need`` words; -1 when out of memory."""
    cdef void* p
    if need <= cap[0]:
        return 0
    p = realloc(buf[0], <size_t> need * sizeof(uint64_t))
    if p == NULL:
        return -1
    buf[0] = <uint64_t*> p
    cap[0] = need
    return 0


cdef class EngineState:
    """All per-rank arrays the kernels touch. Filled by parsnn.simulation."""
    # sizes
    cdef public int64_t n_loc, D, n_nodes, m
    cdef public uint64_t seed, purpose_source
    # threads: thread k owns one contiguous part of every segment, maybe empty (owner[i]: the thread of local neuron i);
    # toff[k]: neurons owned by the threads before k (its spikes are written from toff[k] * m on)
    cdef public int64_t T
    cdef public int32_t[::1] owner
    cdef public int64_t[::1] toff
    # segments of local neurons with one model: (start, end, model code, parameter stride);
    # stride 0 marks a segment whose parameters are all equal: read them at index start
    cdef public int64_t[:, ::1] segments
    # seg_bounds[s, 2k], seg_bounds[s, 2k+1]: thread k's neurons of segment s (decomposition.segment_parts)
    cdef public int64_t[:, ::1] seg_bounds
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
    # ring buffers [D * ring_n], slot-major: neuron i's entry of slot s at s * ring_n + i; ring_n >= n_loc,
    # a whole number of cache lines (parsnn/engine/aligned.py); one_ring (parsnn/engine/rings.py, the
    # per-tau scheme): ring_ex takes every weight and ring_in is one slot of zeros [n_loc], read and never written
    cdef public double[::1] ring_ex, ring_in
    cdef public int64_t ring_n
    cdef public bint one_ring
    # one_ring and every i_in +0.0 at the start of run_steps (it stays so): the update kernel that
    # neither reads nor writes i_in and ring_in (update.h) gives the same bits
    cdef public bint iin_zero
    # spikes of the current interval: codes ((k - 1) << 48) | (lag << 32) | gid (module docstring);
    # thread k writes from toff[k] * m on
    cdef public uint64_t[::1] spk
    cdef public int64_t n_spk
    cdef public int64_t[::1] t_nspk, t_nv, t_events     # per thread: spikes, V_m rows, events delivered
    cdef public int64_t[::1] fired                       # scratch of the vector kernel [n_loc]
    # spike recording
    cdef public uint8_t[::1] rec_mask
    cdef public int64_t[::1] rec_step
    cdef public int32_t[::1] rec_gid
    cdef public int64_t n_rec, rec_need
    # voltage recording
    cdef public int64_t[::1] v_idx
    cdef public int64_t v_every, n_vrows, v_on, v_rows_per_interval
    cdef public double[:, ::1] v_buf
    cdef public int64_t[::1] v_step
    # exchange: destinations per local neuron (CSR), gid -> local index
    cdef public int64_t[::1] dst_ptr
    cdef public int32_t[::1] dst_rank
    cdef public int32_t[::1] g2l
    cdef public uint64_t[::1] recvbuf
    cdef public int64_t n_recv, d_t0, d_events      # received spikes, their interval, their events
    cdef public int nranks
    cdef public int64_t x_block, x_block_min, x_window_max, x_window_n, n_overflow_rounds
    cdef public bint x_adapt
    cdef public int64_t[::1] x_count, x_fill
    cdef uint64_t* xsend
    cdef uint64_t* xrecv
    cdef uint64_t* osend
    cdef uint64_t* orecv
    cdef int64_t xsend_cap, xrecv_cap, osend_cap, orecv_cap
    cdef mpi.MPI_Comm comm
    cdef object pycomm
    # waiting: W_POLL / W_YIELD / W_SLEEP, tests before backing off; counters of yields and sleeps
    cdef public int wait_mode
    cdef public int64_t wait_polls, n_wait_yields, n_wait_sleeps
    # W_SLEEP: yield for at most wait_yield_ns (the measured cost of a short sleep, sleep_cost_ns)
    cdef public int64_t wait_yield_ns, sleep_cost_ns
    # neighbourhood exchange: graph communicator, in/out neighbour ranks (edge order), per-edge
    # blocks (words), displacements, largest need in the window; out_edge[r]: edge of rank r or -1
    cdef public bint x_neighbor
    cdef mpi.MPI_Comm ncomm
    cdef object pyncomm
    cdef public int32_t[::1] nb_in, nb_out, out_edge
    cdef public object route_in, route_out      # neighbour ranks from the routes (parsnn.engine.exchange)
    cdef public int[::1] sblk, sdisp, rblk, rdisp
    cdef public int64_t[::1] s_wmax, r_wmax, s_over, r_over
    cdef mpi.MPI_Request* reqs
    # synapses grouped by source gid and, inside, by owning thread (see the module docstring); each
    # sub-row grouped by delay: sub-row k is the delay runs run_ptr[k] .. run_ptr[k+1] (run j:
    # run_n[j] synapses of delay run_d[j] steps), so the delay is not stored per synapse
    # Sub-rows by (source, block): block th * syn_W + j is window j of thread th (syn_W = 1 on a rank of
    # at most 65536 neurons); its targets are stored relative to local index syn_base[th * syn_W + j]
    # (parsnn.engine.synapses.TargetBlocks), so source g's row is syn_ptr[r*B] .. syn_ptr[(r+1)*B], B = T * syn_W,
    # r = syn_row[g] its compact row (parsnn.engine.source_rows: rows only for sources with synapses here)
    cdef public int64_t[::1] syn_ptr, run_ptr
    cdef public int32_t[::1] syn_row
    cdef public int64_t syn_W
    cdef public int64_t[::1] syn_base
    cdef public uint32_t[::1] syn_tgt          # targets when not tgt16 (else empty)
    cdef public uint16_t[::1] syn_tgt16        # targets when tgt16 (else empty)
    cdef public bint tgt16
    cdef public float[::1] syn_w
    # prefetch distance of the static scatter in synapses (0: none; parsnn/engine/prefetch.py)
    cdef public int64_t prefetch
    cdef public uint16_t[::1] run_d
    cdef public uint32_t[::1] run_n
    # spikes of virtual sources (spike generators) that have targets here: sorted (step, gid)
    cdef public int64_t[::1] gen_step
    cdef public int32_t[::1] gen_gid
    cdef public int64_t gen_pos
    # counters and phase timers (seconds)
    cdef public int64_t n_events, n_delivered_spikes, n_remote_sends
    cdef public int64_t[::1] n_fired          # spikes emitted by each local neuron (counted in the exchange)
    cdef public int32_t my_rank
    cdef public double t_update, t_exchange, t_deliver
    # per thread (rows) and phase (seconds): 0 delivery, 1 update, 2 waiting for the other threads
    # (wake-up and join of the parallel regions), 3 thread 0's serial part between regions
    cdef public double[:, ::1] t_thread
    # cpu_timers (benchmarks only; default off): each thread's CPU seconds in the update, per share
    # (t_update_cpu[th]) and in the delivery (t_deliver_cpu[th]); the time other processes hold the
    # core is left out (loaded machine)
    cdef public bint cpu_timers
    cdef public double[::1] t_update_cpu, t_deliver_cpu
    cdef public object reserve                # grows the recording buffers for one more interval
                                              # (reserve(rows): for that many more spike rows)
    # 1: segments with one parameter set and no Poisson devices use the vector kernel
    # of update.h; 0: every segment takes the scalar kernels (for tests)
    cdef public bint vector_update
    # smallest work (neuron updates, synaptic events) run as a parallel region (0: always)
    cdef public int64_t par_min_updates, par_min_events
    # team: run the intervals on one persistent thread team (run_steps); a waiting thread spins for at most
    # team_spin_ns, then yield for at most team_yield_ns, then sleep (cython/team.h)
    cdef public bint team
    cdef public int64_t team_spin_ns, team_yield_ns
    # iaf_psc_alpha (M_ALPHA): the derivatives of the currents and the extra propagators
    # (parsnn/neurons/iaf_psc_alpha.py says which array holds which propagator)
    cdef public double[::1] di_ex, di_in, p31ex, p31in, a21ex, a21in, psc_ex, psc_in
    # plastic synapses and post-spike archives (plastic.pxi); plastic_on: the network has some
    cdef public PlasticState plastic
    cdef public bint plastic_on
    # time-varying input currents (currents.pxi), currents_on: some local neuron has one
    cdef public CurrentState currents
    cdef public bint currents_on

    def __cinit__(self):
        self.xsend = self.xrecv = self.osend = self.orecv = NULL
        self.reqs = NULL
        self.wait_mode = W_POLL
        self.wait_polls = 0
        self.x_neighbor = False
        self.xsend_cap = self.xrecv_cap = self.osend_cap = self.orecv_cap = 0
        self.T = 1
        self.syn_W = 1
        self.syn_base = np.zeros(1, dtype=np.int64)
        self.syn_row = np.zeros(0, dtype=np.int32)
        self.par_min_updates = PAR_MIN_UPDATES
        self.par_min_events = PAR_MIN_EVENTS
        self.team = True
        self.t_thread = np.zeros((1, 4))
        self.team_spin_ns = TEAM_SPIN_NS
        self.team_yield_ns = TEAM_YIELD_NS
        self.prefetch = PARSNN_PREFETCH

    def __dealloc__(self):
        free(self.xsend)
        free(self.xrecv)
        free(self.osend)
        free(self.orecv)
        free(self.reqs)

    def set_comm(self, comm, int64_t block, bint adapt):
        """Exchange over the mpi4py communicator ``comm`` with blocks of ``block`` words (>= 2:
        one header word and block - 1 spike codes), adapted to the traffic if ``adapt``."""
        self.pycomm = comm
        self.comm = (<MPI.Comm> comm).ob_mpi
        self.nranks = comm.Get_size()
        self.x_block = max(block, 2)
        self.x_block_min = min(self.x_block, 8)
        self.x_adapt = adapt
        self.x_window_max = self.x_window_n = self.n_overflow_rounds = 0
        self.x_count = np.zeros(self.nranks, dtype=np.int64)
        self.x_fill = np.zeros(self.nranks, dtype=np.int64)
        self.x_neighbor = False
        if self.reqs == NULL:
            self.reqs = <mpi.MPI_Request*> malloc(sizeof(mpi.MPI_Request))
            if self.reqs == NULL:
                raise MemoryError("out of memory for the exchange requests")

    def set_wait(self, str mode, int64_t polls):
        """Wait for the exchange by ``mode`` (a key of WAIT_MODES) after ``polls`` tests (>= 0)."""
        if mode not in WAIT_MODES or polls < 0:
            raise ValueError(f"bad wait policy {mode!r}, {polls}")
        self.wait_mode = WAIT_MODES[mode]
        self.wait_polls = polls
        self.n_wait_yields = self.n_wait_sleeps = 0
        self.sleep_cost_ns = _sleep_cost_ns() if self.wait_mode == W_SLEEP else 0
        self.wait_yield_ns = min(max(self.sleep_cost_ns, YIELD_MIN_NS), YIELD_MAX_NS)

    def set_neighbors(self, graph_comm, sources, destinations):
        """Exchange by MPI_Neighbor_alltoallv over the distributed-graph communicator ``graph_comm``
        (made with ``sources`` / ``destinations`` in this order, the own rank in neither); call
        after set_comm. Every edge starts with the first block size."""
        cdef int n
        self.pyncomm = graph_comm
        self.ncomm = (<MPI.Comm> graph_comm).ob_mpi
        self.nb_in = np.ascontiguousarray(sources, dtype=np.int32)
        self.nb_out = np.ascontiguousarray(destinations, dtype=np.int32)
        out_edge = np.full(self.nranks, -1, dtype=np.int32)
        out_edge[np.asarray(destinations, dtype=np.int64)] = np.arange(len(destinations), dtype=np.int32)
        self.out_edge = out_edge
        self.sblk = np.full(len(destinations), self.x_block, dtype=np.intc)
        self.rblk = np.full(len(sources), self.x_block, dtype=np.intc)
        self.sdisp = np.zeros(len(destinations), dtype=np.intc)
        self.rdisp = np.zeros(len(sources), dtype=np.intc)
        self.s_wmax, self.s_over = np.zeros(len(destinations), dtype=np.int64), np.zeros(len(destinations), dtype=np.int64)
        self.r_wmax, self.r_over = np.zeros(len(sources), dtype=np.int64), np.zeros(len(sources), dtype=np.int64)
        n = len(sources) + len(destinations) + 1
        free(self.reqs)
        self.reqs = <mpi.MPI_Request*> malloc(n * sizeof(mpi.MPI_Request))
        if self.reqs == NULL:
            raise MemoryError("out of memory for the exchange requests")
        self.x_neighbor = True


# ---------------------------------------------------------------------------------- update
cdef inline void _poisson_input(EngineState st, int64_t i, int64_t end, int64_t t, parsnn_pchunk_t* pc,
                                double* wex, double* win) noexcept nogil:
    """Add the Poisson input devices' spikes arriving at neuron i in step t (drawn for
    their emission step t - delay) to *wex (weights >= 0) or *win (weights < 0). The counts come
    from ``pc``, filled for the next neurons up to ``end`` at once (cython/poisson.h, the same draws)."""
    cdef int64_t j, k
    cdef double w
    cdef px_stream s
    if st.pd_ptr[i + 1] > pc.j1:
        parsnn_pchunk_fill(pc, st.seed, &st.pd_ptr[0], &st.pd_delay[0], &st.pd_purpose[0], &st.pd_lam[0],
                           &st.gids[0], i, end, t)
    for j in range(st.pd_ptr[i], st.pd_ptr[i + 1]):
        if t >= st.pd_delay[j]:
            if j < pc.j1:
                k = pc.cnt[j - pc.j0]
            else:       # a neuron with more devices than a chunk holds
                px_init(&s, st.seed, st.pd_purpose[j], <uint64_t> st.gids[i], <uint64_t> (t - st.pd_delay[j]))
                k = px_poisson(&s, st.pd_lam[j])
            w = st.pd_w[j] * <double> k
            if st.pd_w[j] >= 0.0:
                wex[0] = wex[0] + w
            else:
                win[0] = win[0] + w


cdef inline int64_t _emit(EngineState st, int64_t i, int64_t lag, uint64_t* out, int64_t nspk) noexcept nogil:
    """Append neuron i's spike at ``lag`` steps into the interval to the thread's spikes ``out``."""
    out[nspk] = ((<uint64_t> lag) << 32) | <uint64_t> st.gids[i]
    return nspk + 1


cdef inline int64_t _emit_mult(EngineState st, int64_t i, int64_t lag, int64_t k, uint64_t* out,
                               int64_t nspk) noexcept nogil:
    """Append node i's event of multiplicity ``k`` (1 .. MULT_MAX) at ``lag`` to ``out``."""
    out[nspk] = ((<uint64_t> (k - 1)) << MULT_SHIFT) | ((<uint64_t> lag) << 32) | <uint64_t> st.gids[i]
    return nspk + 1


cdef inline void _take_input(EngineState st, double* rex, double* rin, int64_t i, int64_t end, int64_t t,
                             parsnn_pchunk_t* pc, bint devices, double* wex, double* win) noexcept nogil:
    """Neuron i's input of step t: its ring entries (read and cleared) plus, with ``devices``, its
    Poisson devices' spikes (:func:`_poisson_input`; with one ring both signs go to *wex)."""
    wex[0] = rex[i]
    win[0] = rin[i]
    rex[i] = 0.0
    rin[i] = 0.0
    if devices:
        _poisson_input(st, i, end, t, pc, wex, wex if st.one_ring else win)


cdef int64_t _update_exp(EngineState st, int64_t start, int64_t end, int64_t pstart, int64_t stride,
                         int64_t base, int64_t t, int64_t lag, uint64_t* out, int64_t nspk) noexcept nogil:
    """One step of the iaf_psc_exp neurons start..end-1 (NEST's update order).

    Works on raw pointers so that the compiler keeps the array addresses in
    registers; parameters are read at pstart + (i - start) * stride (stride 0:
    one set shared by the whole segment, at its first neuron pstart)."""
    cdef double* V = &st.V[0]
    cdef double* iex = &st.i_ex[0]
    cdef double* iin = &st.i_in[0]
    cdef int32_t* r = &st.r[0]
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[0 if st.one_ring else base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef const double* p22 = &st.p22[pstart]
    cdef const double* p21ex = &st.p21ex[pstart]
    cdef const double* p21in = &st.p21in[pstart]
    cdef const double* p20 = &st.p20[pstart]
    cdef const double* p11ex = &st.p11ex[pstart]
    cdef const double* p11in = &st.p11in[pstart]
    cdef const double* ie = &st.ie[pstart]
    cdef const double* theta = &st.theta[pstart]
    cdef const double* vreset = &st.vreset[pstart]
    cdef const int32_t* refr = &st.refr[pstart]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double wex, win, v
    cdef parsnn_pchunk_t pc     # the Poisson devices' counts of the next neurons
    parsnn_pchunk_init(&pc)
    for i in range(start, end):
        k = (i - start) * stride
        _take_input(st, rex, rin, i, end, t, &pc, devices, &wex, &win)
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
            nspk = _emit(st, i, lag, out, nspk)
        else:
            V[i] = v
    return nspk


cdef int64_t _update_delta(EngineState st, int64_t start, int64_t end, int64_t pstart, int64_t stride,
                           int64_t base, int64_t t, int64_t lag, uint64_t* out, int64_t nspk) noexcept nogil:
    """One step of the iaf_psc_delta neurons start..end-1 (NEST's update order:
    input arriving during refractoriness is discarded); parameters as in _update_exp."""
    cdef double* V = &st.V[0]
    cdef int32_t* r = &st.r[0]
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[0 if st.one_ring else base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef const double* p22 = &st.p22[pstart]
    cdef const double* p20 = &st.p20[pstart]
    cdef const double* ie = &st.ie[pstart]
    cdef const double* vmin = &st.vmin[pstart]
    cdef const double* theta = &st.theta[pstart]
    cdef const double* vreset = &st.vreset[pstart]
    cdef const int32_t* refr = &st.refr[pstart]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double w, v
    cdef parsnn_pchunk_t pc     # the Poisson devices' counts of the next neurons
    parsnn_pchunk_init(&pc)
    for i in range(start, end):
        k = (i - start) * stride
        w = rex[i] + rin[i]
        rex[i] = 0.0
        rin[i] = 0.0
        if devices:
            _poisson_input(st, i, end, t, &pc, &w, &w)      # one input sum for delta synapses
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
            nspk = _emit(st, i, lag, out, nspk)
        V[i] = v
    return nspk


cdef int64_t _update_alpha(EngineState st, int64_t start, int64_t end, int64_t pstart, int64_t stride,
                           int64_t base, int64_t t, int64_t lag, uint64_t* out, int64_t nspk) noexcept nogil:
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
    cdef double* rin = &st.ring_in[0 if st.one_ring else base]
    cdef const int64_t* pd = &st.pd_ptr[0]
    cdef bint devices = pd[end] != pd[start]
    cdef int64_t i, k
    cdef double wex, win, v
    cdef parsnn_pchunk_t pc     # the Poisson devices' counts of the next neurons
    parsnn_pchunk_init(&pc)
    if stride == 0 and st.vector_update:
        return _update_alpha_uniform(st, start, end, pstart, base, t, lag, out, nspk)
    for i in range(start, end):
        k = pstart + (i - start) * stride
        _take_input(st, rex, rin, i, end, t, &pc, devices, &wex, &win)
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
            nspk = _emit(st, i, lag, out, nspk)
        V[i] = v
    return nspk


cdef enum:
    ALPHA_BLOCK = 256           # neurons whose input _update_alpha_uniform forms before the vector kernel


cdef int64_t _update_alpha_uniform(EngineState st, int64_t start, int64_t end, int64_t pstart, int64_t base,
                                   int64_t t, int64_t lag, uint64_t* out, int64_t nspk) noexcept nogil:
    """_update_alpha for one parameter set (at pstart): block by block, the scalar loop's input sums
    (ring slot, then the Poisson devices), then update_alpha.h's vector kernel (the same operations:
    bit-identical)."""
    cdef double* rex = &st.ring_ex[base]
    cdef double* rin = &st.ring_in[0 if st.one_ring else base]
    cdef bint devices = st.pd_ptr[end] != st.pd_ptr[start]
    cdef double wbx[ALPHA_BLOCK]
    cdef double wbi[ALPHA_BLOCK]
    cdef int64_t fired[ALPHA_BLOCK]
    cdef int64_t i, b0, b1, j, nf
    cdef double wex, win
    cdef parsnn_pchunk_t pc
    cdef parsnn_alpha_par_t c
    c.p20, c.ie, c.p31ex, c.p21ex = st.p20[pstart], st.ie[pstart], st.p31ex[pstart], st.p21ex[pstart]
    c.p31in, c.p21in, c.p22, c.vmin = st.p31in[pstart], st.p21in[pstart], st.p22[pstart], st.vmin[pstart]
    c.theta, c.vreset, c.refr = st.theta[pstart], st.vreset[pstart], st.refr[pstart]
    c.a21ex, c.p11ex, c.psc_ex = st.a21ex[pstart], st.p11ex[pstart], st.psc_ex[pstart]
    c.a21in, c.p11in, c.psc_in = st.a21in[pstart], st.p11in[pstart], st.psc_in[pstart]
    parsnn_pchunk_init(&pc)
    b0 = start
    while b0 < end:
        b1 = b0 + ALPHA_BLOCK if end - b0 > ALPHA_BLOCK else end
        if devices and parsnn_pone_block(&st.pd_ptr[0], b0, b1 - b0):
            # one Poisson device per neuron (hpc_benchmark): the same inputs without the per-neuron loop
            parsnn_pone_input(&pc, st.seed, &st.pd_ptr[0], &st.pd_delay[0], &st.pd_purpose[0], &st.pd_lam[0],
                              &st.pd_w[0], &st.gids[0], b0, b1 - b0, t, rex, rin, st.one_ring, wbx, wbi)
        else:
            for i in range(b0, b1):
                _take_input(st, rex, rin, i, end, t, &pc, devices, &wex, &win)
                wbx[i - b0] = wex
                wbi[i - b0] = win
        nf = parsnn_update_alpha_uniform(b0, b1, &st.V[0], &st.i_ex[0], &st.di_ex[0], &st.i_in[0], &st.di_in[0],
                                         &st.r[0], wbx, wbi, &c, fired)
        for j in range(nf):
            nspk = _emit(st, fired[j], lag, out, nspk)
        b0 = b1
    return nspk


cdef void _update_thread(EngineState st, int64_t th, int64_t t0, int64_t m) noexcept nogil:
    """Thread ``th``: update its neurons for steps t0 .. t0+m-1 (spikes into its part of st.spk,
    V_m samples of its neurons into the rows after st.n_vrows)."""
    cdef int64_t n = st.ring_n, D = st.D, lo = st.toff[th], T = st.T
    cdef int64_t t, i, j, seg, s0, s1, start, end, model, stride, pstart, base, lag, nf, kk, row = st.n_vrows
    cdef int64_t nseg = st.segments.shape[0], nv = st.v_idx.shape[0], nspk = 0
    cdef uint64_t* out = &st.spk[lo * m]
    cdef int64_t* fired = &st.fired[lo]
    cdef px_stream s
    for t in range(t0, t0 + m):
        base = (t % D) * n
        lag = t - t0
        for seg in range(nseg):
            s0 = st.segments[seg, 0]
            s1 = st.segments[seg, 1]
            start = st.seg_bounds[seg, 2 * th]         # this thread's part of the segment
            end = st.seg_bounds[seg, 2 * th + 1]
            if start >= end:
                continue
            model = st.segments[seg, 2]
            stride = st.segments[seg, 3]
            pstart = start if stride else s0
            if st.currents_on:    # this step's input current of neurons with time-varying currents (stride 1)
                _ac_currents(st.currents, &st.ie[0], start, end, t)
            if model == M_EXP and stride == 0 and st.vector_update and st.pd_ptr[s1] == st.pd_ptr[s0]:
                # one parameter set, no Poisson devices: the vectorized kernels of update.h
                if st.iin_zero:
                    nf = parsnn_update_exp_uniform_1ring(start, end, &st.V[0], &st.i_ex[0], &st.r[0],
                                                         &st.ring_ex[base], st.p22[s0], st.p21ex[s0],
                                                         st.p21in[s0], st.p20[s0], st.p11ex[s0], st.ie[s0],
                                                         st.theta[s0], st.vreset[s0], st.refr[s0], fired)
                else:
                    nf = parsnn_update_exp_uniform(start, end, &st.V[0], &st.i_ex[0], &st.i_in[0], &st.r[0],
                                                   &st.ring_ex[base], &st.ring_in[0 if st.one_ring else base],
                                                   st.p22[s0], st.p21ex[s0], st.p21in[s0], st.p20[s0],
                                                   st.p11ex[s0], st.p11in[s0], st.ie[s0],
                                                   st.theta[s0], st.vreset[s0], st.refr[s0], fired)
                for j in range(nf):
                    nspk = _emit(st, fired[j], lag, out, nspk)
            elif model == M_EXP:
                nspk = _update_exp(st, start, end, pstart, stride, base, t, lag, out, nspk)
            elif model == M_DELTA:
                nspk = _update_delta(st, start, end, pstart, stride, base, t, lag, out, nspk)
            elif model == M_ALPHA:
                nspk = _update_alpha(st, start, end, pstart, stride, base, t, lag, out, nspk)
            elif model == M_POISSON:
                for i in range(start, end):
                    if t >= st.t_on[i] and t < st.t_off[i]:
                        px_init(&s, st.seed, st.purpose_source, <uint64_t> st.gids[i], <uint64_t> t)
                        kk = px_poisson(&s, st.lam[i])
                        if kk > 0:      # one event of multiplicity kk (NEST's parrot_neuron)
                            nspk = _emit_mult(st, i, lag, kk if kk < MULT_MAX else MULT_MAX, out, nspk)
        if st.v_on and (t + 1) % st.v_every == 0:
            for j in range(nv):
                i = st.v_idx[j]
                if st.owner[i] == th:
                    st.v_buf[row, j] = st.V[i] + st.el[i]
            if th == 0:
                st.v_step[row] = t
            row += 1
    st.t_nspk[th] = nspk
    st.t_nv[th] = row - st.n_vrows
    if st.plastic_on:     # plastic hook: archive the thread's spikes (stamp: step + 1) for the STDP synapses onto them
        if parsnn_archive_spikes(&st.plastic.c, out, nspk, &st.g2l[0], t0) != 0:
            st.plastic.out_of_memory = 1


cdef int64_t _gather_spikes(EngineState st, int64_t t0, int64_t m) noexcept nogil:
    """After the update: the threads' spikes one after the other at the start of st.spk, counted
    (with their multiplicities) per neuron; the V_m rows counted. Returns the rows the recorded
    spikes take in the spike record (k rows for an event of multiplicity k: _record_spikes)."""
    cdef int64_t th, k, c, i, nspk = 0, lo, rows = 0, mult
    cdef uint64_t code
    for th in range(st.T):
        lo = st.toff[th] * m
        c = st.t_nspk[th]
        if lo != nspk:
            for k in range(c):
                st.spk[nspk + k] = st.spk[lo + k]
        nspk += c
    st.n_spk = nspk
    for k in range(nspk):
        code = st.spk[k]
        i = st.g2l[<int64_t> (code & LOW32)]
        mult = _mult(code)
        st.n_fired[i] += mult
        if st.rec_mask[i]:
            rows += mult
    st.n_vrows += st.t_nv[0]
    return rows


cdef void _record_spikes(EngineState st, int64_t t0) noexcept nogil:
    """Append the interval's recorded spikes to the spike record (room made by the caller): k rows
    for an event of multiplicity k, as NEST's spike_recorder writes one row per spike."""
    cdef int64_t k, i, j, mult
    cdef uint64_t code
    for k in range(st.n_spk):
        code = st.spk[k]
        i = st.g2l[<int64_t> (code & LOW32)]
        if st.rec_mask[i]:
            mult = _mult(code)
            for j in range(mult):
                st.rec_step[st.n_rec + j] = t0 + _lag(code)
                st.rec_gid[st.n_rec + j] = <int32_t> (code & LOW32)
            st.n_rec += mult


# -------------------------------------------------------------------------------- exchange
cdef void _adapt_block(EngineState st, int64_t need) noexcept nogil:
    """Grow the exchange block to fit ``need`` words with room to spare, or shrink it when the
    largest need over the last X_WINDOW intervals used a quarter of it (the same on all ranks:
    ``need`` is global)."""
    if not st.x_adapt:
        return
    if need > st.x_block:
        st.x_block = need + need // 2
        st.x_window_max = st.x_window_n = 0
        return
    if need > st.x_window_max:
        st.x_window_max = need
    st.x_window_n += 1
    if st.x_window_n >= X_WINDOW:
        if 4 * st.x_window_max <= st.x_block and st.x_block > st.x_block_min:
            st.x_block = max(st.x_block_min, 2 * st.x_window_max)
        st.x_window_max = st.x_window_n = 0


cdef int _fill_blocks(EngineState st, uint64_t* buf, int64_t B, int64_t skip, int64_t cap) noexcept nogil:
    """Write every destination's spike codes number skip .. skip+cap-1 (in spike order) into its
    block of ``buf`` (block r starts at r * B + (1 if skip == 0 else 0))."""
    cdef int64_t k, i, j, r, c, head = 1 if skip == 0 else 0
    cdef uint64_t code
    cdef int64_t* fill = &st.x_fill[0]
    for r in range(st.nranks):
        fill[r] = 0
    for k in range(st.n_spk):
        code = st.spk[k]
        i = st.g2l[<int64_t> (code & LOW32)]
        for j in range(st.dst_ptr[i], st.dst_ptr[i + 1]):
            r = st.dst_rank[j]
            c = fill[r]
            if c >= skip and c < skip + cap:
                buf[r * B + head + c - skip] = code
            fill[r] = c + 1
    return 0


cdef int _wait(EngineState st, int n, mpi.MPI_Request* reqs) noexcept nogil:
    """Complete the ``n`` requests by the wait policy (module docstring); 0 or an MPI error code."""
    cdef int flag = 0, err
    cdef int64_t k = 0
    cdef long ns = 1000
    cdef double t_yield = 0.0
    cdef timespec ts
    if n == 0:
        return 0
    if st.wait_mode == W_POLL:
        return mpi.MPI_Waitall(n, reqs, mpi.MPI_STATUSES_IGNORE)
    while True:
        err = mpi.MPI_Testall(n, reqs, &flag, mpi.MPI_STATUSES_IGNORE)
        if err or flag:
            return err
        k += 1
        if k <= st.wait_polls:
            continue
        if k == st.wait_polls + 1:
            t_yield = _now()
        if st.wait_mode == W_YIELD or 1e9 * (_now() - t_yield) < st.wait_yield_ns:
            sched_yield()
            st.n_wait_yields += 1
        else:
            ts.tv_sec = 0
            ts.tv_nsec = ns
            nanosleep(&ts, NULL)
            st.n_wait_sleeps += 1
            if ns < SLEEP_MAX_NS:
                ns = 2 * ns


cdef int _alltoall(EngineState st, uint64_t* send, int64_t B, uint64_t* recv) noexcept nogil:
    """One MPI_Alltoall of ``B`` words per rank: the blocking call (W_POLL) or MPI_Ialltoall and
    the wait policy."""
    if st.wait_mode == W_POLL:
        return mpi.MPI_Alltoall(send, <int> B, mpi.MPI_UINT64_T, recv, <int> B, mpi.MPI_UINT64_T, st.comm)
    cdef int err = mpi.MPI_Ialltoall(send, <int> B, mpi.MPI_UINT64_T, recv, <int> B, mpi.MPI_UINT64_T,
                                     st.comm, st.reqs)
    if err:
        return err
    return _wait(st, 1, st.reqs)


cdef void _count_destinations(EngineState st) noexcept nogil:
    """st.x_count[r]: the interval's spike codes for rank r; counts the remote ones."""
    cdef int64_t k, i, j, r, total = 0
    cdef int64_t* cnt = &st.x_count[0]
    for r in range(st.nranks):
        cnt[r] = 0
    for k in range(st.n_spk):
        i = st.g2l[<int64_t> (st.spk[k] & LOW32)]
        for j in range(st.dst_ptr[i], st.dst_ptr[i + 1]):
            cnt[st.dst_rank[j]] += 1
    for r in range(st.nranks):
        total += cnt[r]
    st.n_remote_sends += total - cnt[st.my_rank]


cdef int _exchange(EngineState st) noexcept nogil:
    """Send the interval's spikes to the ranks that host their targets and put the received codes
    into st.recvbuf[0:st.n_recv]: the fixed-block alltoall or the neighbourhood exchange (module
    docstring). Returns 0, an MPI error code, or -1 when out of memory."""
    cdef int64_t k, i, nrecv = 0
    cdef uint64_t code
    if st.nranks == 1:
        for k in range(st.n_spk):
            code = st.spk[k]
            i = st.g2l[<int64_t> (code & LOW32)]
            if st.dst_ptr[i + 1] > st.dst_ptr[i]:
                st.recvbuf[nrecv] = code
                nrecv += 1
        st.n_recv = nrecv
        return 0
    if st.x_neighbor:
        return _exchange_neighbor(st)
    return _exchange_alltoall(st)


cdef int _exchange_alltoall(EngineState st) noexcept nogil:
    """One MPI_Alltoall of fixed blocks, plus an overflow round when a block is too small."""
    cdef int64_t P = st.nranks, B, cap, r, c, mx = 0, gmx = 0, R, nrecv = 0
    cdef uint64_t hdr
    cdef uint64_t* recv = &st.recvbuf[0]
    cdef int64_t* cnt = &st.x_count[0]
    cdef int err
    B = st.x_block
    cap = B - 1
    if _reserve(&st.xsend, &st.xsend_cap, P * B) or _reserve(&st.xrecv, &st.xrecv_cap, P * B):
        return -1
    _count_destinations(st)
    for r in range(P):
        if cnt[r] > mx:
            mx = cnt[r]
    _fill_blocks(st, st.xsend, B, 0, cap)
    for r in range(P):
        st.xsend[r * B] = ((<uint64_t> mx) << 32) | <uint64_t> cnt[r]
    err = _alltoall(st, st.xsend, B, st.xrecv)
    if err:
        return err
    for r in range(P):
        hdr = st.xrecv[r * B]
        if <int64_t> (hdr >> 32) > gmx:
            gmx = <int64_t> (hdr >> 32)
        c = <int64_t> (hdr & LOW32)
        if c > cap:
            c = cap
        memcpy(recv + nrecv, st.xrecv + r * B + 1, <size_t> c * sizeof(uint64_t))
        nrecv += c
    if gmx > cap:
        # overflow round: every rank knows gmx, so all take part with blocks of gmx - cap codes
        R = gmx - cap
        if _reserve(&st.osend, &st.osend_cap, P * R) or _reserve(&st.orecv, &st.orecv_cap, P * R):
            return -1
        _fill_blocks(st, st.osend, R, cap, R)
        err = _alltoall(st, st.osend, R, st.orecv)
        if err:
            return err
        for r in range(P):
            c = <int64_t> (st.xrecv[r * B] & LOW32) - cap
            if c > 0:
                memcpy(recv + nrecv, st.orecv + r * R, <size_t> c * sizeof(uint64_t))
                nrecv += c
        st.n_overflow_rounds += 1
    _adapt_block(st, gmx + 1)
    st.n_recv = nrecv
    return 0


cdef inline void _adapt_edge(int* blk, int64_t* wmax, int64_t need, int64_t bmin, bint window_end) noexcept nogil:
    """_adapt_block for one edge of the neighbourhood exchange (both ends see the same ``need``)."""
    if need > blk[0]:
        blk[0] = <int> (need + need // 2)
        wmax[0] = need
    elif need > wmax[0]:
        wmax[0] = need
    if window_end:
        if 4 * wmax[0] <= blk[0] and blk[0] > bmin:
            blk[0] = <int> max(bmin, 2 * wmax[0])
        wmax[0] = 0


cdef int _neighbor_layout(EngineState st, int64_t* send_words, int64_t* over_words, int64_t* recv_words) noexcept nogil:
    """Displacements of the edges' blocks and the overflow codes per out-edge (st.s_over)."""
    cdef int64_t e, s = 0, o = 0, r = 0, c
    for e in range(st.nb_out.shape[0]):
        st.sdisp[e] = <int> s
        s += st.sblk[e]
        c = st.x_count[st.nb_out[e]] - (st.sblk[e] - 1)
        st.s_over[e] = c if c > 0 else 0
        o += st.s_over[e]
    for e in range(st.nb_in.shape[0]):
        st.rdisp[e] = <int> r
        r += st.rblk[e]
    send_words[0], over_words[0], recv_words[0] = s, o, r
    return 0


cdef int64_t _neighbor_fill(EngineState st) noexcept nogil:
    """Write the spike codes into the out-edges' blocks (headers: the counts), the codes beyond a
    block into st.osend (per edge, one after the other), the own rank's codes into st.recvbuf;
    returns the number of the latter."""
    cdef int64_t k, i, j, r, e, c, cap, nself = 0, o = 0
    cdef uint64_t code
    cdef int64_t* fill = &st.x_fill[0]
    cdef int64_t* ooff = &st.x_count[0]       # reused below: counts are copied to the headers first
    for e in range(st.nb_out.shape[0]):
        st.xsend[st.sdisp[e]] = <uint64_t> st.x_count[st.nb_out[e]]
    for r in range(st.nranks):
        fill[r] = 0
    for e in range(st.nb_out.shape[0]):
        ooff[st.nb_out[e]] = o
        o += st.s_over[e]
    for k in range(st.n_spk):
        code = st.spk[k]
        i = st.g2l[<int64_t> (code & LOW32)]
        for j in range(st.dst_ptr[i], st.dst_ptr[i + 1]):
            r = st.dst_rank[j]
            if r == st.my_rank:
                st.recvbuf[nself] = code
                nself += 1
                continue
            e = st.out_edge[r]
            c = fill[r]
            cap = st.sblk[e] - 1
            if c < cap:
                st.xsend[st.sdisp[e] + 1 + c] = code
            else:
                st.osend[ooff[r] + c - cap] = code
            fill[r] = c + 1
    return nself


cdef int _post_overflow(EngineState st, uint64_t* buf, const int64_t* count, const int32_t* ranks, int64_t n,
                        bint send, int64_t* nreq) noexcept nogil:
    """Start the point-to-point messages of the overflow codes: ``count[e]`` codes with neighbour
    ``ranks[e]``, one after the other in ``buf`` (sent if ``send``, else received); 0 or an MPI error."""
    cdef int64_t e, o = 0
    cdef int err
    for e in range(n):
        if count[e] > 0:
            if send:
                err = mpi.MPI_Isend(buf + o, <int> count[e], mpi.MPI_UINT64_T, ranks[e], OVERFLOW_TAG, st.ncomm,
                                    &st.reqs[nreq[0]])
            else:
                err = mpi.MPI_Irecv(buf + o, <int> count[e], mpi.MPI_UINT64_T, ranks[e], OVERFLOW_TAG, st.ncomm,
                                    &st.reqs[nreq[0]])
            if err:
                return err
            nreq[0] += 1
            o += count[e]
    return 0


cdef int _exchange_neighbor(EngineState st) noexcept nogil:
    """One MPI_Neighbor_alltoallv of per-edge blocks over the graph communicator, then the codes
    beyond a block by point-to-point messages between the two neighbours only."""
    cdef int64_t e, c, cap, nrecv, sw, ow, rw, o = 0, nin = st.nb_in.shape[0], nout = st.nb_out.shape[0]
    cdef int64_t nreq = 0
    cdef bint window_end
    cdef int err
    cdef uint64_t* recv = &st.recvbuf[0]
    _count_destinations(st)
    _neighbor_layout(st, &sw, &ow, &rw)
    if (_reserve(&st.xsend, &st.xsend_cap, max(sw, 1)) or _reserve(&st.xrecv, &st.xrecv_cap, max(rw, 1))
            or _reserve(&st.osend, &st.osend_cap, max(ow, 1))):
        return -1
    nrecv = _neighbor_fill(st)
    cdef int* sb = &st.sblk[0] if nout else NULL
    cdef int* sd = &st.sdisp[0] if nout else NULL
    cdef int* rb = &st.rblk[0] if nin else NULL
    cdef int* rd = &st.rdisp[0] if nin else NULL
    if st.wait_mode == W_POLL:
        err = mpi.MPI_Neighbor_alltoallv(st.xsend, sb, sd, mpi.MPI_UINT64_T, st.xrecv, rb, rd, mpi.MPI_UINT64_T, st.ncomm)
    else:
        err = mpi.MPI_Ineighbor_alltoallv(st.xsend, sb, sd, mpi.MPI_UINT64_T, st.xrecv, rb, rd, mpi.MPI_UINT64_T,
                                          st.ncomm, st.reqs)
        if not err:
            err = _wait(st, 1, st.reqs)
    if err:
        return err
    # overflow: the receiver knows from each header how many codes follow
    for e in range(nin):
        cap = st.rblk[e] - 1
        c = <int64_t> (st.xrecv[st.rdisp[e]] & LOW32)
        st.r_over[e] = c - cap if c > cap else 0
        o += st.r_over[e]
        memcpy(recv + nrecv, st.xrecv + st.rdisp[e] + 1, <size_t> min(c, cap) * sizeof(uint64_t))
        nrecv += min(c, cap)
    if o > 0 or ow > 0:
        if _reserve(&st.orecv, &st.orecv_cap, max(o, 1)):
            return -1
        err = _post_overflow(st, st.orecv, &st.r_over[0] if nin else NULL, &st.nb_in[0] if nin else NULL, nin,
                             False, &nreq)
        if not err:
            err = _post_overflow(st, st.osend, &st.s_over[0] if nout else NULL, &st.nb_out[0] if nout else NULL,
                                 nout, True, &nreq)
        if err:
            return err
        err = _wait(st, <int> nreq, st.reqs)
        if err:
            return err
        memcpy(recv + nrecv, st.orecv, <size_t> o * sizeof(uint64_t))
        nrecv += o
        st.n_overflow_rounds += 1
    if st.x_adapt:
        st.x_window_n += 1
        window_end = st.x_window_n >= X_WINDOW
        if window_end:
            st.x_window_n = 0
        for e in range(nout):
            _adapt_edge(&st.sblk[e], &st.s_wmax[e], <int64_t> st.xsend[st.sdisp[e]] + 1, st.x_block_min, window_end)
        for e in range(nin):
            _adapt_edge(&st.rblk[e], &st.r_wmax[e], <int64_t> (st.xrecv[st.rdisp[e]] & LOW32) + 1,
                        st.x_block_min, window_end)
    st.n_recv = nrecv
    return 0


# -------------------------------------------------------------------------------- delivery
cdef inline int64_t _scatter_source(EngineState st, int64_t j, int64_t W, const int64_t* wofs, int64_t slot0,
                                    double mult, double* rex, double* rin, int64_t pf) noexcept nogil:
    """The W sub-rows from ``j`` (one thread's windows of one source, bases ``wofs``) scattered with
    the static kernel of the rank's target width at ring slot ``slot0``; returns the synapses visited."""
    cdef int64_t a = st.syn_ptr[j], b = st.syn_ptr[j + W]
    if st.tgt16:
        parsnn_scatter_runs16(a, b, &st.run_ptr[j], W, wofs, slot0, st.D, st.ring_n, &st.syn_tgt16[0],
                              &st.syn_w[0], &st.run_d[0], &st.run_n[0], rex, rin, mult, pf)
    else:
        parsnn_scatter_runs(a, b, &st.run_ptr[j], W, wofs, slot0, st.D, st.ring_n, &st.syn_tgt[0],
                            &st.syn_w[0], &st.run_d[0], &st.run_n[0], rex, rin, mult, pf)
    return b - a


cdef int64_t _deliver_thread(EngineState st, int64_t th, int64_t t0, int64_t nrecv) noexcept nogil:
    """Thread ``th``: scatter the sorted received spikes' sub-rows onto its own neurons; returns
    the number of synaptic events."""
    cdef int64_t n = st.ring_n, D = st.D, W = st.syn_W, B = st.T * st.syn_W, k, g, j, s, slot0, events = 0
    cdef uint64_t code
    cdef int64_t mult
    cdef const uint64_t* buf = &st.recvbuf[0]
    cdef const int64_t* wofs = &st.syn_base[th * W]                 # the thread's windows' first neurons
    cdef double* rex = &st.ring_ex[0]
    cdef double* rin = NULL if st.one_ring else &st.ring_in[0]      # NULL: one ring, no sign branch
    for k in range(nrecv):
        code = buf[k]
        g = <int64_t> (code & LOW32)
        s = t0 + _lag(code)                           # emission step
        slot0 = s % D                                 # its ring slot
        mult = _mult(code)                            # static targets receive weight x multiplicity
        j = st.syn_row[g] * B + th * W                # the thread's first sub-row of g's compact row: W windows
        events += _scatter_source(st, j, W, wofs, slot0, <double> mult, rex, rin, st.prefetch)
        if st.plastic_on:    # plastic hook: the thread's plastic sub-rows of g, after its static sub-row (canonical order)
            events += parsnn_plastic_deliver(&st.plastic.c, k, g, s, slot0, D, n,
                                             rex, rex if st.one_ring else rin, th, mult)
    return events


cdef void _prepare_delivery(EngineState st, int64_t t0, int64_t m) noexcept nogil:
    """Add the spike-generator spikes of the interval [t0, t0+m) to the received ones and sort them
    into canonical order; count the events they will cause (st.d_events) and the delivered spikes."""
    cdef int64_t k, r, nrecv = st.n_recv, events = 0, B = st.T * st.syn_W, pe
    cdef uint64_t* buf = &st.recvbuf[0]
    # spike generators: their spikes are known on every rank
    while st.gen_pos < st.gen_step.shape[0] and st.gen_step[st.gen_pos] < t0 + m:
        if st.gen_step[st.gen_pos] >= t0:
            buf[nrecv] = ((<uint64_t> (st.gen_step[st.gen_pos] - t0)) << 32) | <uint64_t> st.gen_gid[st.gen_pos]
            nrecv += 1
        st.gen_pos += 1
    if nrecv > 1:
        qsort(buf, nrecv, sizeof(uint64_t), _cmp_spike)
    for k in range(nrecv):
        r = st.syn_row[<int64_t> (buf[k] & LOW32)]    # the source's compact row
        events += st.syn_ptr[(r + 1) * B] - st.syn_ptr[r * B]
    if st.plastic_on:     # plastic hook: the sources' Kplus before each spike, advanced once here; plastic events
        pe = parsnn_plastic_prepare(&st.plastic.c, buf, nrecv, t0)
        if pe < 0:
            st.plastic.out_of_memory = 1
        else:
            events += pe
    st.n_recv = nrecv
    st.d_t0 = t0
    st.d_events = events
    st.n_events += events
    st.n_delivered_spikes += nrecv


cdef double _probe_thread(EngineState st, int64_t th, const int64_t* gids, const int64_t* slots, int64_t nspk,
                          double* rex, double* rin, int64_t pf) noexcept nogil:
    """Thread ``th`` of :func:`scatter_probe`: its sub-rows of the sources ``gids`` (emission ring
    slots ``slots``) scattered with the engine's kernel into the scratch rings; returns the
    thread's CPU seconds."""
    cdef int64_t W = st.syn_W, B = st.T * st.syn_W, k
    cdef const int64_t* wofs = &st.syn_base[th * W]
    cdef timespec c0, c1
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0)
    for k in range(nspk):
        _scatter_source(st, st.syn_row[gids[k]] * B + th * W, W, wofs, slots[k], 1.0, rex, rin, pf)
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1)
    return (c1.tv_sec - c0.tv_sec) + 1e-9 * (c1.tv_nsec - c0.tv_nsec)


def scatter_probe(EngineState st, const int64_t[::1] gids, const int64_t[::1] slots, double[::1] rex,
                  double[::1] rin, int64_t pf):
    """(wall seconds, CPU seconds of the busiest thread) the static delivery takes for the spikes of
    sources ``gids`` (emitted at ring slots ``slots``) with prefetch distance ``pf``: the engine's
    kernel over the state's own rows, on its T threads (each its sub-rows), into the scratch rings
    ``rex`` (D x ring_n) and ``rin`` (the same size, or empty for one ring). The CPU time leaves out
    the time other processes hold the core. The state is not changed (parsnn/engine/prefetch.py)."""
    cdef int64_t th, nspk = gids.shape[0], T = st.T
    cdef timespec t0, t1
    cdef double[::1] cpu = np.zeros(max(T, 1))
    if st.syn_w.shape[0] == 0 or nspk == 0:
        return 0.0, 0.0
    if rex.shape[0] < st.D * st.ring_n or (rin.shape[0] and rin.shape[0] < st.D * st.ring_n) or slots.shape[0] < nspk:
        raise ValueError("scatter_probe: scratch rings smaller than D x ring_n, or fewer slots than spikes")
    cdef double* pin = &rin[0] if rin.shape[0] else NULL
    with nogil:
        clock_gettime(CLOCK_MONOTONIC, &t0)
        if T == 1:
            cpu[0] = _probe_thread(st, 0, &gids[0], &slots[0], nspk, &rex[0], pin, pf)
        else:
            for th in prange(T, num_threads=T, schedule="static", chunksize=1):
                cpu[th] = _probe_thread(st, th, &gids[0], &slots[0], nspk, &rex[0], pin, pf)
        clock_gettime(CLOCK_MONOTONIC, &t1)
    return (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), float(np.max(cpu))


# -------------------------------------------------------------------------------- step loop
cdef double _thread_work(EngineState st, int64_t th, int64_t t0, int64_t m, bint deliver) noexcept nogil:
    """Thread ``th``'s share of one parallel region: deliver the sorted spikes of the previous
    interval (if ``deliver``) to its neurons, then update them for steps t0 .. t0+m-1. Thread 0's
    times go to st.t_deliver / st.t_update, every share's to st.t_thread. Returns the time taken."""
    cdef double c0, c1, c2
    cdef timespec q0, q1
    c0 = _now()
    if deliver:
        if st.cpu_timers:
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &q0)
        st.t_events[th] += _deliver_thread(st, th, st.d_t0, st.n_recv)
        if st.cpu_timers:
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &q1)
            st.t_deliver_cpu[th] += (q1.tv_sec - q0.tv_sec) + 1e-9 * (q1.tv_nsec - q0.tv_nsec)
    c1 = _now()
    if st.cpu_timers:
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &q0)
    if m > 0:
        _update_thread(st, th, t0, m)
    if st.cpu_timers:
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &q1)
        st.t_update_cpu[th] += (q1.tv_sec - q0.tv_sec) + 1e-9 * (q1.tv_nsec - q0.tv_nsec)
    c2 = _now()
    if th == 0:
        st.t_deliver += c1 - c0
        st.t_update += c2 - c1
    st.t_thread[th, 0] += c1 - c0
    st.t_thread[th, 1] += c2 - c1
    return c2 - c0


cdef void _region(EngineState st, int64_t t0, int64_t m, bint deliver) noexcept nogil:
    """One parallel region on the T threads (each on its own neurons: no interaction): delivery
    of the previous interval, update of this one. Small work runs the shares in turn on one thread."""
    cdef int64_t th
    cdef double c0, c1
    cdef double[1024] work
    if st.T == 1:
        _thread_work(st, 0, t0, m, deliver)
    elif st.n_loc * m < st.par_min_updates and (not deliver or st.d_events < st.par_min_events):
        c0 = _now()
        if deliver:
            for th in range(st.T):
                st.t_events[th] += _deliver_thread(st, th, st.d_t0, st.n_recv)
        c1 = _now()
        for th in range(st.T):
            _update_thread(st, th, t0, m)
        st.t_deliver += c1 - c0
        st.t_update += _now() - c1
    else:
        c0 = _now()
        for th in prange(st.T, num_threads=st.T, schedule="static", chunksize=1):
            work[th] = _thread_work(st, th, t0, m, deliver)
        c1 = _now()
        for th in range(st.T):
            st.t_thread[th, 2] += (c1 - c0) - work[th]


cdef int _finish_interval(EngineState st, int64_t t, int64_t mm, int64_t rows, double c0) noexcept nogil:
    """After the gather of the interval [t, t+mm) (started at ``c0``; ``rows``: its recorded spikes'
    rows, reserved): record its spikes, exchange them and sort the received ones for the next region.
    Returns 0 or the exchange's error."""
    cdef double c1
    cdef int err
    if rows:
        _record_spikes(st, t)
    c1 = _now()
    st.t_update += c1 - c0
    err = _exchange(st)
    if err:
        return err
    _prepare_delivery(st, t, mm)
    st.t_exchange += _now() - c1
    st.t_thread[0, 3] += _now() - c0
    return 0


cdef inline bint _need_reserve(EngineState st) noexcept nogil:
    """Whether the recording buffers might not hold one more interval."""
    return (st.n_rec + st.rec_need > st.rec_step.shape[0]
            or st.n_vrows + st.v_rows_per_interval > st.v_buf.shape[0])


#: why the thread team stopped (TeamCtl.stop)
cdef enum:
    TEAM_RUN = 0
    TEAM_END = 1        # t_stop reached, or an exchange error (TeamCtl.err)
    TEAM_RESERVE = 2    # the recording buffers must grow before the next interval
    TEAM_ROWS = 3       # the interval's recorded spikes need TeamCtl.rows more rows (then record, exchange)


cdef struct TeamCtl:
    int64_t t, t_stop, mm, rows
    bint pending
    int stop, err, nt
    parsnn_team_sync sync


cdef void _team_thread(EngineState st, int th, TeamCtl* c) noexcept nogil:
    """One thread of the persistent team (run_steps): the parallel regions of consecutive intervals.
    The other threads arrive and wait for thread 0's release; thread 0 waits for their arrival, does
    the serial part alone (gather, record, exchange, sort: every MPI call on this one thread) and
    releases them (cython/team.h): one wait per thread and interval. Thread ``th`` of ``c.nt`` runs
    the shares th, th + nt, .. < T (nt < T when OpenMP gave fewer threads). Stops as ``c.stop`` says
    (set by thread 0 before the release)."""
    cdef int64_t k, rows
    cdef double w, c0
    while True:
        w = 0.0
        k = th
        while k < st.T:
            w += _thread_work(st, k, c.t, c.mm, c.pending)
            k += c.nt
        if th != 0:
            st.t_thread[th, 2] += 1e-9 * <double> parsnn_team_arrive_wait(&c.sync)
        else:
            st.t_thread[0, 2] += 1e-9 * <double> parsnn_team_collect(&c.sync)
            c0 = _now()
            rows = _gather_spikes(st, c.t, c.mm)
            if rows and st.n_rec + rows > st.rec_step.shape[0]:
                c.rows = rows
                c.stop = TEAM_ROWS
            else:
                c.err = _finish_interval(st, c.t, c.mm, rows, c0)
                c.pending = True
                c.t += c.mm
                c.mm = st.m if st.m < c.t_stop - c.t else c.t_stop - c.t
                if c.err or c.t >= c.t_stop:
                    c.stop = TEAM_END
                elif _need_reserve(st):
                    c.stop = TEAM_RESERVE
            parsnn_team_release(&c.sync)
        if c.stop != TEAM_RUN:
            return


cdef void _team_run(EngineState st, TeamCtl* c) noexcept nogil:
    """Run the team on st.T OpenMP threads from c.t until c.stop says otherwise."""
    cdef int th
    c.stop = TEAM_RUN
    with parallel(num_threads=st.T):
        th = omp_get_thread_num()
        if th == 0:
            c.nt = omp_get_num_threads()
            parsnn_team_init(&c.sync, c.nt, st.team_spin_ns, st.team_yield_ns)
    with parallel(num_threads=c.nt):
        _team_thread(st, omp_get_thread_num(), c)


cdef int _loop(EngineState st, TeamCtl* cp, int64_t t_stop, bint team) except -1:
    """run_steps' interval loop (its docstring); may call back into Python to grow the recording buffers
    (an exception there propagates)."""
    cdef int64_t rows = 0
    cdef double c0
    with nogil:
        while cp.t < t_stop and not cp.err:
            cp.mm = st.m if st.m < t_stop - cp.t else t_stop - cp.t
            if _need_reserve(st):
                with gil:
                    st.reserve()      # grow the recording buffers (every rank stays in the loop)
            if team:
                _team_run(st, cp)
                if cp.stop != TEAM_ROWS:
                    continue
                c0 = _now()        # the team stopped after the gather: make room, then finish the interval
                rows = cp.rows
            else:
                _region(st, cp.t, cp.mm, cp.pending)
                c0 = _now()
                rows = _gather_spikes(st, cp.t, cp.mm)
            if rows and st.n_rec + rows > st.rec_step.shape[0]:     # multiplicities beyond the reserve
                with gil:
                    st.reserve(rows)
            cp.err = _finish_interval(st, cp.t, cp.mm, rows, c0)
            cp.pending = True
            cp.t += cp.mm
        if cp.pending and not cp.err:
            _region(st, cp.t, 0, True)
    return 0


def run_steps(EngineState st, int64_t t, int64_t t_stop):
    """Advance from step ``t`` interval by interval (min-delay long; the last one ends at ``t_stop``)
    until ``t_stop``: update, exchange (collective), deliver, record buffering. The delivery of an
    interval's spikes and the update of the next one share one parallel region (both touch only the
    thread's own neurons; delivery first, as in the plain order); the last delivery ends the call,
    so the state at return is complete. With T > 1 threads and enough neurons per interval
    (st.par_min_updates) one persistent team runs the intervals (_team_thread: one meeting per
    interval instead of an OpenMP region); else one region per interval. When the recording buffers
    might not hold one more interval it calls ``st.reserve()`` to grow them (and ``st.reserve(rows)``
    when the multiplicities of an interval's recorded spikes need more rows). Returns ``t_stop``."""
    cdef int err, slack
    cdef TeamCtl c
    cdef bint team = st.T > 1 and st.team and st.n_loc * st.m >= st.par_min_updates
    if st.t_thread.shape[0] != st.T:
        st.t_thread = np.zeros((st.T, 4))
    if st.t_events.shape[0] != st.T:
        st.t_events = np.zeros(st.T, dtype=np.int64)
    if st.cpu_timers and (st.t_update_cpu is None or st.t_update_cpu.shape[0] != st.T):
        st.t_update_cpu = np.zeros(st.T)
    if st.cpu_timers and (st.t_deliver_cpu is None or st.t_deliver_cpu.shape[0] != st.T):
        st.t_deliver_cpu = np.zeros(st.T)
    if st.segments.shape[0] and (st.seg_bounds is None or st.seg_bounds.shape[0] != st.segments.shape[0]
                                 or st.seg_bounds.shape[1] != 2 * st.T):
        raise ValueError("EngineState.seg_bounds must give every thread's range of every update segment "
                         "(parsnn.engine.decomposition.segment_parts)")
    if (st.ring_n < st.n_loc or st.ring_ex.shape[0] < st.D * st.ring_n
            or st.ring_in.shape[0] < (st.n_loc if st.one_ring else st.D * st.ring_n)):
        raise ValueError("EngineState rings must hold D slots of ring_n >= n_loc entries (one slot of n_loc "
                         "entries for ring_in with one ring)")
    # every i_in bit-zero (not -0.0) with one ring: it stays so in this call (ring_in holds zeros)
    st.iin_zero = st.one_ring and st.n_loc > 0 and not np.any(np.asarray(st.i_in).view(np.uint64))
    c.t, c.t_stop, c.pending, c.err, c.stop = t, t_stop, False, 0, TEAM_RUN
    slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) if st.wait_mode == W_SLEEP else -1
    if slack > 0:
        prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)     # sleeps in the exchange wait as asked (module docstring)
    try:
        _loop(st, &c, t_stop, team)
    finally:
        if slack > 0:
            prctl(PR_SET_TIMERSLACK, <unsigned long> slack, 0, 0, 0)
    err = c.err
    t = c.t
    if st.plastic_on and st.plastic.out_of_memory:      # plastic hook: an archive or the traces' buffer could not grow
        raise MemoryError("out of memory for the postsynaptic spike archives or the plastic traces")
    if err == -1:
        raise MemoryError("out of memory for the spike exchange buffers")
    if err:
        raise RuntimeError(f"MPI error {err} in the spike exchange")
    return t
