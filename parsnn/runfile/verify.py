"""Checks of a run file (``parsnn verify FILE``): is it what a finished parsnn run writes, and
can every byte of its data still be read back as written? A checkpoint file is checked by
:mod:`parsnn.runfile.verify_checkpoint` instead.

:func:`verify` returns one :class:`Check` per test, in this order:

- ``open``: the file is HDF5 and has the ``/parsnn`` metadata group;
- ``schema version``: a layout this parsnn knows (:data:`parsnn.runfile.schema.SCHEMA_VERSION`);
- ``complete``: the ``complete`` flag (False: the run crashed, was killed or is still running);
- ``readable <dataset>``: every value of every dataset reads back (HDF5 Fletcher32 checksums;
  files written before checksums existed are read, and the detail says they have none);
- ``spikes <pop> sorted``: timestamps non-decreasing (the file says ``sorting=by_time``);
- ``spikes <pop> times``: within [0, t_sim] (an incomplete file: [0, t_flushed], the time of its
  last flush, or only >= 0 for a file that does not store it);
- ``spikes <pop> node ids``: within [0, population size);
- ``report <pop>``: V_m samples x neurons agree with the mapping's node ids and time range;
- ``partition map``: one rank in [-1, num_ranks) per node of the description.

The data are streamed in blocks, so a file of any size is checked in bounded memory.
"""
from __future__ import annotations

import json
from typing import NamedTuple

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

from parsnn.runfile import schema
from parsnn.runfile.checkpoint import GROUP as CHECKPOINT_GROUP
from parsnn.runfile.sonata import CorruptRunError, DEFAULT_CHUNK, read_dataset, read_sorting_attr


#: rounding allowance (ms) of the time-range check: times are multiples of the step in float64
TIME_TOLERANCE_MS = 1e-6


class Check(NamedTuple):
    """One test of :func:`verify`: its name, whether it passed and what was found."""
    name: str
    ok: bool
    detail: str


