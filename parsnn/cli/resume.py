"""``parsnn resume CHECKPOINT --t-sim T``: continue a checkpointed run on any number of ranks.

The network is rebuilt exactly as ``parsnn run`` built it, from the model name and options the
checkpoint stores (the run's settings): ``Network.describe()`` summarises per-neuron arrays and
cannot rebuild every model, while the registry's ``from_args`` with the same options gives the same
network. The rebuilt simulation then checks the checkpoint (description, seed, resolution, parsnn
version, connectivity checksum) and continues from its time to T (counted from time 0, like
``--t-sim`` of ``run``); the output (``--out``) holds the spikes and V_m from the checkpoint time on.
With ``--append`` it continues the interrupted run's own file instead (its path is stored in the
checkpoint; ``--out`` names another): whatever that file holds after the checkpoint time is removed
first (:mod:`parsnn.runfile.append`), so the finished file equals an uninterrupted run's.
``--record-weights [--record-weights-every MS]`` snapshot the plastic weights as ``run`` does (at the
multiples of MS after the checkpoint time and at T); with ``--append`` into the same /weights datasets.
"""
from __future__ import annotations

import os
import sys

from parsnn.cli import stop
from parsnn.cli.common import EXIT_BAD_INPUT, report_error, strategies
from parsnn.cli.run import (_check_output_path, add_checkpoint_arguments, add_weight_arguments, build_simulation,
                            finish, run_recording_weights, setup_checkpoints)
from parsnn.engine.decomposition import OWNER_RULES
from parsnn.engine.plasticity import UNRECORDED_WEIGHT_POWER
from parsnn.runfile.schema import UNRECORDED_REALISATION
from parsnn.options import positive_float, positive_int

#: options of the new command that replace the stored run's
_OVERRIDES = ("t_sim", "out", "overwrite", "partition", "threads", "thread_owners", "no_progress", "debug", "checkpoint",
              "checkpoint_every", "flush_every", "record_weights", "record_weights_every", "command")


def add_parser(subparsers):
    """The ``resume`` sub-command and its options."""
    r = subparsers.add_parser("resume", help="continue a checkpointed run (any number of ranks)",
                              description="Rebuild the network of a checkpoint (written by 'parsnn run "
                                          "--checkpoint') and continue it to --t-sim, counted from time 0. The "
                                          "spikes after the checkpoint time are those of an uninterrupted run.")
    r.add_argument("checkpoint_file", metavar="CHECKPOINT", help="checkpoint file")
    r.add_argument("--t-sim", type=positive_float("--t-sim"), required=True,
                   help="end of the continued run in ms of model time, counted from 0")
    r.add_argument("--out", default=None, help="HDF5 output file of the continued part (default: none); an "
                                               "existing file is refused unless --overwrite")
    r.add_argument("--append", action="store_true",
                   help="continue the interrupted run's output file (stored in the checkpoint, or --out) "
                        "instead of writing a new one; its data after the checkpoint time are replaced")
    r.add_argument("--overwrite", action="store_true", help="replace an existing --out or --checkpoint file")
    r.add_argument("--partition", default="round_robin", choices=strategies(),
                   help="neuron->rank placement of the continued run (default round_robin)")
    r.add_argument("--threads", type=positive_int("--threads"), default=1, metavar="T",
                   help="OpenMP threads per rank of the continued run (default 1; any number continues exactly)")
    r.add_argument("--thread-owners", choices=OWNER_RULES, default=OWNER_RULES[0],
                   help="which thread owns which of a rank's neurons in the continued run: mixed (default), "
                        "major or split, as for 'parsnn run'; results do not depend on it")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--debug", action="store_true", help="print tracebacks")
    add_weight_arguments(r)
    add_checkpoint_arguments(r)


