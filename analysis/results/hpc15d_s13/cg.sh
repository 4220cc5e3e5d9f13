#!/bin/bash
# usage: cg.sh WORKTREE TAG SCALE TSIM
cd $1 && valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes --callgrind-out-file=/tmp/pl15b/cg.$2.out \
  .venv/bin/python -c "import sys; sys.argv=['parsnn']+sys.argv[1:]; from parsnn.cli import main; main()" \
  run hpc_benchmark --scale $3 --t-sim $4 --seed 1 --no-record --no-progress --overwrite --out /tmp/pl15b/cg.$2.h5 > /tmp/pl15b/cg.$2.log 2>&1
echo rc=$? >> /tmp/pl15b/cg.$2.log
