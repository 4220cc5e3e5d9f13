"""The PyNN backend's simulator state: what the script has declared (populations, projections,
currents, recordings), the parsnn :class:`~parsnn.network.Network` made from it, and the parsnn
:class:`~parsnn.engine.simulation.Simulation` that runs it.

The network is built at the first ``run()`` (each rank builds only its own neurons and the synapses
onto them, as ``parsnn run`` does). The structure and parameters are fixed from then on (but for ``i_offset``, the
current sources, Poisson rates and SpikeSourceArray times: :meth:`State.set_while_built`) until
``reset()``, which discards the simulation and builds it again, from the same seed, at the next
``run()``: the same connections, state back at t = 0.
"""
from __future__ import annotations

import re

import numpy as np
from mpi4py import MPI
from pyNN import common, errors

from parsnn.engine.simulation import Simulation
from parsnn.engine.streams import DEFAULT_REALISATION
from parsnn.network import Network

name = "parsnn"
DEFAULT_SEED = 12345


class ID(int, common.IDMixin):
    """A cell's PyNN id (an int); every cell is known on every rank (parsnn's description is global)."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """The one simulator state of a script (``parsnn.pynn.simulator.state``)."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.comm = MPI.COMM_WORLD
        self.mpi_rank, self.num_processes = self.comm.Get_rank(), self.comm.Get_size()
        self.dt, self.min_delay, self.max_delay = 0.1, "auto", "auto"
        self.seed, self.runfile, self.overwrite, self.partition = DEFAULT_SEED, None, False, "round_robin"
        self.realisation = DEFAULT_REALISATION
        self.segment_counter = -1
        self.clear()

    # ------------------------------------------------------------ declaration
    def clear(self):
        """Forget the whole network (``setup()``)."""
        self.recorders = set()
        self.write_on_end = []
        self.populations, self.projections, self.currents = [], [], []
        self.id_counter = 0
        self.segment_counter = -1
        self.sim = None
        self.reset()

    def reset(self):
        """Back to t = 0: the simulation is rebuilt (same seed, same network) at the next run."""
        if self.sim is not None:
            self.sim.close()
        self.sim = None
        for source in {id(s): s for _, _, s in self.currents}.values():
            source._reset()
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self._results = None
        self.given = {}                  # {engine population: spike trains sent or due} after a set() while built
        if self.segment_counter > 0:
            self.runfile = None          # the run file holds the first segment only

    def require_not_built(self, what: str):
        """NotImplementedError if the network is already built (between run() and reset())."""
        if self.sim is not None:
            raise NotImplementedError(f"parsnn.pynn: {what} after run() is not supported: parsnn fixes the "
                                      "network and its parameters when it builds; call reset() first")

    def register_population(self, pop) -> str:
        """Record a new Population; returns its engine name (its label, made unique and '/'-free)."""
        self.require_not_built("creating a Population")
        base = re.sub(r"[/\s]", "_", pop.label) or "population"
        taken = {p._engine_name for p in self.populations}
        engine_name, k = base, 1
        while engine_name in taken:
            engine_name, k = f"{base}_{k}", k + 1
        self.populations.append(pop)
        return engine_name

    def add_current(self, cells, source):
        """Inject current ``source`` into ``cells``; its ``schedule()`` is [(time ms, amplitude pA)],
        each amplitude in effect from its time (rounded to the time grid) until the next."""
        from parsnn.pynn.populations import parent_indices
        for pop, idx in parent_indices(cells):
            self.currents.append((pop, idx, source))

    def _schedule(self, source) -> list:
        """A source's schedule on the time grid, by time."""
        return sorted(((round(float(t) / self.dt) * self.dt, float(a)) for t, a in source.schedule()),
                      key=lambda x: x[0])

    def current_at(self, pop, t: float) -> np.ndarray:
        """The injected current (pA) of each cell of ``pop`` at time ``t`` (float64 [size])."""
        amps = np.zeros(pop.size)
        for p, idx, source in self.currents:
            if p is pop:
                now = [a for time, a in self._schedule(source) if time <= t + 1e-9]
                if now:
                    np.add.at(amps, idx, now[-1])
        return amps

    def _change_times(self, t0: float, t1: float) -> list:
        """Times in (t0, t1) at which an injected current changes."""
        times = {time for _, _, source in self.currents for time, _ in self._schedule(source)}
        return sorted(t for t in times if t0 + 1e-9 < t < t1 - 1e-9)

    def update_currents(self, pop):
        """Give the engine ``pop``'s total input current now: I_e (i_offset) plus the injected
        currents (between runs)."""
        base = np.asarray(pop._native_values("I_e"), dtype=float)
        total = base + self.current_at(pop, self.t)
        self.sim.set_input_current(pop._engine_name, total if np.ptp(total) else float(total[0]))
        self._set_sinusoids(pop)

    def _set_sinusoids(self, pop):
        """Give the engine the sinusoidal currents (ACSource) injected into ``pop``, if any (or any before)."""
        sources = [{"index": idx, **source.sinusoid()} for p, idx, source in self.currents
                   if p is pop and source.sinusoid() is not None]
        if sources or pop._engine_name in getattr(self.sim, "_ac_sources", {}):
            self.sim.set_ac_currents(pop._engine_name, sources)

    def set_while_built(self, pop, name: str, value, cells=None):
        """Change a parameter between runs: a neuron's I_e (i_offset), a Poisson source's rate or the
        spike_times of a SpikeSourceArray's ``cells`` (indices; default all); other parameters are fixed
        once built (NotImplementedError)."""
        if name == "I_e" and pop.celltype.engine_model not in ("poisson_source", "spike_generator"):
            self.update_currents(pop)
        elif name == "rate" and pop.celltype.engine_model == "poisson_source":
            self.sim.set_source_rate(pop._engine_name, value)
        elif name == "spike_times" and pop.celltype.engine_model == "spike_generator":
            self.set_spike_times(pop, np.arange(pop.size) if cells is None else np.asarray(cells, dtype=np.int64))
        else:
            self.require_not_built(f"{pop.label}.set({name}=...)")

    def set_spike_times(self, pop, cells: np.ndarray):
        """Give the engine the new spike times of a SpikeSourceArray's ``cells`` (collective: every rank
        calls set(), as in any PyNN script; rank 0's values are used everywhere, so the ranks cannot
        disagree). Times must lie after the current time, as NEST requires; the spikes sent so far stay
        recorded."""
        from parsnn.pynn.populations import on_grid
        trains = pop._spike_trains()
        if self.num_processes > 1:
            new = self.comm.bcast([trains[i] for i in cells], root=0)
            for i, t in zip(cells, new):
                trains[i] = t
            pop._use_spike_trains(trains)
        for i in cells:
            if trains[i].size and trains[i][0] <= self.t + 1e-9:
                raise errors.InvalidParameterValueError(
                    f"{pop.label}: spike_times set after run() must lie after the current time {self.t:g} ms "
                    f"(as NEST requires), got {trains[i][0]:g} ms for cell {i}")
        d = self.dt if self.min_delay == "auto" else float(self.min_delay)
        grid = [on_grid(trains[i], self.dt, d) for i in cells]
        name = pop._engine_name
        self.sim.set_spike_times(name, grid, nodes=cells)
        given = self.given.get(name) or [np.asarray(t, dtype=float) for t in self.sim.net.populations[name].spike_times]
        for i, g in zip(cells, grid):
            given[i] = np.concatenate([given[i][given[i] <= self.t + 1e-9], g])
        self.given[name] = given
        self._results = None

    # ------------------------------------------------------------ the network
    def network(self) -> Network:
        """The parsnn Network of everything declared so far."""
        net = Network(resolution=self.dt, name="pynn")
        for pop in self.populations:
            pop._add_to(net)
        for prj in self.projections:
            prj._add_to(net)
        for pop in self.populations:
            amps = self.current_at(pop, 0.0)
            if np.any(amps):
                net.add_dc(pop._engine_name, amps if np.ptp(amps) else float(amps[0]))
        recorded = [p._engine_name for p in self.populations
                    if p.recorder.records("spikes") and p.celltype.engine_model != "spike_generator"]
        if recorded:
            net.record_spikes(recorded)
        for pop in self.populations:
            ids = pop.recorder.recorded_indices("v")
            if ids.size:
                net.record_voltage(pop._engine_name, ids.tolist(), interval=pop.recorder.sampling_interval)
        return net

    def build(self):
        """Make and build the Simulation (collective)."""
        net = self.network()
        self.sim = Simulation(net, seed=self.seed, comm=self.comm, partition=self.partition, out=self.runfile,
                              keep_spikes=True, overwrite=self.overwrite, realisation=self.realisation)
        self.sim.build()
        for pop in {id(p): p for p, _, _ in self.currents}.values():
            self._set_sinusoids(pop)

    # ------------------------------------------------------------ running
    def run(self, simtime: float):
        """Advance by ``simtime`` ms (collective)."""
        self.run_until(self.t + simtime)

    def run_until(self, tstop: float):
        """Advance to ``tstop`` ms, rounded to the time grid (collective); stops where an injected
        current changes to give the engine the new values."""
        steps = int(round((tstop - self.t) / self.dt))
        if steps <= 0:
            self.running = True
            return
        if self.sim is None:
            self.build()
        t_end = self.t + steps * self.dt
        n0 = int(round(self.t / self.dt))
        for tc in self._change_times(self.t, t_end) + [t_end]:
            n = int(round((tc - self.t) / self.dt))
            if n > 0:
                self.sim.run(n * self.dt)
                self.t = self.sim.t_steps * self.dt
            if tc < t_end:
                for pop in {p for p, _, _ in self.currents}:
                    self.update_currents(pop)
        for source in {id(s): s for _, _, s in self.currents}.values():
            source._record_steps(n0, int(round(self.t / self.dt)))
        self.running = True
        self._results = None

    def results(self) -> dict:
        """{engine population: {"spikes": (times, node ids), "v": (times, node ids, V)}} of the current
        segment, on every rank (collective the first time after each run)."""
        if self._results is None:
            out = {}
            if self.sim is not None and self.sim.built:
                for key, value in self.sim.spikes().items():
                    out.setdefault(key, {})["spikes"] = value
                for key, value in self.sim.voltages().items():
                    out.setdefault(key, {})["v"] = value
                for pop in self.populations:       # a SpikeSourceArray's spikes are its given times
                    if pop.celltype.engine_model == "spike_generator" and pop.recorder.records("spikes"):
                        out.setdefault(pop._engine_name, {})["spikes"] = self._given_spikes(pop)
            self._results = out
        return self._results

    def _given_spikes(self, pop):
        """(times, indices) of a spike generator population's spikes up to now, by time then index (the
        times on the grid, as the engine sends them and pyNN.nest records them with spike_precision
        'on_grid')."""
        trains = self.given.get(pop._engine_name) or self.sim.net.populations[pop._engine_name].spike_times
        times = np.concatenate([np.asarray(t, dtype=float) for t in trains]) if trains else np.zeros(0)
        index = np.repeat(np.arange(len(trains)), [len(t) for t in trains])
        keep = times <= self.t + 1e-9
        order = np.lexsort((index[keep], times[keep]))
        return times[keep][order], index[keep][order].astype(np.int64)

    def finish(self):
        """Mark parsnn's run file complete and free the engine's MPI objects (``end()``; collective)."""
        if self.sim is not None:
            if self.sim.out is not None:
                self.sim.finish()
            else:
                self.sim.free()


state = State()
