"""Run the same small PyNN model on parsnn.pynn and on pyNN.nest (NEST installed) for the tests that
compare them exactly. Importing this module imports neither NEST nor PyNN.

``model(sim)`` builds the model after ``setup`` (done here: ``timestep``, ``min_delay``; pyNN.nest
with ``spike_precision="on_grid"``, the grid-based models parsnn has) and returns the populations and
sources whose data the caller wants; :func:`run_model` runs it for ``t_sim`` ms and returns
``fetch(objects)``'s result, computed before ``end()``.
"""
from __future__ import annotations

import os


def nest_backend():
    """pyNN.nest, or None when NEST (or PyNN's NEST backend) cannot be imported."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyNN.nest as nest_sim
    except Exception:       # ImportError, or NEST failing to start
        return None
    return nest_sim


def run_model(sim, model, fetch, t_sim: float, timestep: float = 0.1, min_delay: float = 0.1):
    """Build ``model(sim)`` after setup, run ``t_sim`` ms, return ``fetch(model's objects)``."""
    extra = {"spike_precision": "on_grid"} if sim.__name__.startswith("pyNN.nest") else {}
    sim.setup(timestep=timestep, min_delay=min_delay, **extra)
    try:
        objects = model(sim)
        sim.run(t_sim)
        return fetch(objects)
    finally:
        sim.end()
