"""The tracemalloc peak of generate_synapses beyond its results, in units of the sub-row pointers' bytes,
for the network of tests/test_engine_synapses.py::test_split_build_bookkeeping_does_not_scale_with_all_nodes_times_threads.
    PYTHONPATH=TREE python benchmarks/results/buildmem_s14/tracemalloc_peak.py     (output: tracemalloc_peak.txt)"""
import math, sys, tracemalloc, numpy as np
from parsnn.network import Network, Normal, FixedIndegree, PairwiseBernoulli
from parsnn.engine import decomposition, synapses as es
for threads in (3, 8):
    net = Network(resolution=0.1); net.add_population("A", 300); net.add_population("B", 400); net.add_population("Z", 200_000)
    w, d = Normal(50.0, 5.0, 0.0, math.inf), Normal(1.5, 0.75, 0.1, math.inf)
    net.connect("A", "B", FixedIndegree(90), weight=w, delay=d, name="AB")
    net.connect("B", "A", PairwiseBernoulli(0.05), weight=w, delay=d, name="BA")
    offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    tracemalloc.start()
    ptr, tgt, wv, runs, *_ = es.generate_synapses(net, local, offsets, pop_local, 7, 0.1, {"count": 0.0, "group": 0.0}, threads, 2)
    peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    res = ptr.nbytes + tgt.nbytes + wv.nbytes + runs.nbytes
    print(es.__file__, threads, "peak-results / ptr.nbytes =", round((peak - res) / ptr.nbytes, 2))
