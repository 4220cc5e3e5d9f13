"""Command-line option converters (argparse types), shared by the command line (:mod:`parsnn.cli`)
and the models' registry entries (``models/*/__init__.py``: a model's own options, e.g.
multicolumn's ``--grid`` takes :func:`positive_int`). Each names the option and its allowed range
in its error message.
"""
from __future__ import annotations

import argparse
import math


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


def prefetch(text):
    """Converter for ``--prefetch``: ``auto`` or an integer in [0, 1024] (parsnn.engine.prefetch.check)."""
    from parsnn.engine.prefetch import check
    from parsnn.errors import ParameterError
    try:
        return check(text)
    except ParameterError as e:
        raise argparse.ArgumentTypeError(f"--{e}") from None


#: Converter for ``--seed``: an integer in [0, 2^63).
seed = _converter("--seed", int, lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)", "an integer in [0, 2^63)")
