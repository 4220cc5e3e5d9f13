#!/bin/bash
# A/B: main's build against a worktree's (PYTHONPATH), hpc_benchmark scale 1, 2 x 1, 0-200 ms, order swapped every pair
B=${B:?the other tree (a worktree with its extensions built in place)}
cd /tmp
for i in $(seq 1 ${PAIRS:-6}); do
  if [ $(( i % 2 )) = 1 ]; then order="main alt"; else order="alt main"; fi
  for v in $order; do
    if [ $v = main ]; then pp=/work/main; else pp=$B; fi
    r=$(PYTHONPATH=$pp /work/main/.venv/bin/mpiexec -n 2 /work/main/.venv/bin/parsnn run hpc_benchmark --scale 1.0 --t-sim ${TSIM:-200} --seed 1 --threads 1 --no-record --no-progress ${EXTRA} 2>&1 | grep -E "real-time factor|phase timers" | tr '\n' ' ')
    echo "$i $v $r"
  done
done
