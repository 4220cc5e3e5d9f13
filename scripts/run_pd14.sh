#!/usr/bin/env bash
# The main job: PD14 at n_scaling 0.1 (7,717 neurons, 29.9 million synapses) on
# 2 MPI ranks for 1 s of model time, then its overview figure and statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
.venv/bin/mpiexec -n 2 .venv/bin/parsnn run pd14 --n-scaling 0.1 --k-scaling 1 --t-sim 1000 --seed 55 \
    --out pd14.h5 --overwrite
.venv/bin/python analysis/overview.py pd14.h5 --out pd14_overview.png
.venv/bin/parsnn analyze pd14.h5 --out-dir pd14_analysis
