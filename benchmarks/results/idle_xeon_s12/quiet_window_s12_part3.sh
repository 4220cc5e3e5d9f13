cd /work/main
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--prefetch 128' --b-args='--prefetch 128' --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out benchmarks/results/idle_xeon_s12/ab_n1_1x2_vs_2x1_both128.json > /tmp/s12/ew4_a.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--prefetch 0' --b-args='--prefetch 0' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out benchmarks/results/idle_xeon_s12/ab_n0.25_1x2_vs_2x1_both0.json > /tmp/s12/ew4_b.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--prefetch 128' --b-args='--prefetch 128' --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 6 --out benchmarks/results/idle_xeon_s12/ab_n0.25_1x2_vs_2x1_both128.json > /tmp/s12/ew4_c.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --a-args='--prefetch 0' --b-args='--prefetch 0' --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out benchmarks/results/idle_xeon_s12/ab_n1_1x2_vs_2x1_both0.json > /tmp/s12/ew4_d.log 2>&1
date > /tmp/s12/ew4_done
