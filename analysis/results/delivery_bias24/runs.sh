#!/bin/bash
# PD14 0.1 and 0.25 on 1 rank x 1 thread, one at a time, with the other processes' busy cores before each run
# (parsnn.mapping.cluster.measure.busy_cores over 1 s). Run files in /tmp/db24 (not committed).
cd /work/wt-deliv
export OPENBLAS_NUM_THREADS=1 PYTHONPATH=/work/wt-deliv
PY=/work/main/.venv/bin/python
for rep in a b; do
  for n in 0.1 0.25; do
    for seed in 55 1; do
      busy=$($PY -c "from parsnn.mapping.cluster.measure import busy_cores; print(round(busy_cores(1.0),2))")
      out=/tmp/db24/pd14_${n}_s${seed}_${rep}.h5
      $PY -m parsnn run pd14 --n-scaling $n --t-sim 1000 --seed $seed --no-record --no-progress --out $out --overwrite >/dev/null 2>&1
      echo "$(date -u +%H:%M:%S) n_scaling $n seed $seed rep $rep busy_before $busy -> $out"
    done
  done
done
