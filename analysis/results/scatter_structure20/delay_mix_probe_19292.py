import sys; import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import measure
from parsnn.mapping.cluster.measure import SCATTER_SPAN_MS, _poisson_times
from parsnn.network import FixedTotalNumber, Network, Normal
def net(mix, n_t=19292, row=2048, n_s=2500):
    nt = Network(0.1, name="scatter_mix")
    nt.add_population("T", n_t, "iaf_psc_exp")
    ne = int(n_s * 0.8) if mix else n_s
    times = _poisson_times(n_s, 20.0, SCATTER_SPAN_MS, 0.1, 7)
    nt.add_population("SE", ne, "spike_generator", spike_times=times[:ne])
    nt.connect("SE", "T", FixedTotalNumber(ne * row), weight=1e-3, delay=Normal(1.5, 0.75, 0.1))
    if mix:
        nt.add_population("SI", n_s - ne, "spike_generator", spike_times=times[ne:])
        nt.connect("SI", "T", FixedTotalNumber((n_s - ne) * row), weight=-4e-3, delay=Normal(0.75, 0.375, 0.1))
    nt.metadata = {"model": "scatter"}
    return nt
for rep in range(2):
    for mix in (False, True):
        for d in (0, 128):
            r = measure(net(mix), d, 100.0, 300.0)
            print(rep, "E and I delays" if mix else "E delays", d, round(r["ns_per_event"], 3), flush=True)
