"""``python -m parsnn.pynn SCRIPT.py [ARGS]``: run an unchanged PyNN script on parsnn.

Makes ``import pyNN.parsnn`` (and ``pyNN.parsnn`` by name, for scripts that pick the simulator with
``import_module("pyNN." + name)``) resolve to :mod:`parsnn.pynn`, then runs SCRIPT as ``__main__``
with ``sys.argv = [SCRIPT, ARGS...]``. Works under ``mpiexec -n P python -m parsnn.pynn SCRIPT.py``.
"""
from __future__ import annotations

import os
import runpy
import sys


def install():
    """Register parsnn.pynn as the PyNN backend module ``pyNN.parsnn``."""
    import pyNN

    import parsnn.pynn as backend
    sys.modules["pyNN.parsnn"] = backend
    pyNN.parsnn = backend


def main(argv=None) -> int:
    """Run the script named in ``argv`` (default: sys.argv[1:]) with pyNN.parsnn available."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    install()
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
