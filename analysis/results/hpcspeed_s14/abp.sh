#!/bin/bash
# alternating A/B pairs under perf (2 ranks x 1 thread), both in /work/wt/hpcspeed: A = the fpow experiment's
# extensions (PYTHONPATH=/tmp/hpcspeed/pkgA, a copy of parsnn/ built with fpow_experiment.patch), B = the
# worktree's own build (main's code). Per run: RTF, simulate s, deliver timer, CPU seconds (samples / 2000,
# both ranks summed) of parsnn_plastic_deliver, pow (incl. parsnn_fpow), exp, pchunk_fill, all samples; load.
# args: scale t_sim pairs tag
scale=$1; tsim=$2; pairs=$3; tag=$4
out=/tmp/hpcspeed/ab/$tag.tsv
: > $out
run() { # label i
  local lab=$1 i=$2
  local log=/tmp/hpcspeed/ab/$tag.$lab.$i.log
  local pp=""; [ $lab = A ] && pp=/tmp/hpcspeed/pkgA
  local load=$(cut -d' ' -f1 /proc/loadavg)
  rm -f /tmp/hpcspeed/perf.0.data /tmp/hpcspeed/perf.1.data
  (cd /work/wt/hpcspeed && PYTHONPATH=$pp .venv/bin/mpiexec -n 2 /tmp/hpcspeed/perfwrap.sh .venv/bin/parsnn run hpc_benchmark --scale $scale --t-sim $tsim --seed 1 --no-record --no-progress --overwrite --out /tmp/hpcspeed/ab/$tag.$lab.h5) > $log 2>&1
  local rtf=$(grep "real-time factor" $log | awk '{print $3}')
  local sim=$(grep "simulate time" $log | awk '{print $3}')
  local dl=$(grep "phase timers" $log | sed 's/.*deliver \([0-9.]*\).*/\1/')
  for r in 0 1; do
    perf report -i /tmp/hpcspeed/perf.$r.data --sort sym -F sample,sym 2>/dev/null | grep -v "^#" | grep -v "^$" > $log.r$r.rep
  done
  res=$(cat $log.r0.rep $log.r1.rep | awk '/parsnn_plastic_deliver/{pl+=$1} /pow/{pw+=$1} $NF ~ /^(__ieee754_exp_fma|__exp|exp|exp@@GLIBC_2.29|__exp1)$/{ex+=$1} /pchunk_fill/{pc+=$1} {tot+=$1} END{printf "%.3f\t%.3f\t%.3f\t%.3f\t%.3f", pl/2000, pw/2000, ex/2000, pc/2000, tot/2000}')
  echo -e "$lab\t$i\t$rtf\t$sim\t$dl\t$res\t$load\t$(cut -d' ' -f1 /proc/loadavg)" | tee -a $out
}
for i in $(seq 1 $pairs); do
  if (( i % 2 )); then run A $i; run B $i; else run B $i; run A $i; fi
done
