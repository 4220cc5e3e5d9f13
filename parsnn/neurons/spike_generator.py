"""``spike_generator``: sources that emit given spike times (NEST's spike_generator). They are
virtual: known on every rank, never placed; the engine sends their spikes to the ranks that hold
their targets. Kernel code 3."""
from __future__ import annotations

import numpy as np

from parsnn.errors import ParameterError
from parsnn.neurons import NeuronModel


def check(pop, net):
    """One sorted sequence of spike times per node, each a multiple of the resolution and no
    earlier than it."""
    if pop.spike_times is None or len(pop.spike_times) != pop.size:
        raise ParameterError(f"population '{pop.name}': spike_generator needs spike_times, "
                             f"one sequence per node ({pop.size})")
    for i, times in enumerate(pop.spike_times):
        t = np.asarray(times, dtype=float)
        if t.size and (t.min() < net.resolution or np.any(np.diff(t) < 0)):
            raise ParameterError(f"population '{pop.name}' node {i}: spike times must be sorted and "
                                 f">= the resolution {net.resolution} ms")
        for x in t:
            net.steps(float(x), f"population '{pop.name}' node {i} spike time")


MODEL = NeuronModel(name="spike_generator", code=3, virtual=True, check=check)
