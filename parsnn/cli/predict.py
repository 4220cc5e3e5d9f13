"""``parsnn predict SOURCE``: the cost model's per-phase times and RTF on a machine (no simulation)."""
from __future__ import annotations

import json
import sys

from parsnn import registry
from parsnn.cli.common import EXIT_BAD_INPUT, report_error, strategies
from parsnn.cli.source import add_analysis_arguments, resolve_source
from parsnn.options import positive_float, positive_int


def add_parser(subparsers):
    """The ``predict`` sub-command and its options."""
    m = subparsers.add_parser("predict",
                              help="predicted per-phase times and RTF on a machine (cost model, no simulation)",
                              description="Predict the time per min-delay interval of every phase, the critical "
                                          "path and the real-time factor for --ranks ranks on a machine description "
                                          "(parsnn/machines/*.toml or a TOML path). SOURCE is a model name "
                                          "(its expected rates) or a finished run file (its network and measured "
                                          "rates). See parsnn.mapping.cluster.")
    m.add_argument("source", help=f"a model ({', '.join(registry.names())}) or a parsnn run file (.h5)")
    m.add_argument("--ranks", default="1,2,4,8,16,32,64,128,256,512,1024", help="comma-separated rank counts")
    m.add_argument("--threads", default=None,
                   help="comma-separated OpenMP threads per rank (default 1; with --nodes: every divisor of the "
                        "machine's cores per node)")
    m.add_argument("--nodes", default=None,
                   help="comma-separated node counts: for each, the best ranks-per-node x threads layout filling "
                        "the machine's cores per node, with its predicted RTF range (instead of --ranks)")
    m.add_argument("--weak", type=positive_float("--weak"), default=None, metavar="SIZE",
                   help="with --nodes: weak scaling, the model grows with the nodes: SIZE per node in the model's "
                        "sweep unit (parsnn scaling's --size: multicolumn columns, pd14 n_scaling, brunel scale), "
                        "so each node count predicts the model at SIZE x nodes")
    m.add_argument("--max-ranks", type=positive_int("--max-ranks"), default=None, metavar="P",
                   help="with --nodes: skip layouts of more than P ranks (the cost model holds P x P matrices; "
                        "the layout with the most threads is always predicted)")
    m.add_argument("--machine", default=None,
                   help="machine name or TOML file (default: the calibration of the machine this runs on, "
                        "made by `parsnn calibrate`; without one the command says how to make it)")
    m.add_argument("--partition", choices=strategies(), default="round_robin")
    m.add_argument("--json", action="store_true",
                   help="print a JSON list, one prediction per rank (and thread) count, or per node count with "
                        "--nodes (keys nodes, ranks_per_node, threads, ranks, rtf, rtf_range, phases, layouts)")
    add_analysis_arguments(m)


def command(args) -> int:
    """Cost-model predictions (serial): a table or JSON over the rank counts."""
    from parsnn import scaling
    from parsnn.errors import ParameterError
    from parsnn.machines.fingerprint import resolve_machine
    from parsnn.mapping import cluster
    try:
        conn, run = (None, None) if args.weak is not None else resolve_source(args, cluster.run_inputs)
        if args.weak is not None:
            rates, name, origin = None, args.source, "expected rates"
        elif run is None:
            rates, name, origin = None, conn.description["name"], "expected rates"
        else:
            conn, rates = run["connectivity"], run["rates"]
            name = conn.description.get("name", args.source)
            origin = (f"rates measured in {args.source} ({run['rates_from'].replace('_', ' ')})"
                      if rates else f"expected rates ({args.source} has no spike counts)")
        machine, label = resolve_machine(args.machine)
        threads = None if args.threads is None else scaling.parse_threads(args.threads)
        skipped = []
        if args.weak is not None:
            curve = _weak_layouts(args, machine, threads)
        elif args.nodes is not None:
            curve = cluster.best_layouts(conn, _node_counts(args.nodes), machine, args.partition, rates, threads,
                                         max_ranks=args.max_ranks)
        else:
            curve = cluster.sweep(conn, scaling.parse_ranks(args.ranks), machine, args.partition, rates,
                                  threads=threads or [1], skipped=skipped)
    except ParameterError as e:
        report_error(e, once=False)
        return EXIT_BAD_INPUT
    for p in curve:
        p.update(label)
    if args.json:
        print(json.dumps(curve, indent=1, default=float))
    else:
        print(f"{name} on {curve[0]['machine']}: per min-delay interval ({curve[0]['interval_ms']:g} ms), "
              f"partition {args.partition}, {origin}")
        if args.nodes is not None:
            weak = (f"; weak scaling: {args.weak:g} x nodes of the model's {registry.get(name).size_option}"
                    if args.weak is not None else "")
            print(f"best layout per node count ({machine.cores_per_node} cores per node; a prediction{weak})")
            print(cluster.report.format_layouts(curve))
            print(cluster.report.format_limits(curve))
            for note in dict.fromkeys(p["note"] for p in curve if p["note"]):
                print(f"note: {note}")
        else:
            print(cluster.format_table(curve))
        for line in cluster.report.notes(machine, label, curve):
            print(line)
    for msg in skipped:
        print(f"not predicted: {msg}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _node_counts(text: str) -> list[int]:
    """The node counts of ``--nodes`` ('1,2,8')."""
    from parsnn.errors import ParameterError
    try:
        nodes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        nodes = []
    if not nodes or min(nodes) < 1:
        raise ParameterError(f"--nodes must be a comma-separated list of integers >= 1, got '{text}'")
    return nodes


def _weak_layouts(args, machine, threads) -> list[dict]:
    """``--weak SIZE --nodes N1,N2,...``: for every node count N the model at SIZE x N (its registry
    entry's sweep size, e.g. multicolumn's columns) and its best layout on N nodes, each row with
    ``weak`` (size per node, model size, the option's value), ``neurons`` and ``synapses``."""
    from parsnn.connectivity import Connectivity
    from parsnn.errors import ParameterError
    from parsnn.mapping import cluster
    from parsnn.cli.source import validated_network
    if args.nodes is None or args.source not in registry.names():
        raise ParameterError("--weak needs --nodes and a model as SOURCE")
    args.model = args.source
    spec = registry.get(args.source)
    dest = spec.size_option.lstrip("-").replace("-", "_")
    rows = []
    for n in _node_counts(args.nodes):
        try:
            value = spec.size_value(args.weak * n)
        except ParameterError as e:
            raise ParameterError(f"--weak {args.weak:g} at {n} nodes: {e}") from None
        setattr(args, dest, int(value) if value.isdigit() else float(value))
        conn = Connectivity.from_network(validated_network(args))
        row, = cluster.best_layouts(conn, [n], machine, args.partition, None, threads, max_ranks=args.max_ranks)
        row.update(weak={"size_per_node": args.weak, "model_size": args.weak * n, spec.size_option: value},
                   neurons=int(conn.sizes[~conn.virtual].sum()), synapses=float(conn.expected_synapses().sum()))
        rows.append(row)
    return rows
