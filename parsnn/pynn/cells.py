"""Native cell types: any parsnn model by its NEST name, with NEST's parameter names and units
(pA, pF, mV, ms; weights in pA for iaf_psc_exp, mV for iaf_psc_delta)."""
from __future__ import annotations

import math

from pyNN.models import BaseCellType
from pyNN.parameters import Sequence

from parsnn import neurons

_UNITS = {"C_m": "pF", "I_e": "pA", "V_m": "mV", "E_L": "mV", "V_th": "mV", "V_reset": "mV", "V_min": "mV",
          "tau_m": "ms", "tau_syn_ex": "ms", "tau_syn_in": "ms", "t_ref": "ms", "rate": "Hz", "start": "ms",
          "stop": "ms"}


class NativeCellType(BaseCellType):
    """A parsnn model used under its own (NEST) names; made by :func:`native_cell_type`."""
    engine_model = ""
    weight_scale = 1.0
    conductance_based = False
    receptor_types = ("excitatory", "inhibitory")
    variable_map = {"V_m": "V_m"}

    def can_record(self, variable, location=None):
        """Whether ``variable`` can be recorded."""
        return variable in self.recordable

    def get_receptor_type(self, name):
        """The engine's receptor for ``name``: the weight's sign chooses it, as in NEST."""
        return name


def native_cell_type(model_name: str):
    """The PyNN cell type of parsnn model ``model_name`` (e.g. "iaf_psc_exp"), NEST names and units."""
    if model_name not in neurons.names():
        raise NotImplementedError(f"parsnn.pynn: no parsnn model named '{model_name}'; known: "
                                  f"{', '.join(neurons.names())}")
    model = neurons.get(model_name)
    params = {k: v[0] for k, v in model.parameters.items() if k != "V_m"}
    initial = {}
    if "V_m" in model.parameters:
        initial["V_m"] = model.parameters["V_m"][0]
    if model_name == "spike_generator":
        params["spike_times"] = Sequence([])
    if "stop" in params and math.isinf(params["stop"]):
        params["stop"] = 1e12
    recordable = ["spikes", "V_m"] if model.has_membrane_potential else (["spikes"] if model.receives_spikes else [])
    attrs = dict(default_parameters=params, default_initial_values=initial, recordable=recordable,
                 units={k: _UNITS.get(k, "dimensionless") for k in list(params) + list(initial)},
                 engine_model=model_name, injectable=model.takes_current_input,
                 __doc__=f"parsnn's {model_name} under NEST's names and units.")
    return type(model_name, (NativeCellType,), attrs)
