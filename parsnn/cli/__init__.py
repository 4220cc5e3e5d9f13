"""Command line: ``mpiexec -n P parsnn run MODEL ...`` (also ``python -m parsnn``).

One module per command (run, resume, partition, scaling, predict, calibrate, map, analyze, verify), each with its
``add_parser(subparsers)`` and its ``command(args)``; :mod:`parsnn.cli.common` holds what they
share, :mod:`parsnn.cli.source` where their network comes from (parsnn.registry or a run file).

Errors: bad input is detected identically on every rank before anything is built; rank 0 prints
it once and every rank exits with status 2. An exception on any rank after that (build,
simulation, output) is printed by that rank and ends the whole MPI job with ``MPI_Abort``
(status 1), so no rank is left waiting in a collective.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback

from parsnn.cli import analyze, calibrate, map as map_command, partition, predict, resume, run, scaling, verify
from parsnn.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, Parser

ABORT_GRACE_S = 0.5      # seconds between printing a rank's fatal error and MPI_Abort

COMMANDS = {"run": run, "resume": resume, "partition": partition, "scaling": scaling, "predict": predict,
            "map": map_command, "analyze": analyze, "verify": verify, "calibrate": calibrate}


def build_parser() -> argparse.ArgumentParser:
    """The ``parsnn`` parser: one sub-command per module of :data:`COMMANDS`."""
    parser = Parser(prog="parsnn", description="Distributed spiking network simulation (run under mpiexec/srun).")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Parse ``argv`` (default: sys.argv) and run the command; returns the exit status. An
    exception raised by the command ends the whole MPI job (:func:`abort_job`)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command].command(args)
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

