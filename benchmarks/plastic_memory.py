"""Bytes per plastic synapse of hpc_benchmark on one rank, for 1 and 2 threads: everything the
plastic store holds (the per-synapse arrays, the row pointers, the sources' traces, the per-neuron
arrays, the archives' headers and the facilitation tables), from the built arrays.

    python benchmarks/plastic_memory.py [--scale 0.1]

The archives' entries (20 B each: stamp, Kminus, read count) come on top; NEST's pruning keeps them
to the post spikes a later read can need.
"""
import argparse

from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models import hpc_benchmark

HIST_HEADER = 64        # bytes of one archive header (parsnn_hist_t in cython/plastic.h)
FTAB = 16384 * 8        # bytes of one projection's facilitation table (PARSNN_FTAB_LEN doubles)


def main():
    """Build hpc_benchmark at --scale on 1 and 2 threads and print the bytes per plastic synapse."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    args = ap.parse_args()
    for threads in (1, 2):
        sim = Simulation(hpc_benchmark.build_network(scale=args.scale), seed=3, comm=MPI.COMM_SELF, threads=threads)
        sim.build()
        pl = sim.plastic
        n = pl.num_local
        synapse = sum(pl.arrays[k].nbytes for k in ("tgt", "w", "d"))
        other = sum(v.nbytes for k, v in pl.arrays.items() if k not in ("tgt", "w", "d"))
        headers, tables = HIST_HEADER * pl.local.size, FTAB * len(pl.projections)
        print(f"hpc_benchmark scale {args.scale}, 1 rank x {threads} threads: {n:,} plastic synapses; bytes per "
              f"synapse: arrays per synapse {synapse / n:.3f}, row pointers + traces + per-neuron arrays "
              f"{other / n:.4f}, archive headers {headers / n:.4f}, facilitation tables {tables / n:.4f}; "
              f"total {(synapse + other + headers + tables) / n:.3f}")


if __name__ == "__main__":
    main()
