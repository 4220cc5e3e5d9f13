"""Recording for the PyNN backend: PyNN's Recorder on parsnn's spike and V_m recorders.

A population with any cell recorded for 'spikes' has all its spikes recorded by the engine (they
are filtered to the recorded cells when read); 'v' is recorded for the chosen cells at the
sampling interval. The engine gathers the recorded data, so every rank holds all of it: get_data()
returns the whole population's data on every rank with ``gather=True`` (PyNN's default), and with
``gather=False`` the data of the cells placed on this rank; write_data() with ``gather=True``
writes one file, on rank 0, as PyNN's other backends do. Reading the data is
collective the first time after each run() (all ranks call get_data, as PyNN scripts do).
"""
from __future__ import annotations

import numpy as np
import quantities as pq
from pyNN import recording

from parsnn.pynn import simulator


class Recorder(recording.Recorder):
    """PyNN's Recorder reading parsnn's recorded spikes and membrane potentials."""
    _simulator = simulator

    def _record(self, variable, new_ids, sampling_interval=None):
        """Declare recording (before the network is built)."""
        if new_ids:
            simulator.state.require_not_built(f"record('{variable.name}')")
        if variable.name not in ("spikes", "v", "V_m"):
            raise NotImplementedError(f"parsnn.pynn: recording '{variable.name}' is not supported "
                                      "(spikes and the membrane potential are)")
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval

    def records(self, name: str) -> bool:
        """Whether any cell is recorded for variable ``name``."""
        return any(v.name == name and ids for v, ids in self.recorded.items())

    def recorded_indices(self, name: str) -> np.ndarray:
        """Population indices of the cells recorded for ``name`` (the membrane potential: 'v' or 'V_m')."""
        names = ("v", "V_m") if name in ("v", "V_m") else (name,)
        ids = sorted(set().union(*[ids for v, ids in self.recorded.items() if v.name in names] or [set()]))
        return np.asarray(self.population.id_to_index(np.asarray(ids, dtype=int)) if ids else [], dtype=np.int64)

    def _data(self, key):
        """This population's engine results for ``key`` ('spikes' or 'v'), or None."""
        return simulator.state.results().get(self.population._engine_name, {}).get(key)

    def _get_spiketimes(self, ids, clear=False):
        """(PyNN ids, times in ms) of the spikes of ``ids`` since the recording (re)started."""
        data = self._data("spikes")
        if data is None or not len(ids):
            return np.zeros(0, dtype=int), np.zeros(0)
        times, index = data
        wanted = np.zeros(self.population.size, dtype=bool)
        wanted[self.population.id_to_index(np.asarray(ids, dtype=int))] = True
        keep = wanted[index] & (times > float(self._recording_start_time.rescale(pq.ms)) + 1e-9)
        return np.asarray(self.population.all_cells[index[keep]], dtype=int), times[keep].astype(float)

    def _get_all_signals(self, variable, ids, clear=False):
        """V_m [samples, cells] of ``ids`` at the sampling interval, from the recording's start (a
        sample at t = 0 holds the initial value, as pyNN.nest's)."""
        data = self._data("v")
        if data is None or not len(ids):
            return np.zeros((0, 0)), None
        times, index, values = data
        col = {int(i): k for k, i in enumerate(index)}
        cols = [col[int(i)] for i in self.population.id_to_index(np.asarray(ids, dtype=int))]
        start = float(self._recording_start_time.rescale(pq.ms))
        sel = times > start + 1e-9
        out = values[sel][:, cols]
        if start == 0.0:
            v0 = self.population._initial_values_of(
                "v" if "v" in self.population.celltype.default_initial_values else "V_m")
            out = np.vstack([v0[np.asarray(cols and [int(index[c]) for c in cols], dtype=np.int64)], out])
        return out, None

    def _local_count(self, variable, filter_ids=None):
        """{id: number of spikes} of the recorded cells."""
        ids = sorted(self.filter_recorded(variable, filter_ids))
        cells, _ = self._get_spiketimes(ids)
        counts = {int(i): 0 for i in ids}
        for cell, n in zip(*np.unique(cells, return_counts=True)):
            counts[int(cell)] = int(n)
        return counts

    def _clear_simulator(self):
        """Nothing to free: data before the recording's new start time is filtered out."""

    def _reset(self):
        """Nothing to do: recording is declared again at the next build."""

    def _engine_local_ids(self):
        """PyNN ids of this population's cells that the engine placed on this rank (spike
        generators, known everywhere, count as rank 0's)."""
        state = simulator.state
        pop = self.population
        if state.sim is None:
            return set() if state.mpi_rank else set(pop.all_cells)
        first = pop._first_gid()
        if pop.celltype.engine_model == "spike_generator":
            return set(pop.all_cells) if state.mpi_rank == 0 else set()
        gids = np.asarray(state.sim.local_gids)
        index = gids[(gids >= first) & (gids < first + pop.size)] - first
        return set(pop.all_cells[index])

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None, locations=None):
        """PyNN's Recorder.get. Every rank already holds all data, so nothing is gathered again; with
        ``gather=False`` under MPI, only the cells the engine placed on this rank (as PyNN's other
        backends return the local cells)."""
        if not gather and simulator.state.num_processes > 1:
            local = self._engine_local_ids()
            filter_ids = local if filter_ids is None else set(filter_ids) & local
        return super().get(variables, False, filter_ids, clear, annotations, locations)
