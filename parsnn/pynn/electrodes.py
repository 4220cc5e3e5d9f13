"""Current sources of the PyNN backend: DCSource and StepCurrentSource as piecewise-constant
currents added to the cells' input current (pA), ACSource as a sinusoid evaluated by the engine at
every step.

Each amplitude is in effect for the steps that begin at or after its time (times rounded to the
time grid) until the next change; run() stops at every change to give the engine the new total
(I_e plus all currents) through ``Simulation.set_input_current``. An ACSource adds
``offset + amplitude sin(2 pi frequency (t - start) + phase)`` in every step that begins at t in
[start, stop) (``Simulation.set_ac_currents``): the values pyNN.nest's ac_generator gives
iaf_psc_exp, step by step. A source's parameters may be changed between runs
(``source.amplitude = 0.3``): the new values hold from the current time. ``source.record()`` and
``source.get_data()`` give the current (nA) at t = 0, dt, ..., now: the value in effect in the step
that begins at t, as pyNN.nest records it.
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
        object.__setattr__(self, "_recorded", None)          # the recorded current per run, once record()ed
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

    def schedule(self):
        """[(time ms, amplitude pA)] of the piecewise-constant part of this source (subclasses)."""
        return []

    def sinusoid(self):
        """The sinusoidal part {amplitude, offset (pA), frequency (Hz), phase (deg), start, stop (ms)}, or None."""
        return None

    def current(self, steps: np.ndarray) -> np.ndarray:
        """The current (pA) in effect in each of the time steps ``steps`` (the step that begins at step * dt)."""
        t = np.asarray(steps, dtype=np.int64) * state.dt
        out = np.zeros(t.shape)
        sched = sorted((round(float(x) / state.dt) * state.dt, float(a)) for x, a in self.schedule())
        if sched:
            times = np.array([x for x, _ in sched])
            k = np.searchsorted(times, t + 1e-9, side="right") - 1
            out = np.where(k >= 0, np.array([a for _, a in sched])[np.maximum(k, 0)], 0.0)
        ac = self.sinusoid()
        if ac is not None:
            h = state.dt
            on = int(round(ac["start"] / h))
            off = int(round(ac["stop"] / h)) if ac["stop"] < 1e15 * h else np.iinfo(np.int64).max
            w = 2.0 * np.pi * ac["frequency"] * 1e-3
            phi = np.deg2rad(ac["phase"]) + w * (on * h - ac["start"])
            n = np.asarray(steps, dtype=np.int64)
            active = (n >= on) & (n < off)
            out = out + np.where(active, ac["amplitude"] * np.sin(w * h * (n - on) + phi) + ac["offset"], 0.0)
        return out

    def record(self):
        """Record this source's current (from t = 0; see the module docstring)."""
        object.__setattr__(self, "_recorded", [])

    def _record_steps(self, n0: int, n1: int):
        """Keep the current of steps n0 .. n1-1 (called as the simulation advances)."""
        if self._recorded is not None and n1 > n0:
            self._recorded.append(self.current(np.arange(n0, n1)))

    def _get_data(self):
        """(times ms, current nA) at t = 0, dt, ..., now (PyNN's get_data() makes the Neo signal)."""
        if self._recorded is None:
            raise errors.NothingToWriteError(f"{type(self).__name__}: call record() before get_data()")
        n = int(round(state.t / state.dt))
        past = np.concatenate(self._recorded) if self._recorded else np.zeros(0)
        values = np.concatenate([past[:n], self.current(np.arange(past[:n].size, n + 1))])
        return np.arange(n + 1) * state.dt, values / 1000.0

    def _reset(self):
        if self._recorded is not None:
            object.__setattr__(self, "_recorded", [])


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


class ACSource(CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__ + (
        "\n    On parsnn: offset + amplitude sin(2 pi frequency (t - start) + phase) in every step that begins at"
        "\n    t in [start, stop) (on the time grid), as pyNN.nest's ac_generator gives iaf_psc_exp.")
    translations = build_translations(
        ("amplitude", "amplitude", 1000.0),
        ("offset", "offset", 1000.0),
        ("frequency", "frequency"),
        ("phase", "phase"),
        ("start", "start"),
        ("stop", "stop"),
    )

    def _check(self):
        """frequency >= 0 (PyNN's InvalidParameterValueError)."""
        f = self._native.get("frequency")
        if f is not None and not float(f) >= 0:
            raise errors.InvalidParameterValueError(f"ACSource: frequency must be >= 0 Hz, got {f}")

    def sinusoid(self):
        """{amplitude, offset (pA), frequency (Hz), phase (deg), start, stop (ms)} of this source."""
        defaults = self.translate(ParameterSpace(self.default_parameters, self.get_schema(), (1,)))
        defaults.evaluate(simplify=True)
        p = {**dict(defaults.items()), **self._native}
        return {k: float(p[k]) for k in ("amplitude", "offset", "frequency", "phase", "start", "stop")}
