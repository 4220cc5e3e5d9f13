"""h5py, loaded on first use: ``from parsnn.runfile.lazy_h5py import h5py`` gives the h5py module,
whose import (~50 ms, with its HDF5 library) runs when an attribute of it is first used, so a run
that writes no run file (a PyNN script, ``parsnn.Simulation`` without an output) never loads it."""
from __future__ import annotations

import importlib.util
import sys


def _lazy(name: str):
    """The module ``name``, imported now if it is already loaded, else on its first attribute access
    (importlib's LazyLoader; it is put in sys.modules, so a later ``import name`` gets the same one)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


h5py = _lazy("h5py")
