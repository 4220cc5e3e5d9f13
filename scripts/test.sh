#!/usr/bin/env bash
# The whole test suite: serial tests, then the MPI tests on 2 and on 3 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/python -m pytest -q
for n in 2 3; do
    echo "== MPI tests on $n ranks =="
    timeout 900 .venv/bin/mpiexec -n "$n" .venv/bin/python -m pytest -q --with-mpi -m mpi -p no:cacheprovider \
        tests
done
