"""One PD14 build in this process (1 rank): peak RSS (ru_maxrss) after the build, its seconds and timers,
and the split build's bookkeeping sizes computed from the layout (old: counts and starts (C, B, N) int64;
new: the pair counters of _count_chunked, see build_bookkeeping.py). Prints one JSON line.

    PYTHONPATH=TREE OMP_NUM_THREADS=T python benchmarks/build_peak_rss.py N_SCALING T
"""
import json, sys, importlib, resource
import numpy as np
n_scaling, threads = float(sys.argv[1]), int(sys.argv[2])
from parsnn.engine import Simulation, synapses as es
pd14 = importlib.import_module("models.pd14")
sim = Simulation(pd14.build_network(n_scaling=n_scaling), seed=55, threads=threads)
sim.build()
ptr, blocks = sim._syn_blocks[:2]           # sub-row pointers (compact source rows since session 15)
B, C, N = blocks.base.size, threads, sim.num_nodes
out = {"tree": es.__file__, "n_scaling": n_scaling, "threads": threads, "B": B, "N": N,
       "peak_rss_mb": round(sim.build_peak_rss / 2**20, 1), "build_s": round(sim.build_seconds, 2),
       "timers": {k: round(v, 3) for k, v in sim.build_timers.items()},
       "ptr_mb": round(ptr.nbytes / 2**20, 1),
       "old_counts_plus_starts_mb": round(2 * C * B * N * 8 / 2**20, 1)}
print(json.dumps(out))
