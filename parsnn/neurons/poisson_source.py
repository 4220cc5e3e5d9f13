"""``poisson_source``: a population of independent Poisson spike sources (NEST: poisson_generator
feeding parrot_neurons): every target of one source sees the same train. Kernel code 2."""
from __future__ import annotations

import math

import numpy as np

from parsnn.errors import ParameterError
from parsnn.neurons import NeuronModel


def prepare(x: dict, sl: slice, name: str, draw, h: float):
    """Spike probability per step and active steps [t_on, t_off) of the poisson_source nodes ``sl``."""
    x["lam"][sl] = draw("rate") * h * 1e-3
    x["t_on"][sl] = np.rint(draw("start") / h).astype(np.int64)
    stop = draw("stop")
    x["t_off"][sl] = np.where(np.isfinite(stop), np.rint(np.minimum(stop, 1e15) / h), 2**62).astype(np.int64)


def source_rate(params: dict, horizon_ms: float = 1000.0) -> float:
    """Mean rate of a poisson_source over its active window within the first second, for the
    values ``params`` of rate, start and stop."""
    rate, start, stop = (float(np.mean(params[key])) for key in ("rate", "start", "stop"))
    if math.isfinite(stop):
        span = max(horizon_ms, stop)
        return rate * max(0.0, stop - start) / span
    return rate


def check(pop, net):
    """A source stops no earlier than it starts."""
    if float(pop.param("stop")) < float(pop.param("start")):
        raise ParameterError(f"population '{pop.name}': stop must be >= start")


MODEL = NeuronModel(
    name="poisson_source", code=2,
    parameters={"rate": (0.0, 0.0, False), "start": (0.0, 0.0, False), "stop": (math.inf, 0.0, False)},
    prepare=prepare, source_rate=source_rate, check=check)
