"""Time-varying input currents of the local neurons: sinusoids (PyNN's ACSource, NEST's ac_generator
as pyNN.nest feeds it to iaf_psc_exp & co.), given between run() calls like
:meth:`Simulation.set_input_current` (not part of the network description: run files and
checkpoints do not keep them).

A source adds ``amplitude sin(2 pi f (t - start) / 1000 + phase) + offset`` (pA; f in Hz, phase in
degrees, t the start of the step) to its targets' input current in every step that begins in
[start, stop) (both rounded to the time grid), evaluated once per step as NEST does (step-wise
constant). The kernel (cython/currents.pxi) adds the sources of a neuron, in the order given, to its
constant input current (I_e + DC) at the start of every step.
"""
from __future__ import annotations

import numpy as np

from parsnn import _engine as engine_kernels
from parsnn.errors import ParameterError

#: the fields of one sinusoidal source
FIELDS = ("amplitude", "offset", "frequency", "phase", "start", "stop")


def set_ac_currents(sim, population: str, sources: list):
    """Replace the sinusoidal currents onto ``population`` (from the current step on) by ``sources``:
    a list of dicts with ``index`` (population-local neuron indices) and the :data:`FIELDS` (scalars).
    Collective only in that every rank must call it with the same arguments."""
    sim.build()
    pop = sim.net._pop(population, "sinusoidal current")
    for s in sources:
        idx = np.asarray(s["index"], dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= pop.size):
            raise ParameterError(f"sinusoidal current onto '{population}': neuron indices must be in [0, {pop.size})")
        if not (np.isfinite(float(s["frequency"])) and float(s["frequency"]) >= 0):
            raise ParameterError(f"sinusoidal current onto '{population}': frequency must be >= 0 Hz, "
                                 f"got {s['frequency']}")
    if not hasattr(sim, "_ac_sources"):
        sim._ac_sources = {}
    sim._ac_sources[population] = list(sources)
    _install(sim)


def _pairs(sim) -> tuple:
    """(local neuron, amp, offset, w, phi, on, off) arrays of every (local neuron, source) pair, in
    (population, source) order."""
    h = sim.h
    cols = [[] for _ in range(7)]
    for population, sources in sim._ac_sources.items():
        a, b = sim.pop_local[population]
        local = sim.local_gids[a:b] - sim.offsets[population]         # population index of each local neuron
        for s in sources:
            hit = np.isin(local, np.asarray(s["index"], dtype=np.int64))
            li = np.arange(a, b, dtype=np.int64)[hit]
            on = int(round(float(s["start"]) / h))
            stop = float(s["stop"])
            off = int(round(stop / h)) if stop < 1e15 * h else np.iinfo(np.int64).max
            w = 2.0 * np.pi * float(s["frequency"]) * 1e-3
            phi = np.deg2rad(float(s["phase"])) + w * (on * h - float(s["start"]))
            for col, value in zip(cols, (li, float(s["amplitude"]), float(s["offset"]), w * h, phi, on, off)):
                col.append(np.broadcast_to(value, li.shape))
    dtypes = (np.int64, np.float64, np.float64, np.float64, np.float64, np.int64, np.int64)
    return tuple(np.concatenate(c).astype(d) if c else np.zeros(0, d) for c, d in zip(cols, dtypes))


def _install(sim):
    """Give the kernel the CSR of all sinusoidal currents of this rank; segments with a target read
    their parameters per neuron from now on."""
    st = sim.st
    n = st.V.shape[0]
    li, amp, offset, w, phi, on, off = _pairs(sim)
    order = np.argsort(li, kind="stable")
    c = engine_kernels.CurrentState()
    c.ptr = np.concatenate([[0], np.cumsum(np.bincount(li, minlength=n))]).astype(np.int64)
    c.amp, c.offset, c.w, c.phi = amp[order], offset[order], w[order], phi[order]
    c.on, c.off = on[order], off[order]
    c.ie0 = np.array(st.currents.ie0 if st.currents_on else st.ie, dtype=np.float64)
    st.currents = c
    st.currents_on = bool(li.size)
    if not li.size:                          # no source left: back to the constant currents
        np.asarray(st.ie)[:] = c.ie0
        return
    seg = np.asarray(st.segments)
    targets = np.flatnonzero(np.diff(c.ptr))
    for k in range(seg.shape[0]):
        if np.any((targets >= seg[k, 0]) & (targets < seg[k, 1])):
            seg[k, 3] = 1


def set_base_current(st, a: int, b: int, values):
    """Keep the constant input current of local neurons a..b-1 that the kernel adds the sinusoids to."""
    if st.currents_on:
        np.asarray(st.currents.ie0)[a:b] = values
