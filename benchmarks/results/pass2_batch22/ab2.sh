#!/bin/bash
# ab2.sh TREE_A TREE_B PAIRS NP THREADS PRE WIN
export OPENBLAS_NUM_THREADS=1
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-python}; MPIEXEC=${MPIEXEC:-mpiexec}
for i in $(seq $3); do
 for tree in $1 $2; do
  r=$(cd /tmp && PYTHONPATH=$tree $MPIEXEC -n $4 $PY "$HERE/win.py" 1 $6 $7 $5 | grep WIN)
  echo "$i $(basename $tree) $r"
 done
done
