#!/bin/bash
# usage: cg.sh WORKTREE TAG SCALE TSIM
cd $1 && valgrind --tool=callgrind --callgrind-out-file=/tmp/hpcspeed/cg.$2.out \
  .venv/bin/python -c "import sys; sys.argv=['parsnn']+sys.argv[1:]; from parsnn.cli import main; main()" \
  run hpc_benchmark --scale $3 --t-sim $4 --seed 1 --no-record --no-progress --overwrite --out /tmp/hpcspeed/cg.$2.h5 > /tmp/hpcspeed/cg.$2.log 2>&1
echo rc=$? >> /tmp/hpcspeed/cg.$2.log
