#!/bin/bash
# session 18, quiet window A, part 2 (idle, no helpers running; main 1d773f2 + calibration_check's --keep fix):
# issue 18's six PD14 cases in the batch of the 17:09 calibration (the Zen 5 s16 file as the foreign machine);
# issue 13's 1 x 2 with the split owner rule against 2 x 1, and split against major on 1 x 2
cd /work/main
D=benchmarks/results/idle_xeon_s18
.venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s18.toml \
    --name xeon_m167_idle_2026_12_03_s18 --repeats 1 --load auto --keep /work/s18tmp/cal_runs_a \
    --foreign analysis/results/calibration_check_zen5_idle_2026_12_03_s16.toml
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args "--thread-owners split" --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2split_vs_2x1_s18.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args "--thread-owners split" --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 4 --out $D/ab_n1_1x2split_vs_2x1_s18.json
