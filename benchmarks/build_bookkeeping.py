"""The split build's counters (int64) of one rank, from the layout only (the counting kernel is
replaced by a no-op: the array sizes do not depend on the counts): the new pair counters
(_count_chunked's counts) against the old layout's two (C, B, num_nodes) arrays (counts and starts), and the sub-row
pointers (num_nodes x B + 1 int64). Prints one JSON line.

    PYTHONPATH=. python benchmarks/build_bookkeeping.py pd14 RANKS THREADS RANK PARTITION N_SCALING
    PYTHONPATH=. python benchmarks/build_bookkeeping.py multicolumn RANKS THREADS RANK PARTITION GRID COLUMN_SCALING
"""
import importlib, json, sys
import numpy as np
from parsnn import _connect
from parsnn.engine import Simulation, decomposition, synapses as es
from parsnn.engine.streams import REALISATIONS, DEFAULT_REALISATION
_connect.count_units = lambda plans, *a, **k: np.zeros(plans.n, dtype=np.int64)   # sizes only
model, ranks, threads, rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
part = sys.argv[5] if len(sys.argv) > 5 else "round_robin"
if model == "pd14":
    net = importlib.import_module("models.pd14").build_network(n_scaling=float(sys.argv[6]) if len(sys.argv) > 6 else 1.0)
else:
    net = importlib.import_module("models.multicolumn").build_network(grid=int(sys.argv[6]), n_scaling=float(sys.argv[7]),
                                                                       k_scaling=float(sys.argv[8]) if len(sys.argv) > 8 else 1.0)
from parsnn.partition import make_map
from parsnn.connectivity import Connectivity

conn = Connectivity.from_network(net)
name, rank_of = make_map(conn, ranks, part)
offsets = net.offsets()
local, _ = decomposition.local_nodes(rank_of, rank)
pop_local = decomposition.population_ranges(net, local, offsets, conn)
blocks = es.TargetBlocks(pop_local, local.size, threads)
B, C, N = blocks.base.size, threads, net.num_nodes
_, _, rowlen, counts, groups = es._count_chunked(net, local, offsets, pop_local, 55, net.resolution, blocks, threads,
                                              REALISATIONS[DEFAULT_REALISATION])
S = sum(k[1] - k[0] for k, g in groups.items() if g["pair_block"].size)     # populations with synapses here
print(json.dumps({"model": model, "args": sys.argv[1:], "ranks": ranks, "rank": rank, "threads": threads, "B": B,
                  "num_nodes": N, "local": int(local.size), "sources_with_counters": int(S),
                  "max_pairs_per_pop": max(g["pair_block"].size for g in groups.values()),
                  "new_counters_MB": round(counts.nbytes / 2**20, 2),
                  "old_counts_plus_starts_MB": round(2 * C * B * N * 8 / 2**20, 1),
                  "ptr_MB": round(rowlen.nbytes / 2**20, 2)}))
