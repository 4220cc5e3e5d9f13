"""What ``run`` and ``resume`` do on SIGTERM or SIGUSR1: stop at the next flush boundary, write a
checkpoint, leave the output consistent but incomplete, exit with :data:`EXIT_STOPPED`.

The engine part (the handler, the agreement of the ranks) is :mod:`parsnn.engine.signals`. The
checkpoint goes to ``--checkpoint PATH``, or without it to :func:`default_checkpoint` of ``--out``
(``run.h5`` -> ``run.ckpt.h5``); without either no checkpoint is written. The message, printed
once by rank 0, says how to continue::

    parsnn: stopped by SIGUSR1 at 1200 ms of 5000 ms model time (exit status 3); checkpoint run.ckpt.h5;
    output run.h5 holds the data up to 1200 ms (complete=False). Continue with:
    mpiexec -n P parsnn resume run.ckpt.h5 --t-sim 5000 --append
"""
from __future__ import annotations

import os
import sys

from parsnn.cli.common import EXIT_STOPPED
from parsnn.engine.signals import StopOnSignal, watch


def install() -> StopOnSignal:
    """Record SIGTERM/SIGUSR1 from now on (a signal during the build stops the run at its first boundary)."""
    return StopOnSignal().install()


def default_checkpoint(out: str | None) -> str | None:
    """The checkpoint a stopped run writes without ``--checkpoint``: next to ``out`` (``run.h5`` ->
    ``run.ckpt.h5``); None without ``out``."""
    if out is None:
        return None
    root, ext = os.path.splitext(out)
    return f"{root}.ckpt{ext or '.h5'}"


def attach(sim, args, watcher: StopOnSignal, check_output_path):
    """Let ``watcher`` stop ``sim``. Without ``--checkpoint``, the default checkpoint must not exist
    (unless ``--overwrite`` or it is the checkpoint this run resumes from): ``check_output_path(path,
    overwrite, comm, option)`` raises the ParameterError (collective)."""
    default = default_checkpoint(args.out) if args.checkpoint is None else None
    if default is not None:
        resumed = getattr(args, "resumed_from", None)
        if not (resumed and os.path.exists(default) and os.path.samefile(resumed, default)):
            check_output_path(default, args.overwrite, sim.comm, "checkpoint on a stop signal (default of --out)")
    watch(sim, watcher, default)


def report(sim, args) -> int:
    """After run() returned early (``sim.stopped``): store the performance figures, close the output
    incomplete and free the engine's MPI objects (collective); rank 0 prints the summary and one
    message; returns EXIT_STOPPED."""
    from parsnn.cli.run import format_summary
    perf = sim.performance()
    if sim.rank == 0 and sim.writer is not None:
        sim.writer.stop(perf)
        sim.writer = None
    sim.free()                     # the MPI objects the engine made (the graph communicator)
    if sim.rank != 0:
        return EXIT_STOPPED
    print(format_summary(sim, perf))
    t = sim.t_steps * sim.h
    ckpt = sim.checkpoint_path
    parts = [f"parsnn: stopped by {sim.stopped} at {t:g} ms of {args.t_sim:g} ms model time "
             f"(exit status {EXIT_STOPPED})",
             f"checkpoint {ckpt}" if ckpt else "no checkpoint written (give --checkpoint PATH or --out)"]
    if sim.out:
        parts.append(f"output {sim.out} holds the data up to {t:g} ms (complete=False)")
    message = "; ".join(parts) + "."
    if ckpt:
        append = " --append" if sim.out else ""
        message += f" Continue with:\n  mpiexec -n P parsnn resume {ckpt} --t-sim {args.t_sim:g}{append}"
    print(message, file=sys.stderr, flush=True)
    return EXIT_STOPPED
