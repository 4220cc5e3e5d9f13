"""``parsnn predict SOURCE``: the cost model's per-phase times and RTF on a machine (no simulation)."""
from __future__ import annotations

import json
import sys

from parsnn import registry
from parsnn.cli.common import EXIT_BAD_INPUT, report_error, strategies
from parsnn.cli.source import add_analysis_arguments, resolve_source


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
        conn, run = resolve_source(args, cluster.run_inputs)
        if run is None:
            rates, name, origin = None, conn.description["name"], "expected rates"
        else:
            conn, rates = run["connectivity"], run["rates"]
            name = conn.description.get("name", args.source)
            origin = (f"rates measured in {args.source} ({run['rates_from'].replace('_', ' ')})"
                      if rates else f"expected rates ({args.source} has no spike counts)")
        machine, label = resolve_machine(args.machine)
        threads = None if args.threads is None else scaling.parse_threads(args.threads)
        skipped = []
        if args.nodes is not None:
            curve = cluster.best_layouts(conn, _node_counts(args.nodes), machine, args.partition, rates, threads)
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
            print(f"best layout per node count ({machine.cores_per_node} cores per node; a prediction)")
            print(cluster.report.format_layouts(curve))
            if curve[0]["note"]:
                print(f"note: {curve[0]['note']}")
        else:
            print(cluster.format_table(curve))
        for line in cluster.report.notes(machine, label):
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
