#!/bin/bash
# session 15, quiet window on the Zen 5 guest (AMD EPYC family 26 model 2): main after the merges of model18 (cost
# model FIT_VERSION 7), subrow13 (compact source rows) and hpc10x's Poisson drive vectorisation. Idle machine only.
cd /work/main
S=s15
L=/work/s14tmp
date > $L/qw15_start
# 1. issue 18: per-phase check with a full calibration (fit version 7) in the same batch
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_zen5_idle_2026_12_02_$S.toml --calibrate --name zen5_idle_2026_12_02_$S --repeats 1 --load auto > $L/qw15_calib.log 2>&1
date >> $L/qw15_start
# 2. issue 15: hpc_benchmark scale 1 against NEST 3.10, 2 cores each
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/zen5-2026-12-02-hpc-$S-2x1 > $L/qw15_hpc.log 2>&1
date > $L/qw15_done
