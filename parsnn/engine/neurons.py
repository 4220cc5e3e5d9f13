"""Neuron state and devices of the local nodes (NEST's node manager).

Fills an :class:`parsnn._engine.EngineState` with the state and the exact-integration
propagators of the local nodes (each model's ``prepare`` in :mod:`parsnn.neurons`; the kernel
is chosen by the model's ``code``), the DC inputs, the Poisson input devices (CSR over local
neurons) and the update segments; lists the spikes of the spike generators whose targets live here.
Per-neuron parameters drawn from a distribution come from the stream
(seed, ``purpose("param", population, parameter)``, node id), so they do not depend on the layout.
"""
from __future__ import annotations

import numpy as np

from parsnn import _rng as rng_kernels
from parsnn import neurons
from parsnn.engine.streams import DEFAULT_REALISATION, REALISATIONS, purpose
from parsnn.network import Normal, Uniform, dist_spec

#: update parameters of a segment; a segment whose values are all equal reads them from its first neuron
_UPDATE_PARAMETERS = ("p22", "p21ex", "p21in", "p20", "p11ex", "p11in", "ie", "theta", "vreset", "vmin", "refr",
                      "p31ex", "p31in", "a21ex", "a21in", "psc_ex", "psc_in")


def draw_parameter(pop, name: str, gids: np.ndarray, offset: int, seed: int,
                   scheme: int = REALISATIONS[DEFAULT_REALISATION]) -> np.ndarray:
    """Values of parameter ``name`` of population ``pop`` for the nodes ``gids`` (global ids;
    the population starts at ``offset``): drawn per node for a distribution (with the streams of
    realisation ``scheme``, :data:`parsnn.engine.streams.REALISATIONS`), else the given per-neuron
    array or scalar."""
    value = pop.param(name)
    if isinstance(value, (Normal, Uniform)):
        return rng_kernels.draw_per_node(gids, dist_spec(value), seed, purpose("param", pop.name, name), scheme)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        return arr[gids - offset].copy()
    return np.full(gids.size, float(arr))


def _state_arrays(n: int) -> dict:
    """Zeroed per-neuron state and parameter arrays of ``n`` local nodes, named as in EngineState."""
    arrays = {key: np.zeros(n, dtype=np.float64) for key in (
        "V", "i_ex", "i_in", "p22", "p21ex", "p21in", "p20", "p11ex", "p11in", "ie", "theta", "vreset",
        "el", "lam", "di_ex", "di_in", "p31ex", "p31in", "a21ex", "a21in", "psc_ex", "psc_in")}
    arrays["vmin"] = np.full(n, -np.inf)
    arrays["t_on"] = np.zeros(n, dtype=np.int64)
    arrays["t_off"] = np.zeros(n, dtype=np.int64)
    arrays["refr"] = np.zeros(n, dtype=np.int32)
    return arrays


def _add_dc_inputs(ie: np.ndarray, net, local, offsets, pop_local):
    """Add the DC inputs' amplitudes to the constant input current ``ie`` of their local targets."""
    for dc in net.dc_inputs:
        a, b = pop_local[dc.target]
        gids = local[a:b]
        amp = np.asarray(dc.amplitude, dtype=np.float64)
        ie[a:b] += amp[gids - offsets[dc.target]] if amp.ndim == 1 else float(amp)


def _set_poisson_devices(st, net, local, offsets, pop_local, h):
    """Poisson input devices as CSR over the local neurons: rate per step, weight, delay (steps)
    and random stream of every (neuron, device) pair."""
    n = local.size
    li, lam_d, w_d, dl_d, pur_d = [], [], [], [], []
    for k, dev in enumerate(net.poisson_inputs):
        a, b = pop_local[dev.target]
        gids = local[a:b]
        rate = np.asarray(dev.rate, dtype=np.float64)
        rate = rate[gids - offsets[dev.target]] if rate.ndim == 1 else np.full(b - a, float(rate))
        li.append(np.arange(a, b, dtype=np.int64))
        lam_d.append(rate * h * 1e-3)
        w_d.append(np.full(b - a, float(dev.weight)))
        dl_d.append(np.full(b - a, max(1, int(round(float(dev.delay) / h))), dtype=np.int64))
        pur_d.append(np.full(b - a, purpose("poisson_input", k, dev.name), dtype=np.uint64))
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    li = cat(li, np.int64)
    order = np.argsort(li, kind="stable")
    st.pd_ptr = np.concatenate([[0], np.cumsum(np.bincount(li, minlength=n))]).astype(np.int64)
    st.pd_lam = cat(lam_d, np.float64)[order]
    st.pd_w = cat(w_d, np.float64)[order]
    st.pd_delay = cat(dl_d, np.int64)[order]
    st.pd_purpose = cat(pur_d, np.uint64)[order]


