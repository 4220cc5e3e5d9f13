"""Statistics of spike trains: per-neuron rates and ISI CVs, spike-count correlations, KS distances.

The streaming accumulator (:class:`PopulationStats` is its result, :class:`RunStats` one per run)
updates, per time-sorted chunk and with numba kernels compiled on first use, each neuron's spike
count, last spike time and Welford's running mean and sum of squared deviations of the ISIs, the
binned counts of the CC subsample and the population-rate histogram; see :mod:`parsnn.analysis`
for the definitions. :func:`analyze` runs it over every population of a source
(:mod:`parsnn.analysis.readers`); :func:`analyze_arrays` over spikes in memory.
"""
from __future__ import annotations

import json
import math
import os
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from parsnn.analysis.readers import DEFAULT_CHUNK, H5Source, NestAsciiSource, open_source

__all__ = [
    "STATISTICS", "DEFAULT_T_START", "DEFAULT_CC_BIN", "DEFAULT_CC_SUBSAMPLE", "DEFAULT_SUBSAMPLE_SEED",
    "DEFAULT_RATE_BIN", "DEFAULT_RASTER_WINDOW", "MIN_SPIKES_CV",
    "PopulationStats", "RunStats", "analyze", "analyze_arrays", "firing_rates", "isi_cvs",
    "spike_count_correlations", "subsample_ids", "ks_distance", "compare", "jsonable", "format_or_na",
]

STATISTICS = ("rate", "cv", "cc")
DEFAULT_T_START = 500.0
DEFAULT_CC_BIN = 2.0
DEFAULT_CC_SUBSAMPLE = 50
DEFAULT_SUBSAMPLE_SEED = 12345
DEFAULT_RATE_BIN = 5.0
DEFAULT_RASTER_WINDOW = 200.0
MIN_SPIKES_CV = 3
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
def _bin_rows(times, ids, lut, t0, t_hi, width, eps, counts):
    """``counts[row, floor((t - t0) / width)] += 1`` for ``t < t_hi`` and bins in range.

    ``row`` is ``lut[id]`` (ids with ``lut < 0`` or out of range are skipped); an empty ``lut``
    puts every spike in row 0 (the population histogram).
    """
    nb = counts.shape[1]
    n = lut.shape[0]
    for k in range(times.shape[0]):
        if times[k] >= t_hi:
            continue
        r = 0
        if n > 0:
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


_ALL_IN_ROW_0 = np.empty(0, np.int64)  # lut of _bin_rows for the population histogram


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
        """Size, spike count and mean/sd/median of the distributions (None where a distribution is empty)."""
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


#: the arrays of a PopulationStats saved in stats.npz (as ``<population>/<name>``)
_NPZ_ARRAYS = ("rates", "cvs", "ccs", "cc_ids", "pop_rate", "raster_times", "raster_ids", "raster_selected")


@dataclass
class RunStats:
    """Statistics of every population of one run (see :func:`analyze`)."""
    label: str
    source: str
    kind: str                     # "parsnn" or "nest"
    params: dict                  # analysis parameters (t_start, t_stop, cc_bin, ...)
    meta: dict                    # run metadata (seed, t_sim, model, ...)
    populations: dict             # name -> PopulationStats

    def _head(self, populations: dict) -> dict:
        """Label, source, kind, params, meta and ``populations``, ready for JSON."""
        return {"label": self.label, "source": self.source, "kind": self.kind, "params": self.params,
                "meta": jsonable(self.meta), "populations": populations}

    def summary(self) -> dict:
        """Run description and each population's :meth:`PopulationStats.summary` (for summary.json)."""
        return self._head({p: s.summary() for p, s in self.populations.items()})

    def save_npz(self, path) -> None:
        """Save the distributions and the summary (reload with :meth:`load_npz`)."""
        arrays = {}
        for p, s in self.populations.items():
            for name in _NPZ_ARRAYS:
                arrays[f"{p}/{name}"] = getattr(s, name)
        head = self._head({p: {"size": s.size, "t_start": s.t_start, "t_stop": s.t_stop,
                               "n_spikes": s.n_spikes, "rate_t0": s.rate_t0, "rate_bin": s.rate_bin}
                           for p, s in self.populations.items()})
        np.savez_compressed(path, __header__=np.array(json.dumps(head)), **arrays)

    @classmethod
    def load_npz(cls, path) -> "RunStats":
        """The :class:`RunStats` saved by :meth:`save_npz`."""
        with np.load(path, allow_pickle=False) as z:
            head = json.loads(str(z["__header__"]))
            pops = {}
            for p, h in head["populations"].items():
                pops[p] = PopulationStats(name=p, **h, **{k: z[f"{p}/{k}"] for k in _NPZ_ARRAYS})
        return cls(label=head["label"], source=head["source"], kind=head["kind"], params=head["params"],
                   meta=head["meta"], populations=pops)


def jsonable(obj):
    """``obj`` with numpy arrays and scalars as Python lists and numbers, dict keys as text and
    non-finite floats as None, so that :func:`json.dumps` writes it as valid JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
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
        """Add one chunk of spikes (``times`` in ms, sorted; population-local ``ids``)."""
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
            _bin_rows(times, ids, self.cc_lut, self.t_start, self.t_stop, self.cc_bin, _BIN_EPS, self.cc_counts)
        if self.rate_hist.size:
            _bin_rows(times, ids, _ALL_IN_ROW_0, self.rate_t0, self.t_stop, self.rate_bin, _BIN_EPS,
                      self.rate_hist.reshape(1, -1))
        r0, r1 = self.raster_window
        if self.raster_selected.size and r1 > r0 and times[0] < r1 and times[-1] >= r0:
            m = (times >= r0) & (times < r1)
            if m.any():
                t, i = times[m], ids[m]
                keep = self.raster_lut[i]
                self._raster.append((t[keep], i[keep]))

    def finish(self) -> PopulationStats:
        """The statistics of everything added."""
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


# --------------------------------------------------------------------------- analysis

def analyze(source, t_start: float = DEFAULT_T_START, t_stop: float | None = None,
            cc_subsample: int = DEFAULT_CC_SUBSAMPLE, cc_bin: float = DEFAULT_CC_BIN,
            subsample_seed: int = DEFAULT_SUBSAMPLE_SEED, rate_bin: float = DEFAULT_RATE_BIN,
            raster_window: float = DEFAULT_RASTER_WINDOW, raster_neurons: int = 1000,
            populations=None, chunk: int = DEFAULT_CHUNK, allow_incomplete: bool = False,
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
    """:func:`analyze` on an open source."""
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


def format_or_na(x, spec: str) -> str:
    """``format(x, spec)``, or ``"n/a"`` for None and non-finite floats."""
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)
