#!/bin/bash
# Idle A/B of hpc_benchmark scale 1 on 2 ranks x 1 thread: B = main's tree, A = branch hpc16's tree (each with its
# own built .venv), 3 alternating pairs (A first in odd pairs) of
#   .venv/bin/mpiexec -n 2 .venv/bin/python -m parsnn run hpc_benchmark --scale 1 --t-sim 200 --seed 1 --no-record --no-progress
# (model time 0-200 ms, as benchmarks/bench_hpc.py times parsnn), then 3 pairs of hpc_cpu_run.py (the same run with
# the engine's per-thread CPU timers of update and delivery).
# Writes, next to this script unless OUT_DIR is set:
#   ab_idle_s1_2x1.tsv       label, pair, RTF, simulate s, wall/user/sys s + max RSS KiB (/usr/bin/time), phase timers,
#                            1-min load before the run, git HEAD of the tree
#   ab_idle_s1_2x1_cpu.jsonl one JSON line per CPU run (cpu_ab.sh)
#   ab_idle_s1_2x1_summary.txt  RTF pair ratios A/B and their median, and ab_summary.py of the CPU runs
# Usage: bash ab_idle.sh [MAIN_TREE=/work/main] [BRANCH_TREE=/work/wt/hpc16]   (about 3-4 minutes idle)
set -u
B=${1:-/work/main}; A=${2:-/work/wt/hpc16}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT_DIR=${OUT_DIR:-$HERE}
TSV=$OUT_DIR/ab_idle_s1_2x1.tsv; CPU=$OUT_DIR/ab_idle_s1_2x1_cpu.jsonl; SUM=$OUT_DIR/ab_idle_s1_2x1_summary.txt
tmp=$(mktemp -d)
printf 'label\tpair\trtf\tsimulate_s\ttime_wall_user_sys_maxrss\tphase_timers\tload1\thead\n' > "$TSV"
: > "$CPU"
run() { # tree label pair
  local dir=$1 lab=$2 i=$3 log=$tmp/$2.$3.log load head
  load=$(cut -d' ' -f1 /proc/loadavg); head=$(git -C "$dir" rev-parse --short HEAD)
  (cd "$dir" && /usr/bin/time -f "TIME %e %U %S %M" .venv/bin/mpiexec -n 2 .venv/bin/python -m parsnn run hpc_benchmark \
     --scale 1 --t-sim 200 --seed 1 --no-record --no-progress > "$log" 2>&1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$lab" "$i" "$(grep 'real-time factor' "$log" | awk '{print $3}')" \
    "$(grep 'simulate time' "$log" | awk '{print $3}')" "$(grep '^TIME' "$log" | cut -d' ' -f2-)" \
    "$(grep 'phase timers' "$log" | sed 's/.*over ranks): //')" "$load" "$head" >> "$TSV"
}
# one discarded warm-up run of each tree (the first run after a pause was the slowest in loaded tests)
for d in "$A" "$B"; do
  (cd "$d" && .venv/bin/mpiexec -n 2 .venv/bin/python -m parsnn run hpc_benchmark --scale 1 --t-sim 50 --seed 1 \
     --no-record --no-progress > /dev/null 2>&1)
done
for i in 1 2 3; do
  if (( i % 2 )); then run "$A" A "$i"; run "$B" B "$i"; else run "$B" B "$i"; run "$A" A "$i"; fi
done
bash "$HERE/cpu_ab.sh" "$A" "$B" 1 200 3 "$CPU"
{
  echo "A = $A ($(git -C "$A" rev-parse --short HEAD)), B = $B ($(git -C "$B" rev-parse --short HEAD)); $(date -u)"
  python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rat = []
for p in sorted({r["pair"] for r in rows}):
    a = [float(r["rtf"]) for r in rows if r["pair"] == p and r["label"] == "A"]
    b = [float(r["rtf"]) for r in rows if r["pair"] == p and r["label"] == "B"]
    if a and b:
        rat.append(a[0] / b[0])
        print(f"pair {p}: RTF A {a[0]:.3f}  B {b[0]:.3f}  A/B {a[0] / b[0]:.3f}")
print(f"RTF A/B median {statistics.median(rat):.3f}")
PY
  "$A/.venv/bin/python" "$HERE/ab_summary.py" "$CPU"
} > "$SUM" 2>&1
rm -rf "$tmp"
cat "$TSV" "$SUM"
