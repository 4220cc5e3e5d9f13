cd /work/main
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 7 --out benchmarks/results/idle_xeon_s12/ab_n0.25_1x2_vs_2x1_pfclass.json > /tmp/s12/ew3_a.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/wt/old12:1x2 --n-scaling 0.25 --t-sim 2000 --warmup 200 --pairs 5 --out benchmarks/results/idle_xeon_s12/ab_n0.25_1x2_major_vs_split.json > /tmp/s12/ew3_b.log 2>&1
.venv/bin/python benchmarks/ab_layouts.py --a /work/main:1x2 --b /work/main:2x1 --n-scaling 1 --t-sim 1000 --warmup 200 --pairs 3 --out benchmarks/results/idle_xeon_s12/ab_n1_1x2_vs_2x1_pfclass.json > /tmp/s12/ew3_c.log 2>&1
.venv/bin/python benchmarks/build_rng.py --a /work/main/.venv/bin --b /work/wt/old12/.venv/bin --a-args "--threads 2" --b-args "--threads 2" --ranks 1 --n-scaling 1 --runs 3 --label idle_s12_major_vs_split_T2_n1 --out benchmarks/results/idle_xeon_s12/build_threads.json > /tmp/s12/ew3_d.log 2>&1
date > /tmp/s12/ew3_done
