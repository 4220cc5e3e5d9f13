"""``parsnn run MODEL``: build and simulate a model on every MPI rank, write the run file."""
from __future__ import annotations

import os
import sys
import warnings

from parsnn import registry
from parsnn.cli import stop
from parsnn.cli.common import EXIT_BAD_INPUT, report_error, strategies
from parsnn.options import nonnegative, positive_float, positive_int, prefetch as prefetch_option, seed
from parsnn.cli.source import add_model_arguments, make_network
from parsnn.engine.decomposition import OWNER_RULES
from parsnn.engine.plasticity import DEFAULT_WEIGHT_POWER, WEIGHT_POWERS
from parsnn.engine.streams import DEFAULT_REALISATION, REALISATIONS


def add_parser(subparsers):
    """The ``run`` sub-command and its options."""
    r = subparsers.add_parser("run", help="build and simulate a model, write SONATA/HDF5 output",
                              description="Build and simulate a model on all MPI ranks. --t-sim counts from time 0; "
                                          "the warm-up (500 ms for PD14) is part of it and discarded by analysis.")
    r.add_argument("model", choices=registry.names(), help="network model")
    r.add_argument("--t-sim", type=positive_float("--t-sim"), default=1000.0, help="model time in ms (default 1000)")
    r.add_argument("--seed", type=seed, default=55, help="master seed (default 55)")
    r.add_argument("--out", default=None, help="HDF5 output file (default: none); an existing file is refused "
                                               "unless --overwrite")
    r.add_argument("--overwrite", action="store_true", help="replace an existing --out or --checkpoint file")
    r.add_argument("--partition", default="round_robin", choices=strategies(),
                   help="neuron->rank placement (default round_robin, as NEST); see 'parsnn partition'")
    r.add_argument("--resolution", type=positive_float("--resolution"), default=0.1, help="step in ms (default 0.1)")
    r.add_argument("--no-record", action="store_true", help="do not record spikes (benchmarking)")
    r.add_argument("--record-v", type=nonnegative("--record-v", int), default=0, metavar="K",
                   help="record V_m of the first K neurons of each population every 1 ms")
    add_weight_arguments(r)
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--threads", type=positive_int("--threads"), default=1, metavar="T",
                   help="OpenMP threads per rank for the build and the step loop (default 1; results do not "
                        "depend on it; idle threads spin at most GOMP_SPINCOUNT=10000 unless OMP_WAIT_POLICY "
                        "or GOMP_SPINCOUNT is set)")
    r.add_argument("--thread-owners", choices=OWNER_RULES, default=OWNER_RULES[0],
                   help="which thread owns which of a rank's neurons: mixed (default: 4 blocks per thread dealt so "
                        "that every population's spikes fall on all threads), major (one contiguous block per "
                        "thread) or split (every population shared by all threads); results do not depend on it")
    r.add_argument("--rings", choices=("per-tau", "per-receptor"), default="per-tau",
                   help="input ring buffers: one per synaptic time constant when the excitatory and inhibitory "
                        "currents share it (default per-tau: half the ring memory; results differ from "
                        "per-receptor in the last bits), or one per receptor (the scheme of earlier versions)")
    r.add_argument("--realisation", choices=tuple(REALISATIONS), default=DEFAULT_REALISATION,
                   help=f"realisation scheme: how the seed becomes the network (default {DEFAULT_REALISATION}; "
                        "v1 rebuilds the networks of earlier parsnn versions; see ARCHITECTURE.md)")
    r.add_argument("--weight-power", choices=WEIGHT_POWERS, default=DEFAULT_WEIGHT_POWER,
                   help="how stdp_pl_synapse_hom's facilitation computes w^mu: newton (default: for mu = 0.4, the "
                        "fifth root of w^2 by Newton's method, the same bits on every machine) or libm (the C "
                        "library's pow, as NEST and parsnn before it); the weights differ in their last bits")
    add_exchange_arguments(r)
    r.add_argument("--prefetch", type=prefetch_option, default="auto", metavar="auto|N",
                   help="prefetch distance of the static delivery in synapses ahead, 0-1024 (0: none); default "
                        "auto: this machine's cached choice for the run's size, else measured at the first run "
                        "(a fraction of a second) and cached in $XDG_CACHE_HOME/parsnn (results do not depend "
                        "on it)")
    r.add_argument("--warmup", type=nonnegative("--warmup"), default=500.0,
                   help="ms excluded from the summary rates (default 500)")
    r.add_argument("--debug", action="store_true", help="print tracebacks")
    add_checkpoint_arguments(r)
    add_model_arguments(r)


