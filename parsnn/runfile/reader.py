"""The run file reader: :class:`RunFile` gives everything a finished (or interrupted) run wrote,
in the layout of :mod:`parsnn.runfile.schema`, so that no other module reads the HDF5 by hand.

    with RunFile("run.h5") as run:                      # IncompleteRunError unless complete
        conn = run.connectivity()                       # parsnn.connectivity.Connectivity
        rank_of, perf = run.partition_map, run.performance
        spikes = run.spikes(t_start=500.0)              # {population: (times ms, ids)}

What the former hand-written readers need, and where it is here:

- partition metrics (measured remote deliveries): :attr:`RunFile.partition_map`,
  :attr:`RunFile.description` / :meth:`RunFile.connectivity`, :attr:`RunFile.performance`
  (``remote_deliveries`` per rank, ``model_time_ms``), :attr:`RunFile.num_ranks`,
  :attr:`RunFile.partition`, :meth:`RunFile.spikes` (node ids per population);
- the cluster cost model: :attr:`RunFile.description`, :attr:`RunFile.t_sim`,
  :meth:`RunFile.spike_counts` (the engine's counts, every population) or else
  :meth:`RunFile.recorded_spike_counts`, :attr:`RunFile.partition_map`, :attr:`RunFile.num_ranks`;
- scaling sweeps: :attr:`RunFile.complete`, :attr:`RunFile.performance` (numpy arrays),
  :attr:`RunFile.num_ranks`, :attr:`RunFile.model`, :attr:`RunFile.partition`, :attr:`RunFile.t_sim`;
- neuromorphic mapping: :attr:`RunFile.metadata`, :meth:`RunFile.connectivity`,
  :meth:`RunFile.spikes` in a window, :meth:`RunFile.step_counts` (spikes per time step).
"""
from __future__ import annotations

import json

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

from parsnn.runfile import schema, sonata


