#!/bin/bash
# newton (bit guess, 4 divisions; main 135c65b) against newton (quartic guess, 2 divisions; working tree), hpc scale 1, 2x1, 0-200 ms
cd /tmp
for i in 1 2 3 4 5 6; do
  if [ $(( i % 2 )) = 1 ]; then order="old new"; else order="new old"; fi
  for v in $order; do
    if [ $v = old ]; then PP=/work/s19tmp/oldnewton; else PP=/work/main; fi
    r=$(/work/main/.venv/bin/mpiexec -n 2 env PYTHONPATH=$PP /work/main/.venv/bin/python -m parsnn run hpc_benchmark --scale 1.0 --t-sim 200 --seed 1 --threads 1 --no-record --no-progress 2>&1 | grep -E "real-time factor" | tr '\n' ' ')
    echo "$i $v $r"
  done
done
