#!/bin/bash
# session 17, quiet window A (idle, no helpers; main at 317b956 + steal accounting in the harnesses):
# issue 13's side-by-side 1 x 2 vs 2 x 1 (DC drive, no recording, default owner rule), with the host's
# steal time recorded per run, then the build on 2 threads vs 1 at full scale and n_scaling 0.25
cd /work/main
D=benchmarks/results/idle_zen5_s17
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 8 --out $D/ab_n1_1x2_vs_2x1_s17.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1_s17.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 1 --threads 2 --pairs 4 --label idle_n1_s17 --out $D/build_phases_idle_s17.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 0.25 --threads 2 --pairs 5 --label idle_n0.25_s17 --out $D/build_phases_idle_s17.json
