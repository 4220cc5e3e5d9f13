"""Spike sources for the analysis: a parsnn run file and a directory of NEST ASCII recorder files.

Both give the same interface: ``path``, ``label``, ``kind`` (``"parsnn"`` or ``"nest"``), ``meta``,
``sizes`` (population -> number of neurons), ``t_sim``, :meth:`last_spike_time`, ``iter_chunks``
(time-sorted ``(times_ms, local_ids)`` chunks of one population), ``short_meta`` and ``close``;
:func:`open_source` picks the kind from the path.

This is the only module of :mod:`parsnn.analysis` that reads the run file (through
:mod:`parsnn.runfile.sonata`).
"""
from __future__ import annotations

import glob
import json
import os
import re
import warnings

import numpy as np

from parsnn.runfile import sonata
from parsnn.runfile.sonata import IncompleteRunError

__all__ = ["NEST_SIDECAR", "DEFAULT_CHUNK", "IncompleteRunError", "H5Source", "NestAsciiSource",
           "read_nest_ascii", "open_source"]

NEST_SIDECAR = "nest_run.json"
#: spikes per chunk when streaming a population (the run file reader's default)
DEFAULT_CHUNK = sonata.DEFAULT_CHUNK


class _SpikeSource:
    """What both sources share: ``t_sim`` from the metadata and use as a context manager."""
    meta: dict

    @property
    def t_sim(self):
        """Simulated time in ms from the run's metadata, or None if not recorded."""
        t = self.meta.get("t_sim")
        return float(t) if t is not None else None

    def close(self):
        """Release the source (subclasses close files or drop loaded spikes)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class H5Source(_SpikeSource):
    """A parsnn run file (SONATA spikes); refuses an incomplete run unless ``allow_incomplete``."""
    kind = "parsnn"

    def __init__(self, path, allow_incomplete: bool = False):
        self.path = os.fspath(path)
        self.file = sonata.open_run(self.path, allow_incomplete=allow_incomplete)
        try:
            self.sizes = sonata.population_sizes(self.file)
            self.meta = sonata.read_metadata(self.file) if "parsnn" in self.file else {"complete": False}
        except Exception:
            self.file.close()
            raise
        self.label = os.path.basename(self.path)

    def last_spike_time(self) -> float | None:
        """Time of the latest spike in the file (ms), None without spikes."""
        last = [float(g["timestamps"][-1]) for g in self.file["spikes"].values() if g["timestamps"].shape[0]]
        return max(last) if last else None

    def iter_chunks(self, population, t_start=None, t_stop=None, chunk=DEFAULT_CHUNK):
        """Time-sorted ``(times, local ids)`` chunks of ``population`` in ``[t_start, t_stop)``."""
        g = self.file["spikes"][population]
        if sonata.read_sorting_attr(g) == "by_time":
            yield from sonata.iter_spikes(self.file, population, t_start, t_stop, chunk)
            return
        # not sorted by time: load the window once, sort, then stream
        t, i = sonata.read_spikes(self.file, population, t_start, t_stop)[population]
        order = np.lexsort((i, t))
        t, i = t[order], i[order]
        for a in range(0, t.size, chunk):
            yield t[a:a + chunk], i[a:a + chunk]

    def short_meta(self) -> dict:
        """The run metadata kept in the analysis results (model, seed, times, ranks, scaling)."""
        keep = ("model", "seed", "t_sim", "resolution", "num_ranks", "partition", "version", "complete")
        out = {k: self.meta[k] for k in keep if k in self.meta}
        params = self.meta.get("parameters")
        if isinstance(params, dict):
            md = params.get("metadata", params)
            for k in ("n_scaling", "k_scaling", "bg"):
                if isinstance(md, dict) and k in md:
                    out[k] = md[k]
        return out

    def close(self):
        """Close the run file."""
        self.file.close()


_NEST_FILE_RE = re.compile(r"^(?P<label>.+)-(?P<gid>\d+)-(?P<vp>\d+)\.(?:dat|gdf)$")


def read_nest_ascii(path, chunk_lines: int = 1 << 20):
    """Read one NEST ASCII recorder file; return ``(senders int64, times_ms float64)``.

    Accepts NEST 3 files (``#`` header lines, then a column line ``sender time_ms`` or
    ``sender time_step time_offset``) and header-less two-column files (sender, time in ms).
    The file is parsed in blocks of ``chunk_lines`` lines.
    """
    senders, times = [], []
    cols = None
    with open(path, "r") as f:
        pos_line = None
        while True:
            line = f.readline()
            if not line:
                break
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s[0].isalpha():
                cols = s.split()
                continue
            pos_line = line
            break
        if cols is None:
            cols = ["sender", "time_ms"]
        if "sender" not in cols:
            raise ValueError(f"{path}: no 'sender' column in NEST ASCII header {cols}")
        ncol = len(cols)
        si = cols.index("sender")
        if "time_ms" in cols:
            def to_ms(a):
                return a[:, cols.index("time_ms")]
        elif "time_step" in cols:
            def to_ms(a):  # time_in_steps=True: time = step * h - offset; h is unknown here
                raise ValueError(f"{path}: spike times in steps (time_in_steps=True) are not supported; "
                                 "record with time_in_steps=False")
        else:
            raise ValueError(f"{path}: no time column in NEST ASCII header {cols}")
        pending = [pos_line] if pos_line is not None else []
        while True:
            lines = pending + f.readlines(max(chunk_lines, 1) * 16)
            pending = []
            if not lines:
                break
            a = np.fromstring("".join(lines), sep=" ")
            if a.size % ncol:
                raise ValueError(f"{path}: malformed data (expected {ncol} columns)")
            a = a.reshape(-1, ncol)
            senders.append(a[:, si].astype(np.int64))
            times.append(np.ascontiguousarray(to_ms(a), np.float64))
    if not senders:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    return np.concatenate(senders), np.concatenate(times)


class NestAsciiSource(_SpikeSource):
    """A directory of NEST ASCII spike-recorder files (``<label>-<recorder gid>-<vp>.dat``).

    Populations (name -> first global id and size) come from, in this order: the
    ``populations`` argument (``{name: (first_gid, size)}``), the JSON sidecar
    :data:`NEST_SIDECAR` written by ``analysis/nest_pd14.py`` (``{"populations": {name:
    {"first_gid": g, "size": n}}, "t_sim": ..., "complete": ...}``), or, as a fallback, one
    population per recorder (named ``<label>-<gid>``, sized by its senders' id range, with a
    warning).  A sidecar with ``complete: false`` is refused unless ``allow_incomplete``.
    """
    kind = "nest"

    def __init__(self, directory, populations: dict | None = None, allow_incomplete: bool = False,
                 label: str | None = None):
        self.path = os.fspath(directory)
        if not os.path.isdir(self.path):
            raise FileNotFoundError(f"{self.path}: not a directory")
        side = os.path.join(self.path, NEST_SIDECAR)
        self.meta = {}
        if os.path.exists(side):
            with open(side) as f:
                self.meta = json.load(f)
            if not allow_incomplete and not self.meta.get("complete", False):
                raise IncompleteRunError(
                    f"{self.path}: incomplete NEST run: {NEST_SIDECAR} has complete=false (the run crashed, "
                    "was killed or is still running). Pass allow_incomplete=True (or --force) to read it anyway.")
        label = label or self.meta.get("label", None)
        files = sorted(glob.glob(os.path.join(self.path, "*.dat")) + glob.glob(os.path.join(self.path, "*.gdf")))
        self.files = []
        for fn in files:
            m = _NEST_FILE_RE.match(os.path.basename(fn))
            if m and (label is None or m["label"] == label):
                self.files.append((fn, m["label"], int(m["gid"]), int(m["vp"])))
        if not self.files:
            raise FileNotFoundError(f"{self.path}: no NEST ASCII spike files (<label>-<gid>-<vp>.dat)")
        self._fallback = False
        if populations is not None:
            self.pops = {p: (int(v[0]), int(v[1])) for p, v in populations.items()}
        elif "populations" in self.meta:
            self.pops = {p: (int(v["first_gid"]), int(v["size"])) for p, v in self.meta["populations"].items()}
        else:
            self._fallback = True
            self.pops = None
        self._data = None
        self.label = os.path.basename(os.path.normpath(self.path))

    def _load(self):
        """Read every recorder file once, split the spikes by population and sort them by time."""
        if self._data is not None:
            return
        data = {}
        if self._fallback:
            by_rec = {}
            for fn, lab, gid, _ in self.files:
                s, t = read_nest_ascii(fn)
                by_rec.setdefault(f"{lab}-{gid}", []).append((s, t))
            pops = {}
            for name in sorted(by_rec, key=lambda n: int(n.rsplit("-", 1)[1])):
                s = np.concatenate([x[0] for x in by_rec[name]])
                t = np.concatenate([x[1] for x in by_rec[name]])
                first, size = (int(s.min()), int(s.max() - s.min() + 1)) if s.size else (0, 0)
                pops[name] = (first, size)
                data[name] = (t, s - first)
            warnings.warn(f"{self.path}: no {NEST_SIDECAR} and no population map; treating each recorder as one "
                          "population sized by the id range of its senders (silent neurons at the ends are "
                          "missed)", UserWarning, stacklevel=3)
            self.pops = pops
        else:
            names = list(self.pops)
            firsts = np.array([self.pops[p][0] for p in names], np.int64)
            order = np.argsort(firsts)
            firsts_sorted = firsts[order]
            parts = {p: [] for p in names}
            for fn, *_ in self.files:
                s, t = read_nest_ascii(fn)
                if not s.size:
                    continue
                k = np.searchsorted(firsts_sorted, s, side="right") - 1
                for j in np.unique(k):
                    if j < 0:
                        continue
                    p = names[order[j]]
                    first, size = self.pops[p]
                    m = k == j
                    local = s[m] - first
                    inside = local < size
                    parts[p].append((t[m][inside], local[inside]))
            for p in names:
                if parts[p]:
                    t = np.concatenate([x[0] for x in parts[p]])
                    i = np.concatenate([x[1] for x in parts[p]])
                else:
                    t, i = np.empty(0), np.empty(0, np.int64)
                data[p] = (t, i)
        for p, (t, i) in data.items():
            o = np.lexsort((i, t))
            data[p] = (np.ascontiguousarray(t[o]), np.ascontiguousarray(i[o]))
        self._data = data

    @property
    def sizes(self) -> dict:
        """Population -> number of neurons (the fallback map reads the files first)."""
        if self.pops is None:
            self._load()
        return {p: v[1] for p, v in self.pops.items()}

    def last_spike_time(self):
        """Time of the latest spike in the directory (ms), None without spikes."""
        self._load()
        last = [t[-1] for t, _ in self._data.values() if t.size]
        return float(max(last)) if last else None

    def iter_chunks(self, population, t_start=None, t_stop=None, chunk=DEFAULT_CHUNK):
        """Time-sorted ``(times, local ids)`` chunks of ``population`` in ``[t_start, t_stop)``."""
        self._load()
        t, i = self._data[population]
        a = 0 if t_start is None else int(np.searchsorted(t, t_start, "left"))
        b = t.size if t_stop is None else int(np.searchsorted(t, t_stop, "left"))
        for k in range(a, b, chunk):
            e = min(k + chunk, b)
            yield t[k:e], i[k:e]

    def short_meta(self) -> dict:
        """The sidecar metadata kept in the analysis results (model, seed, times, NEST version)."""
        keep = ("model", "seed", "t_sim", "resolution", "threads", "nest_version", "n_scaling", "k_scaling",
                "bg", "complete")
        return {k: self.meta[k] for k in keep if k in self.meta}

    def close(self):
        """Drop the loaded spikes."""
        self._data = None


def open_source(path, allow_incomplete: bool = False):
    """:class:`NestAsciiSource` for a directory, :class:`H5Source` for a file."""
    if os.path.isdir(path):
        return NestAsciiSource(path, allow_incomplete=allow_incomplete)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    return H5Source(path, allow_incomplete=allow_incomplete)
