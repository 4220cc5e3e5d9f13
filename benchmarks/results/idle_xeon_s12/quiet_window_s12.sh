#!/bin/bash
# session 12 quiet window: run only when every helper has finished (idle machine)
cd /work/main
S=s12
L=/tmp/s12
D=benchmarks/results/idle_xeon_${S}
mkdir -p $D
date > $L/ew_start
# 1. 1x2 vs 2x1 (issue 13) with the merged owner rule
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 7 --out $D/ab_n0.25_1x2_vs_2x1.json > $L/ew_ab025.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 4 --out $D/ab_n1_1x2_vs_2x1.json > $L/ew_ab1.log 2>&1
date >> $L/ew_start
# 1b. where 1x2's time goes: per-thread balance (engine cut vs the events' balance point) and the prefetch distance
for r in 1 2 3; do
  .venv/bin/python benchmarks/thread_balance_probe.py --n-scaling 0.25 --t-sim 2000 --warmup 200 >> $D/thread_balance_n0.25.jsonl 2>>$L/ew_bal.log
  .venv/bin/python benchmarks/thread_balance_probe.py --n-scaling 0.25 --t-sim 2000 --warmup 200 --cut 0.48 >> $D/thread_balance_n0.25.jsonl 2>>$L/ew_bal.log
done
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:1x2 --a-args='--prefetch 0' --b-args='--prefetch 128' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 5 --out $D/ab_n0.25_1x2_prefetch0_vs_128.json > $L/ew_pf.log 2>&1
date >> $L/ew_start
# 2. the build on 2 threads vs 1 at 0.25 and full (issue 13: >= 1.8x)
B=/work/main/.venv/bin
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 0.25 --runs 5 --label idle_${S}_T2_vs_T1_n0.25 --out $D/build_threads.json > $L/ew_build025.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a $B --b $B --a-args "--threads 2" --b-args "--threads 1" --ranks 1 --n-scaling 1 --runs 3 --label idle_${S}_T2_vs_T1_n1 --out $D/build_threads.json > $L/ew_build1.log 2>&1
date >> $L/ew_start
# 3. the thread terms per phase (issue 13's cost model)
timeout 900 .venv/bin/python analysis/calibration_check.py --machine-file analysis/results/calibration_check_xeon_emr_kvm_2core_idle_2026_12_02_$S.toml --calibrate --name xeon_emr_kvm_2core_idle_2026_12_02_$S --repeats 1 --load auto > $L/ew_calib.log 2>&1
date >> $L/ew_start
# 4. hpc_benchmark scale 1: main (with hpc15b) against main before hpc15b (base12 = 9f1b5dc), then against NEST (issue 15)
bash $D/ab_hpc.sh /work/main /work/wt/base12 1 300 6 $D/ab_hpc_s1_main_vs_base12.tsv > $L/ew_abhpc.log 2>&1
.venv/bin/python benchmarks/bench_hpc.py --scale 1 --presim 50 --t-sim 150 --repeats 3 --parsnn-threads 1 --out-dir benchmarks/results/xeon-2026-12-02-hpc-${S}-2x1 > $L/ew_hpc21.log 2>&1
date > $L/ew_done
# 5. launch18's per-vCPU probe on the idle machine (is one vCPU slower than the other for seconds?)
gcc -O2 -o $L/vcpu_probe analysis/launch18_vcpu_probe.c
taskset -c 0 $L/vcpu_probe 60 > $D/vcpu_probe_idle_cpu0.txt & P0=$!
taskset -c 1 $L/vcpu_probe 60 > $D/vcpu_probe_idle_cpu1.txt & P1=$!
wait $P0 $P1
.venv/bin/python analysis/launch18_vcpu_series.py $D/vcpu_probe_idle_cpu0.txt $D/vcpu_probe_idle_cpu1.txt > $D/vcpu_series_idle.txt 2>&1
date > $L/ew_done2
