#!/usr/bin/env python
"""What first touching fresh memory costs on this machine, and whether it depends on how long ago
the memory was freed: the test of issue 13's hypothesis that the synapse arrays' page faults cost
more when the guest has handed its free pages back to the host (free page reporting of a KVM guest:
freed 2 MiB blocks are reported after a delay, the host drops them, and the next touch faults on
the host too).

    python benchmarks/cold_touch_probe.py --mib 1024 --threads 1,2 --waits 0,6 --rounds 3 [--out FILE.json]

In one process, per round, thread count and wait: sleep ``wait`` seconds after the previous array was
freed, allocate ``--mib`` MiB (np.empty: numpy asks for huge pages), fault its pages in with
``parsnn._connect.touch_pages`` on T threads (each its own 2 MiB pieces, as the build does), and record
the wall seconds, this thread's CPU seconds, the process's CPU seconds and minor faults of the touch,
then free it. A wait of 0 reuses the pages just freed; a longer one may get pages the host dropped.
On a loaded machine the wall seconds of T > 1 are not meaningful (the threads may not run at once);
the CPU seconds are.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

from parsnn import _connect


def _cpu_times() -> list:
    """Per CPU (busy, idle, steal) seconds so far, from /proc/stat ([] elsewhere)."""
    try:
        with open("/proc/stat") as f:
            rows = [ln.split() for ln in f if ln.startswith("cpu") and ln[3].isdigit()]
    except OSError:
        return []
    hz = os.sysconf("SC_CLK_TCK")
    return [((int(r[1]) + int(r[2]) + int(r[3]) + int(r[6]) + int(r[7])) / hz, (int(r[4]) + int(r[5])) / hz,
             int(r[8]) / hz) for r in rows]


def touch_once(mib: int, threads: int) -> dict:
    """Allocate, touch on ``threads`` threads, free: the touch's wall, main CPU, all CPU and faults,
    and the machine's busy, idle and steal seconds per CPU meanwhile (all processes)."""
    a = np.empty(mib << 20, dtype=np.uint8)
    c0 = _cpu_times()
    r0, m0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time(), time.perf_counter()
    _connect.touch_pages(a, threads)
    t1, m1, r1 = time.perf_counter(), time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
    c1 = _cpu_times()
    del a
    return {"wall": round(t1 - t0, 4), "main_cpu": round(m1 - m0, 4),
            "all_cpu": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 4),
            "minflt": r1.ru_minflt - r0.ru_minflt,
            "machine_busy_idle_steal_per_cpu": [[round(y - x, 2) for x, y in zip(a0, a1)] for a0, a1 in zip(c0, c1)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--waits", default="0,6", help="seconds to sleep after the previous free, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--label", default=None)
    args = ap.parse_args(argv)
    rows = []
    for rnd in range(args.rounds):
        for wait in (float(w) for w in args.waits.split(",")):
            for T in (int(t) for t in args.threads.split(",")):
                time.sleep(wait)
                row = {"round": rnd, "wait_s": wait, "threads": T, "loadavg_1min": round(os.getloadavg()[0], 2),
                       **touch_once(args.mib, T)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.out:
        results = json.load(open(args.out)) if os.path.exists(args.out) else {}
        results[args.label or f"mib{args.mib}"] = {"command": " ".join(["python", *os.sys.argv]), "mib": args.mib,
                                                   "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
                                                   "shared_machine": True, "rows": rows}
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
