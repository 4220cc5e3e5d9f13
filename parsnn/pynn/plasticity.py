"""PyNN's STDP classes on parsnn's plastic synapse models.

``STDPMechanism(timing_dependence=SpikePairRule(...), weight_dependence=W)`` is NEST's
``stdp_synapse`` (all-to-all spike pairing, the whole delay dendritic), as in pyNN.nest:

- ``SpikePairRule(tau_plus, tau_minus, A_plus, A_minus)``: tau_plus, lambda = A_plus,
  alpha = A_minus / A_plus; tau_minus is the target neurons' ``tau_minus`` (a neuron parameter, as
  in NEST: one value per target population).
- W = ``AdditiveWeightDependence`` (mu_plus = mu_minus = 0), ``MultiplicativeWeightDependence``
  (1, 1), ``AdditivePotentiationMultiplicativeDepression`` (0, 1) or ``GutigWeightDependence``
  (mu_plus, mu_minus); Wmax = w_max in the engine's weight unit (nA -> pA for current synapses).

This is pyNN.nest's mapping, so a script's STDP means on parsnn what it means on pyNN.nest (PyNN's
docs give the weight dependences only up to a factor; here, as there, A_plus and A_minus are
relative to w_max: e.g. additive dw = A_plus w_max k up to w_max, dw = -A_minus w_max k down to 0).
What does not map exactly raises NotImplementedError
naming it: w_min != 0, A_plus = 0 with A_minus != 0 (NEST's alpha is then undefined), a
dendritic_delay_fraction other than 1, a voltage dependence, other rules (Vogels2011Rule, ...),
parameters that differ between synapses of a projection. PyNN has no power-law weight dependence;
``stdp_pl_synapse_hom`` is reached with :func:`native_synapse_type`.
"""
from __future__ import annotations

import numpy as np
from pyNN.models import BaseSynapseType
from pyNN.standardmodels import build_translations, synapses

from parsnn import synapses as engine_synapses
from parsnn.pynn.standardmodels import minimum_delay


def _unsupported(what: str):
    return NotImplementedError(f"parsnn.pynn: {what} is not supported (it does not map exactly onto "
                               "parsnn's stdp_synapse)")


def _identity(*names):
    return build_translations(*((n, n) for n in names))


def _check_w_min(w_min):
    if not isinstance(w_min, (int, float, np.integer, np.floating)) or w_min != 0:
        raise _unsupported(f"w_min = {w_min!r} (only w_min = 0, as in NEST)")


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__ + "\n    On parsnn: stdp_synapse, mu_plus = mu_minus = 0."
    translations = _identity("w_min", "w_max")
    mu = (0.0, 0.0)

    def __init__(self, w_min=0.0, w_max=1.0):
        _check_w_min(w_min)
        synapses.AdditiveWeightDependence.__init__(self, w_min, w_max)


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__ + "\n    On parsnn: stdp_synapse, mu_plus = mu_minus = 1."
    translations = _identity("w_min", "w_max")
    mu = (1.0, 1.0)

    def __init__(self, w_min=0.0, w_max=1.0):
        _check_w_min(w_min)
        synapses.MultiplicativeWeightDependence.__init__(self, w_min, w_max)


