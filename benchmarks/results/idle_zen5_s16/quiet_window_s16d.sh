#!/bin/bash
# session 16, quiet window part D (idle, main c08cb0d after the merges): issue 13's side-by-side 1 x 2 vs 2 x 1
# (DC drive, no recording) under both owner rules, and the build on 2 threads vs 1 at n_scaling 0.25
cd /work/main
D=benchmarks/results/idle_zen5_s16
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--thread-owners split' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2split_vs_2x1_s16.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 4 --out $D/ab_n0.25_1x2_vs_2x1_s16.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 4 --out $D/ab_n1_1x2_vs_2x1_s16.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 0.25 --threads 2 --pairs 5 --label idle_n0.25_s16 --out $D/build_phases_idle_s16.json
