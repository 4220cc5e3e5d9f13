"""pointer_memory.py's row count (sources of the populations that project onto rank 0's populations) against the
rows a real build of rank 0 keeps (parsnn.engine.synapses.generate_synapses, the same local gids: the first
ceil(N / ranks) nodes), for a small sheet. Prints one JSON line.

    PYTHONPATH=. python rows_check.py GRID COLUMN_SCALING THREADS RANKS_PER_COLUMN
"""
import importlib, json, sys
import numpy as np
from parsnn.engine import decomposition, synapses as es

grid, scale, threads, per_col = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
net = importlib.import_module("models.multicolumn").build_network(grid=grid, n_scaling=scale, k_scaling=1.0, bg="dc",
                                                                   record=False)
offsets, N = net.offsets(), net.num_nodes
hi = -(-N // (grid * grid * per_col))
local = np.arange(hi, dtype=np.int64)
size = {k: p.size for k, p in net.populations.items()}
local_pops = {k for k in size if offsets[k] < hi}
estimate = sum(size[s] for s in {pr.source for pr in net.projections if not pr.plastic and pr.target in local_pops})
pop_local = decomposition.population_ranges(net, local, offsets)
ptr, tgt, *_, rows = es.generate_synapses(net, local, offsets, pop_local, 55, net.resolution,
                                          {"count": 0.0, "group": 0.0}, threads)
print(json.dumps({"args": sys.argv[1:], "num_nodes": N, "local": int(hi), "estimate_rows": int(estimate),
                  "built_rows": rows.count, "synapses": int(tgt.size), "ptr_entries": int(ptr.size),
                  "all_nodes_ptr_entries": N * (ptr.size - 1) // (rows.count + 1) + 1}))
