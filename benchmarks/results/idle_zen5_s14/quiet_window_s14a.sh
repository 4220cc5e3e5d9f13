#!/bin/bash
# session 14, first quiet window on the new machine (AMD EPYC family 26 model 2, Zen 5, 2 cores, L3 32 MiB):
# the state of main (9d084b6) before any change. Run only on an idle machine (no helpers).
cd /work/main
S=s14
L=/work/s14tmp
D=benchmarks/results/idle_zen5_${S}
mkdir -p $D
date > $L/qwa_start
# 1. issue 18's path on this machine: 2 quick calibrations, PD14 0.25 on 2 ranks, seeds 1-3; the Zen 5 file of
#    2026-11-22 (same CPU family/model, older engine) and the Xeon m167 merge as foreign files
.venv/bin/python analysis/quick_predict_check.py --name zen5_idle_s14 --calibrations 2 --runs 3 --foreign parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml --foreign analysis/results/calibration_quick_xeon_m167_idle_s13b_merged.toml > $L/qwa_qpc.log 2>&1
date >> $L/qwa_start
# 2. 1x2 vs 2x1 (issue 13)
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out $D/ab_n0.25_1x2_vs_2x1.json > $L/qwa_ab025.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 2 --out $D/ab_n1_1x2_vs_2x1.json > $L/qwa_ab1.log 2>&1
date >> $L/qwa_start
# 3. the build on 2 threads vs 1 (issue 13: >= 1.8x)
B=/work/main/.venv/bin
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 0.25 --runs 5 --label idle_${S}_T2_vs_T1_n0.25 --out $D/build_threads.json > $L/qwa_build025.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 1 --runs 3 --label idle_${S}_T2_vs_T1_n1 --out $D/build_threads.json > $L/qwa_build1.log 2>&1
date >> $L/qwa_start
# 4. per-phase check of the model (issue 13's thread terms, issue 18)
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_zen5_idle_2026_12_02_$S.toml --calibrate --name zen5_idle_2026_12_02_$S --repeats 1 --load auto > $L/qwa_calib.log 2>&1
date > $L/qwa_done