def stored_arguments(args, comm):
    """The run's arguments rebuilt from the checkpoint's settings (read on rank 0, the same on every
    rank), with this command's options in place of the stored ones; ParameterError on every rank."""
    from parsnn.cli import build_parser
    from parsnn.errors import ParameterError
    from parsnn.runfile.checkpoint import read_run_info
    info, error = None, None
    if comm.Get_rank() == 0:
        try:
            info = read_run_info(args.checkpoint_file)
        except ParameterError as e:
            error = str(e)
    info, error = comm.bcast((info, error), root=0)
    if error is not None:
        raise ParameterError(error)
    settings, t_ckpt = info
    if settings.get("model") is None:
        raise ParameterError(f"checkpoint '{args.checkpoint_file}' was not written by 'parsnn run' (no model "
                             "options stored); continue it with Simulation.restore() in Python")
    if args.t_sim <= t_ckpt:
        raise ParameterError(f"--t-sim ({args.t_sim:g} ms) must be after the checkpoint time ({t_ckpt:g} ms)")
    run_args = build_parser().parse_args(["run", settings["model"]])
    for key, value in settings.items():
        if hasattr(run_args, key) and key not in _OVERRIDES:
            setattr(run_args, key, value)
    for key in _OVERRIDES:
        setattr(run_args, key, getattr(args, key))
    if "realisation" not in settings:       # written before the scheme was stored: v1 built it
        run_args.realisation = UNRECORDED_REALISATION
    if "weight_power" not in settings:      # written before it was stored: the library's pow ran
        run_args.weight_power = UNRECORDED_WEIGHT_POWER
    run_args.resumed_from = args.checkpoint_file
    if args.append:
        run_args.out = args.out or _stored_output(settings, args.checkpoint_file)
    return run_args, t_ckpt


def _stored_output(settings: dict, checkpoint: str) -> str:
    """The output file of the run that wrote the checkpoint (absolute: relative to its directory)."""
    from parsnn.errors import ParameterError
    out = settings.get("out")
    if not out:
        raise ParameterError(f"--append: the run of checkpoint '{checkpoint}' wrote no output file; "
                             "name the file to continue with --out")
    return os.path.join(settings.get("cwd", ""), out)


def _append_to(sim, path: str, comm):
    """Continue the run file ``path`` at the restored step (rank 0 opens it; ParameterError on every rank)."""
    from parsnn.errors import ParameterError
    from parsnn.runfile.append import reopen
    writer, error = None, None
    if comm.Get_rank() == 0:
        try:
            writer = reopen(path, step=sim.t_steps, resolution=sim.h, seed=sim.seed, description=sim.net.describe(),
                            layout=sim.output_layout())
        except ParameterError as e:
            error = str(e)
    error = comm.bcast(error, root=0)
    if error is not None:
        raise ParameterError(error)
    sim.out, sim.writer = path, writer
    sim.run_info["out"], sim.run_info["cwd"] = os.path.abspath(path), os.getcwd()


def _prepare(args, comm, watcher):
    """(the restored Simulation, the checkpoint time in ms); ParameterError on every rank."""
    run_args, t_ckpt = stored_arguments(args, comm)
    target = run_args.out if args.append else None
    if args.append:
        run_args.out = None                    # not a new file: reopened after the restore
    sim = build_simulation(run_args, comm)
    sim.restore(args.checkpoint_file)
    setup_checkpoints(sim, run_args)
    if target is not None:
        _append_to(sim, target, comm)
        run_args.out = target
    stop.attach(sim, run_args, watcher, _check_output_path)
    return sim, t_ckpt


def command(args) -> int:
    """Rebuild, restore, continue and write; rank 0 prints the summary. Bad input or a checkpoint
    that does not fit: EXIT_BAD_INPUT, printed once."""
    from mpi4py import MPI

    from parsnn.errors import ParameterError
    watcher = stop.install()
    try:
        sim, t_ckpt = _prepare(args, MPI.COMM_WORLD, watcher)
    except ParameterError as e:
        report_error(e)
        return EXIT_BAD_INPUT
    if sim.rank == 0:
        print(f"resumed from {args.checkpoint_file} at {t_ckpt:g} ms; {sim.num_synapses:,} synapses built in "
              f"{sim.build_seconds:.2f} s, checkpoint read in {sum(sim.restore_phases.values()):.2f} s", file=sys.stderr)
    run_recording_weights(sim, args)
    return finish(sim, args)
