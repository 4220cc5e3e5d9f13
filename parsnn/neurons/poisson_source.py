"""``poisson_source``: a population of independent Poisson spike sources (NEST: poisson_generator
feeding parrot_neurons): every target of one source sees the same train. Kernel code 2.

As NEST's parrot_neuron, a source passes on the k spikes of a step (a Poisson count of mean
rate x h) as one event of multiplicity k, which NEST delivers as k spikes: a static target receives
weight x k, a plastic synapse is updated k times, the spike recorder writes k rows (cython/engine.pyx,
the spike code). A code holds k <= 65536 (more are cut to it):
``check`` keeps the mean count per step at most MAX_MEAN_PER_STEP, where k > 65536 never occurs."""
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


#: largest mean spike count per step (rate x resolution) of a source (spike code: k <= 65536)
MAX_MEAN_PER_STEP = 1e4


def check(pop, net):
    """A source stops no earlier than it starts; its rate (if given as numbers) is at most
    MAX_MEAN_PER_STEP spikes per step."""
    if float(pop.param("stop")) < float(pop.param("start")):
        raise ParameterError(f"population '{pop.name}': stop must be >= start")
    try:
        rate = float(np.max(np.asarray(pop.param("rate"), dtype=np.float64)))
    except (TypeError, ValueError):
        return      # a distribution: its draws are checked by the kernel's cap only
    limit = MAX_MEAN_PER_STEP / (net.resolution * 1e-3)
    if rate > limit:
        raise ParameterError(f"population '{pop.name}' parameter rate must be <= {limit:g} spikes/s "
                             f"({MAX_MEAN_PER_STEP:g} per step of {net.resolution} ms), got {rate:g}")


MODEL = NeuronModel(
    name="poisson_source", code=2,
    parameters={"rate": (0.0, 0.0, False), "start": (0.0, 0.0, False), "stop": (math.inf, 0.0, False)},
    prepare=prepare, source_rate=source_rate, check=check)
