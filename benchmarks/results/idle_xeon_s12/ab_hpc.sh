#!/bin/bash
# Alternating A/B pairs of hpc_benchmark on 2 ranks x 1 thread: A = checkout $1, B = checkout $2 (each with its
# own .venv); args: A B scale t_sim pairs out.tsv. One line per run: label, pair, RTF, simulate s, wall/user/sys s,
# max RSS KiB (rank), the phase timers line, the 1-minute load before the run.
A=$1; B=$2; scale=$3; tsim=$4; pairs=$5; out=$6
tmp=$(mktemp -d)
: > $out
run() { # dir label i
  local dir=$1 lab=$2 i=$3 log=$tmp/$2.$3.log
  local load=$(cut -d' ' -f1 /proc/loadavg)
  (cd $dir && /usr/bin/time -f "TIME %e %U %S %M" .venv/bin/mpiexec -n 2 .venv/bin/parsnn run hpc_benchmark --scale $scale \
     --t-sim $tsim --seed 1 --no-record --no-progress --overwrite --out $tmp/$lab.h5 > $log 2>&1)
  echo -e "$lab\t$i\t$(grep 'real-time factor' $log | awk '{print $3}')\t$(grep 'simulate time' $log | awk '{print $3}')\t$(grep '^TIME' $log)\t$(grep 'phase timers' $log | sed 's/.*over ranks): //')\t$load" >> $out
}
for i in $(seq 1 $pairs); do
  if (( i % 2 )); then run $A A $i; run $B B $i; else run $B B $i; run $A A $i; fi
done
rm -rf $tmp
cat $out
