#!/bin/bash
# PD14 on 1 rank, seed 55, 1000 ms: launched as the calibration check does (mpiexec -n 1 parsnn run) against directly
# (python -m parsnn run), alternating; run files in /tmp/db24/ab_*.h5; then decompose.py on them.
cd /work/wt-deliv
export OPENBLAS_NUM_THREADS=1 PYTHONPATH=/work/wt-deliv
BIN=/work/main/.venv/bin
for rep in 1 2; do
  for n in 0.1 0.25; do
    for how in mpiexec direct; do
      out=/tmp/db24/ab_${n}_${how}_${rep}.h5
      busy=$($BIN/python -c "from parsnn.mapping.cluster.measure import busy_cores; print(round(busy_cores(1.0),2))")
      if [ $how = mpiexec ]; then
        $BIN/mpiexec -n 1 $BIN/python -m parsnn run pd14 --n-scaling $n --t-sim 1000 --no-progress --seed 55 --threads 1 --out $out --overwrite >/dev/null 2>&1
      else
        $BIN/python -m parsnn run pd14 --n-scaling $n --t-sim 1000 --no-progress --seed 55 --out $out --overwrite >/dev/null 2>&1
      fi
      echo "$(date -u +%H:%M:%S) $n $how $rep busy_before $busy"
    done
  done
done
