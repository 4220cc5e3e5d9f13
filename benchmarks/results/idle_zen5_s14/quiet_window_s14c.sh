#!/bin/bash
# session 14, third quiet window (idle, main at 8311605): more pairs for issue 13's 1x2 vs 2x1 under both owner rules
cd /work/main
D=benchmarks/results/idle_zen5_s14
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:1x2 --a-args='--thread-owners split' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2split_vs_1x2major_s14c.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 4 --out $D/ab_n1_1x2_vs_2x1_s14c.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--thread-owners split' --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 4 --out $D/ab_n1_1x2split_vs_2x1_s14c.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:1x2 --a-args='--thread-owners split' --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 5 --out $D/ab_n1_1x2split_vs_1x2major_s14c.json
