"""``iaf_psc_alpha``: leaky integrate-and-fire neuron with alpha-shaped synaptic currents (NEST's
model, parameters and defaults); weights in pA (a weight w gives a current of peak w pA at
tau_syn after the spike arrives). Kernel code 4.

Exact integration with NEST's propagators (the regular and the singular forms of its
``IAFPropagatorAlpha``, chosen by the same stability criterion) and NEST's update order: the
membrane is advanced with the currents of the previous step, then the currents, then the input
of this step is added to dI, then the threshold test. ``tau_minus`` is the time constant of the
postsynaptic trace read by STDP synapses (NEST's ArchivingNode parameter).
"""
from __future__ import annotations

import math

import numpy as np

from parsnn.errors import ParameterError
from parsnn.neurons import NeuronModel
from parsnn.neurons.iaf import prepare_membrane

#: NEST's criterion: the regular propagator form applies if h > factor * tau_m^2 / |tau_m - tau_syn|
_STABILITY_FACTOR = 1e-7


def alpha_propagators(tau_syn, tau_m, c_m, h):
    """(P31, P32): exact propagators from dI and I to the membrane potential over one step of h,
    with the singular limits where tau_syn is (nearly) tau_m, as NEST evaluates them."""
    tau_syn, tau_m, c_m = (np.asarray(x, dtype=np.float64) for x in (tau_syn, tau_m, c_m))
    inv_tau_syn, inv_tau_m, inv_c_m = 1.0 / tau_syn, 1.0 / tau_m, 1.0 / c_m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        gamma = beta / c_m
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        exp_syn = np.exp(-h * inv_tau_syn)
        expm1_b = np.expm1(h * inv_beta)
        p32 = gamma * exp_syn * expm1_b
        exp_m = np.exp(-h * inv_tau_m)
        normal = np.isfinite(p32) & (np.abs(p32) >= np.finfo(float).tiny) & (p32 > 0)
        p32 = np.where(normal, p32, h * inv_c_m * exp_m)
        h_min_regular = _STABILITY_FACTOR * tau_m * tau_m / np.abs(tau_m - tau_syn)
        p31 = np.where(h > h_min_regular, gamma * exp_syn * (beta * expm1_b - h), 0.5 * h * h * inv_c_m * exp_m)
    return p31, p32


def prepare(x: dict, sl: slice, name: str, draw, h: float):
    """State and propagators of the iaf_psc_alpha neurons ``sl`` (voltages relative to E_L).

    Array use: p22 holds expm1(-h/tau_m), p20 P30, p11ex/p11in exp(-h/tau_syn), p21ex/p21in P32,
    p31ex/p31in P31, a21ex/a21in h*exp(-h/tau_syn), psc_ex/psc_in e/tau_syn (the jump of dI per pA)."""
    E_L, C_m, tau_m = prepare_membrane(x, sl, name, draw, h)
    ts_ex, ts_in = draw("tau_syn_ex"), draw("tau_syn_in")
    if np.any(ts_ex <= 0) or np.any(ts_in <= 0):
        raise ParameterError(f"population '{name}': tau_syn_ex and tau_syn_in must be > 0")
    x["p22"][sl] = np.expm1(-h / tau_m)
    x["p20"][sl] = -tau_m / C_m * np.expm1(-h / tau_m)
    for tag, ts in (("ex", ts_ex), ("in", ts_in)):
        p11 = np.exp(-h / ts)
        x["p11" + tag][sl] = p11
        x["a21" + tag][sl] = h * p11
        x["p31" + tag][sl], x["p21" + tag][sl] = alpha_propagators(ts, tau_m, C_m, h)
        x["psc_" + tag][sl] = 1.0 * math.e / ts
    x["vmin"][sl] = draw("V_min") - E_L


MODEL = NeuronModel(
    name="iaf_psc_alpha", code=4,
    parameters={
        "C_m": (250.0, 0.0, True), "tau_m": (10.0, 0.0, True), "tau_syn_ex": (2.0, 0.0, True),
        "tau_syn_in": (2.0, 0.0, True), "t_ref": (2.0, 0.0, False), "E_L": (-70.0, None, False),
        "V_th": (-55.0, None, False), "V_reset": (-70.0, None, False), "V_min": (-math.inf, None, False),
        "I_e": (0.0, None, False), "V_m": (-70.0, None, False), "tau_minus": (20.0, 0.0, True),
    },
    receives_spikes=True, has_membrane_potential=True, takes_current_input=True, prepare=prepare,
    # for machine files that do not calibrate it (before fit version 11): the ratio to the scalar iaf_psc_exp kernel
    # that three quick calibrations of the idle Xeon m167 guest measured (sessions 22-24: 0.745, 0.754, 0.761); until
    # session 24 2.1, from benchmarks/update_cost_alpha.py on a loaded 2-core Xeon VM (2026-12-01)
    assumed_update_cost=("iaf_psc_exp_scalar", 0.75, "assumed: 0.75 x the scalar iaf_psc_exp kernel (the ratio "
                         "measured by fit-version-11/12 calibrations of the idle Xeon m167 guest, "
                         "analysis/results/history24/calibration_xeon_m167_s24_v12.toml)"))
