import sys; import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import scatter_k, measure
for rep in range(2):
    for rate in (20.0, 50.0, 100.0):
        for d in (0,):
            r = measure(scatter_k(19292, 1, row=2048, n_s=2500, rate=rate), d, 100.0, 300.0)
            print(rep, rate, "Hz", d, round(r["ns_per_event"], 3), "events/interval", round(r["events"] / 3000), flush=True)