class AdditivePotentiationMultiplicativeDepression(synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = (synapses.AdditivePotentiationMultiplicativeDepression.__doc__
               + "\n    On parsnn: stdp_synapse, mu_plus = 0, mu_minus = 1.")
    translations = _identity("w_min", "w_max")
    mu = (0.0, 1.0)

    def __init__(self, w_min=0.0, w_max=1.0):
        _check_w_min(w_min)
        synapses.AdditivePotentiationMultiplicativeDepression.__init__(self, w_min, w_max)


class GutigWeightDependence(synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__ + "\n    On parsnn: stdp_synapse with its mu_plus, mu_minus."
    translations = _identity("w_min", "w_max", "mu_plus", "mu_minus")
    mu = None                   # its own parameters

    def __init__(self, w_min=0.0, w_max=1.0, mu_plus=0.5, mu_minus=0.5):
        _check_w_min(w_min)
        synapses.GutigWeightDependence.__init__(self, w_min, w_max, mu_plus, mu_minus)


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__ + (
        "\n    On parsnn: stdp_synapse's tau_plus, lambda = A_plus, alpha = A_minus / A_plus; tau_minus is "
        "the target neurons' (one value per target population).")
    translations = _identity("tau_plus", "tau_minus", "A_plus", "A_minus")


WEIGHT_DEPENDENCES = (AdditiveWeightDependence, MultiplicativeWeightDependence,
                      AdditivePotentiationMultiplicativeDepression, GutigWeightDependence)


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__ + "\n" + (__doc__ or "")
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")

    def __init__(self, timing_dependence=None, weight_dependence=None, voltage_dependence=None,
                 dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        if voltage_dependence is not None:
            raise _unsupported("an STDP voltage dependence")
        if dendritic_delay_fraction != 1:
            raise _unsupported(f"dendritic_delay_fraction = {dendritic_delay_fraction} (parsnn, like NEST, "
                               "takes the whole delay as dendritic: 1)")
        if type(timing_dependence) is not SpikePairRule:
            raise _unsupported(f"timing dependence {type(timing_dependence).__name__} (SpikePairRule is)")
        if type(weight_dependence) not in WEIGHT_DEPENDENCES:
            raise _unsupported(f"weight dependence {type(weight_dependence).__name__} (supported: "
                               f"{', '.join(c.__name__ for c in WEIGHT_DEPENDENCES)})")
        synapses.STDPMechanism.__init__(self, timing_dependence, weight_dependence, None,
                                        dendritic_delay_fraction, weight, delay)

    def _get_minimum_delay(self):
        return minimum_delay()

    def engine_synapse(self, weight_scale: float) -> tuple:
        """(engine synapse model, its parameters, the targets' tau_minus) with Wmax scaled to the
        engine's weight unit by ``weight_scale``."""
        p = _constants(self.timing_dependence.parameter_space, "SpikePairRule")
        p.update(_constants(self.weight_dependence.parameter_space, type(self.weight_dependence).__name__))
        if p["A_plus"] == 0 and p["A_minus"] != 0:
            raise _unsupported("A_plus = 0 with A_minus != 0 (NEST's alpha = A_minus / A_plus)")
        mu_plus, mu_minus = self.weight_dependence.mu or (p["mu_plus"], p["mu_minus"])
        params = {"tau_plus": p["tau_plus"], "lambda": p["A_plus"],
                  "alpha": p["A_minus"] / p["A_plus"] if p["A_plus"] else 1.0,
                  "mu_plus": mu_plus, "mu_minus": mu_minus, "Wmax": p["w_max"] * weight_scale}
        return "stdp_synapse", params, p["tau_minus"]


def _constants(parameter_space, what: str) -> dict:
    """{name: float} of a component's parameters; NotImplementedError if one is not a single value."""
    out = {}
    for name, larr in parameter_space.items():
        if not larr.is_homogeneous:
            raise _unsupported(f"{what}: {name} differing between synapses (parsnn's plastic synapse "
                               "parameters are one per projection)")
        larr.shape = (1,)
        out[name] = float(np.asarray(larr.evaluate(simplify=True)).ravel()[0])
    return out


class NativeSynapseType(BaseSynapseType):
    """A parsnn synapse model under its NEST name and parameters; made by :func:`native_synapse_type`.
    The weight is in PyNN's units (nA, or mV for IF_curr_delta) as for every PyNN synapse type; the
    model's own parameters are NEST's, in NEST's units (e.g. stdp_synapse's Wmax in pA)."""
    engine_model = ""
    native = True

    def _get_minimum_delay(self):
        return minimum_delay()

    def engine_synapse(self, weight_scale: float) -> tuple:
        """(engine synapse model, its parameters (NEST's names and units), None: tau_minus is the
        target cell type's own parameter)."""
        params = _constants(self.parameter_space, self.engine_model)
        params.pop("weight"), params.pop("delay")
        return self.engine_model, params, None


def native_synapse_type(model_name: str):
    """The PyNN synapse type of parsnn synapse model ``model_name`` ("static_synapse", "stdp_synapse",
    "stdp_pl_synapse_hom") with NEST's parameter names and units (the weight in PyNN's units)."""
    if model_name not in engine_synapses.names():
        raise NotImplementedError(f"parsnn.pynn: no parsnn synapse model named '{model_name}'; known: "
                                  f"{', '.join(engine_synapses.names())}")
    model = engine_synapses.get(model_name)
    params = {"weight": 0.0, "delay": None}
    params.update({k: v[0] for k, v in model.parameters.items()})
    attrs = dict(default_parameters=params, engine_model=model_name,
                 translations=_identity(*params), __doc__=f"parsnn's {model_name} under NEST's names and units.")
    return type(model_name, (NativeSynapseType,), attrs)
