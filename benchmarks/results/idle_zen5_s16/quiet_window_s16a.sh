#!/bin/bash
# session 16, quiet window part A on the Zen 5 guest (AMD EPYC family 26 model 2), idle machine only:
# issue 15's idle A/B of branch hpc16 (Poisson drive one-device fill, Kminus from the dense record) against main ea5746c.
L=/work/s16tmp
date -u > $L/qw16a_start
bash /work/wt/hpc16/benchmarks/results/hpc16_s16/ab_idle.sh /work/main /work/wt/hpc16 > $L/qw16a_ab.log 2>&1
date -u > $L/qw16a_done
