"""The prefetch distance the engine will deliver with, for the cost model's event cost
(:func:`parsnn.mapping.cluster.scatter.event_cost`: the curve is measured at several distances).

The engine's distance (:mod:`parsnn.engine.prefetch`) is given (``parsnn run --prefetch N``) or, by default,
the tuner's choice cached per user, machine fingerprint and size class (the ring bytes per process, the
target width, the rings and the processes). The model uses, in this order (:func:`engine_distance`): a
distance it is given (a run file's ``run_info.delivery.prefetch.distance``: :func:`parsnn.mapping.cluster.run_inputs`);
the cache's entry for the run's size class when the machine file describes the machine this runs on (the
same fingerprint hash); else the engine's default, :data:`parsnn.engine.prefetch.DEFAULT` (128), which is what
the engine uses when nothing is cached and the tuner cannot run.
"""
from __future__ import annotations

import numpy as np

from parsnn.engine import prefetch as engine_prefetch
from parsnn.engine.aligned import ring_stride
from parsnn.engine.footprint import NARROW_MAX_LOCAL, NARROW_MAX_WINDOWS, RING_SLOT_BYTES


def size_class(wl: dict, processes: int) -> str:
    """The engine's prefetch size class (:func:`parsnn.engine.prefetch.size_class`) of a workload: the largest
    rank's ring (its local nodes, in whole cache lines, x (max delay + 1) slots x 8 B x rings), 16-bit targets
    when every rank holds at most NARROW_MAX_LOCAL x NARROW_MAX_WINDOWS nodes, ``processes`` ranks x threads."""
    local = sum(np.asarray(v, dtype=float) for v in wl["neurons"].values()) if wl["neurons"] else np.zeros(1)
    rings = max(1, int(wl["ring_slot_bytes"]) // RING_SLOT_BYTES)
    D = max(int(wl["max_delay_steps"]), 1) + 1
    ring = max(D * ring_stride(int(n)) * RING_SLOT_BYTES * rings for n in np.atleast_1d(local))
    tgt16 = bool(np.all(np.atleast_1d(local) <= NARROW_MAX_LOCAL * NARROW_MAX_WINDOWS))
    return engine_prefetch.size_class(ring, tgt16, rings, int(processes))


def _this_machine(machine) -> bool:
    """The machine file describes the machine this runs on (its fingerprint hash is this machine's)."""
    from parsnn.machines.fingerprint import machine_hash
    fp = machine.data.get("fingerprint") or {}
    try:
        return bool(fp.get("hash")) and fp.get("hash") == machine_hash()
    except Exception:                   # noqa: BLE001 -- no fingerprint here: not this machine
        return False


def engine_distance(wl: dict, machine, processes: int, given=None) -> dict:
    """{'distance', 'source'} the model predicts with (see the module docstring): ``given`` ('given'), the
    tuner's cached choice for the run's size class on this machine ('cached'), else the engine's default
    ('default')."""
    if given is not None:
        return {"distance": int(engine_prefetch.check(int(given))), "source": "given"}
    if _this_machine(machine):
        from parsnn.machines.fingerprint import machine_hash
        size = size_class(wl, processes)
        entry = engine_prefetch.cache_lookup(engine_prefetch.cache_key(machine_hash(), size))
        if entry is not None:
            return {"distance": int(entry["distance"]), "source": "cached", "size_class": size}
    return {"distance": engine_prefetch.DEFAULT, "source": "default"}
