#!/usr/bin/env bash
# Session 23's third window for issue 13 (main with the owner rule "mixed" the default): 1 x 2 vs 2 x 1 at 0.25 and full
# scale, and the build on 2 threads vs 1, one after the other on the idle machine.
set -euo pipefail
cd "$(dirname "$0")/../../.."
D=benchmarks/results/idle_xeon_s23
export OPENBLAS_NUM_THREADS=1
.venv/bin/python benchmarks/ab_layouts.py --a "$PWD:1x2" --b "$PWD:2x1" --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1_window3_s23.json
.venv/bin/python benchmarks/ab_layouts.py --a "$PWD:1x2" --b "$PWD:2x1" --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 6 --out $D/ab_n1_1x2_vs_2x1_window3_s23.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 0.25 --threads 2 --pairs 5 --label window3_n0.25_s23 --out $D/build_phases_window3_s23.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 1 --threads 2 --pairs 4 --label window3_n1_s23 --out $D/build_phases_window3_s23.json
