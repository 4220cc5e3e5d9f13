import sys; import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import measure
from parsnn.mapping.cluster.measure import SCATTER_SPAN_MS, _poisson_times
from parsnn.network import FixedTotalNumber, Network, Normal
def net(drawn, n_t=19292, row=2048, n_s=2500):
    nt = Network(0.1, name="scatter_w")
    nt.add_population("S", n_s, "spike_generator", spike_times=_poisson_times(n_s, 20.0, SCATTER_SPAN_MS, 0.1, 7))
    nt.add_population("T", n_t, "iaf_psc_exp")
    nt.connect("S", "T", FixedTotalNumber(n_s * row), weight=Normal(1e-3, 1e-4) if drawn else 1e-3,
               delay=Normal(1.5, 0.75, 0.1))
    nt.metadata = {"model": "scatter"}
    return nt
for rep in range(2):
    for drawn in (False, True):
        r = measure(net(drawn), 0, 100.0, 300.0)
        print(rep, "weights drawn" if drawn else "one weight", round(r["ns_per_event"], 3), flush=True)
