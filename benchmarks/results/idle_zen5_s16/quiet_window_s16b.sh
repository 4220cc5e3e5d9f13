#!/bin/bash
# session 16, quiet window part B (idle), main after the merges of hpc16, wait18 (fit version 8) and mem13:
# 1. issue 15: hpc_benchmark scale 1 against NEST 3.10 (2 cores each); 2. issue 18: wait18 quiet_check.sh (one-batch calibration check with fit version 8, residuals sleep/poll).
cd /work/main
L=/work/s16tmp
date -u > $L/qw16b_start
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/zen5-2026-12-03-hpc-s16-2x1 > $L/qw16b_hpc.log 2>&1
date -u >> $L/qw16b_start
timeout 900 bash analysis/results/wait18_s16/quiet_check.sh > $L/qw16b_calib.log 2>&1
date -u > $L/qw16b_done
# 3. (added after 1 and 2 had run, before looking at anything but their summaries) hpc_benchmark again with 5 repeats
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 5 --parsnn-threads 1 --out-dir benchmarks/results/zen5-2026-12-03-hpc-s16-2x1-r5 > $L/qw16c_hpc.log 2>&1
date -u > $L/qw16c_done
