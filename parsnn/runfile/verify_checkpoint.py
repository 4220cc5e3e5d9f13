"""Checks of a checkpoint file (``parsnn verify CHECKPOINT``; layout: :mod:`parsnn.runfile.checkpoint`).

:func:`verify_checkpoint` returns one :class:`~parsnn.runfile.verify.Check` per test:

- ``format version``: a checkpoint layout this parsnn reads;
- ``parsnn version``: written by this parsnn version (``parsnn resume`` refuses another);
- ``complete``: every attribute and dataset of the layout is present (a checkpoint is written to a
  temporary file and renamed, so a torn one has no business at its path: this catches damage);
- ``readable <dataset>``: every value reads back (Fletcher32 checksums);
- ``shapes``: every per-node array has ``num_nodes`` rows, the ring buffers ``ring_slots`` columns;
- ``network``: the stored description and run settings are JSON, the description's populations add
  up to ``num_nodes``, the connectivity checksum is 32 hex digits;
- ``state``: step >= 0, resolution > 0, V_m, currents and ring buffers finite, refractory
  counters and spike counts >= 0.
"""
from __future__ import annotations

import json

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

import parsnn
from parsnn.runfile import checkpoint as layout
from parsnn.runfile.sonata import CorruptRunError
from parsnn.runfile.verify import Check, _blocks, _readable

#: attributes every checkpoint carries
ATTRIBUTES = ("format_version", "version", "seed", "step", "resolution", "num_nodes", "ring_slots",
              "connectivity_count", "connectivity_hash", "description", "run")


def verify_checkpoint(g: h5py.Group) -> list[Check]:
    """Every check of the checkpoint group ``g`` (``/checkpoint`` of an open file)."""
    a = g.attrs
    fmt = int(a.get("format_version", -1))
    checks = [Check("format version", fmt == layout.FORMAT_VERSION,
                    f"{fmt} (this parsnn reads {layout.FORMAT_VERSION})"),
              Check("parsnn version", a.get("version") == parsnn.__version__,
                    f"written by {a.get('version')}, this is {parsnn.__version__}"
                    + ("" if a.get("version") == parsnn.__version__ else ": parsnn resume refuses it"))]
    names = (*layout.STATE_FIELDS, *layout.RING_FIELDS)
    missing = [f"@{k}" for k in ATTRIBUTES if k not in a] + [n for n in names if n not in g]
    checks.append(Check("complete", not missing, "every attribute and dataset present" if not missing
                        else f"missing: {', '.join(missing)}"))
    if missing:
        return checks
    checks += [_readable(g[n]) for n in names]
    checks.append(_shapes(g))
    checks.append(_network(a))
    checks.append(_state(g))
    return checks


def _shapes(g: h5py.Group):
    """Rows = num_nodes for every per-node array, ring buffers [num_nodes, ring_slots]."""
    n, slots = int(g.attrs["num_nodes"]), int(g.attrs["ring_slots"])
    wrong = [f"{name} {g[name].shape}" for name in layout.STATE_FIELDS if g[name].shape != (n,)]
    wrong += [f"{name} {g[name].shape}" for name in layout.RING_FIELDS if g[name].shape != (n, slots)]
    return Check("shapes", not wrong, f"{n} nodes, {slots} ring slots" if not wrong
                 else f"expected ({n},) and ({n}, {slots}), got " + ", ".join(wrong))


def _network(a):
    """The description and run settings parse; the populations add up to num_nodes; the checksum is hex."""
    try:
        description = json.loads(a["description"])
        json.loads(a["run"])
        nodes = sum(int(p["size"]) for p in description.get("populations", []))
    except (TypeError, ValueError, KeyError) as e:
        return Check("network", False, f"description or run settings unreadable: {e}")
    digest = str(a["connectivity_hash"])
    hex_ok = len(digest) == 32 and all(c in "0123456789abcdef" for c in digest)
    ok = nodes == int(a["num_nodes"]) and hex_ok and int(a["connectivity_count"]) >= 0
    return Check("network", ok, f"{description.get('name', '?')}: {nodes} nodes in the description, "
                                f"{int(a['connectivity_count']):,} synapses, checksum {digest}")


def _state(g: h5py.Group):
    """Finite state and ring buffers, non-negative counters, sensible clock (streamed in blocks)."""
    from parsnn.runfile.verify import Check, _blocks
    a = g.attrs
    problems = []
    if int(a["step"]) < 0 or not float(a["resolution"]) > 0:
        problems.append(f"step {int(a['step'])}, resolution {float(a['resolution'])}")
    try:
        for name in ("V_m", "i_ex", "i_in", *layout.RING_FIELDS):
            bad = sum(int(np.count_nonzero(~np.isfinite(b))) for b in _blocks(g[name]))
            if bad:
                problems.append(f"{bad} non-finite value(s) in {name}")
        for name in ("refractory", "n_fired"):
            low = min((int(b.min()) for b in _blocks(g[name]) if b.size), default=0)
            if low < 0:
                problems.append(f"{name} down to {low}")
    except CorruptRunError as e:
        return Check("state", False, f"not checked: dataset {e.dataset} is corrupted")
    t = int(a["step"]) * float(a["resolution"])
    return Check("state", not problems, f"model time {t:g} ms, values finite, counters >= 0" if not problems
                 else "; ".join(problems))
