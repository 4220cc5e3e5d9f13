"""Computed bytes (from the network description and the placement; nothing drawn) of building one rank's
plastic store, before (main ea5746c) and after (mem13), and of the store's sub-row bounds that stay.

    .venv/bin/python benchmarks/results/mem13_s16/plastic_build_memory.py pd14 N_SCALING THREADS
    .venv/bin/python benchmarks/results/mem13_s16/plastic_build_memory.py multicolumn GRID COLUMN_SCALING THREADS RANKS_PER_COLUMN

Neither model has plastic synapses; as in build_peak.py every excitatory -> excitatory projection (first of
each population pair) is made stdp_pl_synapse_hom. Rank 0 of a block placement (gids [0, ceil(N / ranks))),
PD14 on one rank. Terms (int64 = 8 B, T threads, N all nodes):
  scratch   the per-(thread, source) count / cursor array of pass 1 and 2: old 8 T N, new 8 T nsrc (largest
            plastic source population); one at a time.
  bounds    the counted sub-row lengths of every plastic projection (8 (nsrc T) each, kept until the store
            is built; new: none for a projection without a target on the rank, upper bound: counted as having
            none only if its target population has no node here) plus the store's sub-row bounds
            (8 (nsrc T + 1)); old also a list of per-projection bound arrays before their concatenation (a
            third copy at the peak).
  kept_ptr  the store's sub-row bounds (as the kernels read them; unchanged), of which on projections with no
            target on the rank (every rank keeps (nsrc T + 1) bounds for every plastic projection).
Prints one JSON line."""
import importlib
import json
import sys
import warnings

warnings.simplefilter("ignore")
sys.path.insert(0, ".")
STDP = {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}
model = sys.argv[1]
if model == "pd14":
    net = importlib.import_module("models.pd14").build_network(n_scaling=float(sys.argv[2]), record=False)
    T, ranks = int(sys.argv[3]), 1
else:
    grid, T, per_col = int(sys.argv[2]), int(sys.argv[4]), int(sys.argv[5])
    net = importlib.import_module("models.multicolumn").build_network(grid=grid, n_scaling=float(sys.argv[3]),
                                                                       k_scaling=1.0, bg="dc", record=False)
    ranks = grid * grid * per_col
offsets, N = net.offsets(), net.num_nodes
size = {k: p.size for k, p in net.populations.items()}
hi = -(-N // ranks)
local_pops = {k for k in size if offsets[k] < hi}
seen, plastic = set(), []
for pr in net.projections:
    if pr.source.endswith("E") and pr.target.endswith("E") and (pr.source, pr.target) not in seen:
        seen.add((pr.source, pr.target))
        plastic.append(pr)
nsrc_max = max(size[p.source] for p in plastic)
rows = sum(size[p.source] * T for p in plastic)
rows_nonlocal = sum(size[p.source] * T for p in plastic if p.target not in local_pops)
ptr = 8 * (rows + len(plastic))
old = {"scratch": 8 * T * N, "bounds": 8 * rows + 2 * ptr}
new = {"scratch": 8 * T * nsrc_max, "bounds": 8 * (rows - rows_nonlocal) + ptr}   # no counted lengths without targets
print(json.dumps({"model": model, "args": sys.argv[1:], "num_nodes": N, "ranks": ranks, "rank0_local": hi, "threads": T,
                  "plastic_projections": len(plastic), "on_rank": sum(p.target in local_pops for p in plastic),
                  "nsrc_max": nsrc_max, "old_MB": {k: round(v / 1e6, 2) for k, v in old.items()},
                  "new_MB": {k: round(v / 1e6, 2) for k, v in new.items()},
                  "old_peak_temporaries_MB": round((sum(old.values()) - ptr) / 1e6, 2),
                  "new_peak_temporaries_MB": round((sum(new.values()) - ptr) / 1e6, 2),
                  "kept_ptr_MB": round(ptr / 1e6, 2),
                  "kept_ptr_no_local_target_MB": round(8 * rows_nonlocal / 1e6, 2)}))
