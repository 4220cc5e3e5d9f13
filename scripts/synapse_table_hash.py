#!/usr/bin/env python
"""SHA-256 of every rank's synapse table of PD14 exactly as stored (sub-row pointers, targets,
weights, delay-run pointers, run delays, run lengths, block bases), printed by rank 0 as JSON.
Unlike scripts/connectivity_checksum.py (a sum over synapses, blind to their order), it changes when
the order of the synapses inside a row changes: two checkouts that print the same hashes for a layout
built the same rows in the same order. The pointers are hashed as the content they describe, spread
over all nodes (sub-row and delay-run pointers [num_nodes x blocks + 1], sub-row b of gid g at g x
blocks + b: parsnn.engine.source_rows.SourceRows.by_gid), not as stored (compact rows, only the
sources with synapses on the rank), so the hashes compare with those of the all-nodes layout.

    mpiexec -n R python scripts/synapse_table_hash.py --n-scaling 0.1 --threads T [--seed 55] [--partition S]
    mpiexec -n R python scripts/synapse_table_hash.py --model multicolumn --grid 3 --threads T   # n_scaling: per column

To compare with another checkout, run it with PYTHONPATH pointing at that source tree (kernels built).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json

import numpy as np
from mpi4py import MPI

from parsnn.engine import Simulation


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--model", choices=("pd14", "multicolumn"), default="pd14")
    ap.add_argument("--grid", type=int, default=3, help="multicolumn: a KxK sheet (--n-scaling per column)")
    ap.add_argument("--partition", default="round_robin", help="the placement strategy (Simulation's default)")
    args = ap.parse_args(argv)
    try:
        model = importlib.import_module(f"parsnn.models.{args.model}")
    except ImportError:      # source tree
        model = importlib.import_module(f"models.{args.model}")
    net = (model.build_network(n_scaling=args.n_scaling) if args.model == "pd14" else
           model.build_network(grid=args.grid, n_scaling=args.n_scaling))
    sim = Simulation(net, seed=args.seed, threads=args.threads, partition=args.partition)
    sim.build()
    tgt, w, runs = getattr(sim, "_syn_store", None) or sim._syn_table[1:]
    ptr, blocks, *rows = sim._syn_blocks
    B = blocks.base.size
    if rows:        # compact source rows: the pointers spread over all nodes (what they describe)
        ptr, run_ptr = rows[0].by_gid(ptr, B), rows[0].by_gid(runs.ptr, B)
    else:
        run_ptr = runs.ptr
    h = hashlib.sha256()
    for a in (ptr, tgt, w, run_ptr, runs.d, runs.n, blocks.base):
        h.update(np.ascontiguousarray(a).tobytes())
    comm = MPI.COMM_WORLD
    tables = comm.gather({"rank": comm.rank, "synapses": int(np.asarray(tgt).size), "sha256": h.hexdigest()})
    if comm.rank == 0:
        print(json.dumps({"model": args.model, "partition": args.partition, "n_scaling": args.n_scaling, "ranks": comm.size, "threads": args.threads,
                          "seed": args.seed, "tables": tables}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
