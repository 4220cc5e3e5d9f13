"""Run single-neuron scenarios in NEST (if installed) for comparison.

Only used by tests that call ``pytest.importorskip("nest")``; importing this
module does not import NEST. Every function resets the NEST kernel, so calls
are independent.

Conventions (the same as in :mod:`reference_solutions`):

* ``inputs`` is a list of ``(spike_time_ms, weight, delay_ms)`` triples: one
  spike of a ``spike_generator`` at ``spike_time_ms`` (a multiple of h) sent
  with ``weight`` (pA for iaf_psc_exp, mV for iaf_psc_delta) and ``delay_ms``.
  It arrives at ``spike_time_ms + delay_ms``.
* The DC drive is passed through ``I_e`` (NEST's dc_generator would add one
  step of delay; I_e does not).
* The multimeter records every h; the returned arrays hold the samples at
  t = h, 2h, ..., t_sim (the state after the update of the step that ends at t).
"""
from __future__ import annotations

import os

import numpy as np


def _nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # noqa: WPS433 (imported lazily on purpose)
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST
        nest.set_verbosity("M_ERROR")
    return nest


def run_nest_single_neuron(model: str, params: dict, t_sim: float, inputs=(), h: float = 0.1,
                           presyn: dict | None = None):
    """Simulate one ``model`` neuron with ``params`` for ``t_sim`` ms in NEST.

    ``presyn`` optionally adds a driver neuron: ``{"model": ..., "params": {...},
    "weight": w, "delay": d}``; its spikes reach the recorded neuron through a
    static synapse (this checks neuron-to-neuron delays).

    Returns a dict with ``times`` (t = h..t_sim), ``V_m``, ``I_syn_ex`` and
    ``I_syn_in`` (iaf_psc_exp only; ``None`` otherwise), ``spike_times`` of the
    neuron and ``presyn_spike_times`` (empty without a driver).
    """
    nest = _nest()
    nest.ResetKernel()
    nest.resolution = h
    nest.local_num_threads = 1
    nest.rng_seed = 1

    neuron = nest.Create(model, params=dict(params))
    record_from = ["V_m"] + (["I_syn_ex", "I_syn_in"] if model == "iaf_psc_exp" else [])
    mm = nest.Create("multimeter", params={"interval": h, "record_from": record_from})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, neuron)
    nest.Connect(neuron, sr)

    for (ts, w, d) in inputs:
        sg = nest.Create("spike_generator", params={"spike_times": [float(ts)]})
        nest.Connect(sg, neuron, syn_spec={"synapse_model": "static_synapse", "weight": float(w),
                                            "delay": float(d)})

    sr_pre = None
    if presyn is not None:
        pre = nest.Create(presyn["model"], params=dict(presyn.get("params", {})))
        nest.Connect(pre, neuron, syn_spec={"synapse_model": "static_synapse", "weight": float(presyn["weight"]),
                                             "delay": float(presyn["delay"])})
        sr_pre = nest.Create("spike_recorder")
        nest.Connect(pre, sr_pre)

    # The multimeter collects a min_delay slice's samples one slice later:
    # simulate a little longer and keep t <= t_sim (the extra time cannot
    # change what happened before t_sim).
    delays = [float(d) for (_, _, d) in inputs] + ([float(presyn["delay"])] if presyn else [])
    extra = max(delays + [1.0]) + h
    nest.Simulate(float(t_sim) + extra)

    ev = mm.get("events")
    t_all = np.asarray(ev["times"], dtype=float)
    order = np.argsort(t_all, kind="stable")
    order = order[t_all[order] <= t_sim + 0.5 * h]
    spk = np.asarray(sr.get("events")["times"], dtype=float)
    spk_pre = np.asarray(sr_pre.get("events")["times"], dtype=float) if sr_pre is not None else np.empty(0)
    out = {
        "times": np.asarray(ev["times"], dtype=float)[order],
        "V_m": np.asarray(ev["V_m"], dtype=float)[order],
        "I_syn_ex": np.asarray(ev["I_syn_ex"], dtype=float)[order] if model == "iaf_psc_exp" else None,
        "I_syn_in": np.asarray(ev["I_syn_in"], dtype=float)[order] if model == "iaf_psc_exp" else None,
        "spike_times": np.sort(spk[spk <= t_sim + 0.5 * h]),
        "presyn_spike_times": np.sort(spk_pre[spk_pre <= t_sim + 0.5 * h]),
    }
    return out


def run_nest_iaf_psc_exp(params: dict, t_sim: float, inputs=(), h: float = 0.1, presyn=None):
    return run_nest_single_neuron("iaf_psc_exp", params, t_sim, inputs, h, presyn)


def run_nest_iaf_psc_delta(params: dict, t_sim: float, inputs=(), h: float = 0.1, presyn=None):
    return run_nest_single_neuron("iaf_psc_delta", params, t_sim, inputs, h, presyn)
