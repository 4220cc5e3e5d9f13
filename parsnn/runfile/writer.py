"""The run file writer (rank 0 of a simulation): metadata, partition map, SONATA spikes,
V_m reports, performance figures and the ``complete`` flag, in the layout of
:mod:`parsnn.runfile.schema`. Every dataset is chunked with HDF5's Fletcher32 checksum filter,
so that data damaged after writing fail on read (:class:`parsnn.runfile.sonata.CorruptRunError`)."""
from __future__ import annotations

import json

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

import parsnn
from parsnn.runfile import schema, sonata


def json_default(o):
    """``json.dumps`` fallback: numpy arrays as lists, numpy scalars as Python numbers, else str."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


class RunWriter:
    """An open run file being written; create it with :meth:`create`.

    The file says ``complete=False`` until :meth:`finish`; :meth:`close` after an error leaves it so.
    ``flushed_ms``: model time up to which the recorded data are complete, set by the simulation
    before each flush and stored by :meth:`flush` (``/parsnn@t_flushed``)."""

    def __init__(self, h5: h5py.File):
        self.h5 = h5
        self.flushed_ms = None

    @classmethod
    def create(cls, path, *, seed: int, num_ranks: int, partition: str, model: str, resolution: float,
               min_delay_ms: float, description: dict, run_info: dict, partition_map: np.ndarray,
               spike_populations: dict, voltage_reports, realisation: str,
               prefetch: dict | None = None) -> "RunWriter":
        """Create (overwrite) the run file at ``path`` with its metadata.

        ``realisation``: the realisation scheme that built the network ("v1", "v2");
        ``description``: Network.describe(); ``run_info``: the run's settings; ``partition_map``:
        rank of every node; ``spike_populations``: {population: size} of the recorded populations;
        ``voltage_reports``: (population, node ids, sampling interval in steps) of each V_m recorder;
        ``prefetch``: the delivery's prefetch distance and its source ({distance, source}; None: not recorded)."""
        f = h5py.File(path, "w")
        g = f.create_group(schema.META)
        g.attrs[schema.SCHEMA_VERSION_ATTR] = schema.SCHEMA_VERSION
        g.attrs[schema.COMPLETE] = False
        g.attrs[schema.VERSION] = parsnn.__version__
        g.attrs[schema.SEED] = seed
        g.attrs[schema.NUM_RANKS] = num_ranks
        g.attrs[schema.PARTITION] = partition
        g.attrs[schema.MODEL] = model
        g.attrs[schema.RESOLUTION] = resolution
        g.attrs[schema.MIN_DELAY_MS] = min_delay_ms
        g.attrs[schema.REALISATION] = realisation
        if prefetch is not None:
            g.attrs[schema.PREFETCH_DISTANCE] = int(prefetch["distance"])
            g.attrs[schema.PREFETCH_SOURCE] = str(prefetch["source"])
        g.attrs[schema.PARAMETERS] = json.dumps(description, default=json_default)
        g.attrs[schema.RUN] = json.dumps(run_info, default=json_default)
        g.create_dataset(schema.PARTITION_MAP, data=partition_map, compression="gzip", fletcher32=True)
        g[schema.PARTITION_MAP].attrs[schema.STRATEGY] = partition
        sonata.create_spike_datasets(f, spike_populations)
        for population, ids, every in voltage_reports:
            _create_voltage_report(f, population, ids, every * resolution)
        f.flush()
        return cls(f)

    def append_spikes(self, chunk: dict):
        """Append {population: (times ms, population-local ids)}, sorted by time then id."""
        for name, (tt, ids) in chunk.items():
            sonata.append_spikes(self.h5, name, tt, ids)

    def append_voltages(self, per_pop: dict):
        """Append {population: (times ms, node ids, V_m [T, k])} to the V_m reports."""
        f = self.h5
        for name, (tt, ids, block) in per_pop.items():
            ds = f[f"{schema.REPORT}/{name}/{schema.REPORT_DATA}"]
            n0 = ds.shape[0]
            ds.resize(n0 + block.shape[0], axis=0)
            ds[n0:] = block
            tm = f[f"{schema.REPORT}/{name}/{schema.REPORT_MAPPING}/{schema.REPORT_TIME}"]
            every = tm[2]
            tm[1] = (n0 + block.shape[0]) * every + every  # stop (exclusive), SONATA convention

    def append_weights(self, t_ms: float, weights: dict):
        """Append a snapshot at model time ``t_ms`` of {"<src>-<tgt>": (source ids, target ids,
        weights)} (population-local ids, the same synapse order at every snapshot) to /weights."""
        for key, (src, tgt, w) in weights.items():
            g = self.h5.require_group(f"{schema.WEIGHTS}/{key}")
            n = int(np.asarray(w).size)
            if schema.WEIGHT_VALUES not in g:
                checked = {"fletcher32": True} if n else {}
                g.create_dataset(schema.WEIGHT_SOURCE_IDS, data=np.asarray(src, dtype=np.uint64), **checked)
                g.create_dataset(schema.WEIGHT_TARGET_IDS, data=np.asarray(tgt, dtype=np.uint64), **checked)
                g.create_dataset(schema.WEIGHT_VALUES, shape=(0, n), maxshape=(None, n), dtype="f8",
                                 chunks=(1, max(1, min(n, 1 << 18))), fletcher32=True)
                g.create_dataset(schema.WEIGHT_TIMES, shape=(0,), maxshape=(None,), dtype="f8", chunks=(64,),
                                 fletcher32=True)
                g[schema.WEIGHT_TIMES].attrs[schema.UNITS] = "ms"
            values, times = g[schema.WEIGHT_VALUES], g[schema.WEIGHT_TIMES]
            k = values.shape[0]
            values.resize(k + 1, axis=0)
            values[k] = w
            times.resize(k + 1, axis=0)
            times[k] = float(t_ms)

    def flush(self):
        """Flush the file to disk, then store :attr:`flushed_ms` (if set) and flush again.

        ``t_flushed`` is the commit record of the data before it, so it is written only once they
        are on disk: HDF5 writes a flush's metadata in no order that would keep ``t_flushed`` behind
        the datasets' extents, and a writer killed between the two flushes leaves data after
        ``t_flushed`` (uncommitted; :func:`parsnn.runfile.repair.repair` drops them), never data
        missing before it."""
        self.h5.flush()
        if self.flushed_ms is not None:
            self.h5[schema.META].attrs.modify(schema.T_FLUSHED, float(self.flushed_ms))
            self.h5.flush()

    def _write_performance(self, performance: dict):
        """Store the performance figures in ``/parsnn/performance``."""
        g = self.h5[schema.META].require_group(schema.PERFORMANCE)
        for k, v in performance.items():
            g.attrs[k] = np.asarray(v)

    def finish(self, performance: dict, t_sim: float):
        """Write the performance figures and the simulated time, mark the file complete and close it."""
        self._write_performance(performance)
        meta = self.h5[schema.META]
        meta.attrs[schema.T_SIM] = t_sim
        meta.attrs[schema.COMPLETE] = True
        self.close()

    def stop(self, performance: dict):
        """Close the file of a run stopped before its end (by a signal): the performance figures so
        far are stored, ``complete`` stays False and ``t_flushed`` says where the data end."""
        self._write_performance(performance)
        self.flush()
        self.close()

    def close(self):
        """Close the file (without marking it complete unless :meth:`finish` did)."""
        if self.h5 is not None:
            self.h5.close()
            self.h5 = None


def _create_voltage_report(f: h5py.File, population: str, ids, interval_ms: float):
    """Empty, resizable SONATA report /report/<population> of V_m of ``ids`` every ``interval_ms``."""
    r = f.require_group(f"{schema.REPORT}/{population}")
    k = len(ids)
    r.create_dataset(schema.REPORT_DATA, shape=(0, k), maxshape=(None, k), dtype="f8",
                     chunks=(max(1, 65536 // max(1, k)), k), fletcher32=True)
    r[schema.REPORT_DATA].attrs[schema.UNITS] = "mV"
    r[schema.REPORT_DATA].attrs[schema.VARIABLE] = "V_m"
    mp = r.create_group(schema.REPORT_MAPPING)
    mp.create_dataset(schema.NODE_IDS, data=np.asarray(ids, dtype=np.uint64), fletcher32=True)
    mp.create_dataset(schema.REPORT_TIME, data=np.array([interval_ms, interval_ms, interval_ms]), fletcher32=True)
    mp[schema.REPORT_TIME].attrs[schema.UNITS] = "ms"
