"""The model registry: every folder in ``models/`` (installed as ``parsnn.models.<name>``) is a
model, and declares itself with a module-level ``MODEL = ModelSpec(...)``.

The command line (``parsnn run/partition/predict/map/scaling``), the scaling sweeps and the
expected rates of the partitioner and the cost model look models up here by name, so no module in
``parsnn/`` imports a specific model, and a new model is one new folder in ``models/``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from parsnn.errors import ParameterError


@dataclass(frozen=True)
class ModelSpec:
    """How a model is built, configured from the command line, sized and what rates it expects.

    - ``add_arguments(group)``: adds the model's own options to an argparse argument group.
    - ``from_args(args)``: the :class:`parsnn.network.Network` for parsed options; besides the
      model's own options, ``args`` has the common ones ``resolution``, ``no_record`` and
      ``record_v`` (record V_m of the first K neurons of each population every 1 ms).
    - ``size_option`` / ``default_size`` / ``size_value(size)``: the option that sets the model's
      size in scaling sweeps (strong: the size; weak: size x ranks), its default, and its value
      for a size (a ParameterError where the model cannot take that size).
    - ``expected_rates(metadata)``: {population: spikes/s} expected for a network described by
      ``metadata`` (the network's ``metadata`` dict), or None where the model gives none.
    """
    name: str
    summary: str
    add_arguments: Callable
    from_args: Callable
    size_option: str
    default_size: float
    size_value: Callable = lambda size: f"{size:g}"
    expected_rates: Callable | None = None


def names() -> list[str]:
    """Names of the installed models (the folders of ``models/``), sorted."""
    import parsnn.models
    return sorted(m.name for m in pkgutil.iter_modules(parsnn.models.__path__) if m.ispkg)


def get(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of model ``name``; a ParameterError names the known models."""
    if name not in names():
        raise ParameterError(f"unknown model '{name}'; known: {', '.join(names())}")
    spec = getattr(importlib.import_module(f"parsnn.models.{name}"), "MODEL", None)
    if not isinstance(spec, ModelSpec):
        raise ParameterError(f"models/{name} declares no MODEL = ModelSpec(...)")
    return spec


def expected_rates(metadata: dict) -> dict:
    """{population: spikes/s} that a network's model expects: the ``expected_rates`` the network
    carries in its metadata, else what its model's ``expected_rates`` gives, else {}."""
    metadata = metadata or {}
    if metadata.get("expected_rates"):
        return dict(metadata["expected_rates"])
    name = metadata.get("model")
    if name in names():
        spec = get(name)
        if spec.expected_rates is not None:
            return dict(spec.expected_rates(metadata) or {})
    return {}
