"""PyNN's standard cell types, current sources and synapse types on parsnn's models.

Parameter names are translated to the engine's (NEST's) names and units: PyNN's nA and nF become
pA and pF (x 1000); mV and ms are unchanged. ``IF_curr_exp`` is ``iaf_psc_exp``, ``IF_curr_alpha``
is ``iaf_psc_alpha``, ``IF_curr_delta`` is ``iaf_psc_delta`` (weights in mV),
``SpikeSourcePoisson`` is ``poisson_source`` (stop = start + duration) and ``SpikeSourceArray`` is
``spike_generator``. (Current sources: :mod:`parsnn.pynn.electrodes`; STDP:
:mod:`parsnn.pynn.plasticity`.) Each cell type names its engine model (``engine_model``), the
factor from a PyNN weight to an engine weight (``weight_scale``: nA -> pA for current synapses, 1
for mV) and its initial-value names.
"""
from __future__ import annotations

from pyNN.standardmodels import build_translations, cells, synapses

from parsnn.pynn.simulator import state

#: PyNN -> NEST names (and nA/nF -> pA/pF factors) shared by the integrate-and-fire cells
_IF_TRANSLATIONS = (
    ("v_rest", "E_L"),
    ("v_reset", "V_reset"),
    ("cm", "C_m", 1000.0),
    ("tau_m", "tau_m"),
    ("tau_refrac", "t_ref"),
    ("v_thresh", "V_th"),
    ("i_offset", "I_e", 1000.0),
)


def minimum_delay() -> float:
    """The default synaptic delay (ms): setup()'s min_delay, or the time step for "auto"."""
    d = state.min_delay
    return state.dt if d == "auto" else d


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__ + "\n    On parsnn: NEST's iaf_psc_exp, integrated exactly."
    engine_model = "iaf_psc_exp"
    weight_scale = 1000.0
    translations = build_translations(*_IF_TRANSLATIONS, ("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"))
    variable_map = {"v": "V_m", "isyn_exc": "I_syn_ex", "isyn_inh": "I_syn_in"}
    scale_factors = {"v": 1, "isyn_exc": 0.001, "isyn_inh": 0.001}


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__ + "\n    On parsnn: NEST's iaf_psc_alpha, integrated exactly; weights in nA."
    engine_model = "iaf_psc_alpha"
    weight_scale = 1000.0
    translations = build_translations(*_IF_TRANSLATIONS, ("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"))
    variable_map = {"v": "V_m"}
    scale_factors = {"v": 1}


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__ + "\n    On parsnn: NEST's iaf_psc_delta; weights in mV."
    engine_model = "iaf_psc_delta"
    weight_scale = 1.0
    translations = build_translations(*_IF_TRANSLATIONS)
    variable_map = {"v": "V_m"}
    scale_factors = {"v": 1}


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__ + "\n    On parsnn: poisson_source (one train per source)."
    engine_model = "poisson_source"
    weight_scale = 1.0
    translations = build_translations(
        ("rate", "rate"),
        ("start", "start"),
        ("duration", "stop", "start + duration", "stop - start"),
    )
    variable_map = {}
    scale_factors = {}


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__ + (
        "\n    On parsnn: spike_generator; off-grid times are rounded up to the time grid, as pyNN.nest does"
        " with iaf_psc_exp (spike_precision='on_grid'); times must be > 0.")
    engine_model = "spike_generator"
    weight_scale = 1.0
    translations = build_translations(("spike_times", "spike_times"))
    variable_map = {}
    scale_factors = {}


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__ + (
        "\n    Weights stay in PyNN's units here; the projection scales them to the engine's (pA or mV).")
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        return minimum_delay()
