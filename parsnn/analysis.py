"""Post-hoc analysis of spike output: single-neuron and pairwise statistics, figures, KS comparison.

The statistics are those of the PD14 benchmarking recipe (Senk et al.; the reference
implementation's ``analyze_reference_data.py``), per population, after a warm-up:

- ``rate``: time-averaged firing rate of every neuron (spikes/s), silent neurons included;
- ``cv``: coefficient of variation of the inter-spike intervals, ``std(ISI) / mean(ISI)``
  (population standard deviation, ``ddof=0``), for every neuron with at least 3 spikes;
- ``cc``: Pearson correlation coefficients of the spike counts in 2 ms bins for all pairs of a
  seeded random subsample of neurons (50 by default; pairs with a silent neuron give no value).

Two simulations are compared by the Kolmogorov-Smirnov distance (``scipy.stats.ks_2samp``
statistic) between their distributions, per population and statistic.

Sources:

- a parsnn run file (SONATA HDF5, :class:`H5Source`); files not marked complete are refused
  (:class:`parsnn.sonata.IncompleteRunError`) unless ``allow_incomplete=True``;
- a directory of NEST ASCII spike-recorder files (:class:`NestAsciiSource`), e.g. written by
  ``analysis/nest_pd14.py``, whose JSON sidecar (:data:`NEST_SIDECAR`) maps NEST's global
  node ids to populations.

Streaming: a run file is read chunk by chunk (time-sorted ``by_time`` files only read the
window); one pass of numba kernels per chunk updates, per neuron, the spike count, the last
spike time and Welford's running mean and sum of squared deviations of the ISIs, the binned
counts of the CC subsample and the population-rate histogram.  Memory is
O(neurons + subsample x bins), independent of the number of spikes.  (NEST ASCII files are
not sorted across threads, so a NEST population is loaded and sorted once: O(its spikes).)

Heavy dependencies (numba, scipy, matplotlib) are imported on first use.

Typical use::

    from parsnn import analysis
    a = analysis.analyze("run.h5")                  # RunStats
    b = analysis.analyze("nest_out/")               # NEST ASCII directory
    ks = analysis.compare(a, b)                     # {pop: {"rate": D, "cv": D, "cc": D}}
    analysis.write_report(a, "run_analysis", other=b)
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import sys
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from parsnn.runfile import sonata
from parsnn.runfile.sonata import IncompleteRunError

__all__ = [
    "STATISTICS", "DEFAULT_T_START", "DEFAULT_CC_BIN", "DEFAULT_CC_SUBSAMPLE", "DEFAULT_SUBSAMPLE_SEED",
    "NEST_SIDECAR", "IncompleteRunError",
    "PopulationStats", "RunStats", "H5Source", "NestAsciiSource", "open_source", "read_nest_ascii",
    "analyze", "analyze_arrays", "firing_rates", "isi_cvs", "spike_count_correlations",
    "subsample_ids", "ks_distance", "compare", "format_summary", "format_ks_table",
    "plot_raster", "plot_rate_boxplots", "plot_distributions", "plot_population_rate", "plot_ks",
    "write_report", "add_cli_arguments", "run_cli", "main",
]

STATISTICS = ("rate", "cv", "cc")
STAT_LABELS = {"rate": "firing rate (spikes/s)", "cv": "ISI CV", "cc": "spike-count CC"}
DEFAULT_T_START = 500.0
DEFAULT_CC_BIN = 2.0
DEFAULT_CC_SUBSAMPLE = 50
DEFAULT_SUBSAMPLE_SEED = 12345
DEFAULT_RATE_BIN = 5.0
DEFAULT_RASTER_WINDOW = 200.0
MIN_SPIKES_CV = 3
NEST_SIDECAR = "nest_run.json"
_BIN_EPS = 1e-9  # spike times are multiples of the resolution: keep times on a bin edge in the upper bin


# --------------------------------------------------------------------------- numba kernels

def _lazy_njit(fn):
    """``numba.njit(cache=True)`` compiled on first call (keeps ``import parsnn.analysis`` light)."""
    compiled = None

    def wrapper(*args):
        nonlocal compiled
        if compiled is None:
            import numba
            compiled = numba.njit(cache=True, nogil=True)(fn)
        return compiled(*args)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.py_func = fn
    return wrapper


@_lazy_njit
def _accumulate(times, ids, t_lo, t_hi, count, last, isi_mean, isi_m2):
    """Per-neuron spike count and Welford ISI moments for spikes with ``t_lo <= t < t_hi``.

    Returns -1 on success, else the index of the first bad spike: a node id ``>= len(count)``
    (returned as ``k``) or a spike earlier than the neuron's previous one (``len(times) + k``).
    """
    n = count.shape[0]
    for k in range(times.shape[0]):
        t = times[k]
        if t < t_lo or t >= t_hi:
            continue
        i = ids[k]
        if i < 0 or i >= n:
            return k
        c = count[i]
        if c > 0:
            isi = t - last[i]
            if isi < 0.0:
                return times.shape[0] + k
            d = isi - isi_mean[i]
            isi_mean[i] += d / c          # c = number of ISIs including this one
            isi_m2[i] += d * (isi - isi_mean[i])
        count[i] = c + 1
        last[i] = t
    return -1


@_lazy_njit
def _bin_rows(times, ids, lut, t0, width, eps, counts):
    """``counts[lut[id], floor((t - t0) / width)] += 1`` for ids with ``lut >= 0``, bins in range."""
    nb = counts.shape[1]
    n = lut.shape[0]
    for k in range(times.shape[0]):
        i = ids[k]
        if i < 0 or i >= n:
            continue
        r = lut[i]
        if r < 0:
            continue
        x = (times[k] - t0) / width + eps
        if x < 0.0:
            continue
        b = int(x)
        if b < nb:
            counts[r, b] += 1


@_lazy_njit
def _histogram(times, t0, t_hi, width, eps, hist):
    """``hist[floor((t - t0) / width)] += 1`` for ``t < t_hi`` and bins in range."""
    nb = hist.shape[0]
    for k in range(times.shape[0]):
        if times[k] >= t_hi:
            continue
        x = (times[k] - t0) / width + eps
        if x < 0.0:
            continue
        b = int(x)
        if b < nb:
            hist[b] += 1


def _as_index_array(ids):
    """Node ids as a numba-friendly signed integer array (uint64 ids would mix badly with int64)."""
    ids = np.asarray(ids)
    if ids.dtype.kind == "u":
        return ids.astype(np.int64)
    if ids.dtype.kind != "i":
        ids = ids.astype(np.int64)
    return ids


# --------------------------------------------------------------------------- results

@dataclass
class PopulationStats:
    """Statistics of one population in ``[t_start, t_stop)`` (ms)."""
    name: str
    size: int
    t_start: float
    t_stop: float
    n_spikes: int
    rates: np.ndarray            # spikes/s, one per neuron (length size)
    cvs: np.ndarray              # one per neuron with >= MIN_SPIKES_CV spikes
    ccs: np.ndarray              # one per pair of the subsample (NaN pairs removed)
    cc_ids: np.ndarray           # population-local ids of the CC subsample
    rate_t0: float = 0.0         # population-rate time course: left edge of bin 0 (ms)
    rate_bin: float = DEFAULT_RATE_BIN
    pop_rate: np.ndarray = field(default_factory=lambda: np.empty(0))  # spikes/s per neuron, per bin
    raster_times: np.ndarray = field(default_factory=lambda: np.empty(0))
    raster_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    raster_selected: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def values(self, stat: str) -> np.ndarray:
        """Distribution of ``stat`` (one of :data:`STATISTICS`)."""
        if stat == "rate":
            return self.rates
        if stat == "cv":
            return self.cvs
        if stat == "cc":
            return self.ccs
        raise KeyError(f"unknown statistic {stat!r}; use one of {STATISTICS}")

    def summary(self) -> dict:
        def m(x, f):
            return float(f(x)) if x.size else None
        return {
            "size": int(self.size), "n_spikes": int(self.n_spikes),
            "rate_mean": m(self.rates, np.mean), "rate_std": m(self.rates, np.std),
            "rate_median": m(self.rates, np.median),
            "silent_fraction": m(self.rates == 0, np.mean),
            "n_cv": int(self.cvs.size), "cv_mean": m(self.cvs, np.mean), "cv_median": m(self.cvs, np.median),
            "n_cc": int(self.ccs.size), "cc_mean": m(self.ccs, np.mean), "cc_std": m(self.ccs, np.std),
            "n_cc_neurons": int(self.cc_ids.size),
        }


@dataclass
class RunStats:
    """Statistics of every population of one run (see :func:`analyze`)."""
    label: str
    source: str
    kind: str                     # "parsnn" or "nest"
    params: dict                  # analysis parameters (t_start, t_stop, cc_bin, ...)
    meta: dict                    # run metadata (seed, t_sim, model, ...)
    populations: dict             # name -> PopulationStats

    def summary(self) -> dict:
        return {"label": self.label, "source": self.source, "kind": self.kind, "params": self.params,
                "meta": _jsonable(self.meta),
                "populations": {p: s.summary() for p, s in self.populations.items()}}

    def save_npz(self, path) -> None:
        """Save the distributions and the summary (reload with :meth:`load_npz`)."""
        arrays = {}
        for p, s in self.populations.items():
            for name in ("rates", "cvs", "ccs", "cc_ids", "pop_rate", "raster_times", "raster_ids",
                         "raster_selected"):
                arrays[f"{p}/{name}"] = getattr(s, name)
        head = {"label": self.label, "source": self.source, "kind": self.kind, "params": self.params,
                "meta": _jsonable(self.meta),
                "populations": {p: {"size": s.size, "t_start": s.t_start, "t_stop": s.t_stop,
                                    "n_spikes": s.n_spikes, "rate_t0": s.rate_t0, "rate_bin": s.rate_bin}
                                for p, s in self.populations.items()}}
        np.savez_compressed(path, __header__=np.array(json.dumps(head)), **arrays)

    @classmethod
    def load_npz(cls, path) -> "RunStats":
        with np.load(path, allow_pickle=False) as z:
            head = json.loads(str(z["__header__"]))
            pops = {}
            for p, h in head["populations"].items():
                pops[p] = PopulationStats(name=p, **h, **{k: z[f"{p}/{k}"] for k in (
                    "rates", "cvs", "ccs", "cc_ids", "pop_rate", "raster_times", "raster_ids",
                    "raster_selected")})
        return cls(label=head["label"], source=head["source"], kind=head["kind"], params=head["params"],
                   meta=head["meta"], populations=pops)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- accumulation

class _PopAccumulator:
    """Streaming statistics of one population; feed time-sorted chunks with :meth:`add`."""

    def __init__(self, name, size, t_start, t_stop, cc_ids, cc_bin, rate_t0, rate_bin,
                 raster_ids=None, raster_window=None):
        self.name, self.size = name, int(size)
        self.t_start, self.t_stop = float(t_start), float(t_stop)
        self.count = np.zeros(self.size, np.int64)
        self.last = np.zeros(self.size, np.float64)
        self.isi_mean = np.zeros(self.size, np.float64)
        self.isi_m2 = np.zeros(self.size, np.float64)
        self.cc_ids = np.asarray(cc_ids, np.int64)
        self.cc_bin = float(cc_bin)
        nb = int(math.floor((self.t_stop - self.t_start) / self.cc_bin + _BIN_EPS)) if self.cc_bin > 0 else 0
        self.cc_counts = np.zeros((self.cc_ids.size, max(nb, 0)), np.int32)
        self.cc_lut = np.full(self.size, -1, np.int64)
        self.cc_lut[self.cc_ids] = np.arange(self.cc_ids.size)
        self.rate_t0, self.rate_bin = float(rate_t0), float(rate_bin)
        nr = int(math.floor((self.t_stop - self.rate_t0) / self.rate_bin + _BIN_EPS))  # full bins only
        self.rate_hist = np.zeros(max(nr, 0), np.int64)
        self.raster_selected = (np.asarray(raster_ids, np.int64) if raster_ids is not None
                                else np.empty(0, np.int64))
        self.raster_lut = np.zeros(self.size, bool)
        self.raster_lut[self.raster_selected] = True
        if raster_window is None:
            raster_window = (self.t_start, self.t_start)
        self.raster_window = (float(raster_window[0]), float(raster_window[1]))
        self._raster = []

    def add(self, times, ids) -> None:
        times = np.ascontiguousarray(times, np.float64)
        ids = _as_index_array(ids)
        if times.size == 0:
            return
        bad = _accumulate(times, ids, self.t_start, self.t_stop, self.count, self.last,
                          self.isi_mean, self.isi_m2)
        if bad >= 0:
            if bad < times.size:
                raise ValueError(f"population {self.name!r}: node id {ids[bad]} out of range [0, {self.size})")
            k = bad - times.size
            raise ValueError(f"population {self.name!r}: spikes are not sorted by time (neuron {ids[k]} "
                             f"at t={times[k]} ms after a later spike)")
        if self.cc_counts.size:
            _bin_rows(times, ids, self.cc_lut, self.t_start, self.cc_bin, _BIN_EPS, self.cc_counts)
        if self.rate_hist.size:
            _histogram(times, self.rate_t0, self.t_stop, self.rate_bin, _BIN_EPS, self.rate_hist)
        r0, r1 = self.raster_window
        if self.raster_selected.size and r1 > r0 and times[0] < r1 and times[-1] >= r0:
            m = (times >= r0) & (times < r1)
            if m.any():
                t, i = times[m], ids[m]
                keep = self.raster_lut[i]
                self._raster.append((t[keep], i[keep]))

    def finish(self) -> PopulationStats:
        duration_s = (self.t_stop - self.t_start) * 1e-3
        rates = self.count / duration_s if duration_s > 0 else np.full(self.size, np.nan)
        ok = self.count >= MIN_SPIKES_CV
        n_isi = self.count[ok] - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            cvs = np.sqrt(self.isi_m2[ok] / n_isi) / self.isi_mean[ok]
        cvs = cvs[np.isfinite(cvs)]
        ccs = _corrcoef_pairs(self.cc_counts)
        pop_rate = (self.rate_hist / (self.size * self.rate_bin * 1e-3) if self.size
                    else np.zeros(self.rate_hist.size))
        if self._raster:
            rt = np.concatenate([r[0] for r in self._raster])
            ri = np.concatenate([r[1] for r in self._raster])
        else:
            rt, ri = np.empty(0), np.empty(0, np.int64)
        return PopulationStats(name=self.name, size=self.size, t_start=self.t_start, t_stop=self.t_stop,
                               n_spikes=int(self.count.sum()), rates=rates, cvs=cvs, ccs=ccs,
                               cc_ids=self.cc_ids, rate_t0=self.rate_t0, rate_bin=self.rate_bin,
                               pop_rate=pop_rate, raster_times=rt, raster_ids=ri.astype(np.int64),
                               raster_selected=self.raster_selected)


def _corrcoef_pairs(counts: np.ndarray) -> np.ndarray:
    """Upper-triangle Pearson correlation coefficients of the rows; pairs with a constant row dropped."""
    n, nb = counts.shape
    if n < 2 or nb < 2:
        return np.empty(0)
    x = counts.astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    cov = x @ x.T
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = cov / np.outer(sd, sd)
    iu = np.triu_indices(n, 1)
    v = cc[iu]
    return v[np.isfinite(v)]


def subsample_ids(size: int, n: int = DEFAULT_CC_SUBSAMPLE, seed: int = DEFAULT_SUBSAMPLE_SEED,
                  population: str = "") -> np.ndarray:
    """Sorted random subsample (without replacement) of ``n`` of ``size`` population-local ids.

    Seeded by ``(seed, crc32(population))``, so every run with the same population sizes uses the
    same neurons (as the reference analysis does) and populations draw independently.
    """
    size, n = int(size), int(n)
    if n >= size:
        return np.arange(size, dtype=np.int64)
    if n <= 0:
        return np.empty(0, np.int64)
    rng = np.random.default_rng([int(seed), zlib.crc32(population.encode())])
    return np.sort(rng.choice(size, n, replace=False)).astype(np.int64)


def _raster_selection(sizes: dict, max_neurons: int) -> dict:
    """Evenly spaced ids per population, about ``max_neurons`` in total, at least a few per population."""
    total = sum(sizes.values())
    out = {}
    for p, s in sizes.items():
        if s <= 0 or max_neurons <= 0:
            out[p] = np.empty(0, np.int64)
            continue
        k = min(s, max(int(round(max_neurons * s / max(total, 1))), min(s, max(1, max_neurons // (4 * len(sizes))))))
        out[p] = np.unique(np.linspace(0, s - 1, k).round().astype(np.int64))
    return out


# --------------------------------------------------------------------------- sources

class H5Source:
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

    @property
    def t_sim(self):
        t = self.meta.get("t_sim")
        return float(t) if t is not None else None

    def last_spike_time(self) -> float | None:
        last = [float(g["timestamps"][-1]) for g in self.file["spikes"].values() if g["timestamps"].shape[0]]
        return max(last) if last else None

    def iter_chunks(self, population, t_start=None, t_stop=None, chunk=sonata.DEFAULT_CHUNK):
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
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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


class NestAsciiSource:
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
        if self.pops is None:
            self._load()
        return {p: v[1] for p, v in self.pops.items()}

    @property
    def t_sim(self):
        t = self.meta.get("t_sim")
        return float(t) if t is not None else None

    def last_spike_time(self):
        self._load()
        last = [t[-1] for t, _ in self._data.values() if t.size]
        return float(max(last)) if last else None

    def iter_chunks(self, population, t_start=None, t_stop=None, chunk=sonata.DEFAULT_CHUNK):
        self._load()
        t, i = self._data[population]
        a = 0 if t_start is None else int(np.searchsorted(t, t_start, "left"))
        b = t.size if t_stop is None else int(np.searchsorted(t, t_stop, "left"))
        for k in range(a, b, chunk):
            e = min(k + chunk, b)
            yield t[k:e], i[k:e]

    def short_meta(self) -> dict:
        keep = ("model", "seed", "t_sim", "resolution", "threads", "nest_version", "n_scaling", "k_scaling",
                "bg", "complete")
        return {k: self.meta[k] for k in keep if k in self.meta}

    def close(self):
        self._data = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_source(path, allow_incomplete: bool = False):
    """:class:`NestAsciiSource` for a directory, :class:`H5Source` for a file."""
    if os.path.isdir(path):
        return NestAsciiSource(path, allow_incomplete=allow_incomplete)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    return H5Source(path, allow_incomplete=allow_incomplete)


# --------------------------------------------------------------------------- analysis

def analyze(source, t_start: float = DEFAULT_T_START, t_stop: float | None = None,
            cc_subsample: int = DEFAULT_CC_SUBSAMPLE, cc_bin: float = DEFAULT_CC_BIN,
            subsample_seed: int = DEFAULT_SUBSAMPLE_SEED, rate_bin: float = DEFAULT_RATE_BIN,
            raster_window: float = DEFAULT_RASTER_WINDOW, raster_neurons: int = 1000,
            populations=None, chunk: int = sonata.DEFAULT_CHUNK, allow_incomplete: bool = False,
            label: str | None = None) -> RunStats:
    """Statistics of every population of ``source`` in ``[t_start, t_stop)`` (ms).

    ``source``: a run-file path, a NEST ASCII directory, or an open :class:`H5Source` /
    :class:`NestAsciiSource`.  ``t_stop`` defaults to the run's ``t_sim`` (else the last spike).
    The population-rate time course covers ``[0, t_stop)`` in ``rate_bin`` ms bins (warm-up
    included); the raster keeps ``[t_start, t_start + raster_window)`` of about
    ``raster_neurons`` evenly spaced neurons.
    """
    if isinstance(source, (H5Source, NestAsciiSource)):
        return _analyze(source, t_start, t_stop, cc_subsample, cc_bin, subsample_seed, rate_bin,
                        raster_window, raster_neurons, populations, chunk, label)
    with open_source(os.fspath(source), allow_incomplete=allow_incomplete) as src:
        return _analyze(src, t_start, t_stop, cc_subsample, cc_bin, subsample_seed, rate_bin,
                        raster_window, raster_neurons, populations, chunk, label)


def _analyze(src, t_start, t_stop, cc_subsample, cc_bin, subsample_seed, rate_bin, raster_window,
             raster_neurons, populations, chunk, label) -> RunStats:
    if cc_bin <= 0 or rate_bin <= 0:
        raise ValueError(f"bin sizes must be > 0 ms (cc_bin={cc_bin}, rate_bin={rate_bin})")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    t_start = float(t_start)
    if t_stop is None:
        t_stop = src.t_sim
        if t_stop is None:
            last = src.last_spike_time()
            t_stop = float(np.nextafter(last, np.inf)) if last is not None else t_start
            warnings.warn(f"{src.path}: no t_sim recorded; the analysis window ends at the last spike "
                          f"({t_stop:g} ms)", UserWarning, stacklevel=3)
    t_stop = float(t_stop)
    if src.t_sim is not None and t_stop > src.t_sim + 1e-9:
        warnings.warn(f"{src.path}: t_stop={t_stop:g} ms is after the end of the run (t_sim={src.t_sim:g} ms); "
                      "rates are averaged over time that was not simulated", UserWarning, stacklevel=3)
    if not t_start < t_stop:
        raise ValueError(f"empty analysis window: t_start={t_start:g} ms must be < t_stop={t_stop:g} ms "
                         "(the warm-up may be longer than the run)")
    sizes = src.sizes
    names = list(sizes) if populations is None else ([populations] if isinstance(populations, str)
                                                     else list(populations))
    missing = [p for p in names if p not in sizes]
    if missing:
        raise KeyError(f"population(s) {missing} not in {src.path}; available: {list(sizes)}")
    raster = _raster_selection({p: sizes[p] for p in names}, raster_neurons)
    r_win = (t_start, min(t_start + raster_window, t_stop))
    pops = {}
    for p in names:
        acc = _PopAccumulator(p, sizes[p], t_start, t_stop,
                              subsample_ids(sizes[p], cc_subsample, subsample_seed, p), cc_bin,
                              0.0, rate_bin, raster[p], r_win)
        for t, i in src.iter_chunks(p, 0.0, t_stop, chunk):
            acc.add(t, i)
        pops[p] = acc.finish()
    params = {"t_start": t_start, "t_stop": t_stop, "cc_bin": float(cc_bin), "cc_subsample": int(cc_subsample),
              "subsample_seed": int(subsample_seed), "rate_bin": float(rate_bin), "min_spikes_cv": MIN_SPIKES_CV,
              "raster_window": list(r_win)}
    return RunStats(label=label or src.label, source=os.path.abspath(src.path), kind=src.kind,
                    params=params, meta=src.short_meta(), populations=pops)


def analyze_arrays(times, ids, size: int, t_start: float, t_stop: float, cc_ids=None,
                   cc_bin: float = DEFAULT_CC_BIN, name: str = "pop", chunk: int | None = None) -> PopulationStats:
    """Statistics of one population given in memory (``times`` in ms, population-local ``ids``).

    The spikes need not be sorted.  ``cc_ids``: the neurons for the CCs (default: all).
    """
    times = np.asarray(times, np.float64).reshape(-1)
    ids = _as_index_array(ids).reshape(-1)
    if times.shape != ids.shape:
        raise ValueError(f"{times.size} times but {ids.size} ids")
    o = np.lexsort((ids, times))
    times, ids = times[o], ids[o]
    if cc_ids is None:
        cc_ids = np.arange(size)
    acc = _PopAccumulator(name, size, t_start, t_stop, np.asarray(cc_ids, np.int64), cc_bin,
                          t_start, max(t_stop - t_start, 1e-9), None, None)
    step = times.size if not chunk else int(chunk)
    for a in range(0, times.size, max(step, 1)):
        acc.add(times[a:a + step], ids[a:a + step])
    return acc.finish()


def firing_rates(times, ids, size, t_start, t_stop) -> np.ndarray:
    """Firing rate (spikes/s) of each of ``size`` neurons in ``[t_start, t_stop)`` (ms)."""
    return analyze_arrays(times, ids, size, t_start, t_stop, cc_ids=[]).rates


def isi_cvs(times, ids, size, t_start, t_stop) -> np.ndarray:
    """ISI CV of each neuron with at least 3 spikes in ``[t_start, t_stop)``, in id order."""
    return analyze_arrays(times, ids, size, t_start, t_stop, cc_ids=[]).cvs


def spike_count_correlations(times, ids, neuron_ids, t_start, t_stop, bin_size=DEFAULT_CC_BIN,
                             size=None) -> np.ndarray:
    """Spike-count CCs (``bin_size`` ms bins) of all pairs of ``neuron_ids`` (NaN pairs removed)."""
    neuron_ids = np.unique(np.asarray(neuron_ids, np.int64))
    ids = _as_index_array(ids)
    if size is None:
        size = int(max(ids.max(initial=-1), neuron_ids.max(initial=-1))) + 1
    return analyze_arrays(times, ids, size, t_start, t_stop, cc_ids=neuron_ids, cc_bin=bin_size).ccs


def ks_distance(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov distance (``scipy.stats.ks_2samp`` statistic); NaN if a side is empty."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    from scipy.stats import ks_2samp
    return float(ks_2samp(a, b).statistic)


def compare(a: RunStats, b: RunStats, statistics=STATISTICS) -> dict:
    """``{pop: {stat: KS distance}}`` for the populations both runs have (in ``a``'s order)."""
    common = [p for p in a.populations if p in b.populations]
    if not common:
        raise ValueError(f"no common populations: {list(a.populations)} vs {list(b.populations)}")
    return {p: {s: ks_distance(a.populations[p].values(s), b.populations[p].values(s)) for s in statistics}
            for p in common}


# --------------------------------------------------------------------------- text output

def _fmt(x, spec):
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def format_summary(stats: RunStats) -> str:
    p0 = stats.params
    w = max([len("population")] + [len(p) for p in stats.populations])
    head = (f"{'population':<{w}} {'size':>7} {'spikes':>9} {'rate':>7} {'sd':>6} {'silent':>6} "
            f"{'n_cv':>6} {'CV':>6} {'n_cc':>5} {'CC mean':>8} {'CC sd':>7}")
    lines = [f"{stats.label} [{stats.kind}]: [{p0['t_start']:g}, {p0['t_stop']:g}) ms, "
             f"CC: {p0['cc_subsample']} neurons, {p0['cc_bin']:g} ms bins", head, "-" * len(head)]
    for p, s in stats.populations.items():
        d = s.summary()
        lines.append(f"{p:<{w}} {d['size']:>7d} {d['n_spikes']:>9d} {_fmt(d['rate_mean'], '7.3f')} "
                     f"{_fmt(d['rate_std'], '6.2f')} {_fmt(d['silent_fraction'], '6.3f')} {d['n_cv']:>6d} "
                     f"{_fmt(d['cv_mean'], '6.3f')} {d['n_cc']:>5d} {_fmt(d['cc_mean'], '8.4f')} "
                     f"{_fmt(d['cc_std'], '7.4f')}")
    return "\n".join(lines)


def format_ks_table(ks: dict, title: str = "KS distances") -> str:
    w = max([len("population")] + [len(p) for p in ks])
    stats = list(next(iter(ks.values())))
    lines = [title, f"{'population':<{w}} " + " ".join(f"{s:>7}" for s in stats)]
    lines.append("-" * len(lines[-1]))
    for p, d in ks.items():
        lines.append(f"{p:<{w}} " + " ".join(_fmt(d[s], "7.3f") for s in stats))
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures

COLOR_E = "#1f5fa8"
COLOR_I = "#c8372d"
COLORS_RUNS = ("#1f5fa8", "#e08214", "#2ca02c", "#8c564b")


def pop_color(name: str) -> str:
    return COLOR_E if name.endswith("E") else COLOR_I if name.endswith("I") else "#555555"


def _plt():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt
    return plt


def plot_raster(stats: RunStats, out: str) -> None:
    """Raster of the recorded window (populations stacked top-down, E blue, I red)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    row0, centers, names = 0, [], []
    for p, s in stats.populations.items():
        sel = s.raster_selected
        n = sel.size
        if n and s.raster_times.size:
            lut = np.full(s.size, -1, np.int64)
            lut[sel] = np.arange(n)
            ax.scatter(s.raster_times, row0 + lut[s.raster_ids], s=1.5, marker="s", linewidths=0,
                       color=pop_color(p), rasterized=True)
        centers.append(row0 + (n - 1) / 2 if n else row0)
        names.append(p)
        row0 += n
        ax.axhline(row0 - 0.5, color="0.85", lw=0.6, zorder=0)
    r0, r1 = stats.params["raster_window"]
    ax.set_xlim(r0, r1)
    ax.set_ylim(max(row0, 1) - 0.5, -0.5)
    ax.set_yticks(centers)
    ax.set_yticklabels(names)
    for lbl, p in zip(ax.get_yticklabels(), names):
        lbl.set_color(pop_color(p))
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{stats.label}: raster, {row0} of {sum(s.size for s in stats.populations.values())} neurons",
                 fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def plot_rate_boxplots(runs: list, out: str) -> None:
    """Box plots of single-neuron rates per population, one box per run side by side."""
    plt = _plt()
    names = list(runs[0].populations)
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    k = len(runs)
    width = 0.8 / k
    for j, r in enumerate(runs):
        data = [r.populations[p].rates if p in r.populations else np.empty(0) for p in names]
        pos = np.arange(len(names)) + (j - (k - 1) / 2) * width
        bp = ax.boxplot(data, positions=pos, widths=width * 0.85, patch_artist=True, showfliers=False,
                        medianprops={"color": "k"})
        for box, p in zip(bp["boxes"], names):
            box.set_facecolor(pop_color(p) if k == 1 else COLORS_RUNS[j % len(COLORS_RUNS)])
            box.set_alpha(0.75)
        ax.plot(pos, [np.mean(d) if d.size else np.nan for d in data], "D", color="w", mec="k", ms=4,
                label=r.label if k > 1 else None)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("firing rate (spikes/s)")
    ax.set_title(f"single-neuron rates, [{runs[0].params['t_start']:g}, {runs[0].params['t_stop']:g}) ms "
                 "(box: quartiles, whiskers 1.5 IQR, diamond: mean)", fontsize=9)
    if k > 1:
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color=COLORS_RUNS[j % len(COLORS_RUNS)], label=r.label)
                           for j, r in enumerate(runs)], fontsize=8)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def plot_distributions(runs: list, out: str, ks: dict | None = None) -> None:
    """Histograms of rates, CVs and CCs: rows = statistic, columns = population; runs overlaid."""
    plt = _plt()
    names = list(runs[0].populations)
    fig, axes = plt.subplots(3, len(names), figsize=(2.0 * len(names) + 1, 6.5), constrained_layout=True,
                             squeeze=False)
    for row, stat in enumerate(STATISTICS):
        for col, p in enumerate(names):
            ax = axes[row, col]
            vals = [r.populations[p].values(stat) for r in runs if p in r.populations]
            allv = np.concatenate([v for v in vals if v.size]) if any(v.size for v in vals) else np.empty(0)
            if allv.size:
                lo, hi = np.percentile(allv, [0.5, 99.5]) if stat == "cc" else (allv.min(), allv.max())
                if hi <= lo:
                    hi = lo + 1e-3
                bins = np.linspace(lo, hi, 31)
                for j, v in enumerate(vals):
                    if v.size:
                        ax.hist(np.clip(v, lo, hi), bins=bins, density=True, histtype="step", lw=1.2,
                                color=COLORS_RUNS[j % len(COLORS_RUNS)] if len(runs) > 1 else pop_color(p),
                                label=runs[j].label)
            if ks is not None and p in ks:
                ax.text(0.97, 0.95, f"KS {_fmt(ks[p][stat], '.3f')}", transform=ax.transAxes, ha="right",
                        va="top", fontsize=7)
            if row == 0:
                ax.set_title(p, color=pop_color(p), fontsize=10)
            if col == 0:
                ax.set_ylabel(f"{STAT_LABELS[stat]}\n(density)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=6, loc="upper right" if ks is None else "center right")
    fig.suptitle("distributions: rate (top), ISI CV (middle), spike-count CC (bottom)", fontsize=10)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def plot_population_rate(runs: list, out: str) -> None:
    """Population rate (spikes/s per neuron) over time, one panel per population; warm-up shaded."""
    plt = _plt()
    names = list(runs[0].populations)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.1 * len(names) + 1), sharex=True,
                             constrained_layout=True, squeeze=False)
    for ax, p in zip(axes[:, 0], names):
        for j, r in enumerate(runs):
            s = r.populations.get(p)
            if s is None or not s.pop_rate.size:
                continue
            t = s.rate_t0 + (np.arange(s.pop_rate.size) + 0.5) * s.rate_bin
            ax.plot(t, s.pop_rate, lw=0.7, color=COLORS_RUNS[j % len(COLORS_RUNS)] if len(runs) > 1
                    else pop_color(p), label=r.label)
        ax.axvspan(0, runs[0].params["t_start"], color="0.92", zorder=0)
        ax.set_ylabel(p, color=pop_color(p), rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1, 0].set_xlabel("time (ms)")
    s0 = runs[0].populations[names[0]]
    axes[0, 0].set_title(f"population rate (spikes/s per neuron, {s0.rate_bin:g} ms bins; warm-up shaded)",
                         fontsize=10)
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.savefig(out, dpi=130)
    plt.close(fig)


def plot_ks(ks: dict, out: str, title: str = "KS distances") -> None:
    """Grouped bars: KS distance per population, one bar per statistic."""
    plt = _plt()
    names = list(ks)
    fig, ax = plt.subplots(figsize=(8, 3.8), constrained_layout=True)
    for j, stat in enumerate(STATISTICS):
        v = [ks[p].get(stat, np.nan) for p in names]
        ax.bar(np.arange(len(names)) + (j - 1) * 0.27, np.nan_to_num(v), width=0.25, label=stat,
               color=COLORS_RUNS[j])
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("KS distance")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def write_report(stats: RunStats, out_dir: str, other: RunStats | None = None, figures: bool = True) -> dict:
    """Write ``summary.json``, ``stats.npz`` and the figures (and ``comparison.json`` with ``other``).

    Returns ``{"summary": ..., "comparison": ... or None, "files": [paths]}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    files = []
    ks = compare(stats, other) if other is not None else None
    result = {"summary": stats.summary(), "comparison": None}
    if other is not None:
        result["comparison"] = {"a": stats.label, "b": other.label, "a_source": stats.source,
                                "b_source": other.source, "statistic": "two-sample KS distance (ks_2samp)",
                                "b_summary": other.summary(), "ks": ks}
        path = os.path.join(out_dir, "comparison.json")
        with open(path, "w") as f:
            json.dump(_jsonable(result["comparison"]), f, indent=1)
        files.append(path)
    path = os.path.join(out_dir, "summary.json")
    with open(path, "w") as f:
        json.dump(_jsonable(result["summary"]), f, indent=1)
    files.append(path)
    path = os.path.join(out_dir, "stats.npz")
    stats.save_npz(path)
    files.append(path)
    if figures:
        runs = [stats] + ([other] if other is not None else [])
        for name, fn in (("raster.png", lambda o: plot_raster(stats, o)),
                         ("rates_boxplot.png", lambda o: plot_rate_boxplots(runs, o)),
                         ("distributions.png", lambda o: plot_distributions(runs, o, ks)),
                         ("population_rate.png", lambda o: plot_population_rate(runs, o))):
            path = os.path.join(out_dir, name)
            fn(path)
            files.append(path)
        if other is not None:
            path = os.path.join(out_dir, "raster_other.png")
            plot_raster(other, path)
            files.append(path)
            path = os.path.join(out_dir, "ks_distances.png")
            plot_ks(ks, path, f"KS distances: {stats.label} vs {other.label}")
            files.append(path)
    result["files"] = files
    return result


# --------------------------------------------------------------------------- command line

def add_cli_arguments(ap) -> None:
    """Arguments of ``parsnn analyze`` (also used by ``analysis/analyze.py``)."""
    ap.add_argument("run", help="parsnn run file (HDF5) or NEST ASCII spike-recorder directory")
    ap.add_argument("--compare", metavar="OTHER", help="second run (HDF5 file or NEST directory): KS distances")
    ap.add_argument("--out-dir", help="output directory (default: <run>_analysis next to the run)")
    ap.add_argument("--t-start", type=float, default=DEFAULT_T_START,
                    help=f"end of the warm-up in ms (default {DEFAULT_T_START:g})")
    ap.add_argument("--t-stop", type=float, default=None, help="end of the analysis window in ms (default t_sim)")
    ap.add_argument("--cc-subsample", type=int, default=DEFAULT_CC_SUBSAMPLE,
                    help=f"neurons per population for the CCs (default {DEFAULT_CC_SUBSAMPLE})")
    ap.add_argument("--cc-bin", type=float, default=DEFAULT_CC_BIN,
                    help=f"spike-count bin for the CCs in ms (default {DEFAULT_CC_BIN:g})")
    ap.add_argument("--subsample-seed", type=int, default=DEFAULT_SUBSAMPLE_SEED,
                    help=f"seed of the CC subsample (default {DEFAULT_SUBSAMPLE_SEED})")
    ap.add_argument("--force", action="store_true", help="read a run not marked complete")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    ap.add_argument("--no-figures", action="store_true", help="write only the JSON and NPZ files")


def run_cli(args) -> int:
    """Run ``parsnn analyze`` with parsed ``args``; returns the exit status."""
    prog = "parsnn analyze"
    if args.cc_subsample < 0 or args.cc_bin <= 0:
        print(f"{prog}: error: --cc-subsample must be >= 0 and --cc-bin > 0", file=sys.stderr)
        return 2
    results = []
    for path in [args.run] + ([args.compare] if args.compare else []):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(analyze(path, t_start=args.t_start, t_stop=args.t_stop,
                                       cc_subsample=args.cc_subsample, cc_bin=args.cc_bin,
                                       subsample_seed=args.subsample_seed, allow_incomplete=args.force))
            for w in caught:
                print(f"{prog}: warning: {w.message}", file=sys.stderr)
        except IncompleteRunError as e:
            print(f"{prog}: error: {e}", file=sys.stderr)
            return 1
        except (OSError, KeyError, ValueError) as e:
            msg = str(e).strip("'\"")
            print(f"{prog}: error: {msg if path in msg else f'{path}: {msg}'}", file=sys.stderr)
            return 1
    stats = results[0]
    other = results[1] if len(results) > 1 else None
    out_dir = args.out_dir or (os.path.splitext(os.path.normpath(args.run))[0] + "_analysis")
    try:
        res = write_report(stats, out_dir, other, figures=not args.no_figures)
    except ValueError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_jsonable({"summary": res["summary"], "comparison": res["comparison"],
                                    "files": res["files"]}), indent=1))
    else:
        print(format_summary(stats))
        if other is not None:
            print()
            print(format_summary(other))
            print()
            print(format_ks_table(res["comparison"]["ks"], f"KS distances, {stats.label} vs {other.label}"))
        print()
        print(f"wrote {len(res['files'])} files to {out_dir}: " + ", ".join(os.path.basename(f) for f in res["files"]))
    return 0


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="parsnn analyze", description=__doc__.split("\n\n")[0])
    add_cli_arguments(ap)
    return run_cli(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
