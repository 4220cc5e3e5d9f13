"""Repair of a run file whose writer was killed (SIGKILL, node failure) in the middle of a write.

Why a killed writer can damage data it had already flushed: every dataset is chunked with HDF5's
Fletcher32 filter, and an appended dataset's last chunk is partial; each append rewrites that whole
chunk *in place* (a filtered chunk keeps its size, so HDF5 keeps its address) with its old rows, the
new rows and a new checksum in its last 4 bytes. A SIGKILL during that write (Linux stops a write
between pages) leaves the chunk torn: the first pages new, the rest old, the old checksum at its
end, so the whole chunk -- rows flushed long before -- fails its checksum on read.

A torn chunk is restored exactly, with proof: its rows up to the extent stored on disk are identical
in the old and new versions, so zeroing every byte beyond that extent (the chunk as the last flush
wrote it: HDF5's fill value 0 beyond the data) must give back the stored (old) checksum; only then
is the chunk written back (same size, same address), else it is left alone and stays refused.

:func:`repair` does this for the last chunk of every appended dataset and then drops what was written
after ``t_flushed`` (the writer stores ``t_flushed`` after the data it covers, so a file killed between
the two holds some uncommitted data beyond it): afterwards the file reads with plain h5py and holds
exactly the data up to ``t_flushed``. ``parsnn resume --append`` repairs before it continues."""
from __future__ import annotations

from typing import NamedTuple

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

from parsnn.runfile import schema
from parsnn.runfile.sonata import _bisect


class Repair(NamedTuple):
    """What :func:`repair` found in one dataset: ``restored`` (a torn chunk rewritten as it was at the
    last flush), ``unrecoverable`` (a damaged last chunk that is not a torn rewrite: left as it is) or
    ``truncated`` (uncommitted data after t_flushed dropped)."""
    dataset: str
    kind: str
    detail: str


def fletcher32_mod(data: bytes) -> tuple[int, int]:
    """(sum1, sum2) of HDF5's Fletcher32 of ``data`` modulo 65535 (16-bit big-endian words)."""
    n = len(data) // 2
    a = np.frombuffer(data, dtype=">u2", count=n).astype(np.int64)
    s1 = int(a.sum()) % 65535
    s2 = int((a * np.arange(n, 0, -1, dtype=np.int64)).sum()) % 65535
    if len(data) % 2:
        last = data[-1] << 8
        s1 = (s1 + last) % 65535
        s2 = (s2 + s1) % 65535
    return s1, s2


def _stored(raw: bytes) -> tuple[int, int]:
    """The (sum1, sum2) stored by HDF5's Fletcher32 filter at the end of a chunk, modulo 65535."""
    v = int.from_bytes(raw[-4:], "little")
    return (v & 0xFFFF) % 65535, (v >> 16) % 65535


def _appendable(f: h5py.File) -> list[h5py.Dataset]:
    """The file's resizable, checksummed datasets (spikes, V_m reports, weight snapshots)."""
    found = []

    def visit(_, obj):
        if (isinstance(obj, h5py.Dataset) and obj.chunks is not None and obj.fletcher32
                and obj.maxshape and obj.maxshape[0] is None):
            found.append(obj)
    f.visititems(visit)
    return found


