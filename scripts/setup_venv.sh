#!/usr/bin/env bash
# Create .venv (if missing) and install parsnn with its test extras into it.
# The Cython kernels are compiled here; MPI comes from the mpich wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
