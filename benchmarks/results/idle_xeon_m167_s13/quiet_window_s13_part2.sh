#!/bin/bash
# session 13, second quiet window (after pl15b's merge; no helper running)
cd /work/main
L=/work/s13tmp
D=benchmarks/results/idle_xeon_m167_s13
date > $L/qw2_start
# 1. hpc_benchmark scale 1: main (pl15 + pl15b) against main before pl15 (/work/wt/base_pl = 97f64a4), then against NEST
bash benchmarks/results/idle_xeon_s12/ab_hpc.sh /work/main /work/wt/base_pl 1 300 3 $D/ab_hpc_s1_main_pl15b_vs_base_pl.tsv > $L/qw2_abhpc.log 2>&1
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/xeon-m167-2026-12-02-hpc-s13b-2x1 > $L/qw2_hpc.log 2>&1
date >> $L/qw2_start
# 2. the full-scale build, 2 threads vs 1, under mpiexec -n 1 and as a singleton (plain parsnn run)
for r in 1 2; do for T in 1 2; do
  /usr/bin/time -f "mpiexec T=$T wall %e user %U sys %S" .venv/bin/mpiexec -n 1 .venv/bin/parsnn run pd14 --n-scaling 1 --t-sim 0.2 --threads $T --seed 1 --out $L/bm$T.h5 --overwrite --no-progress 2>&1 | grep -E "T=|build time|build timers" >> $D/build_full_mpiexec_vs_singleton.txt
  /usr/bin/time -f "singleton T=$T wall %e user %U sys %S" .venv/bin/parsnn run pd14 --n-scaling 1 --t-sim 0.2 --threads $T --seed 1 --out $L/bs$T.h5 --overwrite --no-progress 2>&1 | grep -E "T=|build time|build timers" >> $D/build_full_mpiexec_vs_singleton.txt
done; done
date > $L/qw2_done
