#!/bin/bash
# scripts/synapse_table_hash.py of TREE for 20 layouts (as benchmarks/results/buildmem_s14/bit_identity.txt), JSON lines to OUT
# usage: hashes.sh TREE OUT
TREE=$1; OUT=$2; cd /tmp
for P in round_robin graph; do for RT in 1x1 1x2 2x1 2x2 1x3; do R=${RT%x*}; T=${RT#*x}
  PYTHONPATH=$TREE OMP_NUM_THREADS=1 /work/wt/subrow13/.venv/bin/mpiexec -n $R /work/wt/subrow13/.venv/bin/python $TREE/scripts/synapse_table_hash.py --n-scaling 0.1 --threads $T --partition $P >> $OUT
  PYTHONPATH=$TREE OMP_NUM_THREADS=1 /work/wt/subrow13/.venv/bin/mpiexec -n $R /work/wt/subrow13/.venv/bin/python $TREE/scripts/synapse_table_hash.py --model multicolumn --grid 4 --n-scaling 0.02 --threads $T --partition $P >> $OUT
done; done
