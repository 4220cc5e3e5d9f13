#!/bin/bash
# alternating A/B pairs under perf (2 ranks x 1 thread): A = /work/wt/pl15b, B = /work/wt/pl15b_base (main)
# per run: RTF, simulate s, deliver timer, and CPU seconds (samples / 2000, both ranks summed) of
# parsnn_plastic_deliver, pow, exp, pchunk_fill, all samples. args: scale t_sim pairs tag
scale=$1; tsim=$2; pairs=$3; tag=$4
out=/tmp/pl15b/ab/$tag.tsv
: > $out
run() { # dir label i
  local dir=$1 lab=$2 i=$3
  local log=/tmp/pl15b/ab/$tag.$lab.$i.log
  rm -f /tmp/pl15b/perf.0.data /tmp/pl15b/perf.1.data
  (cd $dir && .venv/bin/mpiexec -n 2 /tmp/pl15b/perfwrap.sh .venv/bin/parsnn run hpc_benchmark --scale $scale --t-sim $tsim --seed 1 --no-record --no-progress --overwrite --out /tmp/pl15b/ab/$tag.$lab.h5) > $log 2>&1
  local rtf=$(grep "real-time factor" $log | awk '{print $3}')
  local sim=$(grep "simulate time" $log | awk '{print $3}')
  local dl=$(grep "phase timers" $log | sed 's/.*deliver \([0-9.]*\).*/\1/')
  local pl=0 pw=0 ex=0 pc=0 tot=0
  for r in 0 1; do
    perf report -i /tmp/pl15b/perf.$r.data --sort sym -F sample,sym 2>/dev/null | grep -v "^#" | grep -v "^$" > $log.r$r.rep
  done
  res=$(cat $log.r0.rep $log.r1.rep | awk '/parsnn_plastic_deliver/{pl+=$1} /pow/{pw+=$1} $NF ~ /^(__ieee754_exp_fma|__exp|exp|exp@@GLIBC_2.29|__exp1)$/{ex+=$1} /pchunk_fill/{pc+=$1} {tot+=$1} END{printf "%.3f\t%.3f\t%.3f\t%.3f\t%.3f", pl/2000, pw/2000, ex/2000, pc/2000, tot/2000}')
  echo -e "$lab\t$i\t$rtf\t$sim\t$dl\t$res\t$(cut -d' ' -f1 /proc/loadavg)" | tee -a $out
}
for i in $(seq 1 $pairs); do
  if (( i % 2 )); then run /work/wt/pl15b A $i; run /work/wt/pl15b_base B $i; else run /work/wt/pl15b_base B $i; run /work/wt/pl15b A $i; fi
done
