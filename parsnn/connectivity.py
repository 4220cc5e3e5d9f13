"""The connectivity value: what placement, metrics, the cost model and the hardware mappings
need to know of a network, without any synapse.

A :class:`Connectivity` is made once, at the entry (``Connectivity.from_network(net)`` for a
:class:`parsnn.network.Network`, ``Connectivity.from_description(d)`` for the description stored
in a run file), and then passed on unchanged: partition strategies, partition metrics, the
cluster cost model and the neuromorphic mapping accept only this type.

It holds the populations as contiguous gid ranges (in the order they were added) and the
projections with their connection rules as arrays (one row per projection):

- ``kind``: the rule (``FTN`` FixedTotalNumber, ``FIN`` FixedIndegree, ``PWB``
  PairwiseBernoulli, ``A2A`` AllToAll, ``O2O`` OneToOne, ``LST`` FromList, an explicit list
  whose closed forms treat its n synapses like FixedTotalNumber's);
- ``n``: n of FixedTotalNumber or k of FixedIndegree; ``p``: p of PairwiseBernoulli;
- ``autapses``: whether a source may connect to itself.

It also carries ``description``, the JSON-able network description it was made from
(``Network.describe()``, or the run file's dict): the cluster cost model reads the details it
needs beyond the rules from there (delays, neuron parameters, input devices, recorded populations).
:func:`require` is the type check of the functions that accept only a Connectivity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsnn import neurons
from parsnn.errors import ParameterError

# connection rule kinds, as stored in Connectivity.kind
FTN, FIN, PWB, A2A, O2O, LST = 0, 1, 2, 3, 4, 5
RULE_KINDS = {"FixedTotalNumber": FTN, "FixedIndegree": FIN, "PairwiseBernoulli": PWB,
              "AllToAll": A2A, "OneToOne": O2O, "FromList": LST}


@dataclass
class Connectivity:
    """Populations (contiguous gid ranges) and projections with their rules; see the module docstring."""
    names: list
    sizes: np.ndarray          # int64 [S]
    offsets: np.ndarray        # int64 [S]: first gid of each population
    virtual: np.ndarray        # bool [S]: spike generators (known on every rank, rank -1)
    models: list
    src: np.ndarray            # int64 [J]: source population of each projection
    tgt: np.ndarray            # int64 [J]: target population of each projection
    kind: np.ndarray           # int64 [J]: rule kind (FTN, FIN, PWB, A2A, O2O)
    n: np.ndarray              # float64 [J]: n (FixedTotalNumber) or k (FixedIndegree)
    p: np.ndarray              # float64 [J]: p (PairwiseBernoulli)
    autapses: np.ndarray       # bool [J]
    resolution: float = 0.1
    source_rates: dict = field(default_factory=dict)   # rate sources (poisson_source, spike_generator): spikes/s
    metadata: dict = field(default_factory=dict)       # the model's metadata (name, parameters, ...)
    description: dict = field(default_factory=dict)    # Network.describe() it was made from ({}: none)
    # facilitations (post spikes read by plastic synapses) per plastic event measured in the run it was read from
    # (parsnn.mapping.cluster.runs.run_inputs); None: the cost model's stationary estimate (workload)
    facilitation_ratio: float | None = None
    # history windows (facilitation windows that searched the target's post-spike history) per plastic event in that run
    history_window_ratio: float | None = None

    @property
    def num_nodes(self) -> int:
        """Number of nodes (neurons, sources and generators)."""
        return int(self.sizes.sum())

    @property
    def pop_of(self) -> np.ndarray:
        """Population index of every gid (int64 [N])."""
        return np.repeat(np.arange(len(self.names), dtype=np.int64), self.sizes)

    @property
    def placeable(self) -> np.ndarray:
        """Boolean mask over gids: True for nodes that live on one rank (all but spike generators)."""
        return ~np.repeat(np.asarray(self.virtual, dtype=bool), self.sizes)

    def index(self, name: str) -> int:
        """Index of population ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ParameterError(f"unknown population '{name}'; known: {', '.join(self.names)}") from None

    def population_slices(self) -> dict:
        """{population: slice of its gids}."""
        return {name: slice(int(o), int(o + s)) for name, o, s in zip(self.names, self.offsets, self.sizes)}

    @classmethod
    def from_network(cls, net) -> "Connectivity":
        """The connectivity of a :class:`parsnn.network.Network`."""
        names = list(net.populations)
        index = {k: i for i, k in enumerate(names)}
        pops = list(net.populations.values())
        sizes = np.array([p.size for p in pops], dtype=np.int64)
        rows = []
        for q in net.projections:
            r = q.rule
            rows.append((index[q.source], index[q.target], RULE_KINDS[type(r).__name__],
                         float(getattr(r, "n", getattr(r, "k", 0))), float(getattr(r, "p", 0.0)),
                         bool(getattr(r, "allow_autapses", True))))
        rates = {}
        for p in pops:
            model = neurons.get(p.model)
            if model.source_rate is not None:
                rates[p.name] = model.source_rate({key: p.param(key) for key in model.parameters})
            elif p.spike_times is not None:
                rates[p.name] = _generator_rate(p.spike_times, p.size)
        return cls._make(names, sizes, [p.is_virtual for p in pops], [p.model for p in pops], rows,
                         float(net.resolution), rates, dict(net.metadata), net.describe())

    @classmethod
    def from_description(cls, d: dict) -> "Connectivity":
        """The connectivity of ``Network.describe()`` (the description stored in a run file)."""
        names = [p["name"] for p in d["populations"]]
        index = {k: i for i, k in enumerate(names)}
        sizes = np.array([p["size"] for p in d["populations"]], dtype=np.int64)
        rows = []
        for q in d["projections"]:
            a = q.get("rule_args", {})
            rows.append((index[q["source"]], index[q["target"]], RULE_KINDS[q["rule"]],
                         float(a.get("n", a.get("k", 0))), float(a.get("p", 0.0)), bool(a.get("allow_autapses", True))))
        rates = {}
        for p in d["populations"]:
            model = neurons.get(p["model"])
            if model.source_rate is not None:
                prm = p.get("params", {})
                rates[p["name"]] = model.source_rate({key: _described(prm, key, default)
                                                      for key, (default, _, _) in model.parameters.items()})
            elif p.get("spikes"):            # a spike_generator's spikes (Network.describe)
                sp = p["spikes"]
                last = float(sp.get("last_ms", 0.0))
                rates[p["name"]] = sp["count"] / max(int(p["size"]), 1) / max(last * 1e-3, 1.0)
        return cls._make(names, sizes, [neurons.get(p["model"]).virtual for p in d["populations"]],
                         [p["model"] for p in d["populations"]], rows, float(d.get("resolution", 0.1)), rates,
                         dict(d.get("metadata") or {}), d)

    @classmethod
    def _make(cls, names, sizes, virtual, models, rows, resolution, rates, metadata, description):
        arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return cls(names, sizes, offsets, np.array(virtual, dtype=bool), list(models),
                   arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64),
                   arr[:, 3].copy(), arr[:, 4].copy(), arr[:, 5].astype(bool), resolution, rates, metadata,
                   description)

    def expected_synapses(self) -> np.ndarray:
        """Expected number of synapses of every projection (float64 [J])."""
        Ns, Nt = self.sizes[self.src].astype(float), self.sizes[self.tgt].astype(float)
        same_noaut = (self.src == self.tgt) & ~self.autapses
        K = np.zeros(len(self.src))
        K = np.where((self.kind == FTN) | (self.kind == LST), self.n, K)
        K = np.where(self.kind == FIN, self.n * Nt, K)
        pairs = Ns * Nt - np.where(same_noaut, Ns, 0.0)
        K = np.where(self.kind == PWB, self.p * pairs, K)
        K = np.where(self.kind == A2A, pairs, K)
        K = np.where(self.kind == O2O, Ns, K)
        return K


def require(value, parameter: str, function: str) -> "Connectivity":
    """``value`` if it is a :class:`Connectivity`, else a TypeError naming ``function``'s ``parameter``
    and how to make one."""
    if not isinstance(value, Connectivity):
        raise TypeError(f"{function}: {parameter} must be a parsnn.connectivity.Connectivity "
                        f"(Connectivity.from_network(net) or Connectivity.from_description(d)), "
                        f"got {type(value).__name__}")
    return value


def _described(params: dict, key: str, default):
    """A parameter's value in a description: its constant, a distribution's or array's mean, or the default."""
    v = params.get(key)
    if v is None:
        return default
    return v.get("mean", default) if isinstance(v, dict) else v


def _generator_rate(spike_times, size: int) -> float:
    """Mean rate (spikes/s) of a spike_generator population from its spike times (one sequence of ms per node):
    its spikes over its nodes and over the first second or the model time up to its last spike, whichever is
    longer (a poisson_source's rate is its mean over the first second); the same as
    :meth:`Connectivity.from_description` gives from the population's described ``spikes``."""
    n = sum(len(t) for t in spike_times)
    last = max((float(max(t)) for t in spike_times if len(t)), default=0.0)
    return n / max(int(size), 1) / max(last * 1e-3, 1.0)
