#!/usr/bin/env python
"""Issue 18 (session 15): what a `parsnn run`'s record phase holds, part by part: runs the command line in this
process with timers around the recorder's flush (``flush``: all of it; gather, split by population, the writer's
appends per population, the HDF5 file flush ``file_flush``) and prints, per flush, its wall time and, per population append, wall / CPU time of the calling
thread (time.thread_time).

    python analysis/model18_flush_parts.py run pd14 --n-scaling 0.1 --t-sim 1000 --no-progress --seed 55 \\
        --out /tmp/x.h5 --overwrite
"""
import sys
import time

from parsnn.engine import recording
from parsnn.runfile import sonata
from parsnn.runfile.writer import RunWriter

APPENDS, FLUSHES, PARTS = [], [], {}


def _timed(obj, name: str, key: str):
    """Wrap ``obj.name`` to add its wall time to PARTS[key]."""
    f = getattr(obj, name)

    def g(*a, **k):
        t0 = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            PARTS[key] = PARTS.get(key, 0.0) + time.perf_counter() - t0
    setattr(obj, name, g)


def main(argv):
    append = sonata.append_spikes

    def timed_append(h5, pop, times, ids, *a, **k):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = append(h5, pop, times, ids, *a, **k)
        APPENDS.append((pop, len(times), time.perf_counter() - t0, time.thread_time() - c0))
        return out
    sonata.append_spikes = timed_append
    for name, key in (("_gather_spikes", "gather"), ("_split_spikes", "split"), ("flush", "flush")):
        _timed(recording.Recorder, name, key)
    _timed(RunWriter, "flush", "file_flush")
    from parsnn.cli import main as cli
    rc = cli(argv)
    print(f"record phase parts (ms, wall, all flushes): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in PARTS.items()))
    print("appends (population, spikes, wall ms / CPU ms): "
          + "; ".join(f"{p} {n} {w * 1e3:.1f}/{c * 1e3:.1f}" for p, n, w, c in APPENDS))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
