"""``parsnn partition MODEL --ranks P``: compare neuron->rank placements of a model (no simulation)."""
from __future__ import annotations

import json

from parsnn import registry
from parsnn.cli.common import EXIT_BAD_INPUT, rank, report_error, strategies
from parsnn.options import positive_int
from parsnn.cli.source import add_analysis_arguments, validated_network


def add_parser(subparsers):
    """The ``partition`` sub-command and its options."""
    q = subparsers.add_parser("partition", help="compare neuron->rank placements of a model (no simulation)",
                              description="Partition a model over --ranks ranks and print the expected "
                                          "communication and load metrics of each strategy (or of --strategy "
                                          "only).")
    q.add_argument("model", choices=registry.names(), help="network model")
    q.add_argument("--ranks", type=positive_int("--ranks"), required=True, help="number of ranks")
    q.add_argument("--strategy", choices=strategies(), default=None, help="one strategy (default: all)")
    q.add_argument("--json", action="store_true", help="print a JSON list, one object per strategy")
    add_analysis_arguments(q)


def command(args) -> int:
    """Metrics table (or JSON) of one or every placement strategy; printed by rank 0."""
    from parsnn.errors import ParameterError
    from parsnn.connectivity import Connectivity
    from parsnn.partition import compare, format_table
    try:
        net = validated_network(args)
        rows = compare(Connectivity.from_network(net), args.ranks, [args.strategy] if args.strategy else None)
    except ParameterError as e:
        report_error(e)
        return EXIT_BAD_INPUT
    if rank() == 0:
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            print(f"{net.name}: {net.num_nodes:,} nodes, expected metrics on {args.ranks} ranks "
                  f"(remote deliveries: spike copies sent to other ranks per second of model time)")
            print(format_table(rows))
    return 0
