"""The hypervisor's steal time as a guest sees it: the 8th value of each ``cpuN`` line of
``/proc/stat``, the time a virtual CPU was ready to run while the host ran something else.

On the KVM guests parsnn is developed on, the host now and then runs other guests on one of our two
vCPUs; a 2-rank run's exchange (the wait for the slower rank) or a 2-thread run's wait for the slower
thread then grows by seconds while the load average inside the guest shows nothing. Benchmarks and
calibrations record the steal beside every timing so that disturbed runs can be told from undisturbed
ones. On a machine without the accounting (bare metal, another OS) ``available`` is False and every
value is 0.

    meter = StealMeter()
    ...                       # the run
    meter.ms()                # {'cpu0': ms, 'cpu1': ms, 'total': ms, 'max': ms}
"""
from __future__ import annotations

import os

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def steal_ticks(path: str = "/proc/stat") -> dict[str, int]:
    """Per-CPU cumulative steal in clock ticks ({} when the file or its steal field is missing)."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("cpu") and line[3:4].isdigit():
                    p = line.split()
                    if len(p) > 8:
                        out[p[0]] = int(p[8])
    except OSError:
        pass
    return out


class StealMeter:
    """The steal since construction (or the last :meth:`reset`), in milliseconds per CPU, with the
    sum over CPUs (``total``) and the largest (``max``)."""

    def __init__(self, path: str = "/proc/stat"):
        self.path = path
        self.reset()

    def reset(self):
        self.t0 = steal_ticks(self.path)
        self.available = bool(self.t0)

    def ms(self) -> dict[str, float]:
        t1 = steal_ticks(self.path)
        d = {k: (t1[k] - self.t0[k]) * 1000.0 / _HZ for k in self.t0 if k in t1}
        vals = list(d.values()) or [0.0]
        d["total"], d["max"] = float(sum(vals)), float(max(vals))
        return d
