"""Population, PopulationView and Assembly of the PyNN backend.

Every rank knows every cell (parsnn's description is global, as its Network is), so PyNN sees
all cells as local; the engine still builds on each rank only the neurons placed there. Parameter
values are kept as PyNN's lazy arrays and evaluated once, when the network is built or read, with
random distributions drawn from parsnn's streams (:mod:`parsnn.pynn.random`).
"""
from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from parsnn import _rng as rng_kernels
from parsnn.engine.streams import purpose, scheme_code
from parsnn.network import dist_spec
from parsnn.pynn import simulator
from parsnn.pynn.random import engine_distribution, redirect_larray
from parsnn.pynn.recording import Recorder

SPIKE_SOURCE_MODELS = ("poisson_source", "spike_generator")
#: native parameters that set() may change between run() calls (State.set_while_built says for which models)
SETTABLE_WHILE_BUILT = ("I_e", "rate", "spike_times")


def parent_indices(cells):
    """[(Population, int64 indices)] of a Population, PopulationView, Assembly or list of IDs."""
    if isinstance(cells, Population):
        return [(cells, np.arange(cells.size))]
    if isinstance(cells, PopulationView):
        return [(cells.grandparent, np.asarray(cells.index_in_grandparent(np.arange(cells.size)), dtype=np.int64))]
    if isinstance(cells, common.Assembly):
        return [item for p in cells.populations for item in parent_indices(p)]
    out = {}
    for cell in cells:
        out.setdefault(cell.parent, []).append(cell.parent.id_to_index(cell))
    return [(p, np.asarray(idx, dtype=np.int64)) for p, idx in out.items()]


def _evaluate(larr, size: int, what: tuple):
    """A lazy parameter array evaluated for ``size`` cells (random values from the stream ``what``)."""
    return redirect_larray(_copy_larray(larr, size), simulator.state.seed, what).evaluate(simplify=True)


def _copy_larray(larr, size: int):
    """A shallow copy of ``larr`` with shape (size,) (its operations kept)."""
    from copy import copy
    c = copy(larr)
    c.operations = list(larr.operations)
    c.shape = (size,)
    return c


class Assembly(common.Assembly):
    """A group of populations (PyNN's Assembly)."""
    _simulator = simulator


