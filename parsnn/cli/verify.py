"""``parsnn verify FILE``: check a run file or a checkpoint (serial, no mpiexec); the checks are
:func:`parsnn.runfile.verify.verify`'s, this module only prints them."""
from __future__ import annotations

import os

from parsnn.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, report_error

DESCRIPTION = ("Check a parsnn run file: schema version known, 'complete' flag set, every dataset readable "
               "(HDF5 Fletcher32 checksums), spikes sorted by time, spike times within [0, t_sim] (the last "
               "flush for an incomplete file), node ids within the population, V_m report shapes "
               "consistent, partition map. A checkpoint (parsnn run --checkpoint): format and parsnn version, "
               "every dataset present and readable (checksums), shapes, network description, finite state "
               "and non-negative counters. One line per check.")
EPILOG = ("exit status: 0 every check passed; 1 a check failed (damaged, incomplete or inconsistent "
          "file, or not a parsnn run file or checkpoint); 2 bad input (no such file).")


def add_parser(subparsers):
    """The ``verify`` sub-command."""
    v = subparsers.add_parser("verify", help="check a run file or checkpoint: version, completeness, checksums, ranges",
                              description=DESCRIPTION, epilog=EPILOG)
    v.add_argument("file", help="run file or checkpoint (HDF5) written by parsnn run")
    v.add_argument("--repair", action="store_true",
                   help="first repair a run file whose writer was killed: restore its torn last chunks (only when "
                        "the checksum proves the restored chunk is the last flushed one) and drop the data after "
                        "t_flushed (see parsnn.runfile.repair); changes the file")


def command(args) -> int:
    """Print one line per check and a summary; EXIT_FAILURE (1) if any check failed."""
    from parsnn.runfile.verify import verify
    if not os.path.isfile(args.file):
        report_error(f"verify: no such file: '{args.file}'", once=False)
        return EXIT_BAD_INPUT
    if args.repair:
        from parsnn.runfile.repair import repair
        try:
            for r in repair(args.file):
                print(f"{'repaired' if r.kind != 'unrecoverable' else 'NOT repaired'}  {r.dataset}: {r.kind}: {r.detail}")
        except (OSError, KeyError) as e:
            print(f"NOT repaired  {args.file}: {e}")
    checks = verify(args.file)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"{args.file}: {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}")
        return EXIT_FAILURE
    print(f"{args.file}: all {len(checks)} checks passed")
    return 0
