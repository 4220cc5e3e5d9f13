#!/bin/bash
# Session 24: history windows at scales 0.1, 0.2, 0.5 (1 rank, seed 1), static reference runs where none exist.
set -e
cd "$(dirname "$0")/../../.."
export OPENBLAS_NUM_THREADS=1
P=.venv/bin/python
D=analysis/results/history24
$P analysis/results/plastic_cost22/windows.py 0.1 50 6 > $D/windows_s0.1_xeon_m167_s24.jsonl
$P analysis/results/plastic_ws23/history_windows.py 0.1 50 6 --static $D/windows_s0.1_xeon_m167_s24.jsonl > $D/history_windows_s0.1_xeon_m167_s24.jsonl 2> $D/history_windows_fit_s0.1_xeon_m167_s24.txt
$P analysis/results/plastic_ws23/history_windows.py 0.2 50 5 --static analysis/results/plastic_ws23/windows_s0.2_xeon_m167_s23.jsonl > $D/history_windows_s0.2_xeon_m167_s24.jsonl 2> $D/history_windows_fit_s0.2_xeon_m167_s24.txt
$P analysis/results/plastic_ws23/history_windows.py 0.5 50 6 --static analysis/results/plastic_ws23/windows_s0.5_xeon_m167_s23.jsonl > $D/history_windows_s0.5_xeon_m167_s24.jsonl 2> $D/history_windows_fit_s0.5_xeon_m167_s24.txt
