"""SHA-256 fingerprints of the spikes and final weights of fixed plastic (STDP) runs.

Runs hpc_benchmark (power-law STDP on E->E) and a mixed STDP network (stdp_synapse with drawn
weights and delays, stdp_pl_synapse_hom with Bernoulli connectivity, an explicit list, static
projections beside them) through the Python API on 1 and 2 ranks with 1 and 2 threads, and writes
one fingerprint per run (all spikes in time/id order, all plastic weights in ``Simulation.weights()``
order) as JSON. Two checkouts that produce the same JSON simulate the same plastic networks to the
last bit; every run of one case must also give the same fingerprint.

    python scripts/plastic_fingerprints.py --out before.json [--ranks 1,2] [--threads 1,2]
    python scripts/spike_fingerprints.py --compare before.json after.json     # the same JSON layout
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CASES = ("hpc", "mixed")


def network(case: str, big: int = 0):
    """The network of ``case`` and its model time (ms). "mixed": plastic projections of every kind
    (drawn and constant weights and delays, four rules, an explicit list with several delays)
    beside static ones; with ``big`` > 0 also a population of that size with plastic inputs (for
    tests/test_engine_plastic_store.py)."""
    from parsnn import Network
    from parsnn.models import hpc_benchmark
    from parsnn.network import AllToAll, FixedIndegree, FixedTotalNumber, FromList, Normal, PairwiseBernoulli, Uniform
    if case == "hpc":
        return hpc_benchmark.build_network(scale=0.05), 150.0
    net = Network(0.1)
    net.add_population("P", 30, "poisson_source", dict(rate=50.0, start=0.0, stop=1e10))
    net.add_population("E", 40, "iaf_psc_alpha", dict(I_e=300.0, tau_minus=Uniform(15.0, 25.0)))
    net.add_population("F", 25, "iaf_psc_exp", dict(I_e=250.0))
    net.connect("P", "E", FixedIndegree(7), weight=Normal(60.0, 15.0, 1.0, 200.0), delay=Uniform(0.5, 3.0),
                synapse_model="stdp_synapse", synapse_params={"lambda": 0.02, "Wmax": 200.0})
    net.connect("E", "F", PairwiseBernoulli(0.3), weight=40.0, delay=1.3, synapse_model="stdp_pl_synapse_hom",
                synapse_params={"lambda": 0.05, "alpha": 0.2, "mu": 0.4, "tau_plus": 15.0})
    rng = np.random.default_rng(5)
    pre, post = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    net.connect("E", "E", FromList(pre, post, rng.uniform(5.0, 30.0, 300), rng.choice([0.5, 1.0, 2.5], 300)),
                synapse_model="stdp_synapse", synapse_params={"lambda": 0.03, "Wmax": 100.0})
    net.connect("F", "F", FixedTotalNumber(100), weight=Uniform(10.0, 20.0), delay=0.7,
                synapse_model="stdp_synapse", synapse_params={"Wmax": 50.0})
    net.connect("P", "F", AllToAll(), weight=12.0, delay=Uniform(0.2, 2.0), synapse_model="stdp_synapse",
                synapse_params={"Wmax": 50.0})
    net.connect("P", "F", FixedIndegree(3), weight=30.0, delay=1.0)
    if big:
        net.add_population("B", big, "iaf_psc_alpha")
        net.connect("P", "B", FixedTotalNumber(500), weight=5.0, delay=2.0, synapse_model="stdp_synapse")
    net.record_spikes(["E", "F"])
    return net, 300.0


def digest(arrays) -> str:
    """SHA-256 over the arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def run_case(case: str, threads: int, out: str):
    """Run ``case`` (collective) and write its fingerprint to ``out`` (rank 0)."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    net, t_sim = network(case)
    sim = Simulation(net, seed=7, threads=threads, keep_spikes=True)
    sim.run(t_sim)
    spikes = sim.spikes()
    weights = sim.weights()
    if MPI.COMM_WORLD.Get_rank() == 0:
        res = {"spikes": digest([a for name in sorted(spikes) for a in spikes[name]]),
               "n_spikes": int(sum(spikes[name][0].size for name in spikes)),
               "weights": digest([a for key in sorted(weights) for a in weights[key]]),
               "n_plastic": int(sum(weights[key][2].size for key in weights)),
               "w_sum": float(sum(weights[key][2].sum() for key in weights))}
        with open(out, "w") as f:
            json.dump(res, f)


def one_run(case: str, nranks: int, threads: int, tmp: str) -> dict:
    """The fingerprint of ``case`` on ``nranks`` ranks x ``threads`` threads (a run under mpiexec)."""
    path = os.path.join(tmp, f"{case}_{nranks}_{threads}.json")
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    cmd = [mpiexec, "-n", str(nranks), sys.executable, os.path.abspath(__file__), "--_case", case, str(threads), path]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(Path(path).read_text())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="JSON file to write")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--_case", nargs=3, help=argparse.SUPPRESS)       # CASE THREADS OUT: one run (under mpiexec)
    args = ap.parse_args()
    if args._case:
        run_case(args._case[0], int(args._case[1]), args._case[2])
        return 0
    ranks, threads = (list(map(int, x.split(","))) for x in (args.ranks, args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = {f"{case}/{n}x{t}": one_run(case, n, t, tmp) for case in CASES for n in ranks for t in threads}
    for key, r in out.items():
        print(key, r)
    for case in CASES:
        runs = {json.dumps(r, sort_keys=True) for key, r in out.items() if key.startswith(case + "/")}
        print(f"{case}: {'the same in every run' if len(runs) == 1 else 'DIFFERS between runs'}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True))
    return 0

if __name__ == "__main__":
    sys.exit(main())
