"""A catalog of named models found in a package: each module of the package declares one with a
module-level ``MODEL = <model type>(...)``. Used by the neuron-model and synapse-model registries
(:mod:`parsnn.neurons`, :mod:`parsnn.synapses`), so that a new model is one new module."""
from __future__ import annotations

import importlib
import pkgutil

from parsnn.errors import ParameterError


class Catalog:
    """Models of type ``model_type`` by name, ordered by their ``code``; ``kind`` names them in errors."""

    def __init__(self, kind: str, model_type: type):
        self.kind = kind
        self.model_type = model_type
        self._models: dict = {}

    def register(self, model):
        """Add ``model`` (registered on import for the modules of the package)."""
        self._models[model.name] = model

    def names(self) -> list[str]:
        """Names of the registered models, ordered by code."""
        return sorted(self._models, key=lambda name: self._models[name].code)

    def get(self, name: str):
        """The model ``name``; ParameterError listing the known ones if there is none."""
        try:
            return self._models[name]
        except KeyError:
            raise ParameterError(f"unknown {self.kind} '{name}'; known: {', '.join(self.names())}") from None

    def discover(self, package: str, path):
        """Register the ``MODEL`` of every module of ``package`` (at ``path``)."""
        for info in pkgutil.iter_modules(path):
            module = importlib.import_module(f"{package}.{info.name}")
            model = getattr(module, "MODEL", None)
            if isinstance(model, self.model_type):
                self.register(model)