class RunFile:
    """A run file opened for reading (a context manager).

    ``source``: a path, or an open ``h5py.File`` or RunFile (left open by :meth:`close`).
    ``allow_incomplete``: also open a file whose ``complete`` flag is not set (a crashed, killed
    or running simulation); otherwise such a file raises :class:`parsnn.runfile.sonata.IncompleteRunError`.
    Data that fail their HDF5 checksum raise :class:`parsnn.runfile.sonata.CorruptRunError` (naming
    the dataset) when read.
    Metadata properties read ``/parsnn`` attributes; the spike methods stream ``/spikes`` (windows
    are half-open, ``[t_start, t_stop)`` in ms, ``None`` = unbounded).
    """

    def __init__(self, source, allow_incomplete: bool = False):
        if isinstance(source, RunFile):
            source = source.h5
        if isinstance(source, h5py.File):
            self.h5, self._owned = source, False
        else:
            self.h5, self._owned = sonata.open_run(source, allow_incomplete=allow_incomplete), True
        self.path = self.h5.filename
        self._metadata = None

    def __enter__(self) -> "RunFile":
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the file (unless it was passed in open)."""
        if self._owned and self.h5 is not None:
            self.h5.close()
        self.h5 = None

    # ------------------------------------------------------------------ metadata
    @property
    def _meta_group(self) -> h5py.Group:
        if schema.META not in self.h5:
            raise KeyError(f"{self.path}: no /{schema.META} metadata group")
        return self.h5[schema.META]

    @property
    def metadata(self) -> dict:
        """All ``/parsnn`` attributes as plain Python values (:func:`parsnn.runfile.sonata.read_metadata`):
        ``parameters`` parsed from JSON, ``performance`` and ``populations`` (recorded sizes) included."""
        if self._metadata is None:
            self._metadata = sonata.read_metadata(self.h5)
        return self._metadata

    def _attr(self, name: str, default=None):
        return self.metadata.get(name, default)

    @property
    def complete(self) -> bool:
        """True if the run finished and the file was closed cleanly."""
        return schema.META in self.h5 and bool(self.h5[schema.META].attrs.get(schema.COMPLETE, False))

    @property
    def schema_version(self) -> int:
        """Version of the file's layout (files without the attribute are version 1)."""
        return int(self._attr(schema.SCHEMA_VERSION_ATTR, schema.UNVERSIONED))

    @property
    def description(self) -> dict:
        """The network description (``Network.describe()``) stored as JSON in ``parameters``."""
        d = self._attr(schema.PARAMETERS)
        if not isinstance(d, dict):
            raise KeyError(f"{self.path}: no network description in /{schema.META} attribute '{schema.PARAMETERS}'")
        return d

    def connectivity(self):
        """The run's :class:`parsnn.connectivity.Connectivity`, made from :attr:`description`."""
        from parsnn.connectivity import Connectivity
        return Connectivity.from_description(self.description)

    @property
    def run_info(self) -> dict:
        """The run's settings (``run`` JSON: the command line and its options); {} if absent."""
        raw = self._attr(schema.RUN)
        return json.loads(raw) if isinstance(raw, str) else {}

    @property
    def model(self) -> str:
        """Name of the network."""
        return str(self._attr(schema.MODEL, ""))

    @property
    def seed(self) -> int | None:
        """Seed of the run."""
        value = self._attr(schema.SEED)
        return None if value is None else int(value)

    @property
    def realisation(self) -> str:
        """The realisation scheme that built the network ("v1", "v2"; "v1" for files that do not say)."""
        return str(self._attr(schema.REALISATION, schema.UNRECORDED_REALISATION))

    @property
    def prefetch(self) -> dict | None:
        """The static delivery's prefetch distance and how it was chosen ({"distance", "source"};
        None for files that do not say)."""
        d = self._attr(schema.PREFETCH_DISTANCE)
        return None if d is None else {"distance": int(d), "source": str(self._attr(schema.PREFETCH_SOURCE, ""))}

    @property
    def num_ranks(self) -> int:
        """Number of MPI ranks of the run."""
        return int(self._attr(schema.NUM_RANKS))

    @property
    def partition(self) -> str:
        """Name of the partition strategy ('' if absent)."""
        return str(self._attr(schema.PARTITION, ""))

    @property
    def resolution(self) -> float:
        """Time step (ms)."""
        return float(self._attr(schema.RESOLUTION))

    @property
    def t_sim(self) -> float | None:
        """Simulated model time (ms); None for a run that did not finish."""
        value = self._attr(schema.T_SIM)
        return None if value is None else float(value)

    @property
    def partition_map(self) -> np.ndarray:
        """Rank of every node (-1: spike generators), as stored."""
        return np.asarray(sonata.read_dataset(self._meta_group[schema.PARTITION_MAP]))

    @property
    def performance(self) -> dict:
        """``/parsnn/performance`` figures as numpy arrays (per-rank figures have one entry per rank);
        {} if the run did not finish."""
        g = self._meta_group
        if schema.PERFORMANCE not in g:
            return {}
        return {k: np.asarray(v) for k, v in g[schema.PERFORMANCE].attrs.items()}

    @property
    def population_sizes(self) -> dict:
        """{population: size} of the recorded populations, in file order."""
        return sonata.population_sizes(self.h5) if schema.SPIKES in self.h5 else {}

    # ------------------------------------------------------------------ spikes
    def spike_counts(self) -> dict | None:
        """Spikes emitted per population over the whole run, counted by the engine (every
        population, recorded or not; spike generators 0): {population: count}, in the order of
        the description; None if the file has no such counts (unfinished or older run)."""
        counts = self.performance.get("spike_counts")
        pops = self.description.get("populations", [])
        if counts is None or len(counts) != len(pops):
            return None
        return {p["name"]: int(c) for p, c in zip(pops, counts)}

    def recorded_spike_counts(self, t_start=None, t_stop=None) -> dict:
        """Recorded spikes per population in ``[t_start, t_stop)`` (no spike data read)."""
        return sonata.count_spikes(self.h5, None, t_start, t_stop) if schema.SPIKES in self.h5 else {}

    def spikes(self, population=None, t_start=None, t_stop=None) -> dict:
        """Recorded spikes ``{population: (times ms float64, population-local ids uint64)}`` in
        ``[t_start, t_stop)``; ``population``: None (all), a name or a list of names."""
        return sonata.read_spikes(self.h5, population, t_start, t_stop)

    def iter_spikes(self, population: str, t_start=None, t_stop=None, chunk: int = sonata.DEFAULT_CHUNK):
        """Yield ``(times, ids)`` blocks of at most ``chunk`` spikes of ``population`` in ``[t_start, t_stop)``."""
        return sonata.iter_spikes(self.h5, population, t_start, t_stop, chunk)

    def spike_counts_per_neuron(self, population: str, t_start=None, t_stop=None) -> np.ndarray:
        """Spike count of every neuron of ``population`` in ``[t_start, t_stop)``."""
        return sonata.spike_counts_per_neuron(self.h5, population, t_start, t_stop)

    def step_counts(self, population: str, t_start: float, n_steps: int, h: float | None = None) -> np.ndarray:
        """Spikes of ``population`` in each of the ``n_steps`` steps of length ``h`` (default: the
        resolution) from ``t_start`` on; a spike at t counts in step floor((t - t_start) / h)
        (the last step also takes any rounding overflow)."""
        h = self.resolution if h is None else float(h)
        t, _ = self.spikes(population, t_start, t_start + n_steps * h)[population]
        k = np.minimum(((t - t_start) / h).astype(np.int64), n_steps - 1)
        return np.bincount(k, minlength=n_steps)

    def firing_rates(self, t_start: float = 0.0, t_stop=None) -> dict:
        """Mean rate (Hz) per recorded population in ``[t_start, t_stop)`` (``t_stop`` None: to ``t_sim``)."""
        return sonata.firing_rates(self.h5, t_start, t_stop)

    def weights(self, snapshot: int = -1) -> dict:
        """The recorded weights of the plastic projections (``--record-weights``):
        {"<src>-<tgt>": (source ids, target ids, weights)} at snapshot ``snapshot`` (default the
        last, the end of the run); {} if none were recorded."""
        out = {}
        for key, g in self.h5.get(schema.WEIGHTS, {}).items():
            values = g[schema.WEIGHT_VALUES]
            out[key] = (sonata.read_dataset(g[schema.WEIGHT_SOURCE_IDS]),
                        sonata.read_dataset(g[schema.WEIGHT_TARGET_IDS]),
                        sonata.read_dataset(values, (snapshot,)) if values.shape[0] else np.zeros(values.shape[1]))
        return out

    def weight_times(self) -> dict:
        """{"<src>-<tgt>": model times (ms) of the recorded weight snapshots}."""
        return {key: sonata.read_dataset(g[schema.WEIGHT_TIMES]) for key, g in self.h5.get(schema.WEIGHTS, {}).items()}
