"""The Poisson input devices' draws in isolation: ns per count of the batched kernel the update uses
(cython/poisson.h, through parsnn._rng.poisson_counts) against one px_poisson per stream (the update's
path before it), for hpc_benchmark's mean per step (20,856 spikes/s x 0.1 ms). Both give the same
counts (checked here, and in tests/test_rng.py). Best of --repeats calls of --n draws each (a
chunk of neurons of one rank and step is 256 draws; the neurons of one rank at scale 1 are 5,625).

    python benchmarks/poisson_drive.py [--n 5625] [--repeats 300] [--json OUT]
"""
import argparse
import json
import time

import numpy as np

from parsnn import _rng


def best_ns(fn, n, repeats):
    """Smallest time of ``repeats`` calls of fn, in ns per draw."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9


def main():
    """Time both paths, check they agree, print (and optionally write) ns per draw."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5625)
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--lam", type=float, default=20856.037200898867 * 1e-4)
    ap.add_argument("--json", help="write the result here")
    a = ap.parse_args()
    purpose = np.full(a.n, 0x1234567, np.uint64)
    ids, extra = np.arange(a.n, dtype=np.uint64), np.full(a.n, 77, np.uint64)
    lam = np.full(a.n, a.lam)
    out = {}
    for name, batched in (("batched", True), ("per_draw", False)):
        out[f"{name}_ns_per_draw"] = best_ns(lambda: _rng.poisson_counts(5, purpose, ids, extra, lam, batched),
                                             a.n, a.repeats)
    same = np.array_equal(_rng.poisson_counts(5, purpose, ids, extra, lam, True),
                          _rng.poisson_counts(5, purpose, ids, extra, lam, False))
    out.update(n=a.n, repeats=a.repeats, lam=a.lam, same_counts=bool(same))
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
