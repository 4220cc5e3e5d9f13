#!/bin/bash
# predicted vs measured for the session-24 hpc runs with a machine file ($1)
cd /work/main
M=${1:-analysis/results/calibration23/calibration_xeon_m167_s23.toml}
for spec in "1 1 200" "2 1 200" "1 2 200" "2 1 400" "1 2 400"; do
  set -- $spec
  f=${RUNS:-/work/s24tmp}/hpc_${1}x${2}_$3.h5
  meas=$(grep "real-time factor" ${RUNS:-/work/s24tmp}/hpc_${1}x${2}_$3.log | awk '{print $3}')
  deliv=$(grep "phase timers" ${RUNS:-/work/s24tmp}/hpc_${1}x${2}_$3.log | sed 's/.*deliver \([0-9.]*\).*/\1/')
  pred=$(OPENBLAS_NUM_THREADS=1 .venv/bin/parsnn predict $f --ranks $1 --threads $2 --machine $M --json 2>/dev/null | T=$3 .venv/bin/python -c '
import json, os, sys
T = float(os.environ["T"]); r = json.load(sys.stdin)[0]
print(round(r["rtf"], 3), [round(x, 3) for x in r["rtf_range"]], "deliver", round(r["phases"]["deliver"] * r["intervals_per_model_s"] * T / 1000, 2))' 2>&1 | tail -1)
  echo "${1}x${2} ${3}ms measured RTF $meas (deliver $deliv s) predicted $pred"
done
