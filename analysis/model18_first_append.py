#!/usr/bin/env python
"""Issue 18 (session 15): a run file's first flush against a later one, in the writer alone (no simulator).

Every repeat creates a run-file-like HDF5 file with 8 spike populations (parsnn.runfile.sonata, chunks of 64 Ki
entries with Fletcher32 checksums, as the run file writer makes them), then appends ``--spikes`` spikes to every
population three times, as three flushes of PD14 0.1's 8 recorded populations would (about 4,700 each per 1 s):
the first append goes to empty datasets, the others extend them. Prints the median CPU time of the calling thread
(time.thread_time: less sensitive to other processes than the wall clock) of each flush over the repeats.

    python analysis/model18_first_append.py [--repeats 16] [--spikes 4700] [--cold]

``--cold`` sweeps 64 MiB of memory before each flush (a simulation ran between the flushes).
"""
import argparse
import os
import tempfile
import time

import numpy as np

from parsnn.runfile import sonata
from parsnn.runfile.lazy_h5py import h5py

POPS = 8


def flush(f, n: int, t0_ms: float) -> float:
    """CPU seconds of appending ``n`` spikes to every population of ``f`` and flushing the file."""
    c = time.thread_time()
    for p in range(POPS):
        sonata.append_spikes(f, f"P{p}", np.arange(n) * (100.0 / n) + t0_ms, np.zeros(n, np.uint64))
    f.flush()
    return time.thread_time() - c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=16)
    ap.add_argument("--spikes", type=int, default=4700)
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args(argv)
    big = np.ones(64 * 2 ** 20 // 8)
    res = {"first": [], "second": [], "third": []}
    with tempfile.TemporaryDirectory(prefix="parsnn_first_append_") as d:
        for rep in range(a.repeats):
            path = os.path.join(d, f"f{rep}.h5")
            with h5py.File(path, "w") as f:
                sonata.create_spike_datasets(f, {f"P{p}": 10 ** 6 for p in range(POPS)})
                f.flush()
                for k, key in enumerate(res):
                    if a.cold:
                        big += 1.0
                    res[key].append(flush(f, a.spikes, 100.0 * k))
            os.remove(path)
    for key, v in res.items():
        print(f"{key} flush: median {np.median(v) * 1e3:.1f} ms CPU ({POPS} populations x {a.spikes} spikes; "
              f"range {min(v) * 1e3:.1f}-{max(v) * 1e3:.1f}, {a.repeats} repeats{', cold' if a.cold else ''})")


if __name__ == "__main__":
    main()
