#!/bin/bash
# rounds of runs of several builds in rotating order under perf; CPU seconds (samples / 4000) of the kernels per rank
# usage: abn.sh scale tsim rounds tag label=dir ...   (dir: a checkout whose parsnn/ is imported via PYTHONPATH)
scale=$1; tsim=$2; rounds=$3; tag=$4; shift 4
labs=(); dirs=()
for a in "$@"; do labs+=("${a%%=*}"); dirs+=("${a#*=}"); done
n=${#labs[@]}
out=/tmp/hpc15b/ab/$tag.tsv
: > $out
for i in $(seq 1 $rounds); do
  for jj in $(seq 0 $((n-1))); do
    j=$(( (jj + i) % n )); lab=${labs[$j]}; dir=${dirs[$j]}
    log=/tmp/hpc15b/ab/$tag.$lab.$i.log
    rm -f /tmp/hpc15b/perf.0.data /tmp/hpc15b/perf.1.data
    (cd /tmp && PYTHONPATH=$dir /work/wt/hpc15b/.venv/bin/mpiexec -n 2 -genv PYTHONPATH $dir /tmp/hpc15b/perfwrap.sh /work/wt/hpc15b/.venv/bin/python -c "import sys, parsnn; assert parsnn.__file__.startswith('$dir'), parsnn.__file__; from parsnn.cli import main; sys.argv[0]='parsnn'; sys.exit(main())" run hpc_benchmark --scale $scale --t-sim $tsim --seed 1 --no-record --no-progress --overwrite --out /tmp/hpc15b/ab/$tag.$lab.h5) > $log 2>&1
    rtf=$(grep "real-time factor" $log | awk '{print $3}')
    res=""
    for r in 0 1; do
      perf report -i /tmp/hpc15b/perf.$r.data --sort sym -F sample,sym 2>/dev/null | grep -v "^#" > $log.r$r.rep
      pl=$(awk '/parsnn_plastic_deliver/{s+=$1} END{printf "%.3f", s/4000}' $log.r$r.rep)
      pw=$(awk '/pow/{s+=$1} END{printf "%.3f", s/4000}' $log.r$r.rep)
      pc=$(awk '/pchunk_fill/{s+=$1} END{printf "%.3f", s/4000}' $log.r$r.rep)
      res="$res\t$pl\t$pw\t$pc"
    done
    echo -e "$lab\t$i\t$rtf$res\t$(cut -d' ' -f1 /proc/loadavg)" | tee -a $out
  done
done
