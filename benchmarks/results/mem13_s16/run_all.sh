#!/bin/bash
# Computed and measured build memory of the plastic store (issue 13, mem13). Run from the worktree root:
#   bash benchmarks/results/mem13_s16/run_all.sh OUTDIR
# One process at a time; old (main ea5746c's plastic_store.py) and new alternate.
set -u
OUT=${1:-benchmarks/results/mem13_s16/out}
D=benchmarks/results/mem13_s16
mkdir -p "$OUT"
PY=.venv/bin/python
{ $PY $D/plastic_build_memory.py pd14 1.0 64
  $PY $D/plastic_build_memory.py multicolumn 32 0.25 64 2; } > "$OUT/plastic_build_memory.jsonl"
for spec in "hpc 0.02 1" "sheet 8 2"; do  # old vs new, alternating
  for T in 1 8 64; do
    for impl in old new; do
      set -- $spec
      echo "$(cat /proc/loadavg | cut -d' ' -f1) $($PY $D/build_peak.py $1 $2 $T $3 $impl)" >> "$OUT/build_peak.txt"
    done
  done
done
