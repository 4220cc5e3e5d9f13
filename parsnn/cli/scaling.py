"""``parsnn scaling strong|weak|collect``: plan a scaling sweep, run it here or write Slurm/PBS job
scripts, and collect the finished runs into a results table (the work is parsnn.scaling's)."""
from __future__ import annotations

import json
import os

from parsnn import registry
from parsnn.cli.common import EXIT_BAD_INPUT, report_error, strategies
from parsnn.options import nonnegative, positive_float, positive_int, seed
from parsnn.tables import Column, format_table

RESULT_COLUMNS = [
    Column("ranks", lambda r: f"{r['ranks']:>4}{'*' if r['oversubscribed'] else ' '}"),
    Column("thr", lambda r: f"{r.get('threads', 1):>3}"),
    Column("neurons", "num_neurons", ",", width=9),
    Column("synapses", "num_synapses", ",", width=12),
    Column("build s", "build_seconds", ".2f", width=8),
    Column("sim s", "simulate_seconds", ".2f", width=8),
    Column("RTF", "rtf", ".3f", width=8),
    Column("update", "timer_update", ".2f", width=7),
    Column("deliver", "timer_deliver", ".2f", width=7),
    Column("exch", "timer_exchange", ".2f", width=7),
    Column("pred. RTF", lambda r: r.get("predicted_rtf"), lambda v: "-" if v is None else f"{v:.3f}"),
]


def _size_help() -> str:
    """--size's help: each model's default size and the option value it gives."""
    sizes = []
    for name in registry.names():
        spec = registry.get(name)
        sizes.append(f"{name} {spec.default_size:g} ({spec.size_option} {spec.size_value(spec.default_size)})")
    return f"model size (strong) or size per rank (weak); default: {', '.join(sizes)}"


def add_parser(subparsers):
    """The ``scaling`` sub-command and its options."""
    s = subparsers.add_parser("scaling", help="strong/weak scaling sweep: job scripts or local runs, then a results table",
                              description="Plan a scaling sweep over --ranks and either run it here with mpiexec "
                                          "(--local, oversubscribing beyond the cores and marking those points) or "
                                          "write Slurm/PBS job scripts (--slurm/--pbs) into --out-dir. 'collect' "
                                          "gathers the finished runs' performance metadata into "
                                          "OUT_DIR/results.json. Plot with python analysis/scaling_plots.py OUT_DIR.")
    s.add_argument("kind", choices=["strong", "weak", "collect"])
    s.add_argument("--model", choices=registry.names(), default="brunel", help="network model (default brunel)")
    s.add_argument("--ranks", default="1,2,4", help="comma-separated rank counts (default 1,2,4)")
    s.add_argument("--size", type=float, default=None, help=_size_help())
    how = s.add_mutually_exclusive_group()
    how.add_argument("--local", dest="scheduler", action="store_const", const="local", help="run here (default)")
    how.add_argument("--slurm", dest="scheduler", action="store_const", const="slurm", help="write Slurm scripts")
    how.add_argument("--pbs", dest="scheduler", action="store_const", const="pbs", help="write PBS scripts")
    s.set_defaults(scheduler="local")
    s.add_argument("--out-dir", default="scaling_runs", help="where runs, scripts and results go")
    s.add_argument("--overwrite", action="store_true",
                   help="--local: replace run files of the sweep that already exist in --out-dir "
                        "(without it such a sweep is refused before any run)")
    s.add_argument("--t-sim", type=positive_float("--t-sim"), default=1000.0, help="model time per run in ms")
    s.add_argument("--partition", choices=strategies(), default="round_robin")
    s.add_argument("--seed", type=seed, default=55)
    s.add_argument("--ranks-per-node", type=positive_int("--ranks-per-node"), default=128)
    s.add_argument("--threads", default="1",
                   help="comma-separated OpenMP threads per rank, swept with every rank count (parsnn --threads; "
                        "job scripts: cpus-per-task, bound to the rank's cores); default 1")
    s.add_argument("--walltime", default="01:00:00")
    s.add_argument("--signal-lead", type=nonnegative("--signal-lead", int), default=120, metavar="S",
                   help="job scripts: seconds before the wall-time limit at which parsnn is told to stop with "
                        "a checkpoint; the job then continues in the next allocation (default 120)")
    s.add_argument("--site-setup", default="", help="shell lines for the job scripts' site section")
    s.add_argument("--mpi-wait", choices=("poll", "yield", "sleep"), default="poll",
                   help="job scripts: how a rank waits for the spike exchange (parsnn run --mpi-wait); default "
                        "poll, the blocking call's busy poll, for dedicated nodes (sleep, the run default, suits "
                        "shared machines); written into the script as MPI_WAIT with the reason")
    s.add_argument("--machine", default="auto",
                   help="machine description for the cost model's prediction in results.json and the plot "
                        "(name or TOML file; default: the calibration of this machine made by parsnn calibrate, "
                        "no prediction without one)")
    s.add_argument("--debug", action="store_true", help="print tracebacks")