def add_weight_arguments(parser):
    """``--record-weights`` and ``--record-weights-every MS`` (of ``run`` and ``resume``)."""
    parser.add_argument("--record-weights", action="store_true",
                        help="write the weights of the plastic projections to --out at the end (/weights)")
    parser.add_argument("--record-weights-every", type=positive_float("--record-weights-every"), default=None,
                        metavar="MS", help="with --record-weights: also at every multiple of MS ms of model time")


def add_exchange_arguments(parser):
    """``--exchange`` and ``--mpi-wait`` / ``--mpi-wait-polls``: the spike exchange's scheme and how
    a rank waits in it (:mod:`parsnn.engine.exchange`; the results do not depend on them)."""
    from parsnn.engine import exchange
    parser.add_argument("--exchange", dest="exchange_scheme", choices=exchange.EXCHANGE_CHOICES, default="auto",
                        help="spike exchange: one MPI_Alltoall of fixed blocks per interval, or "
                             "MPI_Neighbor_alltoallv on a graph communicator of the ranks that share synapses "
                             "(cost follows the neighbour count, not the ranks); auto (default): the cheaper by the "
                             "cost model with this machine's calibration (parsnn calibrate), without one neighbor "
                             "when every rank has at most P/4 neighbours and P >= 4; run_info 'exchange' says which "
                             "and why")
    parser.add_argument("--mpi-wait", choices=exchange.WAIT_CHOICES, default=exchange.DEFAULT_WAIT,
                        help="how a rank waits for the exchange: poll (MPICH's blocking call, busy), yield (test, then "
                             "sched_yield between tests) or sleep (default: test, yield for as long as one short sleep "
                             "costs on this machine, then sleep 1-64 us between tests): yield and sleep leave the core "
                             "to other work")
    parser.add_argument("--mpi-wait-polls", type=nonnegative("--mpi-wait-polls", int),
                        default=exchange.DEFAULT_WAIT_POLLS, metavar="N",
                        help=f"tests before a yield/sleep wait backs off (default {exchange.DEFAULT_WAIT_POLLS})")


def add_checkpoint_arguments(parser):
    """``--checkpoint PATH``, ``--checkpoint-every MS`` and ``--flush-every MS`` (of ``run`` and ``resume``)."""
    parser.add_argument("--checkpoint", default=None, metavar="PATH",
                        help="write a checkpoint to PATH at the end (and every --checkpoint-every ms); "
                             "continue with 'parsnn resume PATH'")
    parser.add_argument("--checkpoint-every", type=positive_float("--checkpoint-every"), default=None, metavar="MS",
                        help="checkpoint interval in ms of model time (a multiple of the min delay)")
    parser.add_argument("--flush-every", type=positive_float("--flush-every"), default=1000.0, metavar="MS",
                        help="model time in ms between flushes of the recorded data to --out and checks for "
                             "SIGTERM/SIGUSR1 (default 1000); on either signal the run stops at the next "
                             "flush, writes a checkpoint (--checkpoint, else OUT.ckpt.h5 next to --out) and "
                             "exits with status 3")


def setup_checkpoints(sim, args):
    """Write checkpoints as asked by ``args`` (collective); ParameterError for a bad interval or
    path. An existing file is replaced only with ``--overwrite`` or if it is the checkpoint this run
    resumes from."""
    from parsnn.errors import ParameterError
    path = args.checkpoint
    if args.checkpoint_every is not None and path is None:
        raise ParameterError("--checkpoint-every needs --checkpoint PATH")
    if path is None:
        return
    resumed = getattr(args, "resumed_from", None)
    if not (resumed and os.path.exists(path) and os.path.samefile(resumed, path)):
        _check_output_path(path, getattr(args, "overwrite", False), sim.comm, "--checkpoint")
    sim.checkpoint_every(path, args.checkpoint_every)


def _check_output_path(path, overwrite=False, comm=None, option="--out"):
    """A ParameterError unless ``path`` (or None) can be created as a file and does not exist yet
    (or ``overwrite``). With ``comm``, rank 0 (the writer) looks and every rank raises alike."""
    from parsnn.errors import ParameterError
    if comm is None or comm.Get_rank() == 0:
        problem = _output_problem(path, overwrite, option)
    else:
        problem = None
    if comm is not None and comm.Get_size() > 1:
        problem = comm.bcast(problem, root=0)
    if problem:
        raise ParameterError(problem)


