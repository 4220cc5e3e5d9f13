#!/bin/bash
# session 11 quiet window: run only when every helper has finished
cd /work/main
S=s11
L=/tmp/s11
date > $L/ew_start
# 1. issue 18's quick path (seed18's interleaved check)
bash $L/quick.sh > $L/ew_quick.log 2>&1
date >> $L/ew_start
# 2. align13: the silent update probe
.venv/bin/python benchmarks/update_segments_probe.py --segments 1 8 32 --repeats 5 --out benchmarks/results/update_segments_probe_xeon_idle_s11.json > $L/ew_probe.log 2>&1
.venv/bin/python benchmarks/update_segments_probe.py --segments 1 8 32 --repeats 5 --line-blind --out benchmarks/results/update_segments_probe_xeon_idle_s11_line_blind.json >> $L/ew_probe.log 2>&1
date >> $L/ew_start
# 3. 1x2 vs 2x1 (issue 13)
D=benchmarks/results/idle_xeon_${S}_layouts; mkdir -p $D
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 7 --out $D/ab_n0.25_1x2_vs_2x1.json > $L/ew_ab025.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out $D/ab_n1_1x2_vs_2x1.json > $L/ew_ab1.log 2>&1
date >> $L/ew_start
# 4. the build on 2 threads vs 1 (issue 13: >= 1.8x)
B=/work/main/.venv/bin
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 0.5 --runs 5 --label idle_${S}_T2_vs_T1_n0.5 --out $D/build_threads.json > $L/ew_build05.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 1 --runs 3 --label idle_${S}_T2_vs_T1_n1 --out $D/build_threads.json > $L/ew_build1.log 2>&1
date >> $L/ew_start
# 5. hpc_benchmark scale 1 against NEST: parsnn 1 x 2, then 2 x 1
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 2 --out-dir benchmarks/results/xeon-2026-12-02-hpc-${S}-1x2 > $L/ew_hpc12.log 2>&1
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/xeon-2026-12-02-hpc-${S}-2x1 > $L/ew_hpc21.log 2>&1
date >> $L/ew_start
# 6. the thread terms per phase
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_xeon_emr_kvm_2core_idle_2026_12_02_$S.toml --calibrate --name xeon_emr_kvm_2core_idle_2026_12_02_$S --repeats 1 --load auto > $L/ew_calib.log 2>&1
date > $L/ew_done
