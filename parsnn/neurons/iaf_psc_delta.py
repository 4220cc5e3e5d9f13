"""``iaf_psc_delta``: leaky integrate-and-fire neuron with delta synapses (NEST's model,
parameters and defaults); weights in mV. Kernel code 1."""
from __future__ import annotations

import math

import numpy as np

from parsnn.neurons import NeuronModel
from parsnn.neurons.iaf import prepare_membrane


def prepare(x: dict, sl: slice, name: str, draw, h: float):
    """State and propagators of the iaf_psc_delta neurons ``sl`` (voltages relative to E_L)."""
    E_L, C_m, tau_m = prepare_membrane(x, sl, name, draw, h)
    x["p20"][sl] = -tau_m / C_m * np.expm1(-h / tau_m)
    x["vmin"][sl] = draw("V_min") - E_L


MODEL = NeuronModel(
    name="iaf_psc_delta", code=1,
    parameters={
        "C_m": (250.0, 0.0, True), "tau_m": (10.0, 0.0, True), "t_ref": (2.0, 0.0, False),
        "E_L": (-70.0, None, False), "V_th": (-55.0, None, False), "V_reset": (-70.0, None, False),
        "V_min": (-math.inf, None, False), "I_e": (0.0, None, False), "V_m": (-70.0, None, False),
        "tau_minus": (20.0, 0.0, True),    # trace of STDP synapses onto it (NEST's ArchivingNode)
    },
    receives_spikes=True, has_membrane_potential=True, takes_current_input=True, prepare=prepare)
