#!/bin/bash
# session 18, quiet window A, part 3 (idle, no helpers running yet; main 1d773f2): a second set of issue 13's
# 1 x 2 (split owner rule) against 2 x 1 at both scales, then the hpc_benchmark harness again (5 repeats)
cd /work/main
D=benchmarks/results/idle_xeon_s18
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args "--thread-owners split" --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 6 --out $D/ab_n1_1x2split_vs_2x1_s18c.json
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args "--thread-owners split" --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2split_vs_2x1_s18c.json
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 5 --parsnn-threads 1 --out-dir benchmarks/results/xeon-m167-2026-12-03-hpc-s18b-2x1
