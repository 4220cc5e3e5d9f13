#!/bin/bash
# CPU A/B pairs (loaded machine allowed): A = tree $1, B = tree $2, hpc_benchmark scale $3, t_sim $4 ms, $5 pairs
# (A first in odd pairs, B first in even ones), 2 ranks x 1 thread, each run one JSON line of hpc_cpu_run.py
# (label and pair added) appended to $6.
A=$1; B=$2; S=$3; T=$4; P=$5; OUT=$6
HERE=$(cd "$(dirname "$0")" && pwd)
run() { # tree label pair
  (cd "$1" && .venv/bin/mpiexec -n 2 .venv/bin/python "$HERE/hpc_cpu_run.py" "$S" "$T" 2>/dev/null | grep '^{' \
     | sed "s/^{/{\"label\": \"$2\", \"pair\": $3, /") >> "$OUT"
}
for i in $(seq 1 "$P"); do
  if (( i % 2 )); then run "$A" A "$i"; run "$B" B "$i"; else run "$B" B "$i"; run "$A" A "$i"; fi
done
