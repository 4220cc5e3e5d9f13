#!/usr/bin/env python
"""CPU seconds (process, user+sys) and wall of faulting in fresh anonymous memory with touch_pages, on
T threads, three times in one process (each time a new 1.8 GB array, the previous one freed):
the first call meets pages another process freed (on a guest with free page reporting the host may have
taken them back), later calls reuse the pages this process freed. Prints one JSON line per process,
with the /proc/vmstat compaction and huge-page counters' increase over it.

    OMP_NUM_THREADS=T python benchmarks/touch_probe.py T GIB
"""
import json, resource, sys, time
import numpy as np
from parsnn import _connect
T = int(sys.argv[1]); nbytes = int(float(sys.argv[2]) * 2**30)
def vmstat():
    keys = ("compact_stall", "thp_fault_alloc", "thp_fault_fallback")
    with open("/proc/vmstat") as f:
        return {k: int(v) for k, v in (line.split() for line in f) if k in keys}
v0 = vmstat()
out = []
for k in range(3):
    a = np.empty(nbytes, dtype=np.uint8)
    r0 = resource.getrusage(resource.RUSAGE_SELF); w0 = time.perf_counter()
    _connect.touch_pages(a, T)
    r1 = resource.getrusage(resource.RUSAGE_SELF); w1 = time.perf_counter()
    out.append({"user": round(r1.ru_utime - r0.ru_utime, 3), "sys": round(r1.ru_stime - r0.ru_stime, 3),
                "wall": round(w1 - w0, 3), "minflt": r1.ru_minflt - r0.ru_minflt})
    del a
v1 = vmstat()
print(json.dumps({"threads": T, "GiB": nbytes / 2**30, "calls": out, "vmstat_increase": {k: v1[k] - v0[k] for k in v0}}))
