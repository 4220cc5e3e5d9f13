"""Run PyNN's simulator-independent system scenarios against parsnn.pynn and list each result.

The scenarios live in PyNN's source tree (``test/system/scenarios/``, functions ``test_x(sim)``), not
in the wheel; nothing of them is copied into parsnn. Point this script at a PyNN source tree (e.g. a
checkout of the release you installed):

    .venv/bin/python scripts/pynn_scenarios.py PATH/TO/PyNN

Prints one line per scenario: module | function | passed, or the exception and its first line.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import signal
import sys


def run_all(pynn_root: str) -> list:
    """[(module, function, outcome, message)] for every scenario taking ``sim``."""
    from parsnn.pynn.__main__ import install
    install()
    import parsnn.pynn as sim
    if not os.path.exists(os.path.join(pynn_root, "test", "system", "scenarios", "fixtures.py")):
        raise SystemExit(f"{pynn_root}/test/system/scenarios is missing: is it a PyNN source tree?")
    sys.path.insert(0, os.path.join(pynn_root, "test"))
    pkg = importlib.import_module("system.scenarios")
    results = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("test"):
            continue
        module = importlib.import_module(f"system.scenarios.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            params = inspect.signature(fn).parameters
            if not name.startswith("test") or "sim" not in params:
                continue
            kwargs = {"plot_figure": False} if "plot_figure" in params else {}
            signal.alarm(300)
            try:
                fn(sim, **kwargs)
                results.append((info.name, name, "passed", ""))
            except BaseException as e:            # pytest's Failed and Skipped are BaseExceptions
                if isinstance(e, KeyboardInterrupt):
                    raise
                results.append((info.name, name, type(e).__name__, (str(e).splitlines() or [""])[0][:150]))
            finally:
                signal.alarm(0)
                try:
                    sim.end()
                except Exception:
                    pass
    return results


def main(argv=None):
    """Print the scenario results and the number passed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pynn_root", help="a PyNN source tree (with test/system/scenarios)")
    args = ap.parse_args(argv)
    results = run_all(os.path.abspath(args.pynn_root))
    for row in results:
        print(" | ".join(row))
    print(f"passed {sum(r[2] == 'passed' for r in results)} of {len(results)}")


if __name__ == "__main__":
    main()
