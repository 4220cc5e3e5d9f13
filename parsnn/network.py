"""Network description: populations, projections, connection rules, parameter
distributions and devices.

A :class:`Network` is a pure description. It knows nothing about ranks or
partitions and builds nothing; :class:`parsnn.engine.Simulation` (its
``build()``) turns it into the per-rank state. Every check of user input happens in :meth:`Network.validate`,
so bad input fails before anything is built, identically on every rank.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from parsnn import neurons, synapses
from parsnn.errors import ParameterError

# ---------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------

DIST_CONST, DIST_NORMAL, DIST_UNIFORM = 0, 1, 2


@dataclass(frozen=True)
class Normal:
    """Normal distribution; draws outside [low, high] are redrawn (NEST's
    ``redraw``), never clipped."""
    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf

    def spec(self):
        """(kind, mean, std, low, high) tuple for the Cython kernels."""
        return (DIST_NORMAL, float(self.mean), float(self.std), float(self.low), float(self.high))


@dataclass(frozen=True)
class Uniform:
    """Uniform distribution on [low, high)."""
    low: float
    high: float

    def spec(self):
        """(kind, low, high, -inf, inf) tuple for the Cython kernels."""
        return (DIST_UNIFORM, float(self.low), float(self.high), -math.inf, math.inf)


Value = "float | Normal | Uniform | Sequence[float]"


def dist_spec(value):
    """(kind, a, b, low, high) tuple for a scalar value or a distribution."""
    if isinstance(value, (Normal, Uniform)):
        return value.spec()
    return (DIST_CONST, float(value), 0.0, -math.inf, math.inf)


def _check_dist(value, what: str, low=None, high=None):
    """Validate a constant or a distribution; ``low``/``high`` bound the values
    the quantity may take (None = unbounded)."""
    if isinstance(value, Normal):
        for name, v in (("mean", value.mean), ("std", value.std)):
            if not np.isfinite(v):
                raise ParameterError(f"{what}: Normal {name} must be finite, got {v}")
        if value.std < 0:
            raise ParameterError(f"{what}: Normal std must be >= 0, got {value.std}")
        if not value.low < value.high:
            raise ParameterError(f"{what}: Normal redraw bounds need low < high, got [{value.low}, {value.high}]")
        # redraw must be able to terminate: the bounds must hold some mass
        if value.std == 0 and not (value.low <= value.mean <= value.high):
            raise ParameterError(f"{what}: Normal with std 0 has mean {value.mean} outside redraw bounds "
                                 f"[{value.low}, {value.high}]")
        if value.std > 0:
            za = (value.low - value.mean) / value.std
            zb = (value.high - value.mean) / value.std
            mass = 0.5 * (math.erfc(-zb / math.sqrt(2)) - math.erfc(-za / math.sqrt(2)))
            if mass < 1e-6:
                raise ParameterError(f"{what}: redraw bounds [{value.low}, {value.high}] keep almost no mass "
                                     f"of Normal({value.mean}, {value.std}); redrawing would not terminate")
        lo_eff, hi_eff = value.low, value.high
    elif isinstance(value, Uniform):
        if not (np.isfinite(value.low) and np.isfinite(value.high) and value.low < value.high):
            raise ParameterError(f"{what}: Uniform needs finite low < high, got [{value.low}, {value.high})")
        lo_eff, hi_eff = value.low, value.high
    else:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{what}: expected a number, Normal or Uniform, got {value!r}") from None
        if not np.isfinite(v):
            raise ParameterError(f"{what}: must be finite, got {v}")
        lo_eff = hi_eff = v
    if low is not None and lo_eff < low:
        raise ParameterError(f"{what}: values must be >= {low}, got {lo_eff}"
                             + (" (set redraw bounds on the distribution)" if isinstance(value, Normal) else ""))
    if high is not None and hi_eff > high:
        raise ParameterError(f"{what}: values must be <= {high}, got {hi_eff}"
                             + (" (set redraw bounds on the distribution)" if isinstance(value, Normal) else ""))


@dataclass
class Population:
    """``size`` nodes of neuron or source model ``model`` with parameters ``params`` (NEST names;
    a number, a per-neuron sequence or a distribution each; defaults from the model's entry in
    :mod:`parsnn.neurons`)."""
    name: str
    size: int
    model: str
    params: dict = field(default_factory=dict)
    spike_times: list | None = None   # spike_generator only: one sequence of times (ms) per node

    def param(self, name):
        """Value of parameter ``name``: the given one, else the model's default."""
        return self.params.get(name, neurons.get(self.model).parameters[name][0])

    @property
    def is_virtual(self) -> bool:
        """Virtual sources (spike generators) are known to every rank and need no placement."""
        return self.model in neurons.names() and neurons.get(self.model).virtual


