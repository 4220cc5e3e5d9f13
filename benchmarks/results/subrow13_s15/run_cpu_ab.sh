#!/bin/bash
# CPU A/B pairs of deliver_run.py (PD14 n_scaling 0.1, 2 threads, TSIM ms; env TSIM, PAIRS), alternating base / subrow13, one process at a time
cd /tmp
out=/work/wt/subrow13/benchmarks/results/subrow13_s15/cpu_ab_${TSIM}ms.jsonl
for i in $(seq 1 $PAIRS); do
  for tag in base subrow13; do
    tree=/tmp/subrow13_base; [ $tag = subrow13 ] && tree=/work/wt/subrow13
    load=$(cut -d' ' -f1 /proc/loadavg)
    r=$(PYTHONPATH=$tree OMP_NUM_THREADS=2 /work/wt/subrow13/.venv/bin/python /work/wt/subrow13/benchmarks/results/subrow13_s15/deliver_run.py 0.1 2 $TSIM)
    echo "{\"pair\": $i, \"tree\": \"$tag\", \"load1_before\": $load, \"result\": $r}" >> $out
  done
done
