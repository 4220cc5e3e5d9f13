"""Launch parsnn under the venv's mpiexec from serial tests."""
import os
import subprocess
import sys

import pytest

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def run_cli(nranks, args, timeout=300, check=True):
    """Run ``python -m parsnn run ARGS`` on ``nranks`` ranks; returns the CompletedProcess."""
    if not os.path.exists(MPIEXEC):
        pytest.skip("no mpiexec next to the Python interpreter")
    cmd = [MPIEXEC, "-n", str(nranks), sys.executable, "-m", "parsnn", "run", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc
