"""Command line: ``mpiexec -n P parsnn run MODEL ...`` (also ``python -m parsnn``).

Errors: bad input is detected identically on every rank before anything is
built; rank 0 prints it once and every rank exits with status 2. An exception
on any rank after that (build, simulation, output) is printed by that rank and
ends the whole MPI job with ``MPI_Abort`` (status 1), so no rank is left
waiting in a collective.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
import warnings

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
ABORT_GRACE_S = 0.5      # seconds between printing a rank's fatal error and MPI_Abort


def _rank():
    from mpi4py import MPI
    return MPI.COMM_WORLD.Get_rank()


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors once (rank 0), not once per rank."""

    def error(self, message):
        if _rank() == 0:
            self.print_usage(sys.stderr)
            print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _positive_float(name):
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got '{text}'") from None
        if not (math.isfinite(v) and v > 0):
            raise argparse.ArgumentTypeError(f"{name} must be > 0, got {text}")
        return v
    return conv


def _nonnegative(name, conv=float):
    def check(text):
        try:
            v = conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {'an integer' if conv is int else 'a number'} >= 0, "
                                             f"got '{text}'") from None
        if not (math.isfinite(v) and v >= 0):
            raise argparse.ArgumentTypeError(f"{name} must be >= 0, got {text}")
        return v
    return check


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be an integer in [0, 2^63), got '{text}'") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"--seed must be an integer in [0, 2^63), got {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="parsnn", description="Distributed spiking network simulation (run under mpiexec/srun).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="build and simulate a model, write SONATA/HDF5 output",
                       description="Build and simulate a model on all MPI ranks. --t-sim counts from time 0; "
                                   "the warm-up (500 ms for PD14) is part of it and discarded by analysis.")
    r.add_argument("model", choices=MODELS, help="network model")
    r.add_argument("--t-sim", type=_positive_float("--t-sim"), default=1000.0, help="model time in ms (default 1000)")
    r.add_argument("--seed", type=_seed, default=55, help="master seed (default 55)")
    r.add_argument("--out", default=None, help="HDF5 output file (default: none)")
    r.add_argument("--partition", default="round_robin", choices=STRATEGIES,
                   help="neuron->rank placement (default round_robin, as NEST); see 'parsnn partition'")
    r.add_argument("--resolution", type=_positive_float("--resolution"), default=0.1, help="step in ms (default 0.1)")
    r.add_argument("--no-record", action="store_true", help="do not record spikes (benchmarking)")
    r.add_argument("--record-v", type=_nonnegative("--record-v", int), default=0, metavar="K",
                   help="record V_m of the first K neurons of each population every 1 ms")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--warmup", type=_nonnegative("--warmup"), default=500.0,
                   help="ms excluded from the summary rates (default 500)")
    r.add_argument("--debug", action="store_true", help="print tracebacks")
    _add_model_args(r)
    q = sub.add_parser("partition", help="compare neuron->rank placements of a model (no simulation)",
                       description="Partition a model over --ranks ranks and print the expected communication "
                                   "and load metrics of each strategy (or of --strategy only).")
    q.add_argument("model", choices=MODELS, help="network model")
    q.add_argument("--ranks", type=_positive_int("--ranks"), required=True, help="number of ranks")
    q.add_argument("--strategy", choices=STRATEGIES, default=None, help="one strategy (default: all)")
    q.add_argument("--json", action="store_true", help="print a JSON list, one object per strategy")
    q.add_argument("--resolution", type=_positive_float("--resolution"), default=0.1, help="step in ms (default 0.1)")
    q.add_argument("--debug", action="store_true", help="print tracebacks")
    q.set_defaults(no_record=True, record_v=0)
    _add_model_args(q)
    s = sub.add_parser("scaling", help="strong/weak scaling sweep: job scripts or local runs, then a results table",
                       description="Plan a scaling sweep over --ranks and either run it here with mpiexec "
                                   "(--local, oversubscribing beyond the cores and marking those points) or write "
                                   "Slurm/PBS job scripts (--slurm/--pbs) into --out-dir. 'collect' gathers the "
                                   "finished runs' performance metadata into OUT_DIR/results.json. Plot with "
                                   "python analysis/scaling_plots.py OUT_DIR.")
    s.add_argument("kind", choices=["strong", "weak", "collect"])
    s.add_argument("--model", choices=MODELS, default="brunel", help="network model (default brunel)")
    s.add_argument("--ranks", default="1,2,4", help="comma-separated rank counts (default 1,2,4)")
    s.add_argument("--size", type=float, default=None,
                   help="model size (strong) or size per rank (weak): brunel --scale (default 0.1), pd14 "
                        "--n-scaling (default 0.05), multicolumn number of columns (default 4)")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--local", dest="scheduler", action="store_const", const="local", help="run here (default)")
    how.add_argument("--slurm", dest="scheduler", action="store_const", const="slurm", help="write Slurm scripts")
    how.add_argument("--pbs", dest="scheduler", action="store_const", const="pbs", help="write PBS scripts")
    s.set_defaults(scheduler="local")
    s.add_argument("--out-dir", default="scaling_runs", help="where runs, scripts and results go")
    s.add_argument("--t-sim", type=_positive_float("--t-sim"), default=1000.0, help="model time per run in ms")
    s.add_argument("--partition", choices=STRATEGIES, default="round_robin")
    s.add_argument("--seed", type=_seed, default=55)
    s.add_argument("--ranks-per-node", type=_positive_int("--ranks-per-node"), default=128)
    s.add_argument("--threads", type=_positive_int("--threads"), default=1,
                   help="cores reserved per rank in the job scripts (cpus-per-task, OMP_NUM_THREADS; default 1). "
                        "The engine runs one thread per rank, so more only leaves cores idle, e.g. to give a "
                        "rank more memory")
    s.add_argument("--walltime", default="01:00:00")
    s.add_argument("--site-setup", default="", help="shell lines for the job scripts' site section")
    s.add_argument("--machine", default="this_machine",
                   help="machine description for the cost model's prediction in results.json and the plot "
                        "(name or TOML file; default this_machine)")
    s.add_argument("--debug", action="store_true", help="print tracebacks")
    m = sub.add_parser("predict", help="predicted per-phase times and RTF on a machine (cost model, no simulation)",
                       description="Predict the time per min-delay interval of every phase, the critical path and "
                                   "the real-time factor for --ranks ranks on a machine description "
                                   "(parsnn/mapping/machines/*.toml or a TOML path). SOURCE is a model name "
                                   "(its expected rates) or a finished run file (its network and measured "
                                   "rates). See parsnn.mapping.cluster.")
    m.add_argument("source", help="a model (pd14, brunel, multicolumn) or a parsnn run file (.h5)")
    m.add_argument("--ranks", default="1,2,4,8,16,32,64,128,256,512,1024", help="comma-separated rank counts")
    m.add_argument("--machine", default="this_machine", help="machine name or TOML file (default this_machine)")
    m.add_argument("--partition", choices=STRATEGIES, default="round_robin")
    m.add_argument("--json", action="store_true", help="print a JSON list, one prediction per rank count")
    m.add_argument("--resolution", type=_positive_float("--resolution"), default=0.1, help="step in ms (default 0.1)")
    m.add_argument("--debug", action="store_true", help="print tracebacks")
    m.set_defaults(no_record=True, record_v=0)
    _add_model_args(m)
    nm = sub.add_parser("map", help="map a model or a run onto neuromorphic hardware: cores, chips, link load, RTF, energy",
                        description="Split the network into the target's cores with the MPI partitioner, place them "
                                    "on the chip mesh, route spikes, and predict link/router/core loads, the "
                                    "real-time factor and the energy per synaptic event (parsnn.mapping.neuromorphic). "
                                    "SOURCE is a run file (measured spikes) or a model name (mean rates).")
    nm.add_argument("source", help="a parsnn run file (.h5) or a model: pd14, brunel, multicolumn")
    nm.add_argument("--target", default="spinnaker",
                    help="spinnaker, spinnaker2, loihi, loihi2, noc, or a hardware TOML file (default spinnaker)")
    nm.add_argument("--placement", default="graph",
                    help="graph, block, round_robin or population (sPyNNaker: cores never mix populations) "
                         "(default graph)")
    nm.add_argument("--neurons-per-core", type=_positive_int("--neurons-per-core"), default=None,
                    help="cap on neurons per (neuron) core (default: the target's [core] neurons)")
    nm.add_argument("--mode", choices=("combined", "split"), default=None,
                    help="SpiNNaker: combined neuron+synapse cores, or split (synapse cores per neuron core, "
                         "sPyNNaker's real-time PD14 scheme); default from the hardware file")
    nm.add_argument("--enforce-fan-in", action="store_true",
                    help="cap neurons per core so that every core's input axons fit the target's fan-in limit "
                         "(Loihi: 4,096); an error if one neuron already exceeds it")
    nm.add_argument("--synapse-cores", type=_positive_int("--synapse-cores"), default=None,
                    help="synapse cores per neuron core in split mode (default from the hardware file)")
    nm.add_argument("--cores", type=_positive_int("--cores"), default=None, help="use at least this many cores")
    nm.add_argument("--boards", type=_positive_int("--boards"), default=None,
                    help="powered boards (SpiNNaker) / chip floor (default: as many as needed)")
    nm.add_argument("--warmup", type=_nonnegative("--warmup"), default=500.0,
                    help="ms of a run file left out (default 500)")
    nm.add_argument("--scaling", action="store_true", help="also compute the strong-scaling curve")
    nm.add_argument("--json", action="store_true", help="print JSON instead of the table")
    nm.add_argument("--figures", default=None, metavar="DIR", help="write the link-load heat map (and scaling curve)")
    nm.add_argument("--resolution", type=_positive_float("--resolution"), default=0.1, help="step in ms (default 0.1)")
    nm.add_argument("--debug", action="store_true", help="print tracebacks")
    nm.set_defaults(no_record=True, record_v=0)
    _add_model_args(nm)
    a = sub.add_parser("analyze", help="statistics, figures and KS comparison of run output (serial, no mpiexec)",
                       description="Per-population firing rates, ISI CVs and spike-count correlations after the "
                                   "warm-up, figures, and KS distances against another run (HDF5 file or NEST "
                                   "ASCII directory). See analysis/README.md.")
    from parsnn.analysis import add_cli_arguments
    add_cli_arguments(a)
    return p