# ---------------------------------------------------------------------------
# Connection rules
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FixedTotalNumber:
    """``n`` synapses in total; each picks its target and source uniformly
    (multapses and autapses allowed, as PD14 needs)."""
    n: int


@dataclass(frozen=True)
class FixedIndegree:
    """Each target draws ``k`` sources uniformly with replacement (multapses allowed)."""
    k: int
    allow_autapses: bool = True


@dataclass(frozen=True)
class PairwiseBernoulli:
    """Each (source, target) pair is connected with probability ``p``."""
    p: float
    allow_autapses: bool = True


@dataclass(frozen=True)
class AllToAll:
    """Every source connects to every target (once)."""
    allow_autapses: bool = True


@dataclass(frozen=True)
class OneToOne:
    """Source i connects to target i (the populations have equal sizes)."""


@dataclass(frozen=True, eq=False)
class FromList:
    """An explicit list of synapses: ``pre[i]`` -> ``post[i]`` (population-local indices) with
    ``weight[i]`` and ``delay[i]`` (ms). The projection's own weight and delay are not used. The
    full list is known on every rank; each rank keeps the synapses onto its own neurons."""
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def n(self) -> int:
        """Number of synapses in the list."""
        return int(np.asarray(self.pre).size)

    def describe(self) -> dict:
        """JSON-able summary (the count, not the list)."""
        return {"n": self.n}


#: largest synaptic delay in steps (delays are stored as uint16)
MAX_DELAY_STEPS = 65535

RULE_CODES = {FixedTotalNumber: 0, FixedIndegree: 1, PairwiseBernoulli: 2, AllToAll: 3, OneToOne: 4, FromList: 5}


@dataclass
class Projection:
    """Synapses from population ``source`` onto ``target`` by connection ``rule``, with ``weight``
    (pA for iaf_psc_exp, mV for iaf_psc_delta) and ``delay`` (ms), each a number or a distribution;
    ``synapse_model`` (a name of :mod:`parsnn.synapses`) with its ``synapse_params`` (NEST names)."""
    source: str
    target: str
    rule: object
    weight: object = 1.0
    delay: object = 1.0
    name: str = ""
    synapse_model: str = synapses.STATIC
    synapse_params: dict = field(default_factory=dict)

    @property
    def plastic(self) -> bool:
        """True if the synapse model changes the weights during the run."""
        return synapses.get(self.synapse_model).plastic


# ---------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------

@dataclass
class DCInput:
    """Constant current (pA) added to the target neurons' I_e: a scalar for the
    whole population or one value per neuron."""
    target: str
    amplitude: object


@dataclass
class PoissonInput:
    """Independent Poisson spike input to every neuron of ``target``: rate (spikes/s,
    scalar or per neuron), weight (pA for iaf_psc_exp, mV for iaf_psc_delta), delay (ms)."""
    target: str
    rate: object
    weight: float
    delay: float = 1.0
    name: str = ""


@dataclass
class SpikeRecorder:
    """Record the spikes of ``populations``."""
    populations: list


@dataclass
class VoltageRecorder:
    """Record V_m of ``ids`` (population-local) every ``interval`` ms."""
    population: str
    ids: list
    interval: float = 1.0


