"""Current sources of the PyNN backend: DCSource and StepCurrentSource as piecewise-constant
currents added to the cells' input current (pA).

Each amplitude is in effect for the steps that begin at or after its time (times rounded to the
time grid) until the next change; run() stops at every change to give the engine the new total
(I_e plus all currents) through ``Simulation.set_input_current``. A source's parameters may be
changed between runs (``source.amplitude = 0.3``): the new values hold from the current time.
"""
from __future__ import annotations

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from parsnn.pynn.simulator import state


class CurrentSource:
    """What the backend's current sources share: native parameters kept evaluated, the cells they
    were injected into, and their schedule [(time ms, amplitude pA)]."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_targets", [])
        super().__init__(**parameters)
        self.set_parameters(**parameters)

    def set_native_parameters(self, parameters):
        """Store (evaluated) native parameters; between runs, the new values hold from now."""
        parameters.shape = (1,)
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            self._native[name] = value
        self._check()
        if state.sim is not None:
            for pop in {p for p, _, source in state.currents if source is self}:
                state.update_currents(pop)

    def get_native_parameters(self):
        """The native parameters as a ParameterSpace (sequences as plain arrays, as PyNN's
        backends return them)."""
        values = {k: (v.value if isinstance(v, Sequence) else v) for k, v in self._native.items()}
        return ParameterSpace(values, shape=None)

    def _check(self):
        """Validate and normalise the stored parameters (subclasses)."""

    def inject_into(self, cells):
        """Inject this current into ``cells`` (a Population, PopulationView, Assembly or list of IDs)."""
        state.require_not_built(f"{type(self).__name__}.inject_into()")
        state.add_current(cells, self)

    def _reset(self):
        pass


class DCSource(CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__ + "\n    On parsnn: on for the steps that begin in [start, stop)."
    translations = build_translations(
        ("amplitude", "amplitude", 1000.0),
        ("start", "start"),
        ("stop", "stop"),
    )

    def schedule(self):
        """[(time ms, amplitude pA)] of this source."""
        p = self._native
        out = [(float(p.get("start", 0.0)), float(p.get("amplitude", 0.0)))]
        stop = p.get("stop")
        if stop is not None and float(stop) < 1e9:         # PyNN's default stop is 1e12
            out.append((float(stop), 0.0))
        return out


class StepCurrentSource(CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__ + (
        "\n    On parsnn: each amplitude holds from its time (on the time grid) to the next.")
    translations = build_translations(
        ("amplitudes", "amplitudes", 1000.0),
        ("times", "times"),
    )

    def _check(self):
        """Times >= 0 and increasing (ValueError); rounded to the time grid, the last amplitude of
        equal rounded times kept."""
        if "times" not in self._native or "amplitudes" not in self._native:
            return
        times = np.asarray(getattr(self._native["times"], "value", self._native["times"]), dtype=float)
        amps = np.asarray(getattr(self._native["amplitudes"], "value", self._native["amplitudes"]), dtype=float)
        if times.shape != amps.shape:
            raise errors.InvalidParameterValueError("StepCurrentSource: times and amplitudes need equal lengths")
        if times.size and (times.min() < 0 or np.any(np.diff(times) <= 0)):
            raise ValueError("StepCurrentSource: times must be >= 0 and strictly increasing")
        grid = np.rint(times / state.dt) * state.dt
        last = np.append(grid[1:] != grid[:-1], True) if grid.size else np.zeros(0, dtype=bool)
        self._native["times"] = Sequence(grid[last])
        self._native["amplitudes"] = Sequence(amps[last])

    def schedule(self):
        """[(time ms, amplitude pA)] of this source."""
        times = getattr(self._native.get("times"), "value", [])
        amps = getattr(self._native.get("amplitudes"), "value", [])
        return list(zip(np.asarray(times, float).tolist(), np.asarray(amps, float).tolist()))