MODELS = ["pd14", "brunel", "multicolumn"]
STRATEGIES = ["round_robin", "block", "population", "graph"]


def _positive_int(name):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= 1, got '{text}'") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= 1, got {text}")
        return v
    return conv


def _add_model_args(r):
    g = r.add_argument_group("pd14")
    g.add_argument("--n-scaling", type=float, default=0.1, help="population size factor in (0, 1] (default 0.1)")
    g.add_argument("--k-scaling", type=float, default=1.0, help="in-degree factor in (0, 1] (default 1)")
    g.add_argument("--bg", choices=["dc", "poisson"], default="dc", help="background drive (default dc)")
    g.add_argument("--thalamus", action="store_true", help="add the thalamic pulse (700-710 ms)")
    g = r.add_argument_group("brunel")
    g.add_argument("--regime", choices=["A", "B", "C", "D"], default="A", help="Brunel (2000) regime (default A)")
    g.add_argument("--scale", type=float, default=0.1, help="network size factor (default 0.1 of 12,500 neurons)")
    g = r.add_argument_group("multicolumn")
    g.add_argument("--grid", type=_positive_int("--grid"), default=8, help="K: a KxK sheet of columns (default 8)")
    g.add_argument("--column-scaling", type=float, default=0.01, help="PD14 n_scaling of each column (default 0.01)")
    g.add_argument("--column-k-scaling", type=float, default=0.1, help="PD14 k_scaling of each column (default 0.1)")
    g.add_argument("--column-bg", choices=["dc", "poisson"], default="poisson", help="background (default poisson)")
    g.add_argument("--lateral-fraction", type=float, default=0.3,
                   help="share of excitatory same-layer synapses that go to other columns (default 0.3)")
    g.add_argument("--sigma-mm", type=float, default=1.0, help="Gaussian decay of lateral connections (default 1 mm)")
    g.add_argument("--radius-mm", type=float, default=1.5, help="lateral cut-off radius (default 1.5 mm)")


