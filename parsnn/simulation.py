"""Per-rank build and simulation.

``Simulation(net, seed, comm, partition)`` places the network's nodes on the
ranks of ``comm`` with a neuron->rank map, builds on every rank only the
synapses onto its own neurons, and advances the network in min-delay
intervals: one Cython call updates all local neurons for the whole interval,
then the interval's spikes are exchanged (buffer-based ``Alltoall`` +
``Alltoallv``, only to ranks that host targets) and delivered in canonical
order into the delay ring buffers.

Every random number is drawn from a counter-based stream keyed by (seed,
purpose, node id), so the network and the spike trains do not depend on the
number of ranks or on the partition.
"""
from __future__ import annotations

import hashlib
import json
import math
import resource
import sys
import time

import numpy as np
from mpi4py import MPI

import parsnn
from parsnn import _connect as KC
from parsnn import _engine as KE
from parsnn import _rng as KR
from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.network import (MODEL_CODES, RULE_CODES, FixedIndegree, FixedTotalNumber, Network, Normal,
                            PairwiseBernoulli, AllToAll, Uniform, dist_spec)
from parsnn.partition import make_map

PHASES = ("update", "exchange", "deliver", "record")
BUILD_PHASES = ("place", "neurons", "count", "connect", "group", "routes")


def purpose(*parts) -> int:
    """Stable 64-bit stream id for a purpose such as ('proj', 3, 'struct')."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _iaf_propagator(tau_syn, tau_m, c_m, h):
    """Exact propagator from synaptic current to membrane potential over one step,
    with the limit h/C*exp(-h/tau) where tau_syn == tau_m (NEST's IAFPropagatorExp)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        p = beta / c_m * np.exp(-h / tau_syn) * np.expm1(h * (tau_m - tau_syn) / (tau_syn * tau_m))
    regular = np.isfinite(p) & (p > 0) & (np.abs(p) >= np.finfo(float).tiny)
    return np.where(regular, p, h / c_m * np.exp(-h / tau_m))


class Simulation:
    """One simulation of a network on the ranks of ``comm``.

    Parameters: ``seed`` (integer in [0, 2^63)), ``comm`` (an mpi4py
    communicator, default COMM_WORLD), ``partition`` (strategy name or an
    explicit node->rank array), ``out`` (path of the HDF5 output, written by
    rank 0), ``keep_spikes`` (keep recorded spikes in memory for
    :meth:`spikes`; default: when no output file is given), ``progress``
    (show a progress bar on rank 0), ``flush_ms`` (model time between
    collective flushes of recorded data).
    """

    def __init__(self, net: Network, seed: int = 12345, comm=None, partition="round_robin", out=None,
                 keep_spikes=None, progress=False, flush_ms: float = 1000.0, run_info: dict | None = None,
                 summary_from_ms: float = 500.0):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
            raise ParameterError(f"seed must be an integer in [0, 2^63), got {seed!r}")
        if not (isinstance(flush_ms, (int, float)) and flush_ms > 0):
            raise ParameterError(f"flush_ms must be > 0 ms, got {flush_ms!r}")
        net.validate()
        self.net = net
        self.seed = int(seed)
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.partition_name, self.rank_of = make_map(Connectivity.from_network(net), self.size, partition)
        self.out = out
        self.keep_spikes = (out is None) if keep_spikes is None else keep_spikes
        self.progress = progress
        self.flush_ms = float(flush_ms)
        self.run_info = dict(run_info or {})
        self.h = float(net.resolution)
        self.built = False
        self.t_steps = 0
        self.timers = {p: 0.0 for p in PHASES}
        self.build_timers = {p: 0.0 for p in BUILD_PHASES}
        self.build_seconds = 0.0
        self.simulate_seconds = 0.0
        self._h5 = None
        self._spike_chunks = []
        self._volt_chunks = []
        self.summary_from_ms = float(summary_from_ms)
        self._counts_all = {}     # rank 0: spikes per recorded population
        self._counts_late = {}    # rank 0: spikes after summary_from_ms

    # ------------------------------------------------------------------ build
    def build(self):
        if self.built:
            return
        t_start = time.perf_counter()
        net, comm, h = self.net, self.comm, self.h
        offsets = net.offsets()
        self.offsets = offsets
        N = net.num_nodes
        self.num_nodes = N
        st = KE.EngineState()
        self.st = st
        st.vector_update = True

        # --- placement
        t0 = time.perf_counter()
        local = np.flatnonzero(self.rank_of == self.rank).astype(np.int64)
        n = local.size
        self.local_gids = local
        g2l = np.full(N, -1, dtype=np.int32)
        g2l[local] = np.arange(n, dtype=np.int32)
        self.build_timers["place"] += time.perf_counter() - t0

        # --- neurons (per-neuron values drawn here can still be invalid: report that collectively)
        t0 = time.perf_counter()
        self._collectively(self._build_neurons, st, local, offsets)
        self.build_timers["neurons"] += time.perf_counter() - t0

        # --- synapses onto local neurons
        t0 = time.perf_counter()
        syn_ptr, syn_tgt, syn_w, syn_d, dmin, dmax = self._generate_synapses(local, offsets)
        self.build_timers["connect"] += (time.perf_counter() - t0 - self.build_timers["count"]
                                         - self.build_timers["group"])
        st.syn_ptr, st.syn_tgt, st.syn_w, st.syn_d = syn_ptr, syn_tgt, syn_w, syn_d
        self._syn_arrays = (syn_ptr, syn_tgt, syn_w, syn_d)
        self.num_local_synapses = int(syn_ptr[-1])

        # --- global delay extent: the min delay sets the communication interval
        t0 = time.perf_counter()
        dmin = comm.allreduce(dmin, op=MPI.MIN)
        dmax = comm.allreduce(dmax, op=MPI.MAX)
        if dmax >= 65536:
            raise ParameterError("a synaptic delay exceeds 65535 steps; use a coarser resolution or shorter delays")
        if dmax == 0:        # no synapses at all: any interval length is exact
            dmin = max(1, int(round(1.0 / h)))
        self.min_delay_steps, self.max_delay_steps = int(dmin), int(dmax)
        st.D = max(int(dmax), 1) + 1
        self.num_synapses = comm.allreduce(self.num_local_synapses, op=MPI.SUM)

        # --- routes: which ranks need each local neuron's spikes
        has_targets = np.diff(syn_ptr) > 0
        virtual = self.rank_of < 0
        needed = np.flatnonzero(has_targets & ~virtual)
        owners = self.rank_of[needed]
        order = np.argsort(owners, kind="stable")
        needed = needed[order].astype(np.int64)
        scounts = np.bincount(owners, minlength=self.size).astype(np.int64)
        rcounts = np.empty(self.size, dtype=np.int64)
        comm.Alltoall(scounts, rcounts)
        requested = np.empty(int(rcounts.sum()), dtype=np.int64)
        comm.Alltoallv([needed, (scounts, _displ(scounts)), MPI.INT64_T],
                       [requested, (rcounts, _displ(rcounts)), MPI.INT64_T])
        req_rank = np.repeat(np.arange(self.size, dtype=np.int32), rcounts)
        req_local = g2l[requested].astype(np.int64)
        order = np.lexsort((req_rank, req_local))
        st.dst_rank = np.ascontiguousarray(req_rank[order])
        st.dst_ptr = np.concatenate([[0], np.cumsum(np.bincount(req_local, minlength=n))]).astype(np.int64)
        st.g2l = g2l
        self.build_timers["routes"] += time.perf_counter() - t0

        # --- spike generators with targets here
        gen_step, gen_gid = self._generator_spikes(offsets, has_targets)
        st.gen_step, st.gen_gid, st.gen_pos = gen_step, gen_gid, 0

        # --- buffers
        m = self.min_delay_steps
        st.n_loc, st.n_nodes, st.seed = n, N, self.seed
        st.purpose_source = purpose("poisson_source")
        st.ring_ex = np.zeros(st.D * n, dtype=np.float64)
        st.ring_in = np.zeros(st.D * n, dtype=np.float64)
        st.spk = np.zeros(max(n * m, 1), dtype=np.uint64)
        self._sendbuf = np.zeros(max(len(st.dst_rank) * m, 1), dtype=np.uint64)
        self._recvbuf = np.zeros(max(needed.size * m + gen_step.size, 1), dtype=np.uint64)
        st.sendbuf, st.recvbuf = self._sendbuf, self._recvbuf
        self._scount = np.zeros(self.size, dtype=np.int32)
        self._sdispl = np.zeros(self.size, dtype=np.int32)
        self._rcount = np.zeros(self.size, dtype=np.int32)
        self._rdispl = np.zeros(self.size, dtype=np.int32)
        st.scount, st.sdispl, st.rcount, st.rdispl = self._scount, self._sdispl, self._rcount, self._rdispl
        self._setup_recording(st, local, offsets)
        st.n_events = st.n_delivered_spikes = st.n_remote_sends = 0
        st.n_fired = np.zeros(n, dtype=np.int64)
        st.my_rank = self.rank

        self.built = True
        self.build_seconds = time.perf_counter() - t_start
        self.build_peak_rss = peak_rss_bytes()

    def _collectively(self, fn, *args):
        """Run ``fn`` on every rank; if it raises ParameterError on any rank, raise the
        lowest rank's error on all ranks, so that bad input found during the build is
        reported once and ends the job like input rejected by validation."""
        error = None
        try:
            fn(*args)
        except ParameterError as e:
            error = str(e)
        errors = self.comm.allgather(error) if self.size > 1 else [error]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise ParameterError(first)

    def _param(self, pop, name, gids, off):
        value = pop.param(name)
        if isinstance(value, (Normal, Uniform)):
            return KR.draw_per_node(gids, dist_spec(value), self.seed, purpose("param", pop.name, name))
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 1:
            return arr[gids - off].copy()
        return np.full(gids.size, float(arr))

    def _build_neurons(self, st, local, offsets):
        net, h, n = self.net, self.h, local.size
        f = lambda: np.zeros(n, dtype=np.float64)  # noqa: E731
        V, iex, iin, p22, p21ex, p21in, p20, p11ex, p11in, ie, theta, vreset = (f() for _ in range(12))
        vmin = np.full(n, -np.inf)
        el = f()
        lam = f()
        t_on = np.zeros(n, dtype=np.int64)
        t_off = np.zeros(n, dtype=np.int64)
        refr = np.zeros(n, dtype=np.int32)
        segments = []
        self.pop_local = {}
        for name, pop in net.populations.items():
            if pop.is_virtual:
                continue
            off = offsets[name]
            a, b = np.searchsorted(local, [off, off + pop.size])
            self.pop_local[name] = (int(a), int(b))
            if a == b:
                continue
            segments.append((a, b, MODEL_CODES[pop.model]))
            gids = local[a:b]
            P = lambda key: self._param(pop, key, gids, off)  # noqa: E731
            sl = slice(a, b)
            if pop.model in ("iaf_psc_exp", "iaf_psc_delta"):
                E_L, C_m, tau_m = P("E_L"), P("C_m"), P("tau_m")
                el[sl] = E_L
                if np.any(C_m <= 0) or np.any(tau_m <= 0):
                    raise ParameterError(f"population '{name}': C_m and tau_m must be > 0")
                V[sl] = P("V_m") - E_L
                theta[sl] = P("V_th") - E_L
                vreset[sl] = P("V_reset") - E_L
                if np.any(vreset[sl] >= theta[sl]):
                    raise ParameterError(f"population '{name}': V_reset must be < V_th")
                ie[sl] = P("I_e")
                t_ref = P("t_ref")
                if np.any(t_ref < 0):
                    raise ParameterError(f"population '{name}': t_ref must be >= 0")
                refr[sl] = np.rint(t_ref / h).astype(np.int32)
                p22[sl] = np.exp(-h / tau_m)
                if pop.model == "iaf_psc_exp":
                    ts_ex, ts_in = P("tau_syn_ex"), P("tau_syn_in")
                    if np.any(ts_ex <= 0) or np.any(ts_in <= 0):
                        raise ParameterError(f"population '{name}': tau_syn_ex and tau_syn_in must be > 0")
                    p11ex[sl] = np.exp(-h / ts_ex)
                    p11in[sl] = np.exp(-h / ts_in)
                    p21ex[sl] = _iaf_propagator(ts_ex, tau_m, C_m, h)
                    p21in[sl] = _iaf_propagator(ts_in, tau_m, C_m, h)
                    p20[sl] = tau_m / C_m * (1.0 - p22[sl])
                else:
                    p20[sl] = -tau_m / C_m * np.expm1(-h / tau_m)
                    vmin[sl] = P("V_min") - E_L
            elif pop.model == "poisson_source":
                lam[sl] = P("rate") * h * 1e-3
                t_on[sl] = np.rint(P("start") / h).astype(np.int64)
                stop = P("stop")
                t_off[sl] = np.where(np.isfinite(stop), np.rint(np.minimum(stop, 1e15) / h), 2**62).astype(np.int64)
        for dc in net.dc_inputs:
            a, b = self.pop_local[dc.target]
            gids = local[a:b]
            amp = np.asarray(dc.amplitude, dtype=np.float64)
            ie[a:b] += amp[gids - offsets[dc.target]] if amp.ndim == 1 else float(amp)
        # Poisson input devices, CSR over local neurons
        li, lam_d, w_d, dl_d, pur_d = [], [], [], [], []
        for k, dev in enumerate(net.poisson_inputs):
            a, b = self.pop_local[dev.target]
            gids = local[a:b]
            rate = np.asarray(dev.rate, dtype=np.float64)
            rate = rate[gids - offsets[dev.target]] if rate.ndim == 1 else np.full(b - a, float(rate))
            li.append(np.arange(a, b, dtype=np.int64))
            lam_d.append(rate * h * 1e-3)
            w_d.append(np.full(b - a, float(dev.weight)))
            dl_d.append(np.full(b - a, max(1, int(round(float(dev.delay) / h))), dtype=np.int64))
            pur_d.append(np.full(b - a, purpose("poisson_input", k, dev.name), dtype=np.uint64))
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        li = cat(li, np.int64)
        order = np.argsort(li, kind="stable")
        st.pd_ptr = np.concatenate([[0], np.cumsum(np.bincount(li, minlength=n))]).astype(np.int64)
        st.pd_lam = cat(lam_d, np.float64)[order]
        st.pd_w = cat(w_d, np.float64)[order]
        st.pd_delay = cat(dl_d, np.int64)[order]
        st.pd_purpose = cat(pur_d, np.uint64)[order]
        # a segment whose update parameters are all equal reads them from its first neuron
        params = (p22, p21ex, p21in, p20, p11ex, p11in, ie, theta, vreset, vmin, refr)
        segments = [(a, b, code, 0 if all(np.all(x[a:b] == x[a]) for x in params) else 1)
                    for a, b, code in segments]
        st.segments = np.array(segments, dtype=np.int64).reshape(-1, 4)
        st.gids = local
        st.V, st.i_ex, st.i_in = V, iex, iin
        st.r, st.refr = np.zeros(n, dtype=np.int32), refr
        st.p22, st.p21ex, st.p21in, st.p20, st.p11ex, st.p11in = p22, p21ex, p21in, p20, p11ex, p11in
        st.ie, st.theta, st.vreset, st.vmin, st.el = ie, theta, vreset, vmin, el
        st.lam, st.t_on, st.t_off = lam, t_on, t_off

    def _generate_synapses(self, local, offsets):
        """Synapses onto the local neurons, grouped by source gid (CSR).

        Pass 1 counts each source's synapses by replaying the source draws;
        pass 2 draws again and writes every synapse straight into its row, so
        no unsorted copy of the synapses ever exists."""
        net, h, N = self.net, self.h, self.num_nodes
        plans = []
        per_source = np.zeros(N + 1, dtype=np.int64)
        t0 = time.perf_counter()
        for k, proj in enumerate(net.projections):
            tgt_pop = net.populations[proj.target]
            a, b = self.pop_local[proj.target]
            tgt_gids = local[a:b]
            rule = proj.rule
            toff, soff = offsets[proj.target], offsets[proj.source]
            fixed = np.zeros(0, dtype=np.int64)
            if isinstance(rule, FixedTotalNumber):
                # the split of n over targets is a projection-level draw, made identically on every rank
                bitgen = np.random.Philox(key=np.array([self.seed, purpose("proj", k, proj.name, "split")],
                                                       dtype=np.uint64))
                per_target = np.random.Generator(bitgen).multinomial(int(rule.n), np.full(tgt_pop.size,
                                                                                          1.0 / tgt_pop.size))
                fixed = per_target[tgt_gids - toff].astype(np.int64)
            elif isinstance(rule, FixedIndegree):
                fixed = np.full(tgt_gids.size, int(rule.k), dtype=np.int64)
            plan = dict(rule=RULE_CODES[type(rule)], tgt_gids=tgt_gids,
                        tgt_local=np.arange(a, b, dtype=np.uint32), fixed=fixed, soff=soff,
                        nsrc=net.populations[proj.source].size, toff=toff,
                        p=float(rule.p) if isinstance(rule, PairwiseBernoulli) else 0.0,
                        autapses=bool(getattr(rule, "allow_autapses", True)),
                        ps=purpose("proj", k, proj.name, "struct"), pv=purpose("proj", k, proj.name, "value"),
                        wspec=dist_spec(proj.weight), dspec=dist_spec(proj.delay))
            plan["count"] = KC.count_by_source(plan["rule"], tgt_gids, fixed, soff, plan["nsrc"], toff, plan["p"],
                                               plan["autapses"], self.seed, plan["ps"], per_source[1:])
            plans.append(plan)
        self.build_timers["count"] += time.perf_counter() - t0
        ptr = np.cumsum(per_source)           # ptr[g] .. ptr[g+1]: synapses of source g
        del per_source
        total = int(ptr[-1])
        tgt = np.empty(total, dtype=np.uint32)
        w = np.empty(total, dtype=np.float32)
        d = np.empty(total, dtype=np.uint16)
        fill = ptr[:-1].copy()
        dmin, dmax = 1 << 40, 0
        for pl in plans:
            if pl["count"] == 0:
                continue
            lo, hi = KC.generate(pl["rule"], pl["tgt_gids"], pl["tgt_local"], pl["fixed"], pl["soff"], pl["nsrc"],
                                 pl["toff"], pl["p"], pl["autapses"], pl["wspec"], pl["dspec"], h, self.seed,
                                 pl["ps"], pl["pv"], fill, tgt, w, d)
            dmin, dmax = min(dmin, lo), max(dmax, hi)
        if not np.array_equal(fill, ptr[1:]):
            raise RuntimeError("internal error: pass 2 wrote a different number of synapses than pass 1 counted")
        t0 = time.perf_counter()
        KC.group_rows_by_delay(ptr, tgt, w, d)      # delivery then writes ring rows one delay at a time
        self.build_timers["group"] += time.perf_counter() - t0
        return ptr, tgt, w, d, dmin, dmax

    def _generator_spikes(self, offsets, has_targets):
        steps, gids = [], []
        for name, pop in self.net.populations.items():
            if not pop.is_virtual:
                continue
            off = offsets[name]
            lengths = np.array([len(t) for t in pop.spike_times], dtype=np.int64)
            node = np.repeat(np.arange(pop.size, dtype=np.int64), lengths)
            times = np.concatenate([np.asarray(t, dtype=np.float64) for t in pop.spike_times]) \
                if lengths.sum() else np.zeros(0)
            keep = has_targets[off + node]
            steps.append(np.rint(times[keep] / self.h).astype(np.int64) - 1)
            gids.append((off + node[keep]).astype(np.int32))
        if not steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        s, g = np.concatenate(steps), np.concatenate(gids)
        order = np.lexsort((g, s))
        return np.ascontiguousarray(s[order]), np.ascontiguousarray(g[order])

    def _setup_recording(self, st, local, offsets):
        net, n = self.net, local.size
        mask = np.zeros(n, dtype=np.uint8)
        self.recorded_pops = list(net.spike_recorder.populations) if net.spike_recorder else []
        for name in self.recorded_pops:
            a, b = self.pop_local[name]
            mask[a:b] = 1
        st.rec_mask = mask
        self._n_rec_local = int(mask.sum())
        self._grow_spike_record(max(self._n_rec_local * self.min_delay_steps * 16, 1024))
        st.n_rec = 0
        # voltage: one global sampling period (gcd of the recorders' intervals)
        vrs = net.voltage_recorders
        self.v_columns = []     # (pop, node id) of each local column
        v_idx = []
        if vrs:
            every = [net.steps(v.interval, "voltage recorder interval") for v in vrs]
            st.v_every = int(np.gcd.reduce(every))
            self.v_every_pop = {v.population: e for v, e in zip(vrs, every)}
            for v in vrs:
                off = offsets[v.population]
                for nid in v.ids:
                    li = self.st.g2l[off + int(nid)]
                    if li >= 0:
                        v_idx.append(li)
                        self.v_columns.append((v.population, int(nid)))
        else:
            st.v_every = 1
            self.v_every_pop = {}
        st.v_idx = np.array(v_idx, dtype=np.int64)
        st.v_on = 1 if vrs else 0      # every rank samples the same rows, recorded columns or not
        self._v_rows_per_interval = (self.min_delay_steps // st.v_every + 1) if vrs else 0
        st.v_buf = np.zeros((max(self._v_rows_per_interval * 64, 1), len(v_idx)), dtype=np.float64)
        st.v_step = np.zeros(st.v_buf.shape[0], dtype=np.int64)
        st.n_vrows = 0

    def _grow_spike_record(self, cap):
        st = self.st
        old_n = st.n_rec if hasattr(self, "_rec_step") else 0
        rs = np.zeros(cap, dtype=np.int64)
        rg = np.zeros(cap, dtype=np.int32)
        if old_n:
            rs[:old_n] = self._rec_step[:old_n]
            rg[:old_n] = self._rec_gid[:old_n]
        self._rec_step, self._rec_gid = rs, rg
        st.rec_step, st.rec_gid = rs, rg

    def _grow_voltage_record(self):
        st = self.st
        rows = st.v_buf.shape[0] * 2
        vb = np.zeros((rows, st.v_buf.shape[1]), dtype=np.float64)
        vs = np.zeros(rows, dtype=np.int64)
        vb[:st.n_vrows] = np.asarray(st.v_buf)[:st.n_vrows]
        vs[:st.n_vrows] = np.asarray(st.v_step)[:st.n_vrows]
        st.v_buf, st.v_step = vb, vs

    # ------------------------------------------------------------------ run
    def run(self, t_sim: float):
        """Simulate ``t_sim`` ms (a multiple of the resolution) from the current time."""
        if not (isinstance(t_sim, (int, float)) and math.isfinite(t_sim) and t_sim > 0):
            raise ParameterError(f"t_sim must be > 0 ms, got {t_sim!r}")
        n_steps = self.net.steps(t_sim, "t_sim")
        self.build()
        if self.out is not None and self._h5 is None and self.rank == 0:
            self._open_output()
        st, comm, P = self.st, self.comm, self.size
        m = self.min_delay_steps
        t, t_end = self.t_steps, self.t_steps + n_steps
        flush_every = max(m, int(round(self.flush_ms / self.h)) // m * m)
        next_flush = (t // flush_every + 1) * flush_every
        timers = self.timers
        perf = time.perf_counter
        need_rec = self._n_rec_local * m
        alltoall, alltoallv = comm.Alltoall, comm.Alltoallv
        send_spec = [self._sendbuf, (self._scount, self._sdispl), MPI.UINT64_T]
        recv_spec = [self._recvbuf, (self._rcount, self._rdispl), MPI.UINT64_T]
        bar = self._progress_bar(t, t_end) if (self.progress and self.rank == 0) else None
        wall0 = perf()
        last_report = wall0
        k = 0
        while t < t_end:
            mm = min(m, t_end - t)
            if st.n_rec + need_rec > self._rec_step.shape[0]:
                self._grow_spike_record(2 * self._rec_step.shape[0] + need_rec)
            if st.n_vrows + self._v_rows_per_interval > st.v_buf.shape[0]:
                self._grow_voltage_record()
            a = perf()
            KE.run_interval(st, t, mm)
            b = perf()
            total = KE.pack(st, P)
            if P > 1:
                alltoall(self._scount, self._rcount)
                nrecv = KE.recv_displacements(st, P)
                alltoallv(send_spec, recv_spec)
            else:
                self._recvbuf[:total] = self._sendbuf[:total]
                nrecv = total
            c = perf()
            KE.deliver(st, t, mm, nrecv)
            d = perf()
            timers["update"] += b - a
            timers["exchange"] += c - b
            timers["deliver"] += d - c
            t += mm
            if t >= next_flush or t >= t_end:
                self.t_steps = t
                self._flush()
                timers["record"] += perf() - d
                next_flush = (t // flush_every + 1) * flush_every
            k += 1
            if bar is not None and (k & 255) == 0:
                now = perf()
                if now - last_report > 0.25:
                    self._progress_update(bar, t, t_end, now - wall0)
                    last_report = now
        self.t_steps = t
        self.simulate_seconds += perf() - wall0
        if bar is not None:
            self._progress_update(bar, t, t_end, perf() - wall0)
            bar.close()

    # ---------------------------------------------------------------- progress
    def _progress_bar(self, t, t_end):
        from tqdm import tqdm
        return tqdm(total=round((t_end - t) * self.h, 6), unit="ms", desc="simulate", file=sys.stderr,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ms model time "
                               "[{elapsed}<{remaining}{postfix}]", mininterval=0.25)

    def _progress_update(self, bar, t, t_end, wall):
        done_ms = (t - (t_end - round(bar.total / self.h))) * self.h
        bar.n = round(done_ms, 6)
        rtf = wall / done_ms * 1e3 if done_ms > 0 else float("nan")
        bar.set_postfix_str(f"RTF {rtf:.2f}", refresh=False)
        bar.refresh()

    # -------------------------------------------------------------- recording
    def _flush(self):
        """Collect recorded spikes and voltages of all ranks on rank 0 (collective)."""
        comm, st = self.comm, self.st
        nloc = int(st.n_rec)
        codes = (self._rec_step[:nloc].astype(np.int64) << 32) | self._rec_gid[:nloc].astype(np.int64)
        counts = comm.gather(nloc, root=0) if self.size > 1 else [nloc]
        allc = None
        if self.rank == 0:
            counts = np.array(counts, dtype=np.int64)
            allc = np.empty(int(counts.sum()), dtype=np.int64)
        if self.size > 1:
            comm.Gatherv(codes, [allc, (counts, _displ(counts)), MPI.INT64_T] if self.rank == 0 else None, root=0)
        else:
            allc = codes.copy()
        st.n_rec = 0
        vdata = None
        if self.net.voltage_recorders:
            rows = int(st.n_vrows)
            vloc = np.ascontiguousarray(np.asarray(st.v_buf)[:rows])
            vsteps = np.asarray(st.v_step)[:rows].copy()
            cols = self.comm.gather(self.v_columns, root=0) if self.size > 1 else [self.v_columns]
            blocks = self.comm.gather(vloc, root=0) if self.size > 1 else [vloc]
            st.n_vrows = 0
            if self.rank == 0:
                vdata = (vsteps, cols, blocks)
        if self.rank != 0:
            return
        allc.sort()
        steps = allc >> 32
        gids = (allc & 0xFFFFFFFF).astype(np.int64)
        times = (steps + 1) * self.h
        chunk = {}
        for name in self.recorded_pops:
            off, size = self.offsets[name], self.net.populations[name].size
            sel = (gids >= off) & (gids < off + size)
            chunk[name] = (times[sel], (gids[sel] - off).astype(np.uint64))
            self._counts_all[name] = self._counts_all.get(name, 0) + int(sel.sum())
            self._counts_late[name] = self._counts_late.get(name, 0) + int(np.count_nonzero(
                chunk[name][0] > self.summary_from_ms))
        if self._h5 is not None:
            from parsnn import sonata
            for name, (tt, ids) in chunk.items():
                sonata.append_spikes(self._h5, name, tt, ids)
        if self.keep_spikes:
            self._spike_chunks.append(chunk)
        if vdata is not None:
            vsteps, cols, blocks = vdata
            columns = [c for cs in cols for c in cs]
            block = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(vsteps), 0))
            per_pop = {}
            for v in self.net.voltage_recorders:
                idx = [columns.index((v.population, int(i))) for i in v.ids]
                every = self.v_every_pop[v.population]
                rows = ((vsteps + 1) % every) == 0
                per_pop[v.population] = ((vsteps[rows] + 1) * self.h, np.asarray(v.ids, dtype=np.uint64),
                                         block[rows][:, idx])
            if self._h5 is not None:
                self._append_voltage(per_pop)
            if self.keep_spikes:
                self._volt_chunks.append(per_pop)
        if self._h5 is not None:
            self._h5.flush()

    def summary_window(self):
        """(start, stop) in ms of the window used by :meth:`summary_rates`."""
        t_end = self.t_steps * self.h
        return (self.summary_from_ms, t_end) if t_end > self.summary_from_ms else (0.0, t_end)

    def summary_rates(self) -> dict:
        """Mean rate (spikes/s) per recorded population over :meth:`summary_window` (rank 0)."""
        t0, t1 = self.summary_window()
        counts = self._counts_late if t0 > 0 else self._counts_all
        if t1 <= t0:
            return {}
        return {k: c / self.net.populations[k].size / ((t1 - t0) * 1e-3) for k, c in counts.items()}

    def spikes(self) -> dict:
        """Recorded spikes of the whole network, on every rank (collective):
        {population: (times_ms, node_ids)}, sorted by time, then node id."""
        if not self.keep_spikes:
            raise RuntimeError("spikes were not kept in memory (keep_spikes=False); read them from the output file")
        out = None
        if self.rank == 0:
            out = {}
            for name in self.recorded_pops:
                ts = [c[name][0] for c in self._spike_chunks]
                ids = [c[name][1] for c in self._spike_chunks]
                out[name] = (np.concatenate(ts) if ts else np.zeros(0),
                             np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64))
        return self.comm.bcast(out, root=0) if self.size > 1 else out

    def voltages(self) -> dict:
        """Recorded membrane potentials on every rank (collective):
        {population: (times_ms [T], node_ids [k], V_m [T, k])}."""
        if not self.keep_spikes:
            raise RuntimeError("voltages were not kept in memory (keep_spikes=False); read them from the output file")
        out = None
        if self.rank == 0:
            out = {}
            for v in self.net.voltage_recorders:
                parts = [c[v.population] for c in self._volt_chunks]
                if parts:
                    out[v.population] = (np.concatenate([p[0] for p in parts]), parts[0][1].astype(np.int64),
                                         np.concatenate([p[2] for p in parts], axis=0))
        return self.comm.bcast(out, root=0) if self.size > 1 else out

    # ------------------------------------------------------------------ output
    def _open_output(self):
        import h5py
        from parsnn import sonata
        f = h5py.File(self.out, "w")
        self._h5 = f
        g = f.create_group("parsnn")
        g.attrs["complete"] = False
        g.attrs["version"] = parsnn.__version__
        g.attrs["seed"] = self.seed
        g.attrs["num_ranks"] = self.size
        g.attrs["partition"] = self.partition_name
        g.attrs["model"] = self.net.name
        g.attrs["resolution"] = self.h
        g.attrs["min_delay_ms"] = self.min_delay_steps * self.h
        g.attrs["parameters"] = json.dumps(self.net.describe(), default=_json_default)
        g.attrs["run"] = json.dumps(self.run_info, default=_json_default)
        g.create_dataset("partition_map", data=self.rank_of, compression="gzip")
        g["partition_map"].attrs["strategy"] = self.partition_name
        sonata.create_spike_datasets(f, {name: self.net.populations[name].size for name in self.recorded_pops})
        for v in self.net.voltage_recorders:
            r = f.require_group(f"report/{v.population}")
            r.create_dataset("data", shape=(0, len(v.ids)), maxshape=(None, len(v.ids)), dtype="f8",
                             chunks=(max(1, 65536 // max(1, len(v.ids))), len(v.ids)))
            r["data"].attrs["units"] = "mV"
            r["data"].attrs["variable"] = "V_m"
            mp = r.create_group("mapping")
            mp.create_dataset("node_ids", data=np.asarray(v.ids, dtype=np.uint64))
            every = self.net.steps(v.interval, "voltage recorder interval")
            mp.create_dataset("time", data=np.array([every * self.h, every * self.h, every * self.h]))
            mp["time"].attrs["units"] = "ms"
        f.flush()

    def _append_voltage(self, per_pop):
        f = self._h5
        for name, (tt, ids, block) in per_pop.items():
            ds = f[f"report/{name}/data"]
            n0 = ds.shape[0]
            ds.resize(n0 + block.shape[0], axis=0)
            ds[n0:] = block
            tm = f[f"report/{name}/mapping/time"]
            every = tm[2]
            tm[1] = (n0 + block.shape[0]) * every + every  # stop (exclusive), SONATA convention

    def performance(self) -> dict:
        """Per-rank figures gathered on every rank (collective)."""
        comm = self.comm
        local = {
            "build_seconds": self.build_seconds,
            "simulate_seconds": self.simulate_seconds,
            "peak_rss_bytes": peak_rss_bytes(),
            "num_local_neurons": int(self.local_gids.size),
            "num_local_synapses": self.num_local_synapses,
            "synaptic_events": int(self.st.n_events),
            "remote_deliveries": int(self.st.n_remote_sends),
            **{f"timer_{k}": v for k, v in self.timers.items()},
            **{f"build_{k}": v for k, v in self.build_timers.items()},
        }
        rows = comm.allgather(local) if self.size > 1 else [local]
        out = {k: [r[k] for r in rows] for k in local}
        # spikes emitted per population over all run() calls, in the order of net.populations
        # (spike generators 0: they are not simulated neurons), recorded or not
        fired = np.asarray(self.st.n_fired) if self.built else np.zeros(0, dtype=np.int64)
        where = self.pop_local if self.built else {}
        counts = np.array([int(fired[a:b].sum()) for a, b in
                           (where.get(name, (0, 0)) for name in self.net.populations)], dtype=np.int64)
        if self.size > 1:
            total = np.zeros_like(counts)
            comm.Allreduce(counts, total, op=MPI.SUM)
            counts = total
        out["spike_counts"] = counts
        t_model = self.t_steps * self.h
        out["num_synapses"] = self.num_synapses
        out["num_neurons"] = int(sum(p.size for p in self.net.populations.values() if not p.is_virtual))
        out["model_time_ms"] = t_model
        out["rtf"] = max(out["simulate_seconds"]) / (t_model * 1e-3) if t_model > 0 else float("nan")
        out["num_ranks"] = self.size
        out["min_delay_ms"] = self.min_delay_steps * self.h
        return out

    def finish(self, perf: dict | None = None):
        """Write the performance figures and mark the output complete (collective)."""
        perf = self.performance() if perf is None else perf
        if self.rank == 0 and self._h5 is not None:
            g = self._h5["parsnn"].create_group("performance") if "performance" not in self._h5["parsnn"] \
                else self._h5["parsnn/performance"]
            for k, v in perf.items():
                g.attrs[k] = np.asarray(v)
            self._h5["parsnn"].attrs["t_sim"] = self.t_steps * self.h
            self._h5["parsnn"].attrs["complete"] = True
            self._h5.close()
            self._h5 = None
        return perf

    def close(self):
        """Close the output without marking it complete (after an error)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None


def _displ(counts):
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(counts.dtype)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)
