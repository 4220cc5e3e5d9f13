"""The synapse-model registry: one module per synapse model, each declaring itself with a
module-level ``MODEL = SynapseModel(...)`` (NEST's name, kernel code, parameters and checks).

A projection of the network description names its synapse model (``static_synapse`` by default)
and gives the model's parameters; :func:`check` validates them before anything is built. Plastic
models (code > 0) are simulated by the plasticity kernel (``cython/plastic.h``); their synapses
live on the target's rank (:mod:`parsnn.engine.plasticity`).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from parsnn.catalog import Catalog
from parsnn.errors import ParameterError


@dataclass(frozen=True)
class SynapseModel:
    """What the simulator knows of one synapse model.

    - ``code``: the plasticity kernel's model code (0: static, not plastic).
    - ``parameters``: {NEST parameter name: (default, lower bound or None, strict?)}; shared by all
      synapses of a projection (``stdp_synapse``: per projection; ``stdp_pl_synapse_hom``: NEST
      shares them model-wide, here per projection, which includes that case).
    - ``check_weight(weight_low, weight_high, params, what)``: the rule's condition on the weights
      (raising ParameterError), or None.
    """
    name: str
    code: int
    parameters: dict = field(default_factory=dict)
    check_weight: Callable | None = None

    @property
    def plastic(self) -> bool:
        """True for models whose weights change during the run."""
        return self.code > 0


_CATALOG = Catalog("synapse model", SynapseModel)
STATIC = "static_synapse"
register, names, get = _CATALOG.register, _CATALOG.names, _CATALOG.get


def plastic_mask(projections) -> np.ndarray:
    """Boolean per projection of a network description's projection list (``Network.describe()
    ["projections"]``, or a run file's): its synapse model is plastic."""
    return np.array([get(q.get("synapse_model", STATIC)).plastic for q in projections], dtype=bool)


def values(model: SynapseModel, params: dict) -> dict:
    """Every parameter of ``model``: the given value or the default."""
    return {key: float(params.get(key, spec[0])) for key, spec in model.parameters.items()}


def check(name: str, params: dict, weight_range: tuple[float, float], what: str):
    """Validate the synapse model ``name`` with ``params`` for weights in ``weight_range``
    (the projection's smallest and largest possible initial weight); ParameterError naming the
    parameter and its allowed range."""
    model = get(name)
    if not isinstance(params, dict):
        raise ParameterError(f"{what}: synapse parameters must be a dict, got {params!r}")
    for key, value in params.items():
        if key not in model.parameters:
            known = ", ".join(model.parameters) or "none"
            raise ParameterError(f"{what}: synapse model {name} has no parameter {key!r}; known: {known}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ParameterError(f"{what}: synapse parameter {key} must be a finite number, got {value!r}")
        _, lower, strict = model.parameters[key]
        if lower is not None and (value <= lower if strict else value < lower):
            raise ParameterError(f"{what}: synapse parameter {key} must be {'>' if strict else '>='} {lower}, "
                                 f"got {value}")
    if model.check_weight is not None:
        model.check_weight(weight_range[0], weight_range[1], values(model, params), what)


_CATALOG.discover(__name__, __path__)
