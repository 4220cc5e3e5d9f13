"""Performance model of parsnn on a cluster: per-phase time of every min-delay interval.

The engine (``_engine.run_steps``, the step loop in C) repeats, every min-delay
interval of ``m`` steps, on every rank ``r`` of ``T`` OpenMP threads:

1. **update** -- the T threads advance their shares of the ``n_r`` local neurons ``m`` steps
   (plus one Poisson draw per neuron, step and Poisson input device), in one parallel region
   with the previous interval's delivery;
2. **exchange** -- once per rank: the interval's spikes are counted and packed per destination
   rank into fixed blocks, ONE ``MPI_Alltoall`` moves them (an overflow round, a second Alltoall,
   when a block was too small; the block adapts to the traffic), the received spikes are sorted
   into canonical order (``qsort``). This timer also holds the wait for the slowest rank;
3. **deliver** -- every thread walks all received spikes and adds the synapses of its sub-row
   (onto its own neurons) into their delay ring buffers.

For a network description, a partition (:mod:`parsnn.partition`), rates and a
machine (:class:`Machine`, read from a TOML file), the model gives per interval
and rank (all times in seconds)::

    t_update[r]  = o_upd + m * (sum_model n_r,model c_upd,model + n_r,poisson_inputs c_poisson) / (T e_upd)
                   (iaf_psc_exp: the vectorized kernel's cost for populations with one parameter
                   set and no Poisson input devices, the scalar kernel's for the others; T > 1:
                   thread 0's own neurons, n_r,k, instead of n_r / T)
    t_deliver[r] = o_del + (E_r / T) c_evt(ws_r / T, u_r) / e_del + Ep_r (c_pl + f_r c_f) / (T e_del)  (plasticcost)
                   + S_r (c_spk + c_row f_mem(syn_r / T))     (T > 1: thread 0's events E_r,0 for E_r / T)
    t_wait[r]    = E[max_k w_r,k] - E[w_r,0]   (T > 1: thread 0 waits for the slowest thread; in no timer)
    t_pack[r]    = o_exch + copies_r c_pack + P c_peer + S_r c_cmp log2 min(P, S_r)
    t_sync[r]    = team_us + T L(T) + wake(t_pack[r] + t_comm(P))    (the team's meeting; in no timer)
                   or region_us log2 T + region_us_per_thread T       (one OpenMP region, small ranks)
    busy[r]      = t_update[r] + t_deliver[r] + t_pack[r] + t_sync[r] + t_wait[r]
    compute      = max_r busy[r] + sigma e(P)                     (waiting for the slowest rank)
    t_comm(P)    = o_call + T_alltoall(P, B) + p_over T_alltoall(P, B_over)   (0 for P = 1)
    t_record[0]  = recorded spikes per interval x c_rec + flushes per interval x recorded populations x c_flush
                   + recorded populations x c_first / intervals of the run (its first flush)
                   (rank 0 gathers and writes them; 0 elsewhere: :mod:`~parsnn.mapping.cluster.recordcost`)
    critical     = compute + t_comm(P) + t_record[0];   RTF = critical / (m h)
    exchange timer of rank r = critical - t_update[r] - t_deliver[r] - t_record[r]
                               (r > 0: minus t_record[0] x 1/flushes of the run -- the
                               wait for the last flush, which ends the run, is in no exchange)

with ``T`` the threads that run in parallel (1 when the interval's updates and events are below the
engine's smallest parallel work, 4,096 neuron steps and 1,024 events: one thread then runs every
share in turn), ``e_upd``, ``e_del``, ``team_us``, ``region_us`` the machine's thread constants
(``[threads]``, measured by ``parsnn calibrate`` on 1 rank x 2 vs 1 x 1; the synchronisation: the engine's
persistent team where a rank's neuron updates per interval reach 4,096 -- one meeting per interval, T - 1
arrivals on one cache line and a wake, L(T) the mean core-to-core latency of the team
(``[threads.team_line]``), wake() the waiters' spin / yield / futex phase after thread 0's serial part --
else one OpenMP region per interval: :mod:`~parsnn.mapping.cluster.team`; every thread walks every
received spike, so S_r c_spk is not shared; a thread's ring and synapses are 1/T of the rank's and
its sub-rows 1/T as long, so more of its events are unprefetched: u_r min(1, T u_r);
``w_r,k`` thread k's update + delivery, its neurons and events E_r,k from the engine's owner map
(:func:`parsnn.engine.decomposition.thread_owners`), its fluctuation from the source populations' spike
counts per interval (measured in a run file, else Poisson), which neurons spike (multinomial) and the
relative machine noise: :mod:`~parsnn.mapping.cluster.threadwait`),
``E_r`` the expected synaptic events delivered on rank r in the interval
(sum over incoming projections of synapses x source rate x m h), ``Ep_r`` those
through plastic synapses (each also updates its weight from the target's spike
archive: ``compute.plastic_event_ns`` = c_pl on top of a static event, plus ``compute.facilitation_ns`` = c_f per
post spike it reads, f_r per plastic event: a run file's count, else the stationary estimate; c_pl + f_r c_f in
all), ``S_r`` the
distinct spikes it receives (each rank's spikes arrive sorted, so the sort
merges min(P, S_r) runs; a row whose rank's synapses, SYNAPSE_BYTES each (the engine's,
:mod:`parsnn.engine.footprint`), outgrow the caches starts with a miss, c_row), ``ws_r`` the
ring-buffer bytes written in one interval (neurons x the ring bytes per neuron and slot, 8 B per
ring, one ring when the excitatory and inhibitory time constants agree, x the slots spanned by the
emission steps and the delays), ``u_r`` the fraction of the events whose ring entry is not
prefetched: the engine prefetches the entry 128 synapses ahead within a row, so
the first min(L, 128) synapses of a row of L synapses on the rank are not
(L: the expected synapses of a source on rank r, given that it has any there).
c_evt(ws, u): with a measured curve (``[compute.scatter]``, :mod:`~parsnn.mapping.cluster.scatter`:
the cost per event at several working sets, interpolated in log ws, at the engine's prefetch distance
(:mod:`~parsnn.mapping.cluster.distance`), plus a measured per-row cost over the (sub-)row's events,
fit version 6; before it, plus the unprefetched events' extra cost as far as the curve has reached the
memory-bound cost); without one, from the nominal
caches: the cost moves from ``event_ns.l2`` to ``l3`` to ``memory`` as ws_r outgrows the
caches of a core, the memory-served share of the unprefetched events costing
``event_ns.memory_no_prefetch``. ``sigma e(P)`` is the expected maximum over P ranks
of the fluctuation of a rank's work per interval, with e(P) the expected maximum
of P standard normal variables and sigma^2 (the largest over ranks) the sum of: the Poisson fluctuation of
the delivery work that differs between ranks (c_evt^2 E_r: a spike's synapses
split at random over the ranks; the spike count itself is common to all ranks),
and machine noise, measured without the simulator (``noise.sigma_rel`` x busy and
``noise.sigma_us``: two ranks doing identical fixed work per interval, the wait of
the faster one; parsnn/machines/bench/noisebench.c), and the engine's own fluctuation
beyond it, ``noise.wait_us``^2 + (``noise.wait_rel`` x busy)^2 (fit version 8: the scatter networks 8k,
32k and 128k on 2 ranks, their exchange timers above the model's, one equation per size:
:func:`~parsnn.mapping.cluster.waitfit.wait_constants`; version 7: ``wait_us`` alone, from PD14 0.1
on 2 ranks).

Communication (LogGP/Hockney terms: latency alpha, CPU overhead o per message and
side, time per byte beta; shared-memory values within a node, network values
between nodes; ranks are placed in blocks of ``ranks_per_node``), the engine's one collective
per interval (:mod:`~parsnn.mapping.cluster.collectives`):

- the block B (words of 8 bytes per destination, one a header) as the engine adapts it: the count
  r -> q of an interval is Poisson (the expected spikes of r needed on q, own rank included); a
  window of 1,024 intervals needs its largest count + 1; the block grows to 1.5x a need above it,
  shrinks to 2x the window's need (>= 8) when that is a quarter of it, else stays at the first 32;
  p_over = P(an interval's largest count > B - 1) overflow rounds per interval;
- ``MPI_Alltoall`` of B words per rank, MPICH's default selection: Bruck's algorithm for blocks
  <= 256 B on >= 8 ranks, ceil(log2 P) rounds of alpha + 2o + (P/2) 8B beta plus packing of P/2
  blocks (in rounds whose partner lies on another node every rank of the node sends through the
  node's one network interface); else all P - 1 pairs at once, 32 requests in flight (a latency
  per further batch), the bytes and messages leaving a node through its interface;
- ``o_call``: the engine's counting, headers and copies around its call (measured on 2 ranks).

Before 2026-12-01 (session 6) the model described the older engine: ``MPI_Alltoall`` of the counts
plus ``MPI_Alltoallv`` of the spikes, each called through mpi4py (2 o_call per interval), one
thread per rank, the sort in the deliver phase. Results committed before then
(analysis/results/cost_model_*.{json,md}, the first calibration checks) were made with it.

Ranks beyond the cores of the machine (``oversubscription.cores``) share cores and
serialize: rank r runs on core r mod cores, a core runs its ranks' work one after
the other (compute = max over cores of the sum of their busy times), and every
interval pays, per extra rank on the most crowded core (ceil(P / cores) - 1; the
cores switch in parallel), the time a waiting rank busy-polls before MPICH
yields its core and the switch (``yield_us``, fitted on one oversubscribed run).

The machine's constants are data (``parsnn/machines/*.toml``). The package, as the data flows:

- :mod:`parsnn.machines`: machine descriptions (:func:`load_machine`, :class:`Machine`);
- :mod:`~parsnn.mapping.cluster.workload`: the per-rank work of a network, a partition and rates
  (:func:`workload`; the network enters as a :class:`parsnn.connectivity.Connectivity`, made once by the caller);
- :mod:`~parsnn.mapping.cluster.collectives`: the node layout, the exchange block and the collective;
- :mod:`~parsnn.mapping.cluster.predict`: :func:`predict` gives one prediction, :func:`sweep` a
  strong-scaling curve and :func:`crossover` the rank count from which the exchange outweighs
  the computation;
- :mod:`~parsnn.mapping.cluster.team`: the threads' synchronisation per interval (the team's meeting, the
  OpenMP region); :mod:`~parsnn.mapping.cluster.teambench` measures both (an inactive network, 1 x 2 vs 1 x 1);
- :mod:`~parsnn.mapping.cluster.threadwait`: every thread's work from the owner map and thread 0's wait
  for the slowest thread;
- :mod:`~parsnn.mapping.cluster.layout`: :func:`best_layouts`, the best ranks per node x threads per
  node count;
- :mod:`~parsnn.mapping.cluster.runs`: the inputs of a finished run (:func:`run_inputs`);
- :mod:`~parsnn.mapping.cluster.report`: the text tables (:func:`format_table`, ``format_layouts``);
- :mod:`~parsnn.mapping.cluster.calibration`: a machine's constants fitted from measured runs
  and micro-benchmarks;
- :mod:`~parsnn.mapping.cluster.measure`, :mod:`~parsnn.mapping.cluster.calibrate`,
  :mod:`~parsnn.mapping.cluster.machinefile`: ``parsnn calibrate`` -- the runs and micro-benchmarks,
  the batches and their fit, the machine file with fingerprint, spread (the predictions' RTF range)
  and per-constant sources. Which machine file a prediction uses and how it is labelled:
  :mod:`parsnn.machines.fingerprint`.
"""
from parsnn.mapping.cluster.collectives import expected_max_normal
from parsnn.machines import Machine, available_machines, load_machine
from parsnn.mapping.cluster.predict import PHASES, PREDICTION_KEYS, crossover, predict, sweep
from parsnn.mapping.cluster.layout import best_layouts
from parsnn.mapping.cluster.report import format_table
from parsnn.mapping.cluster.runs import run_inputs
from parsnn.mapping.cluster.workload import PREFETCH_DISTANCE, SYNAPSE_BYTES, ring_slot_bytes, workload

__all__ = ["Machine", "PHASES", "PREDICTION_KEYS", "PREFETCH_DISTANCE",
           "SYNAPSE_BYTES", "available_machines", "ring_slot_bytes", "best_layouts", "crossover", "expected_max_normal", "format_table",
           "load_machine", "predict", "run_inputs", "sweep", "workload"]
