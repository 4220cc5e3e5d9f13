#!/bin/bash
# --weight-power libm against newton in one build (main + the change), hpc_benchmark scale 1, 2 x 1, 0-200 ms,
# alternating pairs (PAIRS, default 6; the 10-pair run: PAIRS=10), the order swapped every pair
cd /tmp
for i in $(seq 1 ${PAIRS:-6}); do
  if [ $(( i % 2 )) = 1 ]; then order="libm newton"; else order="newton libm"; fi
  for v in $order; do
    r=$(/work/main/.venv/bin/mpiexec -n 2 /work/main/.venv/bin/parsnn run hpc_benchmark --scale 1.0 --t-sim 200 --seed 1 --threads 1 --no-record --no-progress --weight-power $v 2>&1 | grep -E "real-time factor|phase timers" | tr '\n' ' ')
    echo "$i $v $r"
  done
done
