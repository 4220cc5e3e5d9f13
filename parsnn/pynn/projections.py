"""Projection of the PyNN backend.

A projection between two whole Populations with a connector the engine has (AllToAll, OneToOne,
FixedProbability, FixedNumberPre with replacement, FixedTotalNumber with replacement) and
constant or engine-drawable weights and delays (normal, normal_clipped, uniform) becomes one
engine projection: the engine draws it on each rank for its own targets, in C. Everything else
(views, assemblies, FromList, FromFile, Array, DistanceDependentProbability, FixedNumberPost,
other distributions, ...) is connected by PyNN's own connector code, on every rank, with its random
numbers from parsnn's streams, and handed to the engine as an explicit list (FromList): exact,
rank-invariant, but drawn in Python and held whole on every rank, so meant for small projections.
Weights are in PyNN's units (nA, or mV for IF_curr_delta) and scaled to the engine's (pA, mV).
"""
from __future__ import annotations

import copy
import operator

import numpy as np
from pyNN import common, connectors, errors
from pyNN.random import RandomDistribution
from pyNN.space import Space
from pyNN.standardmodels import synapses
from pyNN.standardmodels.base import check_weights


from parsnn.engine.plasticity import weight_key
from parsnn.engine.streams import scheme_code
from parsnn.engine.synapses import projection_synapses
from parsnn.network import AllToAll, FixedIndegree, FixedTotalNumber, FromList, OneToOne, PairwiseBernoulli
from parsnn.pynn import simulator
from parsnn.pynn.populations import Population, parent_indices
from parsnn.pynn.random import engine_distribution, redirect_larray, redirected, stream_rng, user_seed
from parsnn.pynn.standardmodels import StaticSynapse
from parsnn import synapses as engine_synapses
from parsnn.synapses import STATIC

#: the seed of the NumpyRNG PyNN gives a connector created without one (pyNN.connectors._get_rng)
PYNN_DEFAULT_CONNECTOR_SEED = 151985012

MULTI = {"last": lambda a, b: b, "first": lambda a, b: a, "sum": operator.add, "min": min, "max": max}


def _engine_rule(connector, pre, post):
    """The engine's rule for ``connector`` between whole populations, or None."""
    same = pre is post
    self_ok = getattr(connector, "allow_self_connections", True)
    autapses = bool(self_ok) or not same
    if type(connector) is connectors.AllToAllConnector:
        return AllToAll(allow_autapses=autapses)
    if type(connector) is connectors.OneToOneConnector:
        return OneToOne()
    if type(connector) is connectors.FixedProbabilityConnector:
        return PairwiseBernoulli(float(connector.p_connect), allow_autapses=autapses)
    n = getattr(connector, "n", None)
    if not isinstance(n, (int, np.integer)) or not getattr(connector, "with_replacement", False):
        return None
    if type(connector) is connectors.FixedNumberPreConnector:
        return FixedIndegree(int(n), allow_autapses=autapses)
    if type(connector) is connectors.FixedTotalNumberConnector and autapses:
        return FixedTotalNumber(int(n))
    return None