def _sweep(args) -> bool:
    """Plan the sweep, then run it here (True: collect next) or write its job scripts (False)."""
    from parsnn import scaling
    size = args.size if args.size is not None else registry.get(args.model).default_size
    threads = scaling.parse_threads(args.threads)
    runs = scaling.plan(args.kind, args.model, scaling.parse_ranks(args.ranks), size, threads=threads)
    if args.scheduler == "local":
        scaling.run_local(runs, args.out_dir, args.partition, args.t_sim, args.seed, overwrite=args.overwrite)
        return True
    paths = scaling.write_jobscripts(runs, args.out_dir, args.scheduler, args.ranks_per_node,
                                     threads[0], args.partition, args.t_sim, args.seed,
                                     args.walltime, args.site_setup, args.signal_lead,
                                     mpi_wait=args.mpi_wait)
    print("\n".join(paths))
    print(f"submit with: bash {os.path.join(args.out_dir, 'submit_all.sh')}; "
          f"afterwards: parsnn scaling collect --out-dir {args.out_dir}")
    return False


def _prediction_note(rows) -> str:
    """Which machine the predictions are for, or why there are none."""
    from parsnn.machines import fingerprint
    pred = [r for r in rows if "predicted_rtf" in r]
    if not pred:
        return ("no cost-model prediction: " + fingerprint.no_calibration_message()
                if fingerprint.find_calibration() is None else "no cost-model prediction")
    r = pred[0]
    rng = (f", range {r['predicted_rtf_range'][0]:.3f}-{r['predicted_rtf_range'][1]:.3f} for the first run"
           if r.get("predicted_rtf_range") else "")
    return (f"pred. RTF: the cost model (a prediction) on machine '{r['predicted_machine']}' "
            f"({r.get('predicted_machine_match')}){rng}")


def command(args) -> int:
    """Plan and run (or script) a scaling sweep; serial, it starts mpiexec itself. Then (local runs
    and ``collect``) the results table, OUT_DIR/results.json and the sweep's figure."""
    from parsnn import scaling
    from parsnn.errors import ParameterError
    try:
        if args.kind != "collect" and not _sweep(args):
            return 0
        rows = scaling.collect(args.out_dir, args.machine)
    except ParameterError as e:
        report_error(e, once=False)
        return EXIT_BAD_INPUT
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    header, _rule, *lines = format_table(RESULT_COLUMNS, rows).split("\n")   # this table has no rule line
    print("\n".join([header, *lines]))
    note = f"{len(rows)} runs -> {os.path.join(args.out_dir, 'results.json')} (* oversubscribed"
    print(_prediction_note(rows))
    note += ")"
    kinds = {r["name"].split("_")[0] for r in rows}
    if rows and len(kinds) == 1:
        figure = os.path.join(args.out_dir, "scaling.png")
        scaling.plot_sweep(rows, kinds.pop(), figure)
        note += f", {figure}"
    print(note)
    return 0
