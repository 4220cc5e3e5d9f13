#!/bin/bash
# session 18, quiet window A (idle, no helpers; main at 1d773f2) on the Xeon m167 guest (fingerprint 08496a0a49ae):
# issue 18's calibration check (calibrate --quick, then the six PD14 cases in the same batch, the Zen 5 s16 file as
# the foreign machine), then issue 13's side-by-side 1 x 2 vs 2 x 1 and the build on 2 threads vs 1
cd /work/main
D=benchmarks/results/idle_xeon_s18
.venv/bin/python analysis/calibration_check.py --calibrate --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s18.toml \
    --name xeon_m167_idle_2026_12_03_s18 --repeats 1 --load auto --keep /work/s18tmp/cal_runs_a \
    --foreign analysis/results/calibration_check_zen5_idle_2026_12_03_s16.toml
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 6 --out $D/ab_n1_1x2_vs_2x1_s18.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1_s18.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 1 --threads 2 --pairs 4 --label idle_n1_s18 --out $D/build_phases_idle_s18.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 0.25 --threads 2 --pairs 5 --label idle_n0.25_s18 --out $D/build_phases_idle_s18.json
