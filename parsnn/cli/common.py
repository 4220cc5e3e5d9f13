"""What every command shares: the exit codes, the argparse parser that reports usage errors once
(rank 0), the argparse type converters, and the once-per-job error message.

The converters are also used by the models' registry entries (``models/*/__init__.py``) for
their own options, e.g. multicolumn's ``--grid`` takes :func:`positive_int`.
"""
from __future__ import annotations

import argparse
import math
import sys

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


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


def _converter(name: str, parse, valid, kind: str, bound: str):
    """An argparse type for option ``name``: ``parse(text)`` (a ValueError: "must be ``kind``"),
    then ``valid(value)`` (False: "must be ``bound``")."""
    def conv(text):
        """The option's value, or an ArgumentTypeError saying what it must be."""
        try:
            v = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {kind}, got '{text}'") from None
        if not valid(v):
            raise argparse.ArgumentTypeError(f"{name} must be {bound}, got {text}")
        return v
    return conv


def positive_float(name):
    """Converter for option ``name``: a finite number > 0."""
    return _converter(name, float, lambda v: math.isfinite(v) and v > 0, "a number", "> 0")


def nonnegative(name, conv=float):
    """Converter for option ``name``: a finite number (``conv=int``: an integer) >= 0."""
    return _converter(name, conv, lambda v: math.isfinite(v) and v >= 0,
                      f"{'an integer' if conv is int else 'a number'} >= 0", ">= 0")


def positive_int(name):
    """Converter for option ``name``: an integer >= 1."""
    return _converter(name, int, lambda v: v >= 1, "an integer >= 1", "an integer >= 1")


#: Converter for ``--seed``: an integer in [0, 2^63).
seed = _converter("--seed", int, lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)", "an integer in [0, 2^63)")


def strategies() -> list[str]:
    """Names of the neuron->rank placement strategies (parsnn.partition), for ``--partition``."""
    from parsnn.partition import STRATEGIES
    return list(STRATEGIES)

