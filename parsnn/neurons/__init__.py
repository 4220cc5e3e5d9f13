"""The neuron-model registry: one module per neuron or source model, each declaring itself with a
module-level ``MODEL = NeuronModel(...)``.

The network description (parameter names, defaults and bounds; which populations can receive
spikes, take current input, have a membrane potential, are virtual), the engine (the kernel's
model code and the state each model fills in) and the connectivity (virtual nodes, source rates)
look neuron models up here by name. A new neuron model is one new module in ``parsnn/neurons/``
plus its update kernel in ``cython/`` (dispatched by the model's ``code``). ``iaf.py`` holds
what the integrate-and-fire models share and is not a model itself.

The models are listed in the order of their kernel codes (iaf_psc_exp, iaf_psc_delta,
poisson_source, spike_generator, iaf_psc_alpha).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from parsnn.catalog import Catalog


@dataclass(frozen=True)
class NeuronModel:
    """What the simulator knows of one neuron or source model (NEST's name and parameters).

    - ``code``: the update kernel's model code (``cython/``), also the order of :func:`names`.
    - ``parameters``: {NEST parameter name: (default, lower bound or None, strict?)}; a strict
      bound excludes the bound itself.
    - ``receives_spikes``: may be the target of projections and Poisson inputs.
    - ``has_membrane_potential``: V_m may be recorded.
    - ``takes_current_input``: may be the target of DC inputs.
    - ``virtual``: its nodes are known on every rank and need no placement (spike generators).
    - ``prepare(state_arrays, sl, population_name, draw, h)``: fills the kernel's state and
      propagator arrays of the local nodes ``sl`` (``draw(parameter)`` gives their values);
      None for models without local state.
    - ``source_rate(params)``: for rate sources, the mean rate (spikes/s) for the parameter
      values ``params`` ({name: value}); None otherwise.
    - ``check(pop, net)``: model-specific checks of a population of network ``net`` (raising
      ParameterError); None where the parameter table says everything.
    - ``assumed_update_cost``: for a model that machine files do not calibrate yet, (base model,
      ratio, source): the cost model takes ``ratio`` times the machine's cost of ``base``; None
      for calibrated models.
    """
    name: str
    code: int
    parameters: dict = field(default_factory=dict)
    receives_spikes: bool = False
    has_membrane_potential: bool = False
    takes_current_input: bool = False
    virtual: bool = False
    prepare: Callable | None = None
    source_rate: Callable | None = None
    check: Callable | None = None
    assumed_update_cost: tuple | None = None


_CATALOG = Catalog("neuron model", NeuronModel)
register, names, get = _CATALOG.register, _CATALOG.names, _CATALOG.get
_CATALOG.discover(__name__, __path__)
