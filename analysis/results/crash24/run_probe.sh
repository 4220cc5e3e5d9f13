#!/bin/bash
# Session 24: the run-file writer killed at random moments (scripts/crash_consistency_probe.py, no MPI, 400 trials each):
# the writer before the fix (a checkout of a13c77b in $OLD, compiled extensions copied in), the fixed writer read as
# killed, and the fixed writer after parsnn.runfile.repair.
cd "$(dirname "$0")/../../.."
export OPENBLAS_NUM_THREADS=1
OLD=${OLD:-/tmp/wt-old}
D=analysis/results/crash24
PYTHONPATH=$OLD .venv/bin/python scripts/crash_consistency_probe.py --trials 400 --seed 21 > $D/probe_before_fix.txt 2>&1
PYTHONPATH=. .venv/bin/python scripts/crash_consistency_probe.py --trials 400 --seed 21 > $D/probe_fixed_no_repair.txt 2>&1
PYTHONPATH=. .venv/bin/python scripts/crash_consistency_probe.py --trials 400 --seed 21 --repair > $D/probe_fixed_repaired.txt 2>&1
