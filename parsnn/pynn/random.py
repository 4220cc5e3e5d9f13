"""Random numbers of the PyNN backend: every PyNN ``RandomDistribution`` is drawn from parsnn's
counter-based Philox streams, never from the distribution's own generator.

The stream of a draw is keyed by (the simulation seed, ``purpose("pynn", what, rng_seed)``), where
``what`` names the use (a population's parameter, a projection's weights, a connector's structure)
and ``rng_seed`` is the seed of the script's ``NumpyRNG(seed=...)`` (``None`` if it had none). The
simulation seed is ``setup(rng_seed=...)`` (default 12345, parsnn's default). Each use draws the
values of all its cells or connections, in PyNN's index order, on every rank, so the values do not
depend on the number of ranks. Two kinds of draws are left to the engine, exactly as parsnn's own
models make them: synapse weights and delays of the engine's connection rules (normal,
normal_clipped and uniform become the engine's per-synapse Normal/Uniform), and initial values given
as a plain normal/normal_clipped/uniform (drawn per node from ``purpose("param", population, "V_m")``);
those streams are keyed by the setup seed and the projection's label and position (the label
extended by the NumpyRNG seeds involved, e.g. "E->I rng=42") or the population's label (not by a
NumpyRNG seed: for initial values only the setup seed counts). The realisation differs from ``pyNN.nest``'s (or any other
backend's) for the same seeds: same distributions, different numbers.

A connector made without an ``rng`` differs in more than its numbers: PyNN gives each such connector a
new ``NumpyRNG(seed=151985012)`` (``pyNN.connectors._get_rng``), so on pyNN.nest (and any backend that
connects with PyNN's own connector code) all of them draw the same random sequence, and the in- and
out-degrees of the cells in different projections onto (from) one population are correlated (PyNN's
examples/Potjans2014: in-degree correlation 0.29 on average over the pairs of projections at n_scaling 0.02). parsnn
draws each projection from its own stream: independent degrees, as the models mean them. In
Potjans2014 at K_scaling 0.1 the excitatory rates are then 5-13 % lower than on pyNN.nest; with
pyNN.nest's very connections (``scripts/run_pynn_potjans2014.py --pynn-connector-rng``) they agree
(analysis/results/pynn/potjans2014_*pynn_connector_rng*).
"""
from __future__ import annotations

import numpy as np
from pyNN.random import NumpyRNG, RandomDistribution, WrappedRNG

from parsnn.engine.streams import purpose
from parsnn.network import Normal, Uniform


class ParsnnRNG(NumpyRNG):
    """A PyNN RNG (NumPy's distributions, as :class:`pyNN.random.NumpyRNG`) on a Philox stream keyed
    by (``seed``, ``stream``); parallel-safe: it draws every value on every rank."""

    def __init__(self, seed: int, stream: int):
        WrappedRNG.__init__(self, seed=None, parallel_safe=True)
        self.seed = int(seed)
        self.stream = int(stream)
        self.rng = np.random.Generator(np.random.Philox(key=np.array([self.seed, self.stream], dtype=np.uint64)))

    def _next(self, distribution, n, parameters):
        """``n`` values of ``distribution`` (PyNN's names and parameters)."""
        name, parameter_map = self.translations[distribution]
        if set(parameters) != set(parameter_map):
            raise KeyError(f"Incorrect parameterization of random distribution {distribution}: "
                           f"expected {sorted(parameter_map)}, got {sorted(parameters)}")
        kwargs = {parameter_map[k]: v for k, v in parameters.items()}
        if name == "randint":
            return self.rng.integers(size=n, **kwargs)
        if name in ("normal_clipped", "normal_clipped_to_boundary"):
            return getattr(self, name)(size=n, **kwargs)
        return getattr(self.rng, name)(size=n, **kwargs)

    def __deepcopy__(self, memo):
        return ParsnnRNG(self.seed, self.stream)

    def describe(self):
        """One line naming the stream."""
        return f"parsnn Philox stream (seed {self.seed}, purpose {self.stream:#x})"


def user_seed(source) -> object:
    """The seed of a RandomDistribution's RNG or of a PyNN RNG (None if it has none or ``source``
    is neither)."""
    rng = source.rng if isinstance(source, RandomDistribution) else source
    seed = getattr(rng, "seed", None)
    return int(seed) if isinstance(seed, (int, np.integer)) else None


def stream_rng(seed: int, what: tuple, rd=None) -> ParsnnRNG:
    """The ParsnnRNG of use ``what`` (a tuple of names) for distribution ``rd``."""
    return ParsnnRNG(seed, purpose("pynn", *what, user_seed(rd)))


def redirected(rd: RandomDistribution, seed: int, what: tuple) -> RandomDistribution:
    """A copy of ``rd`` that draws from the parsnn stream of use ``what``."""
    return RandomDistribution(rd.name, rng=stream_rng(seed, what, rd), **rd.parameters)


def redirect_larray(larr, seed: int, what: tuple):
    """Point a lazy array whose base value is a RandomDistribution at the parsnn stream of ``what``
    (in place); other lazy arrays are left as they are."""
    if isinstance(larr.base_value, RandomDistribution):
        larr.base_value = redirected(larr.base_value, seed, what)
    return larr


def engine_distribution(rd: RandomDistribution, scale: float):
    """The engine's per-synapse distribution equal to ``scale`` times ``rd``, or None if the engine
    has none (then the connections are drawn here, as an explicit list). normal_clipped redraws
    outside its bounds, as the engine's Normal does."""
    p = rd.parameters
    lo_hi = sorted((scale * p.get("low", -np.inf), scale * p.get("high", np.inf)))
    if rd.name == "normal":
        return Normal(scale * p["mu"], abs(scale) * p["sigma"])
    if rd.name == "normal_clipped":
        return Normal(scale * p["mu"], abs(scale) * p["sigma"], *lo_hi)
    if rd.name == "uniform" and scale > 0:
        return Uniform(*lo_hi)
    return None