def _output_problem(path, overwrite: bool, option: str):
    """Why ``path`` cannot be written as a new output file of ``option`` (None if it can)."""
    if path is None:
        return None
    if os.path.isdir(path):
        return f"{option}: '{path}' is a directory; give a file name"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"{option}: directory '{parent}' does not exist"
    if not os.access(parent, os.W_OK):
        return f"{option}: directory '{parent}' is not writable"
    if os.path.lexists(path) and not overwrite:
        return f"{option}: '{path}' already exists; pass --overwrite to replace it"
    return None


def build_simulation(args, comm):
    """Validate the input identically on every rank, place the neurons and build the Simulation;
    raises ParameterError on bad input."""
    from parsnn.connectivity import Connectivity
    from parsnn.partition import partition
    from parsnn.engine import Simulation
    rank = comm.Get_rank()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = make_network(args)
    if rank == 0:
        for w in caught:
            print(f"parsnn: warning: {w.message}", file=sys.stderr)
    net.validate(args.t_sim)
    _check_weight_options(args, net)
    _check_output_path(args.out, args.overwrite, comm)
    conn = Connectivity.from_network(net)
    part = partition(conn, comm.Get_size(), args.partition)   # deterministic: the same map on every rank
    # the expected metrics go into run_info, which rank 0 writes: only rank 0 loads their numba kernels
    # (about 66 MB per process)
    expected = part.metrics(conn) if rank == 0 else None
    sim = Simulation(net, seed=args.seed, comm=comm, partition=part, out=args.out, overwrite=args.overwrite,
                     keep_spikes=False, progress=not args.no_progress, summary_from_ms=args.warmup,
                     flush_ms=getattr(args, "flush_every", 1000.0), threads=getattr(args, "threads", 1),
                     rings=getattr(args, "rings", "per-tau"),
                     realisation=getattr(args, "realisation", DEFAULT_REALISATION),
                     exchange=getattr(args, "exchange_scheme", "auto"), mpi_wait=getattr(args, "mpi_wait", "sleep"),
                     mpi_wait_polls=getattr(args, "mpi_wait_polls", 100), prefetch=getattr(args, "prefetch", "auto"),
                     thread_owners=getattr(args, "thread_owners", OWNER_RULES[0]),
                     weight_power=getattr(args, "weight_power", DEFAULT_WEIGHT_POWER),
                     run_info={"argv": sys.argv, "command": "run", "cwd": os.getcwd(), **vars(args),
                               "partition_expected": None if expected is None else {k: expected[k] for k in (
                                   "seconds", "remote_deliveries_per_s", "bytes_per_rank_per_s", "cut_fraction",
                                   "communicating_pairs", "imbalance")}})
    if rank == 0:
        print(f"parsnn {args.model}: {net.num_nodes:,} nodes on {comm.Get_size()} rank(s), "
              f"partition {sim.partition_name}, seed {args.seed}, t_sim {args.t_sim} ms, realisation "
              f"{sim.realisation}", file=sys.stderr)
    # ParameterErrors found while building (per-neuron draws) are raised on every rank alike
    sim.build()
    return sim


def _check_weight_options(args, net):
    """ParameterError for --record-weights(-every) that cannot be honoured."""
    from parsnn.errors import ParameterError
    every = getattr(args, "record_weights_every", None)
    if every is not None:
        if not getattr(args, "record_weights", False):
            raise ParameterError("--record-weights-every needs --record-weights")
        net.steps(every, "--record-weights-every")
    if getattr(args, "record_weights", False) and not any(p.plastic for p in net.projections):
        raise ParameterError(f"--record-weights: model {args.model} has no plastic projections")


def command(args) -> int:
    """Build, simulate and write; rank 0 prints the summary. Bad input: EXIT_BAD_INPUT, printed once."""
    from mpi4py import MPI

    from parsnn.errors import ParameterError
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    watcher = stop.install()

    # Phase 1: validation, identical on every rank, then the build.
    try:
        sim = build_simulation(args, comm)
        setup_checkpoints(sim, args)
        stop.attach(sim, args, watcher, _check_output_path)
    except ParameterError as e:
        report_error(e)
        return EXIT_BAD_INPUT

    # Phase 2: simulate and write. Any exception on any rank ends the whole job (main -> abort_job).
    if rank == 0:
        print(f"built {sim.num_synapses:,} synapses in {sim.build_seconds:.2f} s "
              f"(min delay {sim.min_delay_steps * sim.h:g} ms)", file=sys.stderr)
    run_recording_weights(sim, args)
    return finish(sim, args)