def _engine_value(larr, scale: float):
    """A constant, or the engine's distribution, for a synapse parameter's lazy array; None if the
    engine cannot draw it."""
    if larr.operations:
        return None
    base = larr.base_value
    if isinstance(base, RandomDistribution):
        return engine_distribution(base, scale)
    if isinstance(base, (int, float, np.integer, np.floating)):
        return float(base) * scale
    return None


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__ + "\n" + (__doc__ or "")
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        state = simulator.state
        state.require_not_built("creating a Projection")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        if self.post.conductance_based:
            raise NotImplementedError("parsnn.pynn: conductance-based synapses are not supported")
        self._synapse = _engine_synapse(self.synapse_type, self.pre, self.post)
        self._index = len(state.projections)
        self._label = self.label or f"projection{self._index}"
        self._native = None
        self._lists = []           # [(pre indices, post indices, weights PyNN units, delays ms)]
        self._pre_list = []
        rule = None
        if isinstance(self.pre, Population) and isinstance(self.post, Population):
            rule = _engine_rule(connector, self.pre, self.post)
        if rule is not None:
            w = _engine_value(self.synapse_type.parameter_space["weight"], _weight_scale(self.post))
            d = self._delay_value()
            if w is not None and d is not None:
                self._check_sign(w)
                self._native = (rule, w, d)
                self._label = self._engine_label(connector)
        if self._native is None:
            self._connect_in_python(connector)
        if self._synapse[0] != STATIC:
            self._check_synapse_parameters()
        state.projections.append(self)

    def _check_synapse_parameters(self):
        """The plastic synapse model's parameters and the weights it allows (e.g. weights and Wmax of
        one sign), checked here at the call rather than when the network is built."""
        if self._native is not None:
            w = self._native[1]
            low, high = (w.low, w.high) if hasattr(w, "low") else (w, w)
        else:
            w = self._list_arrays()[2] * _weight_scale(self.post)
            low, high = (float(w.min()), float(w.max())) if w.size else (0.0, 0.0)
        engine_synapses.check(self._synapse[0], self._synapse[1], (low, high), f"Projection {self._label}")

    def _engine_label(self, connector) -> str:
        """The engine projection's name: the label, plus the seeds of the script's NumpyRNGs (of the
        connector and the weight/delay distributions) if any, since the engine keys its streams of
        a projection by its name."""
        sources = [getattr(connector, "rng", None)] + [self.synapse_type.parameter_space[k].base_value
                                                       for k in ("weight", "delay")]
        seeds = sorted({s for s in (user_seed(x) for x in sources if x is not None)
                        if s is not None and s != PYNN_DEFAULT_CONNECTOR_SEED})
        return self._label + (f" rng={','.join(map(str, seeds))}" if seeds else "")

    def _delay_value(self):
        """The delay (ms) as a constant or engine distribution; the minimum delay if none was given."""
        larr = self.synapse_type.parameter_space["delay"]
        if larr.base_value is None:
            return self.synapse_type._get_minimum_delay()
        return _engine_value(larr, 1.0)

    def _check_sign(self, w):
        """PyNN's weight-sign rule (positive excitatory, negative inhibitory current synapses)."""
        lo, hi = (w.low, w.high) if hasattr(w, "low") else (w, w)
        mean = getattr(w, "mean", None)
        probe = np.array([v for v in (lo, hi, mean) if v is not None and np.isfinite(v)] or [0.0])
        check_weights(probe, self)

    def _connect_in_python(self, connector):
        """Connect with PyNN's connector code, random numbers from parsnn's streams."""
        seed = simulator.state.seed
        self.synapse_type = st = copy.deepcopy(self.synapse_type)
        if isinstance(st, synapses.STDPMechanism):
            for name in ("weight", "delay"):        # an STDPMechanism: its parameter space is made anew each time
                if isinstance(getattr(st, name), RandomDistribution):
                    setattr(st, name, redirected(getattr(st, name), seed, ("synapse", self._index, self._label, name)))
        else:
            for name, larr in st.parameter_space.items():
                redirect_larray(larr, seed, ("synapse", self._index, self._label, name))
            if st.parameter_space["delay"].base_value is None:
                st.parameter_space["delay"].base_value = st._get_minimum_delay()
        connector = copy.copy(connector)
        if hasattr(connector, "rng"):
            connector.rng = stream_rng(seed, ("connect", self._index, self._label), connector.rng)
        connector.connect(self)

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        """Collect the connections onto one cell (called by PyNN's connectors)."""
        if location_selector is not None:
            raise NotImplementedError("parsnn.pynn: multicompartment models are not supported")
        pre = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        n = pre.size
        w = np.broadcast_to(np.asarray(connection_parameters["weight"], dtype=float), (n,))
        d = np.broadcast_to(np.asarray(connection_parameters["delay"], dtype=float), (n,))
        self._lists.append((pre, np.full(n, int(postsynaptic_index), dtype=np.int64), w, d))

    # -- the engine ---------------------------------------------------------
    def _add_to(self, net):
        """Add this projection's engine projection(s) to ``net``; remembers their indices."""
        self._engine_parts = []
        if self._native is not None:
            rule, w, d = self._native
            self._engine_parts.append((len(net.projections), None, None))
            net.connect(self.pre._engine_name, self.post._engine_name, rule, w, d, name=self._label,
                        synapse_model=self._synapse[0], synapse_params=self._synapse[1])
            return
        pre, post, w, d = self._list_arrays()
        pre_map, post_map = _index_map(self.pre), _index_map(self.post)
        for (ppop, pidx), pbase in zip(pre_map[0], pre_map[1]):
            for (qpop, qidx), qbase in zip(post_map[0], post_map[1]):
                sel = np.flatnonzero((pre >= pbase) & (pre < pbase + pidx.size)
                                     & (post >= qbase) & (post < qbase + qidx.size))
                if sel.size == 0:
                    continue
                rule = FromList(pidx[pre[sel] - pbase], qidx[post[sel] - qbase],
                                w[sel] * qpop.celltype.weight_scale, d[sel].copy())
                self._engine_parts.append((len(net.projections), sel, pbase))
                net.connect(ppop._engine_name, qpop._engine_name, rule, 0.0, net.resolution,
                            name=f"{self._label}#{len(self._engine_parts)}", synapse_model=self._synapse[0],
                            synapse_params=self._synapse[1])

    def _list_arrays(self):
        """The Python-made connections as (pre, post, weight, delay) arrays, in PyNN's order."""
        if not self._lists:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0), np.zeros(0)
        return tuple(np.concatenate([part[i] for part in self._lists]) for i in range(4))

    def connections_arrays(self):
        """(pre index, post index, weight in PyNN units, delay ms) of every connection, as the engine
        holds them (weights float32, delays on the time grid); the same on every rank."""
        state = simulator.state
        cached = getattr(self, "_arrays_cache", None)
        if cached is not None and state.sim is not None and cached[0] is state.sim:
            return cached[1]
        net = state.sim.net if state.sim is not None else state.network()
        out, self._part_synapses = [], []
        for k, sel, _ in self._engine_parts:
            s, t, w, d = projection_synapses(net, k, state.seed, scheme_code(state.realisation))
            q = net.projections[k]
            pre = _view_index(self.pre, net, q.source, s)
            post = _view_index(self.post, net, q.target, t)
            scale = next(p for p in simulator.state.populations if p._engine_name == q.target).celltype.weight_scale
            self._part_synapses.append((k, sum(o[0].size for o in out), s, t, scale))
            out.append((pre, post, w.astype(float) / scale, d.astype(float) * net.resolution))
        if not out:
            z = np.zeros(0, dtype=np.int64)
            arrays = (z, z, np.zeros(0), np.zeros(0))
        else:
            arrays = tuple(np.concatenate([o[i] for o in out]) for i in range(4))
        if state.sim is not None:          # the network is fixed until reset(): keep them
            self._arrays_cache = (state.sim, arrays)
        return arrays

    def current_weights(self) -> np.ndarray:
        """The weight (PyNN units) of every connection, in :meth:`connections_arrays`' order; those of
        a plastic projection as they are now (after a run: collective, call it on every rank)."""
        state = simulator.state
        w = self.connections_arrays()[2]
        if self._synapse[0] == STATIC or state.sim is None or not state.sim.built:
            return w
        cached = getattr(self, "_weights_cache", None)
        if cached is not None and cached[0] is state.sim and cached[1] == state.sim.t_steps:
            return cached[2]
        plastic = state.sim.weights()
        w = w.copy()
        for k, start, s, t, scale in self._part_synapses:
            src, tgt, now = plastic[weight_key(state.sim.net.projections[k])]
            order = np.lexsort((t, s))        # the engine's report is sorted by (source, target), stable
            if not (np.array_equal(src, s[order]) and np.array_equal(tgt, t[order])):
                raise RuntimeError(f"internal error: the plastic synapses of {self._label} do not match")
            w[start + order] = now / scale
        self._weights_cache = (state.sim, state.sim.t_steps, w)
        return w

    def __len__(self):
        return int(self.connections_arrays()[0].size)

    def size(self, gather=True):
        """Number of connections (every rank knows them all)."""
        return len(self)

    def set(self, **attributes):
        """Not supported: weights and delays are fixed when the projection is made."""
        raise NotImplementedError("parsnn.pynn: Projection.set() is not supported (weights and delays are "
                                  "fixed when the projection is created)")

    def get(self, attribute_names, format, gather=True, with_address=True, multiple_synapses="sum"):
        """Weights and/or delays (PyNN units) as a list of tuples or as arrays; see PyNN's Projection.get."""
        single = isinstance(attribute_names, str)
        names = [attribute_names] if single else list(attribute_names)
        pre, post, w, d = self.connections_arrays()
        if any(n in ("weight", "weights") for n in names):
            w = self.current_weights()
        cols = {"weight": w, "weights": w, "delay": d, "delays": d,
                "presynaptic_index": pre, "postsynaptic_index": post}
        for name in names:
            if name not in cols:
                raise NotImplementedError(f"parsnn.pynn: Projection.get('{name}') is not supported")
        if format == "list":
            columns = ([pre, post] if with_address else []) + [cols[n] for n in names]
            values = [tuple(row) for row in np.column_stack(columns).tolist()] if pre.size else []
            if not with_address and single:
                values = [v[0] for v in values]
            return values
        if format != "array":
            raise Exception("format must be 'list' or 'array'")
        if multiple_synapses not in MULTI:
            raise ValueError(f"`multiple_synapses` argument must be one of {list(MULTI)}")
        arrays = []
        for name in names:
            a = np.full((self.pre.size, self.post.size), np.nan)
            if multiple_synapses == "sum":
                seen = np.zeros(a.shape, dtype=bool)
                seen[pre, post] = True
                a[seen] = 0.0
                np.add.at(a, (pre, post), cols[name])
            else:
                for i, j, v in zip(pre.tolist(), post.tolist(), cols[name].tolist()):
                    a[i, j] = v if np.isnan(a[i, j]) else MULTI[multiple_synapses](a[i, j], v)
            arrays.append(a)
        return arrays[0] if single else arrays


