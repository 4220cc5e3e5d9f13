#!/bin/bash
# hpc_benchmark scale 1, seed 1, no recording: 200 ms on 1x1, 2x1, 1x2; 400 ms on 2x1 and 1x2 (session 24)
cd /work/main
export OPENBLAS_NUM_THREADS=1
B=.venv/bin
for spec in "1 1 200" "2 1 200" "1 2 200" "2 1 400" "1 2 400"; do
  set -- $spec
  $B/mpiexec -n $1 $B/parsnn run hpc_benchmark --scale 1 --t-sim $3 --seed 1 --no-record --threads $2 --out ${RUNS:-/work/s24tmp}/hpc_${1}x${2}_$3.h5 > ${RUNS:-/work/s24tmp}/hpc_${1}x${2}_$3.log 2>&1
done