def _make_network(args):
    if args.model == "pd14":
        from parsnn.models import pd14
        return pd14.build_network(n_scaling=args.n_scaling, k_scaling=args.k_scaling, bg=args.bg,
                                  thalamus=args.thalamus, record=not args.no_record,
                                  record_voltage=args.record_v, resolution=args.resolution)
    if args.model == "multicolumn":
        from parsnn.models import multicolumn
        return multicolumn.build_network(grid=args.grid, n_scaling=args.column_scaling,
                                         k_scaling=args.column_k_scaling, bg=args.column_bg,
                                         lateral_fraction=args.lateral_fraction, sigma_mm=args.sigma_mm,
                                         radius_mm=args.radius_mm, record=not args.no_record,
                                         resolution=args.resolution)
    from parsnn.models import brunel
    net = brunel.build_network(regime=args.regime, scale=args.scale, record=not args.no_record,
                               resolution=args.resolution)
    if args.record_v:
        for name, pop in net.populations.items():
            if pop.model.startswith("iaf"):
                net.record_voltage(name, range(min(args.record_v, pop.size)), 1.0)
    return net


def _check_output_path(path):
    from parsnn.errors import ParameterError
    if path is None:
        return
    if os.path.isdir(path):
        raise ParameterError(f"--out: '{path}' is a directory; give a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ParameterError(f"--out: directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"--out: directory '{parent}' is not writable")


