#!/bin/bash
# CPU A/B pairs of two builds of parsnn._engine in one tree: before each run the tree's _engine .so is replaced by
# $2 (label A) or $3 (label B); tree $1, hpc_benchmark scale $4, t_sim $5 ms, $6 pairs (A first in odd pairs),
# 2 ranks x 1 thread, one JSON line of hpc_cpu_run.py per run appended to $7. The tree's own .so is put back at the end.
TREE=$1; SA=$2; SB=$3; S=$4; T=$5; P=$6; OUT=$7
HERE=$(cd "$(dirname "$0")" && pwd)
SO=$(ls "$TREE"/parsnn/_engine.cpython-*.so)
cp "$SO" "$SO.keep"
use() { cp "$1" "$SO.tmp" && mv "$SO.tmp" "$SO"; }
run() { # so label pair
  use "$1"
  (cd "$TREE" && .venv/bin/mpiexec -n 2 .venv/bin/python "$HERE/hpc_cpu_run.py" "$S" "$T" 2>/dev/null | grep '^{' \
     | sed "s/^{/{\"label\": \"$2\", \"so\": \"$(basename "$1")\", \"pair\": $3, /") >> "$OUT"
}
for i in $(seq 1 "$P"); do
  if (( i % 2 )); then run "$SA" A "$i"; run "$SB" B "$i"; else run "$SB" B "$i"; run "$SA" A "$i"; fi
done
mv "$SO.keep" "$SO"
