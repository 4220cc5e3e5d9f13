"""``iaf_psc_exp``: leaky integrate-and-fire neuron with exponentially decaying synaptic currents
(NEST's model, parameters and defaults); weights in pA. Kernel code 0."""
from __future__ import annotations

import numpy as np

from parsnn.errors import ParameterError
from parsnn.neurons import NeuronModel
from parsnn.neurons.iaf import prepare_membrane


def iaf_propagator(tau_syn, tau_m, c_m, h):
    """Exact propagator from synaptic current to membrane potential over one step,
    with the limit h/C*exp(-h/tau) where tau_syn == tau_m (NEST's IAFPropagatorExp)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        p = beta / c_m * np.exp(-h / tau_syn) * np.expm1(h * (tau_m - tau_syn) / (tau_syn * tau_m))
    regular = np.isfinite(p) & (p > 0) & (np.abs(p) >= np.finfo(float).tiny)
    return np.where(regular, p, h / c_m * np.exp(-h / tau_m))


def prepare(x: dict, sl: slice, name: str, draw, h: float):
    """State and propagators of the iaf_psc_exp neurons ``sl`` (voltages relative to E_L)."""
    E_L, C_m, tau_m = prepare_membrane(x, sl, name, draw, h)
    ts_ex, ts_in = draw("tau_syn_ex"), draw("tau_syn_in")
    if np.any(ts_ex <= 0) or np.any(ts_in <= 0):
        raise ParameterError(f"population '{name}': tau_syn_ex and tau_syn_in must be > 0")
    x["p11ex"][sl] = np.exp(-h / ts_ex)
    x["p11in"][sl] = np.exp(-h / ts_in)
    x["p21ex"][sl] = iaf_propagator(ts_ex, tau_m, C_m, h)
    x["p21in"][sl] = iaf_propagator(ts_in, tau_m, C_m, h)
    x["p20"][sl] = tau_m / C_m * (1.0 - x["p22"][sl])


MODEL = NeuronModel(
    name="iaf_psc_exp", code=0,
    parameters={
        "C_m": (250.0, 0.0, True), "tau_m": (10.0, 0.0, True), "tau_syn_ex": (2.0, 0.0, True),
        "tau_syn_in": (2.0, 0.0, True), "t_ref": (2.0, 0.0, False), "E_L": (-70.0, None, False),
        "V_th": (-55.0, None, False), "V_reset": (-70.0, None, False), "I_e": (0.0, None, False),
        "V_m": (-70.0, None, False),
        "tau_minus": (20.0, 0.0, True),    # trace of STDP synapses onto it (NEST's ArchivingNode)
    },
    receives_spikes=True, has_membrane_potential=True, takes_current_input=True, prepare=prepare)