def build_neurons(st, net, local: np.ndarray, offsets: dict, pop_local: dict, seed: int, h: float,
                  scheme: int = REALISATIONS[DEFAULT_REALISATION]):
    """Set the state, parameters, devices and update segments of the local nodes on ``st``
    (per-neuron values drawn with the streams of realisation ``scheme``).

    ``local``: local gids (ascending); ``pop_local``: {population: (a, b)} slices of ``local``
    (:func:`parsnn.engine.decomposition.population_ranges`). Raises ParameterError for invalid
    per-neuron values (the caller reports it collectively)."""
    n = local.size
    x = _state_arrays(n)
    segments = []
    for name, pop in net.populations.items():
        if pop.is_virtual:
            continue
        a, b = pop_local[name]
        if a == b:
            continue
        model = neurons.get(pop.model)
        segments.append((a, b, model.code))
        gids, off = local[a:b], offsets[name]
        draw = lambda key: draw_parameter(pop, key, gids, off, seed, scheme)  # noqa: E731
        if model.prepare is not None:
            model.prepare(x, slice(a, b), name, draw, h)
    _add_dc_inputs(x["ie"], net, local, offsets, pop_local)
    _set_poisson_devices(st, net, local, offsets, pop_local, h)
    params = [x[key] for key in _UPDATE_PARAMETERS]
    segments = [(a, b, code, 0 if all(np.all(p[a:b] == p[a]) for p in params) else 1)
                for a, b, code in segments]
    st.segments = np.array(segments, dtype=np.int64).reshape(-1, 4)
    st.gids = local
    st.V, st.i_ex, st.i_in = x["V"], x["i_ex"], x["i_in"]
    st.r, st.refr = np.zeros(n, dtype=np.int32), x["refr"]
    st.p22, st.p21ex, st.p21in, st.p20 = x["p22"], x["p21ex"], x["p21in"], x["p20"]
    st.p11ex, st.p11in = x["p11ex"], x["p11in"]
    st.ie, st.theta, st.vreset, st.vmin, st.el = x["ie"], x["theta"], x["vreset"], x["vmin"], x["el"]
    st.lam, st.t_on, st.t_off = x["lam"], x["t_on"], x["t_off"]
    st.di_ex, st.di_in = x["di_ex"], x["di_in"]
    st.p31ex, st.p31in, st.a21ex, st.a21in = x["p31ex"], x["p31in"], x["a21ex"], x["a21in"]
    st.psc_ex, st.psc_in = x["psc_ex"], x["psc_in"]


def node_spikes(trains, gids: np.ndarray, has_targets: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(emission steps, gids) of the spike trains ``trains`` (one sequence of times in ms per node, the
    nodes' gids ``gids``) of the nodes with synapses onto a local neuron (``has_targets[gid]``),
    unsorted. A spike at t is emitted in step t/h - 1 (NEST's convention)."""
    lengths = np.array([len(t) for t in trains], dtype=np.int64)
    node = np.repeat(np.asarray(gids, dtype=np.int64), lengths)
    times = np.concatenate([np.asarray(t, dtype=np.float64) for t in trains]) if lengths.sum() else np.zeros(0)
    keep = has_targets[node]
    return np.rint(times[keep] / h).astype(np.int64) - 1, node[keep].astype(np.int32)


def _canonical(parts: list) -> tuple[np.ndarray, np.ndarray]:
    """The (steps, gids) pairs of ``parts`` joined and sorted by step, then gid."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    s = np.concatenate([p[0] for p in parts]).astype(np.int64)
    g = np.concatenate([p[1] for p in parts]).astype(np.int32)
    order = np.lexsort((g, s))
    return np.ascontiguousarray(s[order]), np.ascontiguousarray(g[order])


def generator_spikes(net, offsets: dict, has_targets: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(emission steps, gids) of the spike generators' spikes whose source has synapses onto a
    local neuron (``has_targets[gid]``), sorted by step then gid (:func:`node_spikes`)."""
    return _canonical([node_spikes(pop.spike_times, offsets[name] + np.arange(pop.size), has_targets, h)
                       for name, pop in net.populations.items() if pop.is_virtual])


def replace_generator_spikes(st, nodes: np.ndarray, steps: np.ndarray, gids: np.ndarray) -> int:
    """Replace the spikes not sent yet (from ``st.gen_pos`` on) of the generator nodes with gids
    ``nodes`` by (``steps``, ``gids``) (emission steps not before the current step), keeping the sent
    ones and the canonical order. Returns the change in the number of spikes."""
    old_s, old_g, pos = np.asarray(st.gen_step), np.asarray(st.gen_gid), int(st.gen_pos)
    future_s, future_g = old_s[pos:], old_g[pos:]
    others = ~np.isin(future_g, nodes)
    s, g = _canonical([(future_s[others], future_g[others]), (steps, gids)])
    st.gen_step = np.ascontiguousarray(np.concatenate([old_s[:pos], s]))
    st.gen_gid = np.ascontiguousarray(np.concatenate([old_g[:pos], g]).astype(np.int32))
    st.gen_pos = pos
    return int(s.size - future_s.size)
