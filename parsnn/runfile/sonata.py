"""SONATA spike I/O of the run file: writing helpers for the engine, streaming readers for analysis.

The layout is in :mod:`parsnn.runfile.schema`; spikes are ``/spikes/<pop>/{timestamps,node_ids}``
with group attributes ``size`` and ``sorting``.

The ``sorting`` attribute must be an HDF5 *enum* with members ``none=0, by_id=1, by_time=2``:
libsonata reads it with a HighFive ``EnumType`` keyed by those names, and fails on a plain
integer or string attribute.  We use a ``uint8`` base type, as libsonata's own test data does.

parsnn writes ``by_time`` (ties broken by node id), so the readers below locate a time window
by binary search on the on-disk ``timestamps`` dataset and read only that slice, in chunks.
Windows are half-open, ``[t_start, t_stop)``, so consecutive windows partition the spikes
(libsonata's ``get`` is inclusive at both ends, with a 1e-6 tolerance).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

from parsnn.runfile import schema

__all__ = [
    "SORTING_DTYPE", "SORTING_VALUES", "IncompleteRunError", "CorruptRunError", "read_dataset",
    "write_sorting_attr", "read_sorting_attr", "create_spike_datasets", "append_spikes",
    "open_run", "read_spikes", "iter_spikes", "count_spikes", "spike_counts_per_neuron",
    "population_sizes", "read_metadata", "firing_rates",
]

SORTING_VALUES = {"none": 0, "by_id": 1, "by_time": 2}
_SORTING_NAMES = {v: k for k, v in SORTING_VALUES.items()}


def sorting_dtype():
    """HDF5 enum type of the ``sorting`` attribute, exactly as libsonata expects it (made when first
    needed, so that importing this module does not load h5py)."""
    return h5py.enum_dtype(SORTING_VALUES, basetype=np.uint8)


def __getattr__(name):
    """``SORTING_DTYPE``: :func:`sorting_dtype`, for code that names the constant."""
    if name == "SORTING_DTYPE":
        return sorting_dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_CHUNK = 1 << 20          # elements per read when streaming (8 MiB of float64)
DEFAULT_STORAGE_CHUNK = 1 << 16  # HDF5 chunk length of the resizable spike datasets


class IncompleteRunError(RuntimeError):
    """The run file does not carry ``/parsnn`` attribute ``complete=True``.

    The run crashed, was killed, or is still being written; its data may be truncated.
    """


class CorruptRunError(OSError):
    """Data of a run file cannot be read back as written: a dataset fails its HDF5 Fletcher32
    checksum (or cannot be decoded), so the file was damaged after it was written (disk, copy,
    truncation). The message names the file and the dataset; ``parsnn verify FILE`` lists every
    damaged dataset. An OSError, as h5py's own read errors are. Attributes: ``path``,
    ``dataset`` (its HDF5 name) and ``reason`` (HDF5's message)."""

    def __init__(self, path: str, dataset: str, reason: str):
        super().__init__(f"{path}: corrupted run file: dataset {dataset} cannot be read back as written "
                         f"(HDF5 checksum mismatch or damaged data: {reason}); 'parsnn verify {path}' checks the whole file; "
                         f"if its writer was killed, 'parsnn verify --repair {path}' restores what the last flush wrote")
        self.path, self.dataset, self.reason = path, dataset, reason


def read_dataset(ds: h5py.Dataset, selection=()):
    """``ds[selection]``, raising :class:`CorruptRunError` (naming the dataset) when HDF5 cannot
    read the data back (checksum mismatch or undecodable chunk)."""
    try:
        return ds[selection]
    except OSError as e:
        raise _corrupted(ds, e) from e


def _read_into(ds: h5py.Dataset, out: np.ndarray, source_sel, dest_sel):
    """``ds.read_direct`` with the checksum failure reported as :class:`CorruptRunError`."""
    try:
        ds.read_direct(out, source_sel=source_sel, dest_sel=dest_sel)
    except OSError as e:
        raise _corrupted(ds, e) from e


def _corrupted(ds: h5py.Dataset, exc: OSError) -> CorruptRunError:
    """The error for dataset ``ds`` whose data HDF5 failed to read with ``exc``."""
    return CorruptRunError(ds.file.filename, ds.name, str(exc))


# --------------------------------------------------------------------------- writing

def write_sorting_attr(group: h5py.Group, kind: str = "by_time") -> None:
    """Write the SONATA ``sorting`` attribute (enum ``none|by_id|by_time``, uint8 base) on ``group``."""
    if kind not in SORTING_VALUES:
        raise ValueError(f"sorting kind must be one of {sorted(SORTING_VALUES)}, got {kind!r}")
    group.attrs.create(schema.SORTING, SORTING_VALUES[kind], dtype=sorting_dtype())


def read_sorting_attr(group: h5py.Group) -> str:
    """Return ``"none"``, ``"by_id"`` or ``"by_time"`` (``"none"`` when the attribute is absent)."""
    if schema.SORTING not in group.attrs:
        return "none"
    raw = group.attrs[schema.SORTING]
    if isinstance(raw, (bytes, str)):  # tolerate non-conforming writers
        name = raw.decode() if isinstance(raw, bytes) else raw
        return name if name in SORTING_VALUES else "none"
    value = int(np.asarray(raw).reshape(-1)[0])
    dt = group.attrs.get_id(schema.SORTING).dtype
    mapping = h5py.check_enum_dtype(dt)
    if mapping:  # map by member name (what libsonata does), not by raw value
        inverse = {v: k for k, v in mapping.items()}
        name = inverse.get(value)
        if name in SORTING_VALUES:
            return name
    return _SORTING_NAMES.get(value, "none")


def create_spike_datasets(h5file: h5py.File | h5py.Group, populations: dict,
                          sorting: str = "by_time", chunk: int = DEFAULT_STORAGE_CHUNK,
                          compression=None) -> h5py.Group:
    """Create empty, resizable ``/spikes/<pop>/{timestamps,node_ids}`` for ``{name: size}``.

    Populations are created (and later listed by :func:`population_sizes`) in the order given.
    Returns the ``/spikes`` group.
    """
    if schema.SPIKES in h5file:
        spikes = h5file[schema.SPIKES]
    else:
        spikes = h5file.create_group(schema.SPIKES, track_order=True)
    for name, size in populations.items():
        size = int(size)
        if size < 0:
            raise ValueError(f"population {name!r}: size must be >= 0, got {size}")
        if name in spikes:
            raise ValueError(f"population {name!r} already exists in {spikes.name}")
        g = spikes.create_group(name)
        g.attrs[schema.SIZE] = np.int64(size)
        write_sorting_attr(g, sorting)
        ts = g.create_dataset(schema.TIMESTAMPS, shape=(0,), maxshape=(None,), dtype=np.float64,
                              chunks=(chunk,), compression=compression, fletcher32=True)
        ts.attrs[schema.UNITS] = "ms"
        g.create_dataset(schema.NODE_IDS, shape=(0,), maxshape=(None,), dtype=np.uint64,
                         chunks=(chunk,), compression=compression, fletcher32=True)
    return spikes


def _is_time_sorted(times: np.ndarray, ids: np.ndarray) -> bool:
    """True if (time, id) pairs are lexicographically non-decreasing (vectorised)."""
    if times.size < 2:
        return True
    dt = np.diff(times)
    return bool(np.all(dt >= 0) and np.all(np.diff(ids.astype(np.int64))[dt == 0] >= 0))


def append_spikes(h5file: h5py.File | h5py.Group, pop: str, times, ids, sort: bool = True) -> int:
    """Append spikes to ``/spikes/<pop>``; returns the new number of spikes stored.

    For a ``by_time`` population the batch is sorted by (time, id) when ``sort`` is true
    (e.g. after gathering several ranks), else it must already be sorted; in both cases it
    must not start before the last spike already stored.  Serial writer (one process).
    """
    g = h5file[schema.SPIKES][pop] if schema.SPIKES in h5file else h5file[pop]
    times = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
    ids = np.asarray(ids).reshape(-1)
    if times.shape != ids.shape:
        raise ValueError(f"population {pop!r}: {times.size} times but {ids.size} node ids")
    n = times.size
    ts, ns = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
    old = ts.shape[0]
    if n == 0:
        return old
    if not np.all(np.isfinite(times)):
        raise ValueError(f"population {pop!r}: spike times must be finite")
    size = int(g.attrs[schema.SIZE])
    if ids.dtype.kind not in "iu":
        raise ValueError(f"population {pop!r}: node ids must be integers, got {ids.dtype}")
    if ids.min() < 0 or ids.max() >= size:
        raise ValueError(f"population {pop!r}: node ids must be in [0, {size}), got "
                         f"[{ids.min()}, {ids.max()}]")
    ids = ids.astype(np.uint64, copy=False)
    if read_sorting_attr(g) == "by_time":
        if not _is_time_sorted(times, ids):
            if not sort:
                raise ValueError(f"population {pop!r}: batch is not sorted by (time, node id)")
            order = np.lexsort((ids, times))
            times, ids = times[order], ids[order]
        if old:
            last_t, last_id = float(ts[old - 1]), int(ns[old - 1])
            if (times[0], int(ids[0])) < (last_t, last_id):
                raise ValueError(f"population {pop!r}: batch starts at t={times[0]} (id {ids[0]}) "
                                 f"before the last stored spike t={last_t} (id {last_id})")
    ts.resize((old + n,))
    ns.resize((old + n,))
    ts[old:] = times
    ns[old:] = ids
    return old + n


# --------------------------------------------------------------------------- opening

def open_run(path, allow_incomplete: bool = False) -> h5py.File:
    """Open a run file read-only; raise :class:`IncompleteRunError` unless it finished cleanly."""
    f = h5py.File(path, "r")
    if allow_incomplete:
        return f
    try:
        if schema.META not in f:
            reason = "it has no /parsnn group (not a parsnn run, or the run never started writing)"
        elif schema.COMPLETE not in f[schema.META].attrs:
            reason = "/parsnn has no 'complete' attribute"
        elif not bool(f[schema.META].attrs[schema.COMPLETE]):
            reason = "/parsnn attribute complete=False (the run crashed, was killed or is still running)"
        else:
            return f
    except Exception:
        f.close()
        raise
    f.close()
    raise IncompleteRunError(f"{os.fspath(path)}: incomplete run: {reason}. "
                             "Pass allow_incomplete=True (or --force) to read it anyway.")


@contextmanager
def _as_file(source, allow_incomplete: bool):
    if isinstance(source, (h5py.File, h5py.Group)):
        yield source
    else:
        f = open_run(source, allow_incomplete=allow_incomplete)
        try:
            yield f
        finally:
            f.close()


def _spike_groups(f, population=None) -> dict:
    if schema.SPIKES not in f:
        raise KeyError(f"{f.file.filename}: no /spikes group")
    spikes = f[schema.SPIKES]
    names = list(spikes.keys())
    if population is None:
        wanted = names
    elif isinstance(population, str):
        wanted = [population]
    else:
        wanted = list(population)
    missing = [p for p in wanted if p not in spikes]
    if missing:
        raise KeyError(f"population(s) {missing} not in {f.file.filename}; available: {names}")
    return {p: spikes[p] for p in wanted}


# --------------------------------------------------------------------------- reading

def _bisect(ds: h5py.Dataset, value: float, side: str, lo: int = 0, hi: int | None = None) -> int:
    """``np.searchsorted(ds[:], value, side)`` on a sorted 1-d dataset, reading O(log n) elements."""
    if hi is None:
        hi = ds.shape[0]
    block = ds.chunks[0] if ds.chunks else 65536
    block = min(max(block, 1024), 1 << 20)
    right = side == "right"
    while hi - lo > block:
        mid = (lo + hi) // 2
        v = read_dataset(ds, mid)
        if v < value or (right and v == value):
            lo = mid + 1
        else:
            hi = mid
    return lo + int(np.searchsorted(read_dataset(ds, np.s_[lo:hi]), value, side=side))


def _window_indices(g: h5py.Group, t_start, t_stop) -> tuple[int, int]:
    ts = g[schema.TIMESTAMPS]
    n = ts.shape[0]
    i0 = 0 if t_start is None or n == 0 else _bisect(ts, t_start, "left")
    i1 = n if t_stop is None or n == 0 else _bisect(ts, t_stop, "left", lo=i0)
    return i0, max(i0, i1)


def _check_window(t_start, t_stop):
    if t_start is not None and t_stop is not None and t_stop < t_start:
        raise ValueError(f"t_stop ({t_stop}) must be >= t_start ({t_start})")


def iter_spikes(source, population: str, t_start=None, t_stop=None, chunk: int = DEFAULT_CHUNK,
                allow_incomplete: bool = False):
    """Yield ``(timestamps, node_ids)`` blocks of at most ``chunk`` spikes in ``[t_start, t_stop)``."""
    _check_window(t_start, t_stop)
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    with _as_file(source, allow_incomplete) as f:
        g = _spike_groups(f, population)[population]
        ts, ns = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
        if read_sorting_attr(g) == "by_time":
            i0, i1 = _window_indices(g, t_start, t_stop)
            for a in range(i0, i1, chunk):
                b = min(a + chunk, i1)
                yield read_dataset(ts, np.s_[a:b]), read_dataset(ns, np.s_[a:b])
        else:  # unsorted: scan everything, keep the window
            n = ts.shape[0]
            for a in range(0, n, chunk):
                b = min(a + chunk, n)
                t, i = read_dataset(ts, np.s_[a:b]), read_dataset(ns, np.s_[a:b])
                m = np.ones(t.shape, bool)
                if t_start is not None:
                    m &= t >= t_start
                if t_stop is not None:
                    m &= t < t_stop
                if m.any():
                    yield t[m], i[m]


def read_spikes(source, population=None, t_start=None, t_stop=None, chunk: int = DEFAULT_CHUNK,
                allow_incomplete: bool = False) -> dict:
    """Read spikes in ``[t_start, t_stop)`` (ms; ``None`` = unbounded).

    ``source`` is a path or an open ``h5py.File``; ``population`` is None (all), a name or a
    list of names.  Returns ``{pop: (timestamps float64, node_ids uint64)}`` in file order.
    For ``by_time`` files only the window is read, directly into the result arrays.
    """
    _check_window(t_start, t_stop)
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    out = {}
    with _as_file(source, allow_incomplete) as f:
        for name, g in _spike_groups(f, population).items():
            if read_sorting_attr(g) == "by_time":
                i0, i1 = _window_indices(g, t_start, t_stop)
                t = np.empty(i1 - i0, np.float64)
                ids = np.empty(i1 - i0, np.uint64)
                ts, ns = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
                for a in range(i0, i1, chunk):
                    b = min(a + chunk, i1)
                    sel, dst = np.s_[a:b], np.s_[a - i0:b - i0]
                    _read_into(ts, t, sel, dst)
                    _read_into(ns, ids, sel, dst)
            else:
                blocks = list(iter_spikes(f, name, t_start, t_stop, chunk))
                t = np.concatenate([b[0] for b in blocks]) if blocks else np.empty(0, np.float64)
                ids = (np.concatenate([b[1] for b in blocks]).astype(np.uint64, copy=False)
                       if blocks else np.empty(0, np.uint64))
            out[name] = (t, ids)
    return out


def count_spikes(source, population=None, t_start=None, t_stop=None,
                 allow_incomplete: bool = False) -> dict:
    """Number of spikes per population in ``[t_start, t_stop)``; no spike data read if by_time."""
    _check_window(t_start, t_stop)
    out = {}
    with _as_file(source, allow_incomplete) as f:
        for name, g in _spike_groups(f, population).items():
            if read_sorting_attr(g) == "by_time":
                i0, i1 = _window_indices(g, t_start, t_stop)
                out[name] = i1 - i0
            else:
                out[name] = sum(b[0].size for b in iter_spikes(f, name, t_start, t_stop))
    return out


def spike_counts_per_neuron(source, population: str, t_start=None, t_stop=None,
                            chunk: int = DEFAULT_CHUNK, allow_incomplete: bool = False) -> np.ndarray:
    """Spike count of every neuron (array of length ``size``) in ``[t_start, t_stop)``, streamed."""
    with _as_file(source, allow_incomplete) as f:
        size = population_sizes(f)[population]
        counts = np.zeros(size, np.int64)
        for _, ids in iter_spikes(f, population, t_start, t_stop, chunk):
            counts += np.bincount(ids.astype(np.intp), minlength=size)[:size]
    return counts


def population_sizes(source, allow_incomplete: bool = True) -> dict:
    """``{population: size}`` in file order, from the ``size`` attribute of ``/spikes/<pop>``."""
    with _as_file(source, allow_incomplete) as f:
        out = {}
        for name, g in _spike_groups(f).items():
            if schema.SIZE not in g.attrs:
                raise KeyError(f"{f.file.filename}: /spikes/{name} has no 'size' attribute")
            out[name] = int(g.attrs[schema.SIZE])
        return out


def _py(value):
    """h5py attribute value -> plain Python (numpy arrays of numbers are kept as arrays)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSU":
            return [_py(v) for v in value.tolist()]
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_metadata(source, allow_incomplete: bool = True) -> dict:
    """Attributes of ``/parsnn`` as a dict.

    ``parameters`` is parsed from JSON; ``performance`` holds the ``/parsnn/performance``
    attributes (per-rank arrays stay numpy arrays); ``populations`` holds the sizes.
    The (potentially large) ``partition_map`` dataset is not loaded.
    """
    with _as_file(source, allow_incomplete) as f:
        if schema.META not in f:
            raise KeyError(f"{f.file.filename}: no /parsnn metadata group")
        grp = f[schema.META]
        meta = {k: _py(v) for k, v in grp.attrs.items()}
        meta[schema.COMPLETE] = bool(meta[schema.COMPLETE]) if schema.COMPLETE in meta else False
        if isinstance(meta.get(schema.PARAMETERS), str):
            try:
                meta[schema.PARAMETERS] = json.loads(meta[schema.PARAMETERS])
            except json.JSONDecodeError as e:
                raise ValueError(f"{f.file.filename}: /parsnn attribute 'parameters' "
                                 f"is not valid JSON: {e}") from None
        meta["performance"] = ({k: _py(v) for k, v in grp[schema.PERFORMANCE].attrs.items()}
                               if schema.PERFORMANCE in grp else {})
        meta["populations"] = population_sizes(f) if schema.SPIKES in f else {}
        return meta


def firing_rates(source, t_start: float = 0.0, t_stop=None, population=None,
                 allow_incomplete: bool = False) -> dict:
    """Mean firing rate (Hz) per population: ``spikes / (size * duration)``.

    Counts spikes in ``[t_start, t_stop)``.  With ``t_stop=None`` every spike from ``t_start``
    on is counted and the duration runs to ``/parsnn`` attribute ``t_sim``.
    """
    with _as_file(source, allow_incomplete) as f:
        end = t_stop
        if end is None:
            t_sim = f[schema.META].attrs.get(schema.T_SIM) if schema.META in f else None
            if t_sim is None:
                raise ValueError(f"{f.file.filename}: no /parsnn attribute t_sim; pass t_stop")
            end = float(t_sim)
        duration_ms = float(end) - float(t_start)
        if duration_ms <= 0:
            raise ValueError(f"empty rate window: t_start={t_start} ms, t_stop={end} ms")
        sizes = population_sizes(f)
        counts = count_spikes(f, population, t_start, t_stop)
        return {p: (c / (sizes[p] * duration_ms * 1e-3) if sizes[p] else float("nan"))
                for p, c in counts.items()}
