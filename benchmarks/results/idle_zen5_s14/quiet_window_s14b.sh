#!/bin/bash
# session 14, second quiet window on the Zen 5 guest (AMD EPYC family 26 model 2): main after the merges of
# ev18fix (cost model FIT_VERSION 6), the calibration's steal retry, buildmem and layout13. Idle machine only.
cd /work/main
S=s14b
L=/work/s14tmp
D=benchmarks/results/idle_zen5_s14
date > $L/qwb_start
# 1. issue 18's path with the new fit: 2 quick calibrations (wall seconds timed), PD14 0.25 2 ranks, seeds 1-3;
#    the first window's merged calibration (FIT_VERSION 5, same machine) and the Xeon m167 merge as foreign files
.venv/bin/python analysis/quick_predict_check.py --name zen5_idle_$S --calibrations 2 --runs 3 --foreign analysis/results/calibration_quick_zen5_idle_s14_merged.toml --foreign analysis/results/calibration_quick_xeon_m167_idle_s13b_merged.toml > $L/qwb_qpc.log 2>&1
date >> $L/qwb_start
# 2. per-phase check with a full calibration in the same batch
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_zen5_idle_2026_12_02_$S.toml --calibrate --name zen5_idle_2026_12_02_$S --repeats 1 --load auto > $L/qwb_calib.log 2>&1
date >> $L/qwb_start
# 3. 1x2 vs 2x1 (issue 13), the threads' owner rule 'major' (default) and 'split' (layout13, opt-in)
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--thread-owners split' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2split_vs_2x1_$S.json > $L/qwb_ab025s.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1_$S.json > $L/qwb_ab025.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--thread-owners split' --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out $D/ab_n1_1x2split_vs_2x1_$S.json > $L/qwb_ab1s.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out $D/ab_n1_1x2_vs_2x1_$S.json > $L/qwb_ab1.log 2>&1
date >> $L/qwb_start
# 4. the build on 2 threads vs 1 (issue 13: >= 1.8x)
B=/work/main/.venv/bin
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 1 --runs 3 --label idle_${S}_T2_vs_T1_n1 --out $D/build_threads_$S.json > $L/qwb_build1.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 0.25 --runs 5 --label idle_${S}_T2_vs_T1_n0.25 --out $D/build_threads_$S.json > $L/qwb_build025.log 2>&1
date >> $L/qwb_start
# 5. hpc_benchmark scale 1 against NEST 3.10 (issue 15), 2 cores each
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/zen5-2026-12-02-hpc-$S-2x1 > $L/qwb_hpc.log 2>&1
date > $L/qwb_done
