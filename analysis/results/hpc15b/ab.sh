#!/bin/bash
# alternating A/B pairs: A = /work/wt/hpc15b, B = /work/main; args: scale t_sim pairs tag
scale=$1; tsim=$2; pairs=$3; tag=$4
out=/tmp/hpc15b/ab/$tag.tsv
: > $out
run() { # dir label i
  local dir=$1 lab=$2 i=$3
  cd $dir
  local log=/tmp/hpc15b/ab/$tag.$lab.$i.log
  /usr/bin/time -f "TIME %e %U %S %M" .venv/bin/mpiexec -n 2 .venv/bin/parsnn run hpc_benchmark --scale $scale --t-sim $tsim --seed 1 --no-record --no-progress --overwrite --out /tmp/hpc15b/ab/$tag.$lab.h5 > $log 2>&1
  local rtf=$(grep "real-time factor" $log | awk '{print $3}')
  local sim=$(grep "simulate time" $log | awk '{print $3}')
  local ph=$(grep "phase timers" $log | sed 's/.*over ranks): //')
  local tm=$(grep "^TIME" $log)
  echo -e "$lab\t$i\t$rtf\t$sim\t$tm\t$ph\t$(cut -d' ' -f1 /proc/loadavg)" >> $out
}
for i in $(seq 1 $pairs); do
  if (( i % 2 )); then run /work/wt/hpc15b A $i; run /work/main B $i; else run /work/main B $i; run /work/wt/hpc15b A $i; fi
done
cat $out
