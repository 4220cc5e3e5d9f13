cd /work/main
.venv/bin/python analysis/quick_predict_check.py --name xeon_idle_s11
.venv/bin/python analysis/scatter_copy_spread.py --name xeon_idle_s11 --launches 3