class PopulationView(common.PopulationView):
    """A subset of a Population's cells (PyNN's PopulationView)."""
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        """A ParameterSpace of the view's values (PyNN names and units): the parent's, sliced."""
        ps = self.parent._get_parameters(*names)
        ps.evaluate(simplify=False)
        return ParameterSpace({k: simplify(v[self.mask]) if isinstance(v, np.ndarray) else v
                               for k, v in ps.items()}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        """Set native parameters of the view's cells in the parent."""
        self.parent._set_native_subset(parameter_space, self.mask)

    @property
    def initial_values(self):
        """A scratch dict for PyNN's initialize(); the values are stored in the parent population."""
        return {}

    def _set_initial_value_array(self, variable, initial_values):
        """Initial values of the view's cells, stored in the parent."""
        self.parent._set_initial_subset(variable, initial_values, self.mask)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


def on_grid(times, h: float, min_delay: float) -> np.ndarray:
    """Spike times (ms) moved to the time grid exactly as pyNN.nest does with iaf_psc_exp (its
    ``spike_precision="on_grid"``, the mode parsnn has; measured with NEST 3.10): pyNN.nest's
    SpikeSourceArray is a spike_generator (precise_times) at t - min_delay feeding a parrot_neuron with
    delay min_delay; NEST stamps a time with the end of the step that contains it (``Time::ms_stamp``:
    the time in tics of 0.001 ms, truncated, then the first step at or after it) and a grid-based
    neuron ignores the offset. So an off-grid time is rounded *up* (1.03 ms -> 1.1 ms at dt 0.1); times
    in the same step are all kept (each is delivered, as in NEST)."""
    t = np.asarray(times, dtype=float) - min_delay
    tics_per_step = max(1, int(round(h * 1000.0)))
    steps = np.floor_divide(np.trunc(t * 1000.0).astype(np.int64), tics_per_step)
    steps += steps * (tics_per_step / 1000.0) < t
    return (steps + int(round(min_delay / h))) * tics_per_step / 1000.0       # NEST's Time::get_ms


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        """Ids of the cells (all known on every rank) and the lazily evaluated parameters."""
        state = simulator.state
        self._engine_name = state.register_population(self)
        first = state.id_counter
        self.all_cells = np.array([simulator.ID(i) for i in range(first, first + self.size)], dtype=simulator.ID)
        for cell in self.all_cells:
            cell.parent = self
        self._mask_local = np.ones(self.size, dtype=bool)
        state.id_counter += self.size
        if isinstance(self.celltype, StandardCellType):
            ps = self.celltype.native_parameters
        else:
            ps = self.celltype.parameter_space
        ps.shape = (self.size,)
        self._parameters = dict(ps.items())
        self._values = {}
        self._initial_larrays = {}
        if getattr(self.celltype, "engine_model", "") == "spike_generator":
            self._check_spike_times()

    def _spike_trains(self) -> list:
        """A SpikeSourceArray's spike times as given (ms), one float64 array per cell."""
        times = self._native_values("spike_times")
        seqs = times if isinstance(times, np.ndarray) and times.dtype == object else [times] * self.size
        return [np.asarray(getattr(seq, "value", seq), dtype=float).reshape(-1) for seq in seqs]

    def _use_spike_trains(self, trains: list):
        """Make ``trains`` (one array per cell) the SpikeSourceArray's spike_times."""
        full = np.empty(self.size, dtype=object)
        full[:] = [Sequence(t) for t in trains]
        self._values["spike_times"] = full
        self._parameters["spike_times"] = type(self._parameters["spike_times"])(full, shape=(self.size,),
                                                                                dtype=object)

    def _check_spike_times(self):
        """A SpikeSourceArray's times must be sorted and > 0 (PyNN's InvalidParameterValueError)."""
        for t in self._spike_trains():
            if t.size > 1 and np.any(np.diff(t) < 0):
                raise errors.InvalidParameterValueError(f"SpikeSourceArray spike times must be sorted, got {t}")
            if t.size and t[0] <= 0:
                raise errors.InvalidParameterValueError(
                    f"SpikeSourceArray spike_times must be > 0 ms (a spike is sent at the end of a time step; "
                    f"NEST's spike_generator refuses 0 too), got {t[0]!r} ms")

    # -- parameters ---------------------------------------------------------
    def _native_values(self, name):
        """The evaluated native parameter ``name`` (array or scalar), cached until the next set()."""
        if name not in self._values:
            self._values[name] = _evaluate(self._parameters[name], self.size, ("param", self._engine_name, name))
        return self._values[name]

    def _get_native_parameters(self, *names):
        """A ParameterSpace of native (engine) parameter values."""
        return ParameterSpace({n: self._native_values(n) for n in names}, shape=(self.size,))

    def _get_parameters(self, *names):
        """A ParameterSpace in PyNN's names and units."""
        if isinstance(self.celltype, StandardCellType):
            if any(n in self.celltype.computed_parameters() for n in names):
                native_names = self.celltype.get_native_names()
            else:
                native_names = self.celltype.get_native_names(*names)
            return self.celltype.reverse_translate(self._get_native_parameters(*native_names))
        return self._get_native_parameters(*names)

    def _set_parameters(self, parameter_space):
        """Replace native parameters (between runs only I_e, a Poisson source's rate and a
        SpikeSourceArray's spike_times); invalid values leave the old ones in place."""
        state = simulator.state
        parameter_space.shape = (self.size,)
        names = list(parameter_space.keys())
        if state.sim is not None:
            for name in names:
                if name not in SETTABLE_WHILE_BUILT:
                    state.require_not_built(f"{self.label}.set({name}=...)")
        for name, value in parameter_space.items():
            self._replace(name, value)

    def _replace(self, name: str, larr, values=None, cells=None):
        """Make the lazy array ``larr`` (evaluated: ``values``, if known) native parameter ``name`` and,
        once built, give the engine its values for ``cells`` (default all); invalid values (an error
        here or in the engine) leave the old ones in place."""
        state = simulator.state
        old = self._parameters[name], self._values.get(name)
        self._parameters[name] = larr
        self._values.pop(name, None)
        if values is not None:
            self._values[name] = values
        try:
            if name == "spike_times":
                self._check_spike_times()
            if state.sim is not None:
                state.set_while_built(self, name, self._native_values(name), cells)
        except Exception:
            self._parameters[name] = old[0]
            self._values.pop(name, None)
            if old[1] is not None:
                self._values[name] = old[1]
            raise

    def _set_native_subset(self, parameter_space, mask):
        """Set native parameters of the cells ``mask`` (a PopulationView's set())."""
        state = simulator.state
        if state.sim is not None and any(n not in SETTABLE_WHILE_BUILT for n in parameter_space.keys()):
            state.require_not_built(f"{self.label}.set() through a view")
        size = int(np.arange(self.size)[mask].size)
        parameter_space.shape = (size,)
        for name, value in parameter_space.items():
            current = self._native_values(name)
            new = _evaluate(value, size, ("param-view", self._engine_name, name))
            if isinstance(current, np.ndarray) and current.dtype == object or isinstance(new, Sequence):
                full = np.empty(self.size, dtype=object)
                full[:] = list(current) if isinstance(current, np.ndarray) else [current] * self.size
                if isinstance(new, Sequence):          # one Sequence for every cell of the view
                    holder = np.empty(1, dtype=object)
                    holder[0] = new
                    new = holder
            else:
                full = np.array(np.broadcast_to(current, (self.size,)), dtype=float)
            full[mask] = new
            self._replace(name, type(value)(full, shape=(self.size,), dtype=full.dtype), full,
                          cells=np.arange(self.size)[mask])

    def _set_initial_value_array(self, variable, initial_values):
        """Initial value of ``variable`` for all cells (before the network is built)."""
        simulator.state.require_not_built(f"{self.label}.initialize()")
        self._initial_larrays[variable] = ("all", initial_values)

    def _set_initial_subset(self, variable, initial_values, mask):
        """Initial value of ``variable`` for the cells ``mask``."""
        simulator.state.require_not_built(f"{self.label}.initialize() through a view")
        full = self._initial_values_of(variable)
        n = int(np.arange(self.size)[mask].size)
        full[mask] = _evaluate(initial_values, n, ("init-view", self._engine_name, variable))
        self._initial_larrays[variable] = ("array", full)

    def _engine_initial(self, variable):
        """The engine's distribution for an initial value given as a plain normal, normal_clipped or
        uniform RandomDistribution (the engine then draws it per node, as parsnn's own models' V_m),
        else None."""
        kind, value = self._initial_larrays.get(variable, ("array", None))
        if kind != "all" or value.operations or not isinstance(value.base_value, RandomDistribution):
            return None
        return engine_distribution(value.base_value, 1.0)

    def _first_gid(self) -> int:
        """The engine's gid of this population's first cell."""
        pops = simulator.state.populations
        return int(sum(p.size for p in pops[:pops.index(self)]))

    def _initial_values_of(self, variable) -> np.ndarray:
        """The evaluated initial values of ``variable`` (float64 [size])."""
        dist = self._engine_initial(variable)
        if dist is not None:
            gids = np.arange(self.size, dtype=np.int64) + self._first_gid()
            name = self.celltype.variable_map.get(variable, variable)
            return rng_kernels.draw_per_node(gids, dist_spec(dist), simulator.state.seed,
                                             purpose("param", self._engine_name, name),
                                             scheme_code(simulator.state.realisation))
        kind, value = self._initial_larrays.get(variable, ("array", None))
        if kind == "array":
            if value is None:
                default = self.celltype.default_initial_values.get(variable, 0.0)
                return np.full(self.size, float(default))
            return np.array(value, dtype=float)
        return np.array(np.broadcast_to(_evaluate(value, self.size, ("init", self._engine_name, variable)),
                                        (self.size,)), dtype=float)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    # -- the engine ---------------------------------------------------------
    def _add_to(self, net):
        """Add this population, in the engine's names and units, to the parsnn Network ``net``."""
        model = self.celltype.engine_model
        if model == "spike_generator":
            d = simulator.state.min_delay
            d = net.resolution if d == "auto" else float(d)
            grid = [on_grid(t, net.resolution, d) for t in self._spike_trains()]
            net.add_population(self._engine_name, self.size, model, spike_times=grid)
            return
        params = {}
        for name in self._parameters:
            value = self._native_values(name)
            params[name] = np.asarray(value, dtype=float) if isinstance(value, np.ndarray) else float(value)
        if model not in SPIKE_SOURCE_MODELS:
            v_name = self.celltype.variable_map.get("v", "V_m") if hasattr(self.celltype, "variable_map") else "V_m"
            key = "v" if "v" in self.celltype.default_initial_values else v_name
            dist = self._engine_initial(key)
            if dist is None:
                v0 = self._initial_values_of(key)
                params[v_name] = v0 if np.ptp(v0) else float(v0[0])
            else:
                params[v_name] = dist
            for var in self._initial_larrays:
                if var != key and np.any(self._initial_values_of(var) != 0.0):
                    raise NotImplementedError(f"parsnn.pynn: initial values of '{var}' other than 0 are not "
                                              f"supported (only the membrane potential's)")
        if getattr(self, "_tau_minus", None) is not None:      # set by an STDP projection onto it
            params["tau_minus"] = self._tau_minus
        net.add_population(self._engine_name, self.size, model, params)
