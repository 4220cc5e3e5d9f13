#!/bin/bash
# Issue 13 (build on 2 threads), for an idle window on the Zen 5 guest; not run yet (written on branch build13).
# From the checkout to measure (after the merge: /work/main), one job at a time, nothing else running.
set -e
D=benchmarks/results/build13_s15
# 1. do the two threads' cold first touches overlap in time? (wall of 2 threads against 1, after a 6 s pause)
.venv/bin/python benchmarks/cold_touch_probe.py --mib 1024 --threads 1,2 --waits 0,6 --rounds 3 \
    --out $D/cold_touch_probe_idle.json --label idle_s15
# 2. the build's phases idle, full scale and 0.25 (CPU and faults per phase, main thread apart)
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 1 --threads 2 --pairs 3 --label idle_n1 --out $D/build_phases_idle.json
.venv/bin/python benchmarks/build_phase_split.py --n-scaling 0.25 --threads 2 --pairs 5 --label idle_n0.25 --out $D/build_phases_idle.json