def verify(path) -> list[Check]:
    """Every check of the run file at ``path`` (see the module docstring); a file that cannot be
    opened gives one failed ``open`` check."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return [Check("open", False, f"not a readable HDF5 file: {e}")]
    with f:
        if CHECKPOINT_GROUP in f and schema.META not in f:
            from parsnn.runfile.verify_checkpoint import verify_checkpoint
            return [Check("open", True, "HDF5 with a parsnn checkpoint"), *verify_checkpoint(f[CHECKPOINT_GROUP])]
        if schema.META not in f:
            return [Check("open", False, f"no /{schema.META} or /{CHECKPOINT_GROUP} group: not a parsnn run "
                                         "file or checkpoint")]
        checks = [Check("open", True, "HDF5 with parsnn metadata")]
        meta = f[schema.META].attrs
        version = int(meta.get(schema.SCHEMA_VERSION_ATTR, schema.UNVERSIONED))
        checks.append(Check("schema version", schema.UNVERSIONED <= version <= schema.SCHEMA_VERSION,
                            f"{version} (this parsnn reads {schema.UNVERSIONED} to {schema.SCHEMA_VERSION})"))
        complete = bool(meta.get(schema.COMPLETE, False))
        checks.append(Check("complete", complete, "the run finished" if complete else
                            "complete=False: the run crashed, was killed or is still running"))
        checks += [_readable(ds) for ds in _datasets(f)]
        t_end, bound = _time_bound(meta, complete)
        if schema.SPIKES in f:
            for name, g in f[schema.SPIKES].items():
                checks += _spike_checks(name, g, t_end, bound)
        if schema.REPORT in f:
            checks += [_report_check(name, g) for name, g in f[schema.REPORT].items()]
        checks.append(_partition_map_check(f[schema.META]))
        return checks


def _datasets(f: h5py.File) -> list[h5py.Dataset]:
    """Every dataset of the file, in name order."""
    found = []
    f.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return sorted(found, key=lambda ds: ds.name)


def _blocks(ds: h5py.Dataset):
    """Yield ``ds``'s data in blocks of at most about :data:`DEFAULT_CHUNK` values (raises
    CorruptRunError on a damaged block)."""
    if ds.shape == ():
        yield np.asarray(read_dataset(ds))
        return
    n = ds.shape[0]
    row = max(1, int(np.prod(ds.shape[1:], dtype=np.int64)))
    step = max(1, DEFAULT_CHUNK // row)
    for a in range(0, n, step):
        yield read_dataset(ds, np.s_[a:min(a + step, n)])


def _readable(ds: h5py.Dataset) -> Check:
    """Read every value of ``ds``; report whether it carries a checksum."""
    name = f"readable {ds.name}"
    try:
        for _ in _blocks(ds):
            pass
    except CorruptRunError as e:
        return Check(name, False, f"corrupted: checksum mismatch or damaged data ({e.reason})")
    kind = "Fletcher32 checksum" if ds.fletcher32 else "no checksum (written before checksums were added)"
    return Check(name, True, f"{ds.size} values, {kind}")


def _time_bound(meta, complete: bool) -> tuple[float | None, str]:
    """(latest allowed spike time or None, what it is) for the time-range check."""
    if complete and schema.T_SIM in meta:
        return float(meta[schema.T_SIM]), "t_sim"
    if schema.T_FLUSHED in meta:
        return float(meta[schema.T_FLUSHED]), "t_flushed (last flush)"
    return None, "no end time stored"


def _spike_checks(name: str, g: h5py.Group, t_end, bound: str) -> list[Check]:
    """Sorted times, times within [0, t_end], node ids within [0, size) of /spikes/<name>."""
    where = f"spikes {name}"
    try:
        size = int(g.attrs[schema.SIZE])
        ts, ids = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
    except KeyError as e:
        return [Check(where, False, f"incomplete group: {e}")]
    if ts.shape != ids.shape:
        return [Check(where, False, f"{ts.shape[0]} timestamps but {ids.shape[0]} node ids")]
    try:
        unsorted, t_min, t_max = 0, np.inf, -np.inf
        last = -np.inf
        for t in _blocks(ts):
            if t.size:
                unsorted += int(np.count_nonzero(np.diff(t) < 0)) + int(t[0] < last)
                last, t_min, t_max = t[-1], min(t_min, t.min()), max(t_max, t.max())
        id_max = max((int(b.max()) for b in _blocks(ids) if b.size), default=-1)
    except CorruptRunError as e:
        return [Check(where, False, f"not checked: dataset {e.dataset} is corrupted")]
    n = ts.shape[0]
    by_time = read_sorting_attr(g) == "by_time"
    sorted_detail = (f"{n} spikes in time order" if not unsorted
                     else f"{unsorted} spike(s) earlier than the one before")
    if n == 0:
        times = Check(f"{where} times", True, "no spikes")
    else:
        ok = t_min >= 0 and (t_end is None or t_max <= t_end + TIME_TOLERANCE_MS)
        limit = f"[0, {t_end:g}] ({bound})" if t_end is not None else f">= 0 ({bound})"
        times = Check(f"{where} times", bool(ok), f"{t_min:g} to {t_max:g} ms, allowed {limit}")
    return [Check(f"{where} sorted", not by_time or unsorted == 0,
                  sorted_detail if by_time else f"not required (sorting={read_sorting_attr(g)})"),
            times,
            Check(f"{where} node ids", id_max < size, f"max {id_max}, population size {size}")]


def _report_check(name: str, g: h5py.Group) -> Check:
    """Shapes of /report/<name>: data [samples, neurons] against the mapping's ids and time."""
    where = f"report {name}"
    try:
        data = g[schema.REPORT_DATA]
        mapping = g[schema.REPORT_MAPPING]
        node_ids = read_dataset(mapping[schema.NODE_IDS])
        start, stop, step = (float(x) for x in read_dataset(mapping[schema.REPORT_TIME]))
    except (KeyError, ValueError) as e:
        return Check(where, False, f"incomplete report: {e}")
    except CorruptRunError as e:
        return Check(where, False, f"not checked: dataset {e.dataset} is corrupted")
    samples, neurons = data.shape if data.ndim == 2 else (data.shape[0], -1)
    expected = int(round((stop - start) / step)) if step > 0 else -1
    ok = data.ndim == 2 and neurons == node_ids.size and expected == samples
    return Check(where, ok, f"{samples} samples x {neurons} neurons; mapping: {node_ids.size} node ids, "
                            f"time [{start:g}, {stop:g}) step {step:g} = {expected} samples")


def _partition_map_check(meta_group: h5py.Group) -> Check:
    """The partition map holds a rank in [-1, num_ranks) for every node of the description."""
    if schema.PARTITION_MAP not in meta_group:
        return Check("partition map", False, f"no /{schema.META}/{schema.PARTITION_MAP}")
    try:
        ranks = np.asarray(read_dataset(meta_group[schema.PARTITION_MAP]))
    except CorruptRunError as e:
        return Check("partition map", False, f"not checked: dataset {e.dataset} is corrupted")
    num_ranks = int(meta_group.attrs.get(schema.NUM_RANKS, 0))
    try:
        description = json.loads(meta_group.attrs.get(schema.PARAMETERS, "{}"))
        populations = description.get("populations") or None
        nodes = None if populations is None else sum(int(p["size"]) for p in populations)
    except (TypeError, ValueError, KeyError):
        nodes = None
    in_range = ranks.size == 0 or (ranks.min() >= -1 and ranks.max() < num_ranks)
    ok = bool(in_range) and (nodes is None or ranks.size == nodes)
    of = "" if nodes is None else f" of {nodes} in the description"
    return Check("partition map", ok, f"{ranks.size} nodes{of}, ranks {ranks.min() if ranks.size else '-'} to "
                                      f"{ranks.max() if ranks.size else '-'} of {num_ranks}")
