"""The explicit-list connection rule (FromList): validation, the synapses built on every rank
layout, and projection_synapses() reading any projection back exactly as the build draws it."""
from __future__ import annotations

import numpy as np
import pytest

from parsnn.connectivity import LST, Connectivity
from parsnn.engine import Simulation
from parsnn.engine.decomposition import population_ranges
from parsnn.engine.synapses import generate_synapses, projection_synapses
from parsnn.errors import ParameterError
from parsnn.network import FixedIndegree, FromList, Network, Normal
from parsnn.partition import make_map


def _net(rule):
    net = Network(0.1)
    net.add_population("A", 5, "iaf_psc_exp")
    net.add_population("B", 4, "iaf_psc_exp")
    net.connect("A", "B", rule, weight=Normal(10.0, 2.0), delay=1.0)
    return net


def _list():
    return FromList(np.array([0, 4, 4, 2, 0]), np.array([3, 0, 0, 1, 3]), np.array([1.0, 2.0, 3.0, -4.0, 5.0]),
                    np.array([0.1, 0.24, 1.0, 2.0, 0.5]))


def test_from_list_validation():
    net = _net(FromList(np.array([5]), np.array([0]), np.array([1.0]), np.array([1.0])))
    with pytest.raises(ParameterError, match=r"pre indices must be in \[0, 4\]"):
        net.validate()
    with pytest.raises(ParameterError, match="delays must be >= the resolution"):
        _net(FromList(np.array([0]), np.array([0]), np.array([1.0]), np.array([0.05]))).validate()
    with pytest.raises(ParameterError, match="equal length"):
        _net(FromList(np.array([0, 1]), np.array([0]), np.array([1.0]), np.array([1.0]))).validate()
    _net(_list()).validate()


def test_from_list_in_connectivity_and_description():
    net = _net(_list())
    conn = Connectivity.from_network(net)
    assert conn.kind[0] == LST and conn.expected_synapses()[0] == 5
    d = net.describe()
    assert d["projections"][0]["rule_args"] == {"n": 5}
    assert Connectivity.from_description(d).kind[0] == LST


def test_from_list_synapses_exact_and_layout_independent():
    """Every rank layout holds exactly the list's synapses (weights float32, delays rounded to steps)."""
    net = _net(_list())
    s, t, w, d = projection_synapses(net, 0, seed=1)
    got = sorted(zip(s.tolist(), t.tolist(), w.tolist(), d.tolist()))
    assert got == sorted([(0, 3, 1.0, 1), (4, 0, 2.0, 2), (4, 0, 3.0, 10), (2, 1, -4.0, 20), (0, 3, 5.0, 5)])
    offsets = net.offsets()
    for nranks in (1, 2, 3):
        _, rank_of = make_map(Connectivity.from_network(net), nranks, "round_robin")
        rows = []
        for r in range(nranks):
            local = np.flatnonzero(rank_of == r).astype(np.int64)
            ptr, tgt, ww, runs, *_, srows = generate_synapses(net, local, offsets,
                                                              population_ranges(net, local, offsets), 1, 0.1,
                                                              {"count": 0.0, "group": 0.0})
            ptr = srows.by_gid(ptr, 1)
            dd = runs.per_synapse()
            src = np.repeat(np.arange(net.num_nodes), np.diff(ptr))
            rows += [(int(a), int(local[b]) - 5, float(c), int(e)) for a, b, c, e in zip(src, tgt, ww, dd)]
        assert sorted(rows) == got


def test_projection_synapses_matches_the_build():
    """A rule drawn by the engine, read back alone, equals what a 1-rank build holds."""
    net = _net(FixedIndegree(3))
    sim = Simulation(net, seed=5)
    sim.build()
    ptr, tgt, w, d = sim._syn_arrays
    src = np.repeat(np.arange(net.num_nodes), np.diff(ptr))
    built = sorted(zip(src.tolist(), (sim.local_gids[tgt] - 5).tolist(), w.tolist(), d.tolist()))
    s, t, ww, dd = projection_synapses(net, 0, seed=5)
    assert sorted(zip(s.tolist(), t.tolist(), ww.tolist(), dd.tolist())) == built
    assert len(built) == 12