def restore_last_chunk(ds: h5py.Dataset) -> Repair | None:
    """Check the chunk holding the end of ``ds``'s extent; restore it if it is a torn rewrite."""
    n = ds.shape[0]
    if n == 0:
        return None
    rows = ds.chunks[0]
    offset = ((n - 1) // rows) * rows
    sel = np.s_[offset:n]
    try:
        ds[sel]
        return None
    except OSError as e:
        reason = str(e)
    start = (offset,) + (0,) * (ds.ndim - 1)
    try:
        mask, raw = ds.id.read_direct_chunk(start)
    except Exception as e:                                   # noqa: BLE001  (no such chunk, ...)
        return Repair(ds.name, "unrecoverable", f"last chunk unreadable ({reason}; raw read: {e})")
    row_bytes = int(np.prod(ds.chunks[1:], dtype=np.int64)) * ds.dtype.itemsize
    keep = (n - offset) * row_bytes
    body = bytearray(raw[:-4])
    if mask != 0 or len(body) != rows * row_bytes:
        return Repair(ds.name, "unrecoverable", f"last chunk fails ({reason}) and is not a plain Fletcher32 chunk")
    body[keep:] = bytes(len(body) - keep)
    if fletcher32_mod(bytes(body)) != _stored(raw):
        return Repair(ds.name, "unrecoverable", f"last chunk at row {offset} fails its checksum ({reason}) "
                                                "and is not a torn rewrite of the last flushed version")
    ds.id.write_direct_chunk(start, bytes(body) + raw[-4:], 0)
    try:
        ds[sel]
    except OSError as e:                                     # the mod-65535 check passed, HDF5's did not
        ds.id.write_direct_chunk(start, raw, mask)
        return Repair(ds.name, "unrecoverable", f"last chunk at row {offset}: restored version fails too ({e})")
    return Repair(ds.name, "restored", f"chunk at row {offset}: torn rewrite, restored to its {n - offset} "
                                       "rows of the last flush")


def _truncate_after(f: h5py.File, t_ms: float, resolution: float) -> list[Repair]:
    """Drop spikes, V_m samples and weight snapshots after ``t_ms`` (uncommitted data)."""
    out = []
    for name, g in f.get(schema.SPIKES, {}).items():
        ts, ids = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
        n = ts.shape[0]
        keep = min(_bisect(ts, t_ms + resolution / 2, "left") if n else 0, ids.shape[0])
        if keep < n or keep < ids.shape[0]:
            out.append(Repair(ts.name, "truncated", f"{n - keep} spikes after t_flushed={t_ms:g} ms dropped"))
            ts.resize((keep,))
            ids.resize((keep,))
    for name, g in f.get(schema.REPORT, {}).items():
        data = g[schema.REPORT_DATA]
        tm = g[schema.REPORT_MAPPING][schema.REPORT_TIME]
        start, _, every = (float(x) for x in tm[:])
        keep = int(np.floor((t_ms - start) / every + 1e-9)) + 1 if t_ms >= start else 0
        if data.shape[0] > keep:
            out.append(Repair(data.name, "truncated", f"{data.shape[0] - keep} V_m samples after t_flushed dropped"))
            data.resize(keep, axis=0)
            tm[1] = keep * every + every
    for name, g in f.get(schema.WEIGHTS, {}).items():
        times = g[schema.WEIGHT_TIMES][:]
        keep = int((times <= t_ms + resolution / 2).sum())
        if keep < g[schema.WEIGHT_VALUES].shape[0] or keep < times.size:
            out.append(Repair(g.name, "truncated", f"{times.size - keep} weight snapshots after t_flushed dropped"))
            g[schema.WEIGHT_TIMES].resize((keep,))
            g[schema.WEIGHT_VALUES].resize(keep, axis=0)
    return out


def repair_open(f: h5py.File) -> list[Repair]:
    """:func:`repair` on a file open for writing."""
    done = [r for r in map(restore_last_chunk, _appendable(f)) if r is not None]
    meta = f[schema.META].attrs if schema.META in f else {}
    if not bool(meta.get(schema.COMPLETE, False)) and schema.T_FLUSHED in meta and schema.RESOLUTION in meta:
        if not any(r.kind == "unrecoverable" for r in done):
            done += _truncate_after(f, float(meta[schema.T_FLUSHED]), float(meta[schema.RESOLUTION]))
    if done:
        f.flush()
    return done


def repair(path) -> list[Repair]:
    """Restore the torn last chunks of the run file at ``path`` and drop its data after t_flushed (an
    incomplete file); [] if there was nothing to do. See the module docstring."""
    with h5py.File(path, "r+") as f:
        return repair_open(f)
