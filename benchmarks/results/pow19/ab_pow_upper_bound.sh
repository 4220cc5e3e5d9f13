#!/bin/bash
# upper bound of a fast pow: main vs a stand-in of ~no cost (weights differ), hpc_benchmark scale 1, 2x1, 0-200 ms
cd /tmp   # PYTHONPATH selects the code: /work/main (main at de20e5b) or /work/s19tmp/powexp, a worktree of it
           # with not_kept_pow_stand_in.patch, built in place (setup.py build_ext --inplace)
for i in 1 2 3 4; do
  for v in main powexp; do
    if [ $v = main ]; then PP=/work/main; else PP=/work/s19tmp/powexp; fi
    r=$(/work/main/.venv/bin/mpiexec -n 2 env PYTHONPATH=$PP /work/main/.venv/bin/python -m parsnn run hpc_benchmark --scale 1.0 --t-sim 200 --seed 1 --threads 1 --no-record --no-progress 2>&1 | grep -E "real-time factor|phase timers" | tr '\n' ' ')
    echo "$i $v $r"
  done
done