def _weight_scale(cells) -> float:
    """The factor from a PyNN weight to the engine's weight unit of the target cells (all alike)."""
    scales = {pop.celltype.weight_scale for pop, _ in parent_indices(cells)}
    if len(scales) != 1:
        raise NotImplementedError("parsnn.pynn: a projection onto cells whose weights have different units "
                                  "(e.g. IF_curr_exp and IF_curr_delta together) is not supported")
    return scales.pop()


def _engine_synapse(synapse_type, pre, post) -> tuple:
    """(engine synapse model, its parameters) of a PyNN synapse type from ``pre`` onto ``post``; a
    plastic one sets the targets' tau_minus (one value per target population, as in NEST)."""
    if isinstance(synapse_type, StaticSynapse):
        return STATIC, {}
    if not hasattr(synapse_type, "engine_synapse"):
        raise NotImplementedError(f"parsnn.pynn: synapse type {type(synapse_type).__name__} is not supported "
                                  "(StaticSynapse, STDPMechanism and native_synapse_type(...) are)")
    model, params, tau_minus = synapse_type.engine_synapse(_weight_scale(post))
    if model == STATIC:
        return model, params

    def pairs(a, b):
        return {(p._engine_name, q._engine_name) for p, _ in parent_indices(a) for q, _ in parent_indices(b)}
    for prj in simulator.state.projections:
        if prj._synapse[0] != STATIC and pairs(prj.pre, prj.post) & pairs(pre, post):
            raise NotImplementedError("parsnn.pynn: two plastic projections between the same populations "
                                      f"({prj.label} and this one) are not supported")
    for pop, _ in parent_indices(post):
        old = getattr(pop, "_tau_minus", None)
        if tau_minus is not None and old is not None and old != tau_minus:
            raise NotImplementedError(f"parsnn.pynn: STDP with tau_minus = {tau_minus} onto {pop.label}, which "
                                      f"already has plastic input with tau_minus = {old} (tau_minus is a "
                                      "property of the target neuron: one value per population)")
        if tau_minus is not None:
            pop._tau_minus = tau_minus
    return model, params


def _index_map(cells):
    """([(Population, parent indices)], [offset of each part in ``cells``' own indexing])."""
    parts = parent_indices(cells)
    sizes = [idx.size for _, idx in parts]
    return parts, np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _view_index(cells, net, engine_name, index):
    """Indices in ``cells``' own indexing of engine population ``engine_name``'s cells ``index``."""
    parts, bases = _index_map(cells)
    for (pop, idx), base in zip(parts, bases):
        if pop._engine_name == engine_name:
            where = np.full(pop.size, -1, dtype=np.int64)
            where[idx] = np.arange(idx.size) + base
            return where[index]
    raise errors.ConnectionError(f"internal error: population {engine_name} is not part of {cells}")