def cmd_run(args) -> int:
    from mpi4py import MPI
    from parsnn.errors import ParameterError
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()

    # Phase 1: validation, identical on every rank, then the build.
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net = _make_network(args)
        if rank == 0:
            for w in caught:
                print(f"parsnn: warning: {w.message}", file=sys.stderr)
        net.validate(args.t_sim)
        _check_output_path(args.out)
        from parsnn.partition import partition
        from parsnn.engine import Simulation
        part = partition(net, comm.Get_size(), args.partition)   # deterministic: the same map on every rank
        expected = part.metrics(net)
        sim = Simulation(net, seed=args.seed, comm=comm, partition=part, out=args.out,
                         keep_spikes=False, progress=not args.no_progress, summary_from_ms=args.warmup,
                         run_info={"argv": sys.argv, "command": "run", **vars(args),
                                   "partition_expected": {k: expected[k] for k in (
                                       "seconds", "remote_deliveries_per_s", "bytes_per_rank_per_s", "cut_fraction",
                                       "communicating_pairs", "imbalance")}})
        if rank == 0:
            print(f"parsnn {args.model}: {net.num_nodes:,} nodes on {comm.Get_size()} rank(s), "
                  f"partition {sim.partition_name}, seed {args.seed}, t_sim {args.t_sim} ms", file=sys.stderr)
        # ParameterErrors found while building (per-neuron draws) are raised on every rank alike
        sim.build()
    except ParameterError as e:
        if rank == 0:
            print(f"parsnn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT

    # Phase 2: simulate and write. Any exception on any rank ends the whole job (main -> abort_job).
    if rank == 0:
        print(f"built {sim.num_synapses:,} synapses in {sim.build_seconds:.2f} s "
              f"(min delay {sim.min_delay_steps * sim.h:g} ms)", file=sys.stderr)
    sim.run(args.t_sim)
    perf = sim.finish()
    if rank == 0:
        print(format_summary(sim, perf))
    return 0


def cmd_scaling(args) -> int:
    """Plan and run (or script) a scaling sweep; serial, it starts mpiexec itself."""
    import json
    from parsnn import scaling
    from parsnn.errors import ParameterError
    if args.kind != "collect":
        try:
            size = args.size if args.size is not None else {"brunel": 0.1, "pd14": 0.05, "multicolumn": 4}[args.model]
            runs = scaling.plan(args.kind, args.model, scaling.parse_ranks(args.ranks), size)
            if args.scheduler == "local":
                scaling.run_local(runs, args.out_dir, args.partition, args.t_sim, args.seed)
            else:
                paths = scaling.write_jobscripts(runs, args.out_dir, args.scheduler, args.ranks_per_node,
                                                 args.threads, args.partition, args.t_sim, args.seed,
                                                 args.walltime, args.site_setup)
                print("\n".join(paths))
                print(f"submit with: bash {os.path.join(args.out_dir, 'submit_all.sh')}; "
                      f"afterwards: parsnn scaling collect --out-dir {args.out_dir}")
                return 0
        except ParameterError as e:
            print(f"parsnn: error: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        rows = scaling.collect(args.out_dir, args.machine)
    except ParameterError as e:
        print(f"parsnn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"{'ranks':>5} {'neurons':>9} {'synapses':>12} {'build s':>8} {'sim s':>8} {'RTF':>8} "
          f"{'update':>7} {'deliver':>7} {'exch':>7} {'pred. RTF':>9}")
    for r in rows:
        pred = f"{r['predicted_rtf']:>9.3f}" if "predicted_rtf" in r else f"{'-':>9}"
        print(f"{r['ranks']:>4}{'*' if r['oversubscribed'] else ' '} {r['num_neurons']:>9,} {r['num_synapses']:>12,} "
              f"{r['build_seconds']:>8.2f} {r['simulate_seconds']:>8.2f} {r['rtf']:>8.3f} {r['timer_update']:>7.2f} "
              f"{r['timer_deliver']:>7.2f} {r['timer_exchange']:>7.2f} {pred}")
    note = (f"{len(rows)} runs -> {os.path.join(args.out_dir, 'results.json')} (* oversubscribed; "
            f"pred. RTF: the cost model on machine '{args.machine}')")
    kinds = {r["name"].split("_")[0] for r in rows}
    if rows and len(kinds) == 1:
        figure = os.path.join(args.out_dir, "scaling.png")
        scaling.plot_sweep(rows, kinds.pop(), figure)
        note += f", {figure}"
    print(note)
    return 0


def _validated_network(args):
    """The model's description for commands that only analyse it (warnings about simulating it
    are beside the point there); raises ParameterError on bad input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _make_network(args)
    net.validate()
    return net


def cmd_partition(args) -> int:
    """Metrics table (or JSON) of one or every placement strategy; printed by rank 0."""
    import json
    from parsnn.errors import ParameterError
    from parsnn.partition import compare, format_table
    try:
        net = _validated_network(args)
        rows = compare(net, args.ranks, [args.strategy] if args.strategy else None)
    except ParameterError as e:
        if _rank() == 0:
            print(f"parsnn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if _rank() == 0:
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            print(f"{net.name}: {net.num_nodes:,} nodes, expected metrics on {args.ranks} ranks "
                  f"(remote deliveries: spike copies sent to other ranks per second of model time)")
            print(format_table(rows))
    return 0


def cmd_predict(args) -> int:
    """Cost-model predictions (serial): a table or JSON over the rank counts."""
    import json
    from parsnn import scaling
    from parsnn.errors import ParameterError
    from parsnn.mapping import cluster
    try:
        if args.source in MODELS:
            args.model = args.source
            net, rates, origin = _validated_network(args), None, "expected rates"
            name = net.name
        elif os.path.isfile(args.source):
            try:
                inp = cluster.run_inputs(args.source)
            except (OSError, KeyError) as e:
                raise ParameterError(f"source: '{args.source}' is not a readable parsnn run file ({e})") from None
            net, rates, name = inp["description"], inp["rates"], inp["description"].get("name", args.source)
            origin = (f"rates measured in {args.source} ({inp['rates_from'].replace('_', ' ')})"
                      if rates else f"expected rates ({args.source} has no spike counts)")
        else:
            raise ParameterError(f"source must be a model ({', '.join(MODELS)}) or an existing run file, "
                                 f"got '{args.source}'")
        curve = cluster.sweep(net, scaling.parse_ranks(args.ranks), args.machine, args.partition, rates)
    except ParameterError as e:
        print(f"parsnn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(curve, indent=1, default=float))
    else:
        print(f"{name} on {curve[0]['machine']}: per min-delay interval ({curve[0]['interval_ms']:g} ms), "
              f"partition {args.partition}, {origin}")
        print(cluster.format_table(curve))
    return 0


def cmd_map(args) -> int:
    """Neuromorphic mapping (serial): table or JSON, optional figures."""
    import json
    from parsnn.errors import ParameterError
    from parsnn.mapping import neuromorphic as nm
    try:
        if args.placement not in nm.PLACEMENTS:
            raise ParameterError(f"--placement must be one of {', '.join(nm.PLACEMENTS)}, got '{args.placement}'")
        hw = nm.load_hardware(args.target)
        if args.source in MODELS:
            args.model = args.source
            net, rates, counts, origin = _validated_network(args), None, None, "mean rates"
        elif os.path.isfile(args.source):
            try:
                inp = nm.run_inputs(args.source, args.warmup)
            except (OSError, KeyError) as e:
                raise ParameterError(f"source: '{args.source}' is not a readable parsnn run file ({e})") from None
            net, rates, counts = inp["conn"], inp["rates"], inp["step_counts"]
            origin = f"spikes {inp['window_ms'][0]:g}-{inp['window_ms'][1]:g} ms of {args.source}"
        else:
            raise ParameterError(f"source must be a model ({', '.join(MODELS)}) or an existing run file, "
                                 f"got '{args.source}'")
        res = nm.map_network(net, hw, args.placement, rates=rates, step_counts=counts, cores=args.cores,
                             boards=args.boards, keep_arrays=bool(args.figures),
                             neurons_per_core=args.neurons_per_core, mode=args.mode,
                             synapse_cores=args.synapse_cores, enforce_fan_in=args.enforce_fan_in)
        curve = nm.scaling_curve(net, hw, args.placement, rates=rates, step_counts=counts,
                                 neurons_per_core=args.neurons_per_core, mode=args.mode,
                                 synapse_cores=args.synapse_cores) if args.scaling else None
    except ParameterError as e:
        print(f"parsnn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    figures = nm.plot(res, curve, args.figures) if args.figures else []
    out = {k: v for k, v in res.items() if not k.startswith("_")}
    if args.json:
        print(json.dumps({"mapping": out, "scaling": curve, "figures": figures}, indent=1, default=float))
        return 0
    print(f"{out['model'] or 'network'} ({out['neurons']:,} neurons, {out['synapses']:.3g} synapses) on {hw.name}, "
          f"traffic from {origin}; {out['topology']} grid of {out['mesh'][0]}x{out['mesh'][1]} routers, "
          f"{out['routing']} routing")
    print(nm.format_table([out]))
    print(f"time per step: mean {out['time_per_step_s']['mean'] * 1e6:.2f} us, q{float(hw.hw.get('rtf_quantile', 0.999)):g} "
          f"{out['time_per_step_s']['quantile'] * 1e6:.2f} us (sync {out['time_per_step_s']['sync'] * 1e6:.2f} us); "
          f"limit: {out['bottleneck']}; energy per event {nm._fmt_energy(out['energy_per_synaptic_event_j'])} "
          f"(dynamic {nm._fmt_energy(out['dynamic_energy_per_synaptic_event_j'])})")
    notes = []
    if out["fan_in_exceeded"]:
        notes.append(f"fan-in {out['max_fan_in']:.0f} distinct sources per core exceeds the core's "
                     f"{out['fan_in_cap']} input axons")
    if out["routing_table_overflow"]:
        notes.append(f"routing table: up to {out['max_routing_entries']:.0f} entries per router > {out['routing_table_size']}")
    if out["dropped_risk_link_steps"] > 0 or out["dropped_risk_router"]:
        notes.append(f"dropped-packet risk: {out['dropped_risk_link_steps'] * 100:.2g} % of steps overload a link"
                     + ("; a router is overloaded at the peak step" if out["dropped_risk_router"] else ""))
    for n in notes:
        print("warning: " + n)
    if curve:
        print("strong scaling:")
        print(nm.format_table(curve))
    for f in figures:
        print(f"figure: {f}")
    return 0


def format_summary(sim, perf) -> str:
    lines = ["", "== parsnn summary =="]
    rates = sim.summary_rates()
    if rates:
        t0, t1 = sim.summary_window()
        lines.append(f"mean firing rates, {t0:g}-{t1:g} ms (spikes/s):")
        lines.append("  " + "  ".join(f"{k} {v:.3f}" for k, v in rates.items()))
    gb = [b / 2**30 for b in perf["peak_rss_bytes"]]
    lines += [
        f"neurons {perf['num_neurons']:,}  synapses {perf['num_synapses']:,}  ranks {perf['num_ranks']}",
        f"build time        {max(perf['build_seconds']):.2f} s",
        f"simulate time     {max(perf['simulate_seconds']):.2f} s for {perf['model_time_ms']:g} ms model time",
        f"real-time factor  {perf['rtf']:.3f}",
        "phase timers (s, max over ranks): " + ", ".join(
            f"{ph} {max(perf[f'timer_{ph}']):.2f}" for ph in ("update", "exchange", "deliver", "record")),
        "build timers (s, max over ranks): " + ", ".join(
            f"{ph} {max(perf[f'build_{ph}']):.2f}" for ph in ("neurons", "count", "connect", "group", "routes")),
        "peak memory per rank: " + ", ".join(f"{g:.2f} GiB" for g in gb)
        + f"  ({sum(perf['peak_rss_bytes']) / max(perf['num_synapses'], 1):.1f} bytes/synapse)",
    ]
    if sim.out:
        lines.append(f"output: {sim.out}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "partition":
            return cmd_partition(args)
        if args.command == "scaling":
            return cmd_scaling(args)
        if args.command == "predict":
            return cmd_predict(args)
        if args.command == "map":
            return cmd_map(args)
        if args.command == "analyze":
            from parsnn.analysis import run_cli
            return run_cli(args)
        return EXIT_BAD_INPUT
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - any failure must end the whole MPI job
        abort_job(e, debug=getattr(args, "debug", False))
    return EXIT_FAILURE


def abort_job(exc: BaseException, debug: bool = False):
    """Report an exception raised on this rank and end every rank of the job."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    where = f" on rank {comm.Get_rank()} of {comm.Get_size()}" if comm.Get_size() > 1 else ""
    if debug:
        traceback.print_exc()
    print(f"parsnn: error{where}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    sys.stderr.flush()
    if comm.Get_size() > 1:
        # MPI_Abort makes the launcher kill every process at once, and output still in the pipe to
        # it can be lost (seen with the mpich wheel's hydra in about 1 run in 6): give it time to
        # forward the message first. The other ranks are blocked in a collective meanwhile.
        time.sleep(ABORT_GRACE_S)
        comm.Abort(EXIT_FAILURE)
    sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
