"""``parsnn map SOURCE --target T``: map a model or a run onto neuromorphic hardware (cores, chips,
link load, RTF, energy)."""
from __future__ import annotations

import json

from parsnn import registry
from parsnn.cli.common import EXIT_BAD_INPUT, report_error
from parsnn.options import nonnegative, positive_int
from parsnn.cli.source import add_analysis_arguments, resolve_source


def add_parser(subparsers):
    """The ``map`` sub-command and its options."""
    nm = subparsers.add_parser(
        "map", help="map a model or a run onto neuromorphic hardware: cores, chips, link load, RTF, energy",
        description="Split the network into the target's cores with the MPI partitioner, place them "
                    "on the chip mesh, route spikes, and predict link/router/core loads, the "
                    "real-time factor and the energy per synaptic event (parsnn.mapping.neuromorphic). "
                    "SOURCE is a run file (measured spikes) or a model name (mean rates).")
    nm.add_argument("source", help=f"a parsnn run file (.h5) or a model: {', '.join(registry.names())}")
    nm.add_argument("--target", default="spinnaker",
                    help="spinnaker, spinnaker2, loihi, loihi2, noc, or a hardware TOML file (default spinnaker)")
    nm.add_argument("--placement", default="graph",
                    help="graph, block, round_robin or population (sPyNNaker: cores never mix populations) "
                         "(default graph)")
    nm.add_argument("--neurons-per-core", type=positive_int("--neurons-per-core"), default=None,
                    help="cap on neurons per (neuron) core (default: the target's [core] neurons)")
    nm.add_argument("--mode", choices=("combined", "split"), default=None,
                    help="SpiNNaker: combined neuron+synapse cores, or split (synapse cores per neuron core, "
                         "sPyNNaker's real-time PD14 scheme); default from the hardware file")
    nm.add_argument("--enforce-fan-in", action="store_true",
                    help="cap neurons per core so that every core's input axons fit the target's fan-in limit "
                         "(Loihi: 4,096); an error if one neuron already exceeds it")
    nm.add_argument("--synapse-cores", type=positive_int("--synapse-cores"), default=None,
                    help="synapse cores per neuron core in split mode (default from the hardware file)")
    nm.add_argument("--cores", type=positive_int("--cores"), default=None, help="use at least this many cores")
    nm.add_argument("--boards", type=positive_int("--boards"), default=None,
                    help="powered boards (SpiNNaker) / chip floor (default: as many as needed)")
    nm.add_argument("--warmup", type=nonnegative("--warmup"), default=500.0,
                    help="ms of a run file left out (default 500)")
    nm.add_argument("--scaling", action="store_true", help="also compute the strong-scaling curve")
    nm.add_argument("--json", action="store_true", help="print JSON instead of the table")
    nm.add_argument("--figures", default=None, metavar="DIR", help="write the link-load heat map (and scaling curve)")
    add_analysis_arguments(nm)


def command(args) -> int:
    """Neuromorphic mapping (serial): table or JSON, optional figures."""
    from parsnn.errors import ParameterError
    from parsnn.mapping import neuromorphic as nm
    try:
        if args.placement not in nm.PLACEMENTS:
            raise ParameterError(f"--placement must be one of {', '.join(nm.PLACEMENTS)}, got '{args.placement}'")
        hw = nm.load_hardware(args.target)
        conn, run = resolve_source(args, lambda path: nm.run_inputs(path, args.warmup))
        if run is None:
            rates, counts, origin = None, None, "mean rates"
        else:
            conn, rates, counts = run["conn"], run["rates"], run["step_counts"]
            origin = f"spikes {run['window_ms'][0]:g}-{run['window_ms'][1]:g} ms of {args.source}"
        res = nm.map_network(conn, hw, args.placement, rates=rates, step_counts=counts, cores=args.cores,
                             boards=args.boards, keep_arrays=bool(args.figures),
                             neurons_per_core=args.neurons_per_core, mode=args.mode,
                             synapse_cores=args.synapse_cores, enforce_fan_in=args.enforce_fan_in)
        curve = nm.scaling_curve(conn, hw, args.placement, rates=rates, step_counts=counts,
                                 neurons_per_core=args.neurons_per_core, mode=args.mode,
                                 synapse_cores=args.synapse_cores) if args.scaling else None
    except ParameterError as e:
        report_error(e, once=False)
        return EXIT_BAD_INPUT
    figures = nm.plot(res, curve, args.figures) if args.figures else []
    out = {k: v for k, v in res.items() if not k.startswith("_")}
    if args.json:
        print(json.dumps({"mapping": out, "scaling": curve, "figures": figures}, indent=1, default=float))
        return 0
    _print_report(out, hw, origin, curve, figures)
    return 0


def _print_report(out, hw, origin, curve, figures):
    """The mapping's table, step time and energy, warnings, scaling curve and figure paths."""
    from parsnn.mapping import neuromorphic as nm
    print(f"{out['model'] or 'network'} ({out['neurons']:,} neurons, {out['synapses']:.3g} synapses) on {hw.name}, "
          f"traffic from {origin}; {out['topology']} grid of {out['mesh'][0]}x{out['mesh'][1]} routers, "
          f"{out['routing']} routing")
    print(nm.format_table([out]))
    print(f"time per step: mean {out['time_per_step_s']['mean'] * 1e6:.2f} us, q{float(hw.hw.get('rtf_quantile', 0.999)):g} "
          f"{out['time_per_step_s']['quantile'] * 1e6:.2f} us (sync {out['time_per_step_s']['sync'] * 1e6:.2f} us); "
          f"limit: {out['bottleneck']}; energy per event {nm.format_energy(out['energy_per_synaptic_event_j'])} "
          f"(dynamic {nm.format_energy(out['dynamic_energy_per_synaptic_event_j'])})")
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
