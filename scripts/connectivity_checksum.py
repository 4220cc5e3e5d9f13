"""The connectivity checksum (parsnn.engine.checkpoint.connectivity_checksum: every static and
plastic synapse, layout-independent) of PD14 built on the running ranks x threads, printed by rank 0
as JSON: the same for every layout, and for two checkouts, when they build the same network.

    mpiexec -n R python scripts/connectivity_checksum.py --n-scaling 0.1 --threads T [--seed 55]
"""
import argparse
import json

from parsnn.engine import Simulation
from parsnn.engine.checkpoint import connectivity_checksum
from parsnn.models import pd14


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=55)
    args = ap.parse_args(argv)
    sim = Simulation(pd14.build_network(n_scaling=args.n_scaling), seed=args.seed, threads=args.threads)
    sim.build()
    out = {"n_scaling": args.n_scaling, "ranks": sim.size, "threads": args.threads, **connectivity_checksum(sim)}
    if sim.rank == 0:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