def run_recording_weights(sim, args):
    """Run from the current time (0, or a restored checkpoint's) to ``args.t_sim`` (counted from 0);
    with --record-weights, in pieces ending at the multiples of --record-weights-every ms and at
    t_sim, each followed by a snapshot of the weights in the run file (runs in pieces are
    bit-identical). A run stopped by a signal takes no snapshot at the stop (the checkpoint holds
    the weights)."""
    end = sim.net.steps(args.t_sim, "--t-sim")
    if not getattr(args, "record_weights", False):
        sim.run((end - sim.t_steps) * sim.h)
        return
    every = sim.net.steps(args.record_weights_every, "--record-weights-every") if args.record_weights_every else end
    t = sim.t_steps
    while t < end:
        stop = min(end, (t // every + 1) * every)
        sim.run((stop - t) * sim.h)
        if sim.stopped:
            return
        t = sim.t_steps
        weights = sim.weights(root=0)
        if sim.writer is not None:
            sim.writer.append_weights(t * sim.h, weights)


def finish(sim, args) -> int:
    """After run(): a run stopped by a signal ends as :func:`parsnn.cli.stop.report` says (status 3);
    otherwise the output is marked complete (collective), rank 0 prints the summary, status 0."""
    if sim.stopped:
        return stop.report(sim, args)
    perf = sim.finish()
    if sim.rank == 0:
        print(format_summary(sim, perf))
        if sim.checkpoints_written:
            print(f"checkpoints: {sim.checkpoints_written} written to {args.checkpoint}")
    return 0


def format_summary(sim, perf) -> str:
    """The end-of-run summary: rates after the warm-up, sizes, times, RTF, timers, memory."""
    lines = ["", "== parsnn summary =="]
    rates = sim.summary_rates()
    if rates:
        t0, t1 = sim.summary_window()
        lines.append(f"mean firing rates, {t0:g}-{t1:g} ms (spikes/s):")
        lines.append("  " + "  ".join(f"{k} {v:.3f}" for k, v in rates.items()))
    gb = [b / 2**30 for b in perf["peak_rss_bytes"]]
    t0, t1 = perf["model_time_from_ms"], perf["model_time_ms"]
    span = f"{t1 - t0:g} ms model time" + (f" ({t0:g} to {t1:g} ms)" if t0 > 0 else "")
    lines += [
        f"neurons {perf['num_neurons']:,}  synapses {perf['num_synapses']:,}  ranks {perf['num_ranks']}",
        f"build time        {max(perf['build_seconds']):.2f} s",
        f"simulate time     {max(perf['simulate_seconds']):.2f} s for {span}",
        f"real-time factor  {perf['rtf']:.3f}",
        "phase timers (s, max over ranks): " + ", ".join(
            f"{ph} {max(perf[f'timer_{ph}']):.2f}" for ph in ("update", "exchange", "deliver", "record")),
        "build timers (s, max over ranks): " + ", ".join(
            f"{ph} {max(perf[f'build_{ph}']):.2f}" for ph in ("neurons", "count", "connect", "group", "routes")),
        "peak memory per rank: " + ", ".join(f"{g:.2f} GiB" for g in gb)
        + f"  ({sum(perf['peak_rss_bytes']) / max(perf['num_synapses'], 1):.1f} bytes/synapse)",
        f"static synapse table: {perf['bytes_per_static_synapse']:.2f} bytes per synapse",
    ]
    pf = sim.prefetch_info or {}
    if pf:
        lines.append(f"delivery prefetch distance {pf['distance']} ({pf['source']}"
                     + (f" in {pf['tune_seconds']:.2f} s, not in the simulate time" if "tune_seconds" in pf else "")
                     + ")")
    if sim.checkpoints_written:
        lines.append(f"checkpoint writes {max(perf['checkpoint_seconds']):.2f} s for {sim.checkpoints_written} "
                     "checkpoint(s) (not in the simulate time)")
    if sim.out:
        lines.append(f"output: {sim.out}")
    return "\n".join(lines)
