# session 20: the scatter network at 19,292 targets (PD14 0.25's node count) with rows of 2,048, 3,901 and 8,192 synapses
# (the same events per second), 1 rank, prefetch 0 and 128: python row_length_probe_19292.py (from analysis/results/scatter_structure20)
import sys; import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import scatter_k, measure
for rep in range(2):
    for row, ns in ((2048, 2500), (3901, 1312), (8192, 625)):
        for d in (0, 128):
            r = measure(scatter_k(19292, 1, row=row, n_s=ns, rate=20.0 * 2048 / row * 2500 / ns * ns / 2500), d, 100.0, 300.0)
            print(rep, row, d, round(r["ns_per_event"], 3), round(r["events_per_spike"]), flush=True)