class Network:
    """A model description: populations, projections and devices, plus the
    resolution. Build it with the ``add_*``/``connect``/``record_*`` methods."""

    def __init__(self, resolution: float = 0.1, name: str = "network"):
        self.resolution = resolution
        self.name = name
        self.populations: dict[str, Population] = {}
        self.projections: list[Projection] = []
        self.dc_inputs: list[DCInput] = []
        self.poisson_inputs: list[PoissonInput] = []
        self.spike_recorder: SpikeRecorder | None = None
        self.voltage_recorders: list[VoltageRecorder] = []
        self.metadata: dict = {}

    # -- construction -------------------------------------------------------
    def add_population(self, name: str, size: int, model: str = "iaf_psc_exp", params: dict | None = None,
                       spike_times=None) -> Population:
        """Add ``size`` nodes of ``model`` (with ``spike_times``, one sequence per node, for a
        spike_generator); returns the Population."""
        if name in self.populations:
            raise ParameterError(f"population '{name}' is defined twice")
        pop = Population(name, size, model, dict(params or {}), spike_times)
        self.populations[name] = pop
        return pop

    def connect(self, source: str, target: str, rule, weight=1.0, delay=None, name: str = "",
                synapse_model: str = synapses.STATIC, synapse_params: dict | None = None) -> Projection:
        """Connect ``source`` to ``target`` by ``rule`` (delay default: the resolution) with synapses of
        ``synapse_model`` and its ``synapse_params``; returns the Projection."""
        proj = Projection(source, target, rule, weight, self.resolution if delay is None else delay,
                          name or f"{source}->{target}", synapse_model, dict(synapse_params or {}))
        self.projections.append(proj)
        return proj

    def add_dc(self, target: str, amplitude) -> DCInput:
        """Add a constant current (pA, scalar or per neuron) to the neurons of ``target``."""
        d = DCInput(target, amplitude)
        self.dc_inputs.append(d)
        return d

    def add_poisson(self, target: str, rate, weight: float, delay: float = 1.0, name: str = "") -> PoissonInput:
        """Give every neuron of ``target`` an independent Poisson input (see :class:`PoissonInput`)."""
        d = PoissonInput(target, rate, weight, delay, name or f"poisson->{target}#{len(self.poisson_inputs)}")
        self.poisson_inputs.append(d)
        return d

    def record_spikes(self, populations=None):
        """Record the spikes of ``populations`` (default: every population that is not a spike_generator)."""
        if populations is None:
            populations = [name for name, pop in self.populations.items() if not pop.is_virtual]
        self.spike_recorder = SpikeRecorder(list(populations))

    def record_voltage(self, population: str, ids, interval: float = 1.0):
        """Record V_m of the neurons ``ids`` (population-local) of ``population`` every ``interval`` ms."""
        self.voltage_recorders.append(VoltageRecorder(population, list(ids), interval))

    # -- derived ------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        """Number of nodes of all populations (spike generators included)."""
        return sum(p.size for p in self.populations.values())

    def offsets(self) -> dict[str, int]:
        """First global id (gid) of each population; gids are 0-based and
        follow the order in which populations were added."""
        out, off = {}, 0
        for name, pop in self.populations.items():
            out[name] = off
            off += pop.size
        return out

    def steps(self, t_ms: float, what: str) -> int:
        """Convert a time to whole steps, requiring it to be a multiple of the resolution."""
        n = round(t_ms / self.resolution)
        if abs(n * self.resolution - t_ms) > 1e-9 * max(1.0, abs(t_ms)):
            raise ParameterError(f"{what} = {t_ms} ms must be a multiple of the resolution {self.resolution} ms")
        return n

    # -- validation -----------------------------------------------------------
    def validate(self, t_sim: float | None = None):
        """Check the whole description; raise ParameterError naming the first
        offending parameter and its allowed range."""
        h = self.resolution
        if not (isinstance(h, (int, float)) and np.isfinite(h) and h > 0):
            raise ParameterError(f"resolution must be a number > 0 ms, got {h!r}")
        if t_sim is not None:
            if isinstance(t_sim, bool) or not isinstance(t_sim, numbers.Real) or not (np.isfinite(t_sim) and t_sim > 0):
                raise ParameterError(f"t_sim must be > 0 ms, got {t_sim!r}")
            self.steps(t_sim, "t_sim")
        if not self.populations:
            raise ParameterError("the network has no populations")
        for pop in self.populations.values():
            self._validate_population(pop)
        if self.num_nodes >= 2**31 - 1:
            raise ParameterError(f"at most 2^31-2 nodes are supported, got {self.num_nodes}")
        plastic_pairs = set()
        for proj in self.projections:
            self._validate_projection(proj)
            if proj.plastic:     # their weights are reported per (source, target) population pair
                if (proj.source, proj.target) in plastic_pairs:
                    raise ParameterError(f"projection '{proj.name}': a second plastic projection from "
                                         f"'{proj.source}' to '{proj.target}'; at most one is supported")
                plastic_pairs.add((proj.source, proj.target))
        for d in self.dc_inputs:
            pop = self._pop(d.target, "DC input target")
            if not neurons.get(pop.model).takes_current_input:
                raise ParameterError(f"DC input target '{d.target}' must be a neuron population, not {pop.model}")
            self._check_scalar_or_array(d.amplitude, pop.size, f"DC amplitude for '{d.target}' (pA)")
        for d in self.poisson_inputs:
            pop = self._pop(d.target, "Poisson input target")
            if not neurons.get(pop.model).receives_spikes:
                raise ParameterError(f"Poisson input target '{d.target}' must be a neuron population")
            self._check_scalar_or_array(d.rate, pop.size, f"Poisson rate for '{d.target}' (spikes/s)", low=0.0)
            if isinstance(d.weight, (Normal, Uniform)):
                raise ParameterError(f"Poisson weight for '{d.target}' must be a number, not a distribution")
            _check_dist(d.weight, f"Poisson weight for '{d.target}'")
            self._check_delay_const(d.delay, f"Poisson delay for '{d.target}'")
        if self.spike_recorder is not None:
            for name in self.spike_recorder.populations:
                pop = self._pop(name, "spike recorder population")
                if pop.is_virtual:
                    raise ParameterError(f"spike recorder population '{name}' is a spike_generator; "
                                         "its spikes are given, not recorded")
        for vr in self.voltage_recorders:
            pop = self._pop(vr.population, "voltage recorder population")
            if not neurons.get(pop.model).has_membrane_potential:
                raise ParameterError(f"voltage recorder population '{vr.population}' has no membrane potential")
            ids = np.asarray(vr.ids)
            if ids.size == 0 or ids.min() < 0 or ids.max() >= pop.size or len(set(ids.tolist())) != ids.size:
                raise ParameterError(f"voltage recorder ids for '{vr.population}' must be distinct and in "
                                     f"[0, {pop.size - 1}], got {vr.ids}")
            if self.steps(vr.interval, f"voltage recorder interval for '{vr.population}'") < 1:
                raise ParameterError(f"voltage recorder interval must be >= the resolution {h} ms")

    def _pop(self, name, what) -> Population:
        if name not in self.populations:
            raise ParameterError(f"{what}: unknown population '{name}'; known: {', '.join(self.populations)}")
        return self.populations[name]

    @staticmethod
    def _check_scalar_or_array(value, n, what, low=None):
        arr = np.asarray(value, dtype=float) if not isinstance(value, (Normal, Uniform)) else None
        if arr is None:
            _check_dist(value, what, low=low)
            return
        if arr.ndim == 1 and arr.size != n:
            raise ParameterError(f"{what}: per-neuron values need {n} entries, got {arr.size}")
        if arr.ndim > 1:
            raise ParameterError(f"{what}: expected a scalar or a 1-d array, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{what}: values must be finite")
        if low is not None and arr.size and arr.min() < low:
            raise ParameterError(f"{what}: values must be >= {low}, got {arr.min()}")

    def _validate_population(self, pop: Population):
        if not isinstance(pop.name, str) or not pop.name or "/" in pop.name:
            raise ParameterError(f"population name must be a non-empty string without '/', got {pop.name!r}")
        if pop.model not in neurons.names():
            raise ParameterError(f"population '{pop.name}': unknown model '{pop.model}'; "
                                 f"known: {', '.join(neurons.names())}")
        if isinstance(pop.size, bool) or not isinstance(pop.size, (int, np.integer)) or pop.size <= 0:
            raise ParameterError(f"population '{pop.name}': size must be an integer >= 1, got {pop.size!r}")
        model = neurons.get(pop.model)
        spec = model.parameters
        for key, value in pop.params.items():
            if key not in spec:
                raise ParameterError(f"population '{pop.name}': model {pop.model} has no parameter '{key}'; "
                                     f"known: {', '.join(spec)}")
            default, lower, strict = spec[key]
            what = f"population '{pop.name}' parameter {key}"
            self._check_scalar_or_array(value, pop.size, what, low=None if strict else lower)
            if strict and not isinstance(value, (Normal, Uniform)) and np.min(np.asarray(value, float)) <= lower:
                raise ParameterError(f"{what} must be > {lower}, got {np.min(np.asarray(value, float))}")
            if strict and isinstance(value, (Normal, Uniform)):
                lo = value.low
                if lo <= lower:
                    raise ParameterError(f"{what} must be > {lower}: give the distribution a lower bound above it")
        if "V_th" in spec and "V_reset" in spec:     # every model with a threshold and a reset
            vth, vre = pop.param("V_th"), pop.param("V_reset")
            if all(not isinstance(v, (Normal, Uniform)) for v in (vth, vre)):
                if np.any(np.asarray(vre, float) >= np.asarray(vth, float)):
                    raise ParameterError(f"population '{pop.name}': V_reset must be < V_th "
                                         f"(got V_reset={vre}, V_th={vth})")
        if model.check is not None:
            model.check(pop, self)

    def _check_delay_const(self, delay, what):
        if isinstance(delay, (Normal, Uniform)):
            _check_dist(delay, what)
            lo = delay.low
            if lo < 0.5 * self.resolution:
                raise ParameterError(f"{what}: the distribution's lower bound must be >= half the resolution "
                                     f"({0.5 * self.resolution} ms), got {lo}; delays are rounded to whole steps")
            return
        _check_dist(delay, what)
        if float(delay) < self.resolution - 1e-12:
            raise ParameterError(f"{what} must be >= the resolution {self.resolution} ms, got {delay}")

    def _validate_projection(self, proj: Projection):
        src = self._pop(proj.source, f"projection '{proj.name}' source")
        tgt = self._pop(proj.target, f"projection '{proj.name}' target")
        if not neurons.get(tgt.model).receives_spikes:
            raise ParameterError(f"projection '{proj.name}': target '{tgt.name}' ({tgt.model}) cannot receive spikes")
        r = proj.rule
        if isinstance(r, FixedTotalNumber):
            if not isinstance(r.n, (int, np.integer)) or r.n < 0:
                raise ParameterError(f"projection '{proj.name}': fixed_total_number n must be an integer >= 0, got {r.n!r}")
        elif isinstance(r, FixedIndegree):
            if not isinstance(r.k, (int, np.integer)) or r.k < 0:
                raise ParameterError(f"projection '{proj.name}': fixed_indegree k must be an integer >= 0, got {r.k!r}")
            if not r.allow_autapses and src is tgt and src.size < 2 and r.k > 0:
                raise ParameterError(f"projection '{proj.name}': without autapses the population needs >= 2 neurons")
        elif isinstance(r, PairwiseBernoulli):
            if isinstance(r.p, bool) or not (isinstance(r.p, numbers.Real) and 0.0 <= r.p <= 1.0):
                raise ParameterError(f"projection '{proj.name}': pairwise_bernoulli p must be in [0, 1], got {r.p!r}")
        elif isinstance(r, AllToAll):
            pass
        elif isinstance(r, OneToOne):
            if src.size != tgt.size:
                raise ParameterError(f"projection '{proj.name}': one_to_one needs equal sizes, "
                                     f"got {src.size} and {tgt.size}")
        elif isinstance(r, FromList):
            self._validate_from_list(proj, r, src.size, tgt.size)
            self._validate_synapse_model(proj, tgt)
            return
        else:
            raise ParameterError(f"projection '{proj.name}': unknown connection rule {r!r}; known: "
                                 "FixedTotalNumber, FixedIndegree, PairwiseBernoulli, AllToAll, OneToOne, FromList")
        _check_dist(proj.weight, f"projection '{proj.name}' weight")
        self._validate_synapse_model(proj, tgt)
        self._check_delay_const(proj.delay, f"projection '{proj.name}' delay")
        # synaptic delays are stored as uint16 steps (unbounded distributions are checked during the build)
        is_dist = isinstance(proj.delay, (Normal, Uniform))
        hi = proj.delay.high if is_dist else float(proj.delay)
        if math.isfinite(hi) and round(hi / self.resolution) > MAX_DELAY_STEPS:
            raise ParameterError(f"projection '{proj.name}' delay must be <= {MAX_DELAY_STEPS} steps "
                                 f"({MAX_DELAY_STEPS * self.resolution:g} ms at resolution {self.resolution} ms), "
                                 f"got {'upper bound ' if is_dist else ''}{hi}")

    @staticmethod
    def _validate_synapse_model(proj: Projection, tgt: Population):
        """The projection's synapse model, its parameters and the weights it allows; a plastic model
        needs a target with a postsynaptic trace (a ``tau_minus`` parameter)."""
        what = f"projection '{proj.name}'"
        w = proj.weight
        weight_range = (w.low, w.high) if isinstance(w, (Normal, Uniform)) else (float(w), float(w))
        if isinstance(proj.rule, FromList):          # the list's own weights
            lw = np.asarray(proj.rule.weight, dtype=float)
            weight_range = (float(lw.min()), float(lw.max())) if lw.size else (0.0, 0.0)
        synapses.check(proj.synapse_model, proj.synapse_params, weight_range, what)
        if proj.plastic and "tau_minus" not in neurons.get(tgt.model).parameters:
            raise ParameterError(f"{what}: synapse model {proj.synapse_model} needs a target model with a "
                                 f"postsynaptic trace (tau_minus); '{tgt.name}' is {tgt.model}")

    def _validate_from_list(self, proj: Projection, r: FromList, n_src: int, n_tgt: int):
        """Check an explicit synapse list: equal lengths, indices in range, finite weights, delays
        of at least the resolution and at most MAX_DELAY_STEPS steps."""
        pre, post = np.asarray(r.pre), np.asarray(r.post)
        w, d = np.asarray(r.weight, dtype=float), np.asarray(r.delay, dtype=float)
        what = f"projection '{proj.name}' (FromList)"
        if not (pre.ndim == post.ndim == w.ndim == d.ndim == 1 and pre.size == post.size == w.size == d.size):
            raise ParameterError(f"{what}: pre, post, weight and delay must be 1-d arrays of equal length")
        if pre.size == 0:
            return
        if not (np.issubdtype(pre.dtype, np.integer) and np.issubdtype(post.dtype, np.integer)):
            raise ParameterError(f"{what}: pre and post must be integer indices")
        for name, idx, size in (("pre", pre, n_src), ("post", post, n_tgt)):
            if idx.min() < 0 or idx.max() >= size:
                raise ParameterError(f"{what}: {name} indices must be in [0, {size - 1}], "
                                     f"got [{idx.min()}, {idx.max()}]")
        if not np.all(np.isfinite(w)):
            raise ParameterError(f"{what}: weights must be finite")
        if not np.all(np.isfinite(d)) or d.min() < self.resolution - 1e-12:
            raise ParameterError(f"{what}: delays must be >= the resolution {self.resolution} ms, got {d.min()}")
        if round(d.max() / self.resolution) > MAX_DELAY_STEPS:
            raise ParameterError(f"{what}: delays must be <= {MAX_DELAY_STEPS} steps, got {d.max()} ms")

    # -- serialisation (metadata) ---------------------------------------------
    def describe(self) -> dict:
        """A JSON-serialisable summary of the description (for run metadata)."""
        def enc(v):
            """A value as JSON: a number, a distribution's fields or a per-neuron summary."""
            if isinstance(v, (Normal, Uniform)):
                return {"dist": type(v).__name__, **{k: (None if isinstance(x, float) and math.isinf(x) else x)
                                                      for k, x in v.__dict__.items()}}
            a = np.asarray(v)
            if a.ndim == 0:
                return float(a)
            return {"per_neuron": True, "mean": float(a.mean()) if a.size else None, "n": int(a.size)}
        return {
            "name": self.name, "resolution": self.resolution,
            "populations": [{"name": p.name, "size": int(p.size), "model": p.model,
                             "params": {k: enc(v) for k, v in p.params.items()}, **_described_spikes(p)}
                            for p in self.populations.values()],
            "projections": [{"name": q.name, "source": q.source, "target": q.target,
                             "rule": type(q.rule).__name__,
                             "rule_args": q.rule.describe() if hasattr(q.rule, "describe") else dict(q.rule.__dict__),
                             "weight": enc(q.weight), "delay": enc(q.delay),
                             **({"synapse_model": q.synapse_model, "synapse_params": dict(q.synapse_params)}
                                if q.synapse_model != synapses.STATIC else {})} for q in self.projections],
            "dc_inputs": [{"target": d.target, "amplitude": enc(d.amplitude)} for d in self.dc_inputs],
            "poisson_inputs": [{"target": d.target, "rate": enc(d.rate), "weight": enc(d.weight),
                                "delay": d.delay} for d in self.poisson_inputs],
            "spike_recorder": list(self.spike_recorder.populations) if self.spike_recorder else [],
            "metadata": self.metadata,
        }


def _described_spikes(pop) -> dict:
    """A spike_generator population's spikes in its description (``spikes``: their count and the last one's
    time in ms; the cost model's rate of the population), {} for the others."""
    if pop.spike_times is None:
        return {}
    last = max((float(max(t)) for t in pop.spike_times if len(t)), default=0.0)
    return {"spikes": {"count": int(sum(len(t) for t in pop.spike_times)), "last_ms": last}}
