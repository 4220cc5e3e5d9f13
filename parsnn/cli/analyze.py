"""``parsnn analyze RUN``: statistics, figures and KS comparison of run output (serial, no mpiexec);
the options and the work are parsnn.analysis's."""
from __future__ import annotations


def add_parser(subparsers):
    """The ``analyze`` sub-command, with the options of parsnn.analysis."""
    from parsnn.analysis import add_cli_arguments
    a = subparsers.add_parser("analyze", help="statistics, figures and KS comparison of run output (serial, no mpiexec)",
                              description="Per-population firing rates, ISI CVs and spike-count correlations after "
                                          "the warm-up, figures, and KS distances against another run (HDF5 file or "
                                          "NEST ASCII directory). See analysis/README.md.")
    add_cli_arguments(a)


def command(args) -> int:
    """Run parsnn.analysis on the parsed options."""
    from parsnn.analysis import run_cli
    return run_cli(args)
