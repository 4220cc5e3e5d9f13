"""SHA-256 fingerprints of the spike trains and membrane potentials of fixed runs.

Runs PD14, Brunel and the multicolumn sheet through ``parsnn run`` on 1-3 ranks with every
partition strategy, and writes one fingerprint per run (all spikes and V_m of the run file, in
file order) as JSON. Two checkouts that produce the same JSON simulate the same network to the
last bit: this is how a restructuring shows that it changed no behaviour.

    python scripts/spike_fingerprints.py --out before.json [--ranks 1,2,3] [--quick]
    python scripts/spike_fingerprints.py --compare before.json after.json
    python scripts/spike_fingerprints.py --out threads2.json --threads 2    # the same keys, 2 threads per rank
    python scripts/spike_fingerprints.py --out v1.json --realisation v1     # the networks of earlier versions
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

CASES = {
    "pd14": ["pd14", "--n-scaling", "0.02", "--t-sim", "300", "--record-v", "2"],
    "pd14_poisson_thalamus": ["pd14", "--n-scaling", "0.02", "--t-sim", "800", "--bg", "poisson", "--thalamus"],
    "brunel": ["brunel", "--regime", "A", "--scale", "0.1", "--t-sim", "200"],
    "multicolumn": ["multicolumn", "--grid", "3", "--t-sim", "200"],
}
PARTITIONS = ("round_robin", "block", "population", "graph")


def fingerprint(path: str) -> dict:
    """{'sha256': hash of every dataset under /spikes and /report, 'spikes': count}."""
    h = hashlib.sha256()
    n = 0
    with h5py.File(path, "r") as f:
        assert f["parsnn"].attrs["complete"], f"{path} is incomplete"
        for top in ("spikes", "report"):
            if top not in f:
                continue
            names = []
            f[top].visit(names.append)
            for name in sorted(names):
                obj = f[top][name]
                if isinstance(obj, h5py.Dataset):
                    data = np.ascontiguousarray(obj[()])
                    h.update(f"{top}/{name}:{data.dtype.str}:{data.shape}".encode())
                    h.update(data.tobytes())
                    if name.endswith("timestamps"):
                        n += data.size
    return {"sha256": h.hexdigest(), "spikes": int(n)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="JSON file to write")
    ap.add_argument("--ranks", default="1,2,3")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--thread-owners", default=None, choices=("major", "split"),
                    help="run with --thread-owners (same keys)")
    ap.add_argument("--threads", type=int, default=None,
                    help="run with --threads T (same keys: compare against a run without threads)")
    ap.add_argument("--realisation", default=None, choices=("v1", "v2"),
                    help="run with --realisation R (the fingerprint files up to parsnn's realisation v2 are v1's)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two JSON files and exit")
    args = ap.parse_args()
    if args.compare:
        a, b = (json.load(open(p)) for p in args.compare)
        bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        for k in bad:
            print(f"DIFFERENT {k}: {a.get(k)} vs {b.get(k)}")
        print(f"{len(set(a) | set(b)) - len(bad)} identical, {len(bad)} different")
        return 1 if bad else 0
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, argv in CASES.items():
            for nranks in map(int, args.ranks.split(",")):
                for part in PARTITIONS:
                    path = os.path.join(tmp, f"{case}_{nranks}_{part}.h5")
                    cmd = [mpiexec, "-n", str(nranks), sys.executable, "-m", "parsnn", "run", *argv,
                           "--seed", str(args.seed), "--partition", part, "--no-progress", "--out", path]
                    if args.threads is not None:
                        cmd += ["--threads", str(args.threads)]
                    if args.thread_owners is not None:
                        cmd += ["--thread-owners", args.thread_owners]
                    if args.realisation is not None:
                        cmd += ["--realisation", args.realisation]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    if proc.returncode:
                        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
                    out[f"{case}/{nranks}/{part}"] = fingerprint(path)
                    print(case, nranks, part, out[f"{case}/{nranks}/{part}"], flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
