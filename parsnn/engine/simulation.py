"""The Simulation facade: build, run, finish.

``Simulation(net, seed, comm, partition)`` places the network's nodes on the
ranks of ``comm`` with a neuron->rank map, builds on every rank only the
synapses onto its own neurons, and advances the network in min-delay
intervals. One Cython call (``_engine.run_steps``) runs many intervals on ``threads`` OpenMP
threads per rank: it updates all local neurons for the interval, exchanges the interval's spikes
with one fixed-block ``MPI_Alltoall`` (only to ranks that host targets; an overflow round when a
block is too small) and delivers them in canonical order into the delay ring buffers; it returns
to Python only at flush, progress and checkpoint points and when the recording buffers fill.

Every random number is drawn from a counter-based stream keyed by (seed,
purpose, node id), so the network and the spike trains do not depend on the
number of ranks or on the partition.

The work is done by the engine's modules: :mod:`~parsnn.engine.decomposition` (local nodes),
:mod:`~parsnn.engine.neurons` (state, parameters, devices), :mod:`~parsnn.engine.synapses`
(connections), :mod:`~parsnn.engine.exchange` (routes, spike exchange),
:mod:`~parsnn.engine.recording` (spike and V_m recording), :mod:`~parsnn.engine.performance`
(timers, figures, progress bar) and :class:`parsnn.runfile.writer.RunWriter` (the output file).
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
from mpi4py import MPI

from parsnn import _engine as engine_kernels
from parsnn.engine import aligned
from parsnn.engine import checkpoint as checkpointing
from parsnn.engine import currents
from parsnn.engine import (decomposition, exchange as exchange_module, neurons, performance, plasticity, recording,
                           signals, streams, synapses)
from parsnn.engine import prefetch as prefetch_tuning
from parsnn.engine import rings as ring_schemes
from parsnn.engine.streams import purpose
from parsnn import neurons as neurons_registry
from parsnn.errors import ParameterError
from parsnn.network import Network
from parsnn.connectivity import Connectivity
from parsnn.partition import make_map
from parsnn.runfile.writer import RunWriter


class Simulation:
    """One simulation of a network on the ranks of ``comm``.

    Parameters: ``seed`` (integer in [0, 2^63)), ``comm`` (an mpi4py
    communicator, default COMM_WORLD), ``partition`` (a Partition, a strategy name or an
    explicit node->rank array), ``out`` (path of the HDF5 output, written by
    rank 0; an existing file is refused with a ParameterError, on every rank, unless
    ``overwrite``), ``keep_spikes`` (keep recorded spikes in memory for :meth:`spikes`;
    default: when no output file is given), ``progress`` (show a progress bar on rank 0),
    ``flush_ms`` (model time between collective flushes of recorded data), ``run_info`` (the
    run's settings, stored in the output), ``summary_from_ms`` (start of the window of :meth:`summary_rates`),
    ``threads`` (OpenMP threads per rank for the build and the step loop, >= 1; the results do not
    depend on it), ``rings`` (the input ring scheme, :mod:`parsnn.engine.rings`: ``"per-tau"``, the
    default, or ``"per-receptor"``, the scheme of earlier versions), ``realisation`` (the realisation
    scheme that turns the seed into the network: "v1" or "v2", default
    :data:`parsnn.engine.streams.DEFAULT_REALISATION`; see :mod:`parsnn.engine.streams`),
    ``exchange`` (the spike exchange's scheme: ``"alltoall"``, ``"neighbor"`` or
    ``"auto"``, default), ``mpi_wait`` (how a rank waits in it: ``"poll"``, ``"yield"`` or
    ``"sleep"``, default) and ``mpi_wait_polls`` (tests before a wait backs off); see
    :mod:`parsnn.engine.exchange`; the results do not depend on them. ``prefetch``: the static
    delivery's prefetch distance, ``"auto"`` (default: this machine's cached choice, else tuned at
    the first run, :mod:`parsnn.engine.prefetch`) or an integer in [0, 1024] (0: none); the results
    do not depend on it. ``thread_owners``: which thread owns which local node,
    :data:`parsnn.engine.decomposition.OWNER_RULES`: ``"mixed"`` (default, four blocks per thread dealt so
    that every source population's events fall on all threads alike), ``"major"`` (one contiguous block per
    thread) or ``"split"`` (every population shared by all threads); the results do not depend on
    it. ``weight_power``: how stdp_pl_synapse_hom's facilitation computes w^mu, ``"newton"`` (default: for
    mu = 0.4, Newton's fifth root of w^2, the same bits everywhere) or ``"libm"`` (the C library's pow, as
    NEST); see :mod:`parsnn.engine.plasticity`: the weights differ in their last bits. ``_exchange_block`` /
    ``_exchange_adapt``: first exchange block size in words and whether it adapts (private: tests
    force the overflow round with them).

    ``stopped``: None, or the name of the signal that ended the last run() early at a flush
    boundary (only with a watcher attached by :func:`parsnn.engine.signals.watch`; the checkpoint
    is written, the output is left to the caller: ``parsnn run`` closes it incomplete).
    """

    def __init__(self, net: Network, seed: int = 12345, comm=None, partition="round_robin", out=None,
                 keep_spikes=None, progress=False, flush_ms: float = 1000.0, run_info: dict | None = None,
                 summary_from_ms: float = 500.0, overwrite: bool = False, threads: int = 1,
                 rings: str = ring_schemes.DEFAULT, realisation: str = streams.DEFAULT_REALISATION,
                 exchange: str = "auto", mpi_wait: str = exchange_module.DEFAULT_WAIT,
                 mpi_wait_polls: int = exchange_module.DEFAULT_WAIT_POLLS, prefetch="auto",
                 thread_owners: str = decomposition.OWNER_RULES[0],
                 weight_power: str = plasticity.DEFAULT_WEIGHT_POWER,
                 _exchange_block: int | None = None, _exchange_adapt: bool = True):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
            raise ParameterError(f"seed must be an integer in [0, 2^63), got {seed!r}")
        if not (isinstance(flush_ms, (int, float)) and flush_ms > 0):
            raise ParameterError(f"flush_ms must be > 0 ms, got {flush_ms!r}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= 1024:
            raise ParameterError(f"threads must be an integer in [1, 1024], got {threads!r}")
        self.rings = ring_schemes.check_scheme(rings)
        self.weight_power = plasticity.check_weight_power(weight_power)
        self.scheme = streams.scheme_code(realisation)
        self.realisation = realisation
        exchange_module.check_choices(exchange, mpi_wait, mpi_wait_polls)
        self.prefetch_requested, self.prefetch_info = prefetch_tuning.check(prefetch), None
        self.thread_owners = decomposition.check_owner_rule(thread_owners)
        net.validate()
        self.net = net
        self.threads = int(threads)
        self._exchange_block, self._exchange_adapt = _exchange_block, _exchange_adapt
        self.exchange_requested, self.mpi_wait, self.mpi_wait_polls = exchange, mpi_wait, int(mpi_wait_polls)
        self.exchange_scheme, self.max_neighbours, self.exchange_decision = None, 0, {}
        self._graph = None                   # the neighbourhood exchange's graph communicator (free())
        self.seed = int(seed)
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.out = out
        self._refuse_existing_output(overwrite)
        self.conn = Connectivity.from_network(net)
        self.partition_name, self.rank_of = make_map(self.conn, self.size, partition)
        self.keep_spikes = (out is None) if keep_spikes is None else keep_spikes
        self.progress = progress
        self.flush_ms = float(flush_ms)
        self.run_info = dict(run_info or {})
        self.h = float(net.resolution)
        self.built = False
        self.t_steps = self.start_steps = 0
        self.timers = {p: 0.0 for p in performance.PHASES}
        self.build_timers = {p: 0.0 for p in performance.BUILD_PHASES}
        self.build_seconds = 0.0
        self.simulate_seconds = 0.0
        self.writer = None
        self.checkpoint_path, self.checkpoint_every_steps = None, 0
        self.checkpoint_seconds, self.checkpoints_written = 0.0, 0
        self._last_checkpoint = None
        self.stop_watch, self.stopped = None, None      # see parsnn.engine.signals
        self.summary_from_ms = float(summary_from_ms)
        self.recorder = recording.Recorder(net, self.comm, self.h, self.keep_spikes, self.summary_from_ms)

    def _refuse_existing_output(self, overwrite: bool):
        """ParameterError on every rank if ``out`` exists (as rank 0, the writer, sees it) and not ``overwrite``."""
        if self.out is None or overwrite:
            return
        exists = os.path.lexists(self.out) if self.rank == 0 else None
        if self.comm.bcast(exists, root=0) if self.size > 1 else exists:
            raise ParameterError(f"output file '{self.out}' already exists; pass overwrite=True to replace it")

    # ------------------------------------------------------------------ build
    def build(self):
        """Place the nodes, build the local neurons, synapses, routes and buffers (collective;
        once: later calls do nothing). Invalid per-neuron values raise ParameterError on every rank."""
        if self.built:
            return
        t_start = time.perf_counter()
        net, comm, h = self.net, self.comm, self.h
        self.offsets = net.offsets()
        self.num_nodes = net.num_nodes
        st = engine_kernels.EngineState()
        self.st = st
        st.vector_update = True
        st.T = self.threads

        t0 = time.perf_counter()
        local, g2l = decomposition.local_nodes(self.rank_of, self.rank)
        self.local_gids = local
        self.pop_local = decomposition.population_ranges(net, local, self.offsets, self.conn,
                                                         rule=self.thread_owners)
        st.owner, st.toff = decomposition.thread_owners(self.pop_local, local.size, self.threads)
        self.build_timers["place"] += time.perf_counter() - t0

        # per-neuron values drawn here can still be invalid: report that collectively
        t0 = time.perf_counter()
        self._collectively(neurons.build_neurons, st, net, local, self.offsets, self.pop_local, self.seed, h,
                           self.scheme)
        st.one_ring = ring_schemes.one_ring(self.rings, st, comm)
        # each thread's neurons of every update segment, from the owners (segments cut where the owner changes)
        st.segments = decomposition.split_segments(st.segments, st.owner)
        st.seg_bounds = decomposition.segment_parts(np.asarray(st.segments), np.asarray(st.owner),
                                                    self.threads).reshape(-1, 2 * self.threads)
        self.build_timers["neurons"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        syn_ptr, syn_tgt, syn_w, runs, dmin, dmax, blocks, rows = synapses.generate_synapses(
            net, local, self.offsets, self.pop_local, self.seed, h, self.build_timers, self.threads, self.scheme)
        self.build_timers["connect"] += (time.perf_counter() - t0 - self.build_timers["count"]
                                         - self.build_timers["group"])
        # plastic hook: the plastic synapses onto the local neurons (parsnn.engine.plasticity)
        self.plastic = plasticity.PlasticSynapses(net, local, self.offsets, self.pop_local, self.seed, h,
                                                 self.threads, self.scheme, self.weight_power)
        dmin, dmax = min(dmin, self.plastic.dmin), max(dmax, self.plastic.dmax)
        if self.plastic.active:         # recorded in the run file and any checkpoint
            self.run_info["plasticity"] = {"weight_power": self.weight_power}
        st.syn_ptr, st.syn_w, st.syn_row = syn_ptr, syn_w, rows.index      # rows.index: gid -> compact row
        st.syn_W, st.syn_base = blocks.W, blocks.base          # the sub-row blocks: thread x window
        st.tgt16 = syn_tgt.dtype == np.uint16          # the scatter for the rank's target width
        st.syn_tgt = np.zeros(0, np.uint32) if st.tgt16 else syn_tgt
        st.syn_tgt16 = syn_tgt if st.tgt16 else np.zeros(0, np.uint16)
        st.run_ptr, st.run_d, st.run_n = runs.ptr, runs.d, runs.n
        self.static_synapse_bytes = int(syn_ptr.nbytes + syn_tgt.nbytes + syn_w.nbytes + runs.nbytes + rows.nbytes)
        # per compact row r: syn_ptr[r*B] .. syn_ptr[(r+1)*B] (its blocks' sub-rows one after the other)
        self._syn_blocks = (syn_ptr, blocks, rows)
        self._syn_store = (syn_tgt, syn_w, runs)
        self.num_local_synapses = int(syn_ptr[-1]) + self.plastic.num_local

        t0 = time.perf_counter()
        self.min_delay_steps, self.max_delay_steps = synapses.delay_extent(comm, dmin, dmax, h)
        st.D = max(self.max_delay_steps, 1) + 1
        self.num_synapses = comm.allreduce(self.num_local_synapses, op=MPI.SUM)
        has_targets = self.plastic.has_targets.copy()           # plastic hook: their sources too
        has_targets[rows.gids()[np.diff(syn_ptr[::blocks.base.size])[:rows.count] > 0]] = True
        num_sources = exchange_module.build_routes(st, comm, self.rank_of, has_targets, g2l, local.size)
        self.build_timers["routes"] += time.perf_counter() - t0

        self._has_targets = has_targets          # for set_spike_times
        gen_step, gen_gid = neurons.generator_spikes(net, self.offsets, has_targets, h)
        st.gen_step, st.gen_gid, st.gen_pos = gen_step, gen_gid, 0
        self._setup_buffers(st, local.size, num_sources, gen_step.size)
        self.plastic.attach(st, self.min_delay_steps)      # plastic hook: the kernel's store on st

        self.built = True
        self.build_seconds = time.perf_counter() - t_start
        self.build_peak_rss = performance.peak_rss_bytes()

    @property
    def _syn_table(self):
        """The static table by source gid, for reading it back: (ptr [num_nodes + 1], row g the synapses
        ptr[g] .. ptr[g+1] (a new array), targets as stored, weights, :class:`~parsnn.engine.synapses.DelayRuns`)."""
        ptr, blocks, rows = self._syn_blocks
        B = blocks.base.size
        by_gid = np.ascontiguousarray(rows.by_gid(ptr, B)[::B])
        return (by_gid, *self._syn_store)

    @property
    def _syn_arrays(self):
        """The static synapses of this rank by source gid, for reading them back (tests, the
        measured partition): (ptr, target local index (uint16 on a rank of at most 65536 neurons, as
        stored, else uint32: :func:`parsnn.engine.synapses.local_index_dtype`), weight, delay steps per
        synapse: expanded from the delay runs, a new array)."""
        ptr, tgt, w, runs = self._syn_table
        full, blocks, _ = self._syn_blocks
        tgt = blocks.local_targets(full, tgt).astype(synapses.local_index_dtype(self.local_gids.size), copy=False)
        return ptr, tgt, w, runs.per_synapse()

    def _setup_buffers(self, st, n: int, num_sources: int, num_generator_spikes: int):
        """Ring buffers, spike buffers, exchange buffers, recording and counters on ``st``."""
        m = self.min_delay_steps
        st.n_loc, st.n_nodes, st.seed, st.m = n, self.num_nodes, self.seed, m
        st.purpose_source = purpose("poisson_source")
        st.ring_n = aligned.ring_stride(n)            # every slot starts a cache line
        st.ring_ex = aligned.zeros(st.D * st.ring_n, np.float64)
        st.ring_in = aligned.zeros(n if st.one_ring else st.D * st.ring_n, np.float64)
        st.spk = np.zeros(max(n * m, 1), dtype=np.uint64)
        st.fired = aligned.zeros(max(n, 1), np.int64)
        aligned.align_state(st)                       # the neuron state the threads write: line-aligned
        st.t_nspk, st.t_nv, st.t_events = (np.zeros(self.threads, dtype=np.int64) for _ in range(3))
        st.t_update = st.t_exchange = st.t_deliver = 0.0
        self.exchange_scheme, self.max_neighbours, self.exchange_decision = exchange_module.choose_scheme(
            self.comm, self.exchange_requested, st.route_in, st.route_out)
        self._graph = exchange_module.setup_exchange(st, self.comm, m, num_sources, num_generator_spikes,
                                                     self._exchange_block, self._exchange_adapt,
                                                     self.exchange_scheme, self.mpi_wait, self.mpi_wait_polls)
        self.recorder.setup(st, self.offsets, self.pop_local, m)
        st.rec_need = self.recorder.n_rec_local * m
        st.v_rows_per_interval = self.recorder.v_rows_per_interval
        st.n_events = st.n_delivered_spikes = st.n_remote_sends = 0
        st.n_fired = np.zeros(n, dtype=np.int64)
        st.my_rank = self.rank

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

    # ------------------------------------------------------------------ run
    def output_layout(self) -> dict:
        """How this simulation runs, as the run file records it: num_ranks, partition (strategy),
        partition_map (rank of every node) and run_info (the settings, with threads and exchange)."""
        self.run_info["threads"] = self.threads
        self.run_info["thread_owners"] = self.thread_owners
        placed = np.asarray(self.rank_of)[np.asarray(self.rank_of) >= 0]     # -1: a node on no rank
        widths = {synapses.target_dtype(c).name for c in np.bincount(placed, minlength=self.size)}
        self.run_info["delivery"] = ring_schemes.run_info(self.rings, bool(self.st.one_ring), sorted(widths))
        self.run_info["delivery"]["prefetch"] = self.prefetch_info
        self.run_info["exchange"] = {
            "scheme": exchange_module.SCHEMES[self.exchange_scheme], "requested": self.exchange_requested,
            "max_neighbours": self.max_neighbours, "decision": self.exchange_decision,
            "adaptive": bool(self._exchange_adapt),
            "first_block_words": int(self._exchange_block or exchange_module.DEFAULT_BLOCK),
            "mpi_wait": self.mpi_wait, "mpi_wait_polls": self.mpi_wait_polls,
            "mpi_wait_yield_us": self.st.wait_yield_ns / 1e3 if self.mpi_wait == "sleep" else None,
            "sleep_cost_us": self.st.sleep_cost_ns / 1e3 if self.mpi_wait == "sleep" else None}
        return {"num_ranks": self.size, "partition": self.partition_name, "partition_map": self.rank_of,
                "run_info": self.run_info}

    def _open_output(self):
        """Create the run file (rank 0) with the metadata of this simulation."""
        net = self.net
        self.writer = RunWriter.create(
            self.out, seed=self.seed, model=net.name, resolution=self.h, min_delay_ms=self.min_delay_steps * self.h,
            description=net.describe(), realisation=self.realisation, prefetch=self.prefetch_info,
            **self.output_layout(),
            spike_populations={name: net.populations[name].size for name in self.recorder.recorded_pops},
            voltage_reports=[(v.population, v.ids, net.steps(v.interval, "voltage recorder interval"))
                             for v in net.voltage_recorders])

    def run(self, t_sim: float):
        """Simulate ``t_sim`` ms (a multiple of the resolution) from the current time (collective)."""
        if not (isinstance(t_sim, (int, float)) and math.isfinite(t_sim) and t_sim > 0):
            raise ParameterError(f"t_sim must be > 0 ms, got {t_sim!r}")
        n_steps = self.net.steps(t_sim, "t_sim")
        self.build()
        if self.prefetch_info is None:                 # collective: the same distance on every rank
            self.prefetch_info = prefetch_tuning.resolve(self.st, self.comm, self.prefetch_requested,
                                                         self.size * self.threads)
        if self.exchange_scheme == "neighbor" and self._graph is None and self.size > 1:
            self._graph = exchange_module.attach_graph(self.st, self.comm)     # freed by an earlier finish()
        if self.out is not None and self.writer is None and self.rank == 0:
            self._open_output()
        st, recorder = self.st, self.recorder
        m = self.min_delay_steps
        t, t_end = self.t_steps, self.t_steps + n_steps
        flush_every = max(m, int(round(self.flush_ms / self.h)) // m * m)
        next_flush = (t // flush_every + 1) * flush_every
        every = self.checkpoint_every_steps
        timers = self.timers
        perf = time.perf_counter
        st.reserve = lambda rows=recorder.n_rec_local * m: recorder.reserve_interval(st, rows)
        bar = performance.ProgressBar(t, t_end, self.h) if (self.progress and self.rank == 0) else None
        chunk = 256 * m if self.progress else t_end          # steps between progress points (same on all ranks)
        wall0, checkpoint0 = perf(), self.checkpoint_seconds
        last_report = wall0
        while t < t_end:
            stop = min(t_end, next_flush, t + chunk, (t // every + 1) * every if every else t_end)
            t = engine_kernels.run_steps(st, t, stop)      # collective
            if every and t % every == 0 and t < t_end:
                self.t_steps = t
                self.checkpoint(self.checkpoint_path)
            if t >= next_flush or t >= t_end:
                d = perf()
                self.t_steps = t
                if self.writer is not None:
                    self.writer.flushed_ms = t * self.h
                recorder.flush(st, self.writer)
                timers["record"] += perf() - d
                next_flush = (t // flush_every + 1) * flush_every
                if signals.at_boundary(self, t, t_end):
                    break
            if bar is not None and perf() - last_report > 0.25:
                last_report = perf()
                bar.update(t, t_end, last_report - wall0)
        timers["update"], timers["exchange"], timers["deliver"] = st.t_update, st.t_exchange, st.t_deliver
        self.t_steps = t
        self.simulate_seconds += perf() - wall0 - (self.checkpoint_seconds - checkpoint0)
        if bar is not None:
            bar.update(t, t_end, perf() - wall0)
            bar.close()
        if self.checkpoint_path is not None:
            self.checkpoint(self.checkpoint_path)

    # ------------------------------------------------------------- inputs between runs
    def _local_values(self, population: str, values, what: str):
        """(a, b, the values of the local nodes of ``population``) of a scalar or a per-node array."""
        self.build()
        pop = self.net._pop(population, what)
        a, b = self.pop_local[population]
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1 and arr.size != pop.size:
            raise ParameterError(f"{what}: per-neuron values need {pop.size} entries, got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{what}: values must be finite")
        local = self.local_gids[a:b] - self.offsets[population]
        return a, b, (arr[local] if arr.ndim == 1 else np.full(b - a, float(arr)))

    def set_input_current(self, population: str, amplitude):
        """Replace the constant input current (pA: I_e plus the DC inputs) of the neurons of
        ``population`` from the current time on: a scalar or one value per neuron (between run()
        calls, on every rank). Not part of the description: run files and checkpoints keep the
        values the network was built with."""
        a, b, values = self._local_values(population, amplitude, f"input current of '{population}'")
        if not neurons_registry.get(self.net.populations[population].model).takes_current_input:
            raise ParameterError(f"input current of '{population}': not a neuron population")
        np.asarray(self.st.ie)[a:b] = values
        currents.set_base_current(self.st, a, b, values)
        seg = np.asarray(self.st.segments)
        seg[(seg[:, 0] < b) & (seg[:, 1] > a), 3] = 1       # values may now differ within the segment

    def set_ac_currents(self, population: str, sources: list):
        """Replace the sinusoidal input currents onto ``population`` from the current time on
        (between run() calls, on every rank): see :mod:`parsnn.engine.currents`."""
        if not neurons_registry.get(self.net._pop(population, "sinusoidal current").model).takes_current_input:
            raise ParameterError(f"sinusoidal current onto '{population}': not a neuron population")
        currents.set_ac_currents(self, population, sources)

    def set_source_rate(self, population: str, rate):
        """Replace the rate (spikes/s) of the poisson_source nodes of ``population`` from the current
        time on (between run() calls, on every rank); not part of the description, as above."""
        a, b, values = self._local_values(population, rate, f"rate of '{population}'")
        if self.net.populations[population].model != "poisson_source":
            raise ParameterError(f"rate of '{population}': not a poisson_source population")
        if values.size and values.min() < 0:
            raise ParameterError(f"rate of '{population}' must be >= 0 spikes/s, got {values.min()}")
        np.asarray(self.st.lam)[a:b] = values * self.h * 1e-3

    def set_spike_times(self, population: str, spike_times, nodes=None):
        """Replace the spike times of the spike_generator nodes ``nodes`` (indices in ``population``,
        default all) from the current time on (between run() calls, on every rank, with the same
        values): one sorted sequence of times (ms, multiples of the resolution) per node, all after the
        current time, as NEST's spike_generator requires. The spikes sent so far stay sent; the ones
        not sent yet are replaced. Not part of the description, as above."""
        what = f"spike times of '{population}'"
        pop = self.net._pop(population, what)
        if pop.model != "spike_generator":
            raise ParameterError(f"{what}: not a spike_generator population")
        nodes = np.arange(pop.size) if nodes is None else np.asarray(nodes, dtype=np.int64).reshape(-1)
        if nodes.size and (nodes.min() < 0 or nodes.max() >= pop.size or np.unique(nodes).size != nodes.size):
            raise ParameterError(f"{what}: nodes must be distinct indices in [0, {pop.size})")
        if len(spike_times) != nodes.size:
            raise ParameterError(f"{what}: one sequence per node needs {nodes.size} sequences, got {len(spike_times)}")
        self.build()
        _check_future_times(spike_times, nodes, self.t_steps, self.h, what)
        gids = self.offsets[population] + nodes
        steps, senders = neurons.node_spikes(spike_times, gids, self._has_targets, self.h)
        extra = neurons.replace_generator_spikes(self.st, gids, steps, senders)
        if extra > 0:                # the receive buffer holds every generator spike (exchange.setup_exchange)
            self.st.recvbuf = np.zeros(np.asarray(self.st.recvbuf).size + extra, dtype=np.uint64)

    # ------------------------------------------------------------- checkpoints
    def checkpoint_every(self, path: str, every_ms: float | None = None):
        """Write a checkpoint to ``path`` at the end of every run() call and, if ``every_ms`` is
        given (a multiple of the min delay), every ``every_ms`` of model time (collective; builds)."""
        self.build()
        every = 0
        if every_ms is not None:
            every = self.net.steps(every_ms, "checkpoint interval")
            if every <= 0 or every % self.min_delay_steps:
                raise ParameterError(f"the checkpoint interval must be a positive multiple of the min delay "
                                     f"({self.min_delay_steps * self.h:g} ms), got {every_ms!r} ms")
        self.checkpoint_path, self.checkpoint_every_steps = path, every

    def checkpoint(self, path: str):
        """Write the exact state at the current step to ``path`` (collective; between run() calls
        or at an interval boundary): see :mod:`parsnn.engine.checkpoint`. The recorded data are
        flushed to the output first, so that its ``t_flushed`` is never before the checkpoint's time;
        a second call for the same step and path does nothing."""
        self.build()
        if self._last_checkpoint == (path, self.t_steps):
            return
        self.flush_recorded()
        self.checkpoint_seconds += checkpointing.save(self, path)
        self.checkpoints_written += 1
        self._last_checkpoint = (path, self.t_steps)

    def flush_recorded(self):
        """Hand the data recorded up to the current step to the output and flush it (collective)."""
        t0 = time.perf_counter()
        if self.writer is not None:
            self.writer.flushed_ms = self.t_steps * self.h
        self.recorder.flush(self.st, self.writer)
        self.timers["record"] += time.perf_counter() - t0

    def restore(self, path: str) -> float:
        """Continue from the checkpoint at ``path`` (collective; before the first run()): a checkpoint
        of another network, seed, resolution, connectivity or parsnn version is refused with a
        ParameterError saying what differs. The summary rates then count from the checkpoint time.
        Returns the checkpoint's model time in ms."""
        self.build()
        if self.t_steps != 0:
            raise ParameterError("restore() must come before the first run()")
        step = checkpointing.restore(self, path)
        self.start_steps = step
        self.recorder.summary_from_ms = max(self.recorder.summary_from_ms, step * self.h)
        return step * self.h

    # -------------------------------------------------------------- results
    def summary_window(self):
        """(start, stop) in ms of the window used by :meth:`summary_rates`."""
        return self.recorder.summary_window(self.t_steps * self.h)

    def summary_rates(self) -> dict:
        """Mean rate (spikes/s) per recorded population over :meth:`summary_window` (rank 0)."""
        return self.recorder.summary_rates(self.t_steps * self.h)

    def spikes(self) -> dict:
        """Recorded spikes of the whole network, on every rank (collective):
        {population: (times_ms, node_ids)}, sorted by time, then node id."""
        return self.recorder.spikes()

    def voltages(self) -> dict:
        """Recorded membrane potentials on every rank (collective):
        {population: (times_ms [T], node_ids [k], V_m [T, k])}."""
        return self.recorder.voltages()

    def weights(self, root: int | None = None) -> dict | None:
        """The weights of the plastic projections now, on every rank or only on rank ``root``
        (None elsewhere) (collective; builds): {"<source population>-<target population>":
        (source_ids, target_ids, weights)} with population-local ids, sorted by source then target
        id (multapses in generation order)."""
        self.build()
        return plasticity.gather_weights(self.plastic, self.comm, root)

    def performance(self) -> dict:
        """Per-rank figures gathered on every rank (collective); see :func:`parsnn.engine.performance.collect`."""
        return performance.collect(self)

    def finish(self, perf: dict | None = None):
        """Write the performance figures, mark the output complete and free the MPI objects the
        simulation made (:meth:`free`) (collective)."""
        perf = self.performance() if perf is None else perf
        if self.rank == 0 and self.writer is not None:
            self.writer.finish(perf, self.t_steps * self.h)
            self.writer = None
        self.free()
        return perf

    def close(self):
        """Close the output without marking it complete (after an error or a stop) and free the MPI
        objects the simulation made (:meth:`free`; this rank's)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.free()

    def free(self):
        """Free the MPI objects this simulation made on this rank: the graph communicator of the
        neighbourhood exchange (nothing for ``alltoall``). Called by :meth:`finish` and :meth:`close`
        and on leaving a ``with Simulation(...)`` block, also by an exception; a later :meth:`run`
        makes the communicator again (collective then)."""
        st = getattr(self, "st", None)
        if st is not None:
            self._graph = exchange_module.free_graph(st, self._graph)

    def __enter__(self):
        """``with Simulation(...) as sim:`` closes the output and frees the MPI objects at the end."""
        return self

    def __exit__(self, *exc):
        """Leave a ``with`` block: :meth:`close` (the output stays incomplete unless :meth:`finish` ran)."""
        self.close()
        return False


def _check_future_times(trains, nodes: np.ndarray, now_steps: int, h: float, what: str):
    """ParameterError unless every train (of node ``nodes[k]``) is sorted, on the time grid and after
    step ``now_steps``."""
    lengths = np.array([len(t) for t in trains], dtype=np.int64)
    if not lengths.sum():
        return
    t = np.concatenate([np.asarray(x, dtype=np.float64) for x in trains])
    node = np.repeat(nodes, lengths)
    n = np.rint(t / h)
    bad_grid = ~np.isfinite(t) | (np.abs(n * h - t) > 1e-9 * np.maximum(1.0, np.abs(t)))
    bad_order = np.zeros(t.size, dtype=bool)
    bad_order[1:] = (np.diff(t) < 0) & (node[1:] == node[:-1])
    bad_past = n <= now_steps
    for bad, rule in ((bad_grid, f"multiples of the resolution {h} ms"), (bad_order, "sorted"),
                      (bad_past, f"after the current time {now_steps * h:g} ms (NEST's spike_generator refuses "
                                 "times in the past or at the current step)")):
        if bad.any():
            k = int(np.argmax(bad))
            raise ParameterError(f"{what}: node {int(node[k])}: spike times must be {rule}, got {t[k]!r} ms")
