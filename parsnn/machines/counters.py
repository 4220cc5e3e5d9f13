"""The machine's state counters beside a measurement: how busy the cores were, what the hypervisor stole, the
transparent-huge-page events and how much of this process's memory is on huge pages (Linux /proc; empty or 0
elsewhere). Used by the calibration (:mod:`parsnn.mapping.cluster.measure`, :mod:`~parsnn.mapping.cluster.calibrate`);
the per-CPU steal meter of the benchmarks is :mod:`parsnn.machines.steal`."""
from __future__ import annotations

import os
import time


def busy_cores(dt=0.5) -> float:
    """Cores kept busy by all processes over the next ``dt`` seconds (/proc/stat; 0 if unavailable)."""
    def sample():
        """Busy clock ticks so far."""
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return v[0] + v[1] + v[2] + v[5] + v[6]
    try:
        a = sample()
        time.sleep(dt)
        return (sample() - a) / os.sysconf("SC_CLK_TCK") / dt
    except (OSError, ValueError):
        return 0.0


#: /proc/vmstat counters of :func:`machine_counters`: transparent huge pages the kernel could not give a
#: page fault (4-KiB pages instead) and direct compactions (page faults that waited for memory compaction)
VMSTAT_KEYS = ("thp_fault_fallback", "compact_stall")


def machine_counters() -> dict:
    """The machine's cumulative counters now: ``t`` (monotonic seconds), ``steal_s`` (CPU time the
    hypervisor gave other guests, /proc/stat; 0 outside a VM) and :data:`VMSTAT_KEYS`; the keys it
    cannot read are left out (not Linux)."""
    out = {"t": time.monotonic()}
    try:
        with open("/proc/stat") as f:
            v = f.readline().split()
        out["steal_s"] = (int(v[8]) if len(v) > 8 else 0) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                k, _, x = line.partition(" ")
                if k in VMSTAT_KEYS:
                    out[k] = int(x)
    except (OSError, ValueError):
        pass
    return out


def huge_page_kib() -> dict:
    """This process's anonymous memory now (/proc/self/smaps_rollup): ``anon_kib`` and ``anon_huge_kib`` (of it,
    on transparent huge pages: a scatter into a ring on 4-KiB pages misses the TLB far more); {} if unreadable."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kv = {k: v.split()[0] for k, _, v in (line.partition(":") for line in f) if v.strip()}
        return {"anon_kib": int(kv["Anonymous"]), "anon_huge_kib": int(kv["AnonHugePages"])}
    except (OSError, KeyError, ValueError, IndexError):
        return {}


def counters_between(a: dict, b: dict) -> dict:
    """What happened between two :func:`machine_counters`: ``seconds``, ``steal_cores`` (cores' worth of
    time stolen by the hypervisor, mean over the span) and the :data:`VMSTAT_KEYS` increments."""
    dt = max(b["t"] - a["t"], 1e-9)
    out = {"seconds": b["t"] - a["t"]}
    if "steal_s" in a and "steal_s" in b:
        out["steal_cores"] = (b["steal_s"] - a["steal_s"]) / dt
    out.update({k: b[k] - a[k] for k in VMSTAT_KEYS if k in a and k in b})
    return out
