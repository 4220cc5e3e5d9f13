#!/bin/bash
# session 13 quiet window on the Xeon VM family 6 model 167: run only when every helper has finished (idle machine).
# /work/wt/base_s13 = 5e40492 (main before the exchange wait's yield budget and timer slack).
cd /work/main
S=s13
L=/work/s13tmp
D=benchmarks/results/idle_xeon_m167_${S}
mkdir -p $D
date > $L/qw_start
# 1. the exchange wait (PD14 0.25, 2 ranks): new sleep vs old sleep, new sleep vs poll
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:2x1 --b /work/wt/base_s13:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 4 --out $D/ab_n0.25_2x1_sleep_new_vs_old.json > $L/qw_w1.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:2x1 --b /work/main:2x1 --b-args='--mpi-wait poll' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 4 --out $D/ab_n0.25_2x1_sleep_vs_poll.json > $L/qw_w2.log 2>&1
date >> $L/qw_start
# 2. per-step overhead on an inactive network (issue 13: <= 2 us on 1 rank, <= 5 us on 2), sleep and poll
.venv/bin/python benchmarks/step_overhead.py --python main=/work/main/.venv/bin/python --python old=/work/wt/base_s13/.venv/bin/python --ranks 1,2 --wait sleep --wait poll --repeats 2 --out $D/step_overhead.json > $L/qw_step.log 2>&1
date >> $L/qw_start
# 3. issue 18's path, a later batch on this machine (after the wait change), the first batch as a foreign-engine file
.venv/bin/python analysis/quick_predict_check.py --name xeon_m167_idle_s13b --calibrations 2 --runs 3 --foreign analysis/results/calibration_quick_xeon_m167_idle_s13_merged.toml --foreign analysis/results/calibration_quick_xeon_idle_s11_merged.toml > $L/qw_qpc.log 2>&1
date >> $L/qw_start
# 4. 1x2 vs 2x1 (issue 13)
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1.json > $L/qw_ab025.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 2 --out $D/ab_n1_1x2_vs_2x1.json > $L/qw_ab1.log 2>&1
date >> $L/qw_start
# 5. the build on 2 threads vs 1 (issue 13: >= 1.8x)
B=/work/main/.venv/bin
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 0.25 --runs 5 --label idle_${S}_T2_vs_T1_n0.25 --out $D/build_threads.json > $L/qw_build025.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 1 --runs 3 --label idle_${S}_T2_vs_T1_n1 --out $D/build_threads.json > $L/qw_build1.log 2>&1
date >> $L/qw_start
# 6. the thread terms per phase (issue 13's cost model)
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_02_$S.toml --calibrate --name xeon_m167_idle_2026_12_02_$S --repeats 1 --load auto > $L/qw_calib.log 2>&1
date >> $L/qw_start
# 7. hpc_benchmark scale 1: main against main before pl15 (/work/wt/base_pl = 97f64a4), then against NEST (issue 15)
bash benchmarks/results/idle_xeon_s12/ab_hpc.sh /work/main /work/wt/base_pl 1 300 3 $D/ab_hpc_s1_main_vs_base_pl.tsv > $L/qw_abhpc.log 2>&1
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/xeon-m167-2026-12-02-hpc-${S}-2x1 > $L/qw_hpc.log 2>&1
date > $L/qw_done
