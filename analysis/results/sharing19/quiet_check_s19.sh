#!/bin/bash
# session 19 (idle Xeon m167 guest, fingerprint 08496a0a49ae, no helpers): a fit-version-9 quick calibration and the
# six PD14 cases in its batch (the session-18 version-8 file as the foreign one), then the same file predicting
# the runs of the two earlier batches on this machine (17:15 and 23:09 UTC, run files kept under /work/s18tmp and
# /work/s19tmp, not committed)
cd /work/main
.venv/bin/python analysis/calibration_check.py --calibrate --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s19_v9.toml \
    --name xeon_m167_idle_2026_12_03_s19_v9 --repeats 1 --load auto --keep /work/s19tmp/cal_runs_v9 \
    --foreign analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s18.toml
.venv/bin/python analysis/calibration_check.py --runs /work/s18tmp/cal_runs_a/*.h5 --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s19_v9.toml \
    --name xeon_m167_2026_12_03_s18_runs_with_s19_v9_file --foreign analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s18.toml
.venv/bin/python analysis/calibration_check.py --runs /work/s19tmp/cal_runs_later/*.h5 --machine-file analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s19_v9.toml \
    --name xeon_m167_2026_12_03_s19_later_runs_with_s19_v9_file --foreign analysis/results/calibration_check_xeon_m167_idle_2026_12_03_s18.toml
