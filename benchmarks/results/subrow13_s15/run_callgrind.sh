#!/bin/bash
# callgrind (Ir) of deliver_run.py, PD14 n_scaling 0.1, 2 threads (run one at a time under valgrind), 50 ms, base then subrow13
cd /tmp
for tag in base subrow13; do
  tree=/tmp/subrow13_base; [ $tag = subrow13 ] && tree=/work/wt/subrow13
  PYTHONPATH=$tree OMP_NUM_THREADS=2 valgrind --tool=callgrind --callgrind-out-file=/tmp/sr13_cg_$tag.out \
    /work/wt/subrow13/.venv/bin/python /work/wt/subrow13/benchmarks/results/subrow13_s15/deliver_run.py 0.1 2 50 \
    > /work/wt/subrow13/benchmarks/results/subrow13_s15/callgrind_$tag.json 2> /tmp/sr13_cg_$tag.err
done
