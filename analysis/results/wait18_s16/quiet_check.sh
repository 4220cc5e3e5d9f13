#!/bin/bash
# Issue 18, session 16 (wait18): the idle check of fit version 8 (the engine's wait between ranks as
# x^2 = wait_us^2 + (wait_rel busy)^2, fitted by `parsnn calibrate` on scatter8k / scatter32k on 2 ranks).
# Run in an idle window from the repository root (or anywhere: it cd's there):
#     bash analysis/results/wait18_s16/quiet_check.sh
# Writes: analysis/results/calibration_check_zen5_idle_2026_12_03_s16.{toml,json,md} (the one-batch check with
# the new model), analysis/results/wait18_s16/idle_*.{json,log,md} (the 2-rank residuals by size, sleep vs
# poll; the committed checks re-predicted with the idle version-8 wait). About 2.5 minutes (2 min 22 s at load 0.3-1.7).
set -u
cd "$(dirname "$0")/../../.."
PY=.venv/bin/python
OUT=analysis/results/wait18_s16
NAME=${NAME:-zen5_idle_2026_12_03_s16}   # (NAME=... PREFIX=... for a smoke test under another name)
P=${PREFIX:-idle}
LOG=$OUT/${P}_quiet_check.log
: > "$LOG"
say() { echo "$(date -u +%FT%TZ) load1=$(cut -d' ' -f1 /proc/loadavg) $*" | tee -a "$LOG"; }

say "git $(git rev-parse --short HEAD); start"
# 1. the one-batch calibration check with the new model (calibration + PD14 0.1 / 0.25 on 1x1, 2x1, 1x2)
say "calibration_check $NAME"
/usr/bin/time -v $PY analysis/calibration_check.py --machine-file analysis/results/calibration_check_$NAME.toml \
    --calibrate --name $NAME --repeats 1 --load auto >> "$LOG" 2>&1
say "calibration_check done (rc $?)"
# 2. the 2-rank exchange residual by network size, against the new calibration: wait policy sleep (the default, as
#    calibrated) and poll (no wake-ups), alternating, 3 pairs
for i in 1 2 3; do
    for w in sleep poll; do
        say "wait18_measure $w $i"
        $PY analysis/wait18_measure.py analysis/results/calibration_check_$NAME.toml $OUT/${P}_residuals_${w}_$i.json quick $w >> "$LOG" 2>&1
    done
done
# 3. the committed Zen 5 checks re-predicted with the version-8 wait fitted on the idle scatter residuals (sleep)
say "wait18_repredict"
$PY analysis/wait18_repredict.py $OUT/${P}_residuals_sleep_1.json $OUT/${P}_residuals_sleep_2.json \
    $OUT/${P}_residuals_sleep_3.json > $OUT/${P}_repredict.md 2>> "$LOG"
$PY analysis/wait18_repredict.py analysis/results/calibration_check_$NAME.toml > $OUT/${P}_repredict_with_calibration.md 2>> "$LOG"
# 4. the new calibration's wait constants and points (per batch)
$PY - >> "$LOG" 2>&1 <<PYEOF
import tomllib
d = tomllib.load(open("analysis/results/calibration_check_$NAME.toml", "rb"))
print("noise:", d["noise"])
for b in d["calibration"]["per_batch"]:
    print({k: v for k, v in b.items() if k.startswith("wait") or k == "fit_version"})
PYEOF
say "done"
