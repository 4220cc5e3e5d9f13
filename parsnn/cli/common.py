"""What every command shares: the exit codes, the argparse parser that reports usage errors once
(rank 0), the once-per-job error message and the strategy names. The option converters are in
:mod:`parsnn.options`.
"""
from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
#: stopped by SIGTERM/SIGUSR1 before the end: checkpoint written, output consistent but incomplete
EXIT_STOPPED = 3


def rank() -> int:
    """This process's rank in MPI_COMM_WORLD."""
    from mpi4py import MPI
    return MPI.COMM_WORLD.Get_rank()


def report_error(exc, once: bool = True):
    """Print ``parsnn: error: <exc>`` to stderr: on rank 0 only (``once``), or on this rank
    (commands that run serially)."""
    if not once or rank() == 0:
        print(f"parsnn: error: {exc}", file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors once (rank 0), not once per rank."""

    def error(self, message):
        """Print the usage and ``message`` on rank 0; exit with EXIT_BAD_INPUT on every rank."""
        if rank() == 0:
            self.print_usage(sys.stderr)
            print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def strategies() -> list[str]:
    """Names of the neuron->rank placement strategies (parsnn.partition), for ``--partition``."""
    from parsnn.partition import STRATEGIES
    return list(STRATEGIES)

