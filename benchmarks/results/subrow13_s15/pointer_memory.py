"""Bytes of a rank's static-table pointers in the all-nodes layout (sub-row and delay-run pointers, num_nodes x B + 1
int64 each) and in the compact source rows (parsnn.engine.footprint.row_pointer_bytes: an int32 gid -> row index
plus (rows + 1) x B + 1 int64 each, rows = the sources of the populations with a static projection onto a
population with neurons on the rank), from the network description and the placement only (no synapse drawn:
a FixedTotalNumber / FixedIndegree projection onto local neurons is counted as having a synapse here, an upper
bound of the rows). Prints one JSON line.

    PYTHONPATH=. python pointer_memory.py pd14 N_SCALING THREADS
    PYTHONPATH=. python pointer_memory.py multicolumn GRID COLUMN_SCALING THREADS RANKS_PER_COLUMN   # block ranks
"""
import importlib, json, sys, time
import numpy as np
from parsnn.engine.footprint import row_pointer_bytes

t0 = time.perf_counter()
model = sys.argv[1]
if model == "pd14":
    net = importlib.import_module("models.pd14").build_network(n_scaling=float(sys.argv[2]), record=False)
    threads, ranks = int(sys.argv[3]), 1
else:
    grid, threads, per_col = int(sys.argv[2]), int(sys.argv[4]), int(sys.argv[5])
    net = importlib.import_module("models.multicolumn").build_network(grid=grid, n_scaling=float(sys.argv[3]),
                                                                       k_scaling=1.0, bg="dc", record=False)
    ranks = grid * grid * per_col
offsets = net.offsets()
N = net.num_nodes
size = {k: p.size for k, p in net.populations.items()}
# rank 0 of a block placement: gids [0, ceil(N / ranks)) (consecutive nodes; columns are added column by column)
hi = -(-N // ranks)
local_pops = {k for k in size if offsets[k] < hi and offsets[k] + size[k] > 0}
n_local = hi
sources = {pr.source for pr in net.projections if not pr.plastic and pr.target in local_pops}
R = sum(size[s] for s in sources)
from parsnn.engine import decomposition, synapses as es
local = np.arange(hi, dtype=np.int64)
B = es.TargetBlocks(decomposition.population_ranges(net, local, offsets), local.size, threads).base.size  # x windows
old = 2 * 8 * (N * B + 1)
new = int(row_pointer_bytes(N, R, B))
print(json.dumps({"model": model, "args": sys.argv[1:], "num_nodes": N, "ranks": ranks, "rank0_local": n_local,
                  "threads": threads, "B": B, "source_populations_with_rows": len(sources), "rows": R,
                  "all_nodes_pointers_MB": round(old / 1e6, 1), "compact_pointers_MB": round(new / 1e6, 1),
                  "of_which_index_MB": round(4 * N / 1e6, 1), "seconds": round(time.perf_counter() - t0, 1)}))
