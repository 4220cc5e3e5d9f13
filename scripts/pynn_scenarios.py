"""Run PyNN's simulator-independent system scenarios against parsnn.pynn and list each result.

The scenarios live in PyNN's source tree (``test/system/scenarios/``, functions ``test_x(sim)``), not
in the wheel; nothing of them is copied into parsnn. By default the sdist of the installed PyNN
release is fetched with pip into a cache directory (see parsnn.pynn.scenarios); or point the script
at a PyNN source tree:

    .venv/bin/python scripts/pynn_scenarios.py [--source PATH/TO/PyNN] [--out analysis/results/pynn/scenarios.txt]

Prints one line per scenario: module | function | passed, or skipped / failed and the reason.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".pytest_cache", "pynn-sdist")


def main(argv=None):
    """Print (and optionally write) the scenario results and the number passed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", help="a PyNN source tree (with test/system/scenarios); default: fetch the sdist")
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="where the sdist is downloaded to (default: %(default)s)")
    ap.add_argument("--out", help="also write the list to this file")
    args = ap.parse_args(argv)
    from parsnn.pynn.__main__ import install
    from parsnn.pynn import scenarios
    install()
    import parsnn.pynn as sim
    if args.source:
        root, origin = os.path.abspath(args.source), f"source tree {args.source}"
    else:
        root = scenarios.fetch_source(os.path.abspath(args.cache))
        origin = f"sdist PyNN=={scenarios.pynn_version()} from PyPI"
    rows = []
    for module, name, fn in scenarios.scenarios(root):
        signal.alarm(300)
        outcome, reason = scenarios.run_scenario(fn, sim)
        signal.alarm(0)
        rows.append((module, name, outcome, reason))
    lines = ["# PyNN's system scenarios (test/system/scenarios) against parsnn.pynn",
             f"# PyNN scenarios from: {origin}; installed PyNN {scenarios.pynn_version()}",
             "# command: .venv/bin/python scripts/pynn_scenarios.py --out analysis/results/pynn/scenarios.txt",
             "# module | scenario | outcome | reason (a skip: the first feature parsnn does not have that the "
             "scenario hits, then any other unsupported model its text names, 'also uses')"]
    lines += [" | ".join(r).rstrip() for r in rows]
    counts = {k: sum(r[2] == k for r in rows) for k in ("passed", "skipped", "failed")}
    lines.append(f"passed {counts['passed']}, skipped {counts['skipped']}, failed {counts['failed']} of {len(rows)}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
