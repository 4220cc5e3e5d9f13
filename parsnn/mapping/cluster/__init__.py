"""Performance model of parsnn on a cluster: per-phase time of every min-delay interval.

The engine (``parsnn.engine.Simulation.run``) repeats, every min-delay
interval of ``m`` steps, on every rank ``r``:

1. **update** -- one Cython call advances the ``n_r`` local neurons ``m`` steps
   (plus one Poisson draw per neuron, step and Poisson input device);
2. **exchange** -- ``pack`` sorts the interval's spikes by destination rank, then
   ``MPI_Alltoall`` of one int32 count per rank and ``MPI_Alltoallv`` of the
   spikes (8-byte words; only ranks hosting targets of a neuron get its
   spikes). This timer also holds the wait for the slowest rank;
3. **deliver** -- the received spikes are sorted (``qsort``) and every synapse
   of their rows is added into the delay ring buffers.

For a network description, a partition (:mod:`parsnn.partition`), rates and a
machine (:class:`Machine`, read from a TOML file), the model gives per interval
and rank (all times in seconds)::

    t_update[r]  = o_upd + m * (sum_model n_r,model c_upd,model + n_r,poisson_inputs c_poisson)
                   (iaf_psc_exp: the vectorized kernel's cost for populations with one parameter
                   set and no Poisson input devices, the scalar kernel's for the others)
    t_deliver[r] = o_del + E_r c_evt(ws_r, u_r) + Ep_r c_pl + S_r (c_spk + c_cmp log2 min(P, S_r) + c_row f_mem(syn_r))
    t_pack[r]    = o_exch + copies_r c_pack + P c_peer
    busy[r]      = t_update[r] + t_deliver[r] + t_pack[r]
    compute      = max_r busy[r] + sigma e(P)                     (waiting for the slowest rank)
    t_comm(P)    = 2 o_call + T_alltoall(P) + T_alltoallv(P)       (0 for P = 1)
    t_record[0]  = recorded spikes per interval x c_rec  (rank 0 gathers and writes them; 0 elsewhere)
    critical     = compute + t_comm(P) + t_record[0];   RTF = critical / (m h)
    exchange timer of rank r = critical - t_update[r] - t_deliver[r] - t_record[r]
                               (r > 0: minus t_record[0] x 1/flushes of the run -- the
                               wait for the last flush, which ends the run, is in no exchange)

with ``E_r`` the expected synaptic events delivered on rank r in the interval
(sum over incoming projections of synapses x source rate x m h), ``Ep_r`` those
through plastic synapses (each also updates its weight from the target's spike
archive: ``compute.plastic_event_ns`` = c_pl on top of a static event), ``S_r`` the
distinct spikes it receives (each rank's spikes arrive sorted, so the sort
merges min(P, S_r) runs; a row whose rank's synapses, 10 B each, outgrow the
caches starts with a miss, c_row), ``ws_r`` the ring-buffer bytes written in one interval
(neurons x 16 B x the slots spanned by the emission steps and the delays; the
event cost moves from the L2 to the L3 to the memory-bound cost as ws_r outgrows
the caches of a core), ``u_r`` the fraction of the events whose ring entry is not
prefetched: the engine prefetches the entry 128 synapses ahead within a row, so
the first min(L, 128) synapses of a row of L synapses on the rank are not
(L: the expected synapses of a source on rank r, given that it has any there);
the memory-served share of those events costs ``event_ns.memory_no_prefetch``,
the rest ``event_ns.memory``. ``sigma e(P)`` is the expected maximum over P ranks
of the fluctuation of a rank's work per interval, with e(P) the expected maximum
of P standard normal variables and sigma^2 (the largest over ranks) the sum of: the Poisson fluctuation of
the delivery work that differs between ranks (c_evt^2 E_r: a spike's synapses
split at random over the ranks; the spike count itself is common to all ranks),
and machine noise, measured without the simulator (``noise.sigma_rel`` x busy and
``noise.sigma_us``: two ranks doing identical fixed work per interval, the wait of
the faster one; parsnn/machines/bench/noisebench.c).

Communication (LogGP/Hockney terms: latency alpha, CPU overhead o per message and
side, time per byte beta; shared-memory values within a node, network values
between nodes; ranks are placed in blocks of ``cores_per_node``):

- ``MPI_Alltoall`` of P int32 counts, MPICH's default selection: for P < 8 all
  P-1 pairs at once (fixed + alpha + (P-1) 2o); for P >= 8 Bruck's algorithm,
  ceil(log2 P) rounds of alpha + 2o + (P/2) 4 B beta plus packing of P/2 blocks;
  in rounds whose partner lies on another node every rank of the node sends
  through the node's one network interface (bandwidth shared by the node);
- ``MPI_Alltoallv`` of the spikes (MPICH "scattered": only non-empty messages,
  at most 32 outstanding, one wait per batch): the slowest sender of the
  interval sets the pace. A rank that has at least one spike in the interval
  (probability pi_r = 1 - exp(-m h Lambda_r)) sends to D_r ranks on average, so
  the expected maximum over ranks of the send cost s o + (ceil(s / 32) - 1) alpha
  (a wait per further batch; the first batch's is the latency added below) is
  sum_k c_(k) pi_(k) prod_{j<k} (1 - pi_(j)) over the ranks sorted by cost. Receive
  overheads, bytes, the node's message rate, one network latency and the
  call's fixed cost are added.
  With PD14 every spike has targets on nearly every rank, so a rank that spikes
  sends ~P messages: at large P this term, not the compute, sets the interval.

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
- :mod:`~parsnn.mapping.cluster.collectives`: the node layout and the two collectives;
- :mod:`~parsnn.mapping.cluster.predict`: :func:`predict` gives one prediction, :func:`sweep` a
  strong-scaling curve and :func:`crossover` the rank count from which the exchange outweighs
  the computation;
- :mod:`~parsnn.mapping.cluster.runs`: the inputs of a finished run (:func:`run_inputs`);
- :mod:`~parsnn.mapping.cluster.report`: the text table (:func:`format_table`);
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
from parsnn.mapping.cluster.report import format_table
from parsnn.mapping.cluster.runs import run_inputs
from parsnn.mapping.cluster.workload import PREFETCH_DISTANCE, RING_BYTES_PER_NEURON_SLOT, SYNAPSE_BYTES, workload

__all__ = ["Machine", "PHASES", "PREDICTION_KEYS", "PREFETCH_DISTANCE", "RING_BYTES_PER_NEURON_SLOT",
           "SYNAPSE_BYTES", "available_machines", "crossover", "expected_max_normal", "format_table",
           "load_machine", "predict", "run_inputs", "sweep", "workload"]
