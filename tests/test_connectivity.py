"""The connectivity value (parsnn.connectivity): made from a Network or from its stored description,
the same value; expected synapse counts of every rule worked out by hand."""
import json
import math

import numpy as np
import pytest

from parsnn.connectivity import A2A, FIN, FTN, O2O, PWB, Connectivity
from parsnn.errors import ParameterError
from parsnn.network import AllToAll, FixedIndegree, FixedTotalNumber, Network, OneToOne, PairwiseBernoulli


def _net():
    net = Network(0.1, name="hand")
    net.add_population("A", 10)
    net.add_population("B", 4, "iaf_psc_delta")
    net.add_population("S", 3, "poisson_source", params={"rate": 40.0, "start": 100.0, "stop": 600.0})
    net.add_population("G", 2, "spike_generator", spike_times=[[1.0], [2.0]])
    net.connect("A", "B", FixedTotalNumber(7))
    net.connect("A", "A", FixedIndegree(3, allow_autapses=False))
    net.connect("B", "A", PairwiseBernoulli(0.25))
    net.connect("B", "B", AllToAll(allow_autapses=False))
    net.connect("G", "B", AllToAll())
    net.connect("A", "A", OneToOne())
    net.metadata = {"model": "none", "expected_rates": {"A": 3.0}}
    return net


def test_expected_synapses_by_hand():
    conn = Connectivity.from_network(_net())
    assert conn.kind.tolist() == [FTN, FIN, PWB, A2A, A2A, O2O]
    # FTN: n; FIN: k x targets; PWB: p x pairs; A2A without autapses: pairs minus the diagonal;
    # A2A from 2 generators to 4 targets; O2O: one per source
    assert conn.expected_synapses().tolist() == [7.0, 30.0, 0.25 * 40, 4 * 4 - 4, 8.0, 10.0]


def test_populations_as_gid_ranges():
    conn = Connectivity.from_network(_net())
    assert conn.names == ["A", "B", "S", "G"] and conn.num_nodes == 19
    assert conn.offsets.tolist() == [0, 10, 14, 17]
    assert conn.population_slices()["S"] == slice(14, 17)
    assert conn.pop_of.tolist() == [0] * 10 + [1] * 4 + [2] * 3 + [3] * 2
    assert conn.placeable.tolist() == [True] * 17 + [False] * 2      # spike generators live on every rank
    assert conn.index("G") == 3
    with pytest.raises(ParameterError, match="unknown population 'X'"):
        conn.index("X")


def test_source_rate_is_the_mean_over_the_first_second():
    conn = Connectivity.from_network(_net())
    # a spike generator's: its spikes over its nodes and the first second (2 spikes, 2 nodes, by 2 ms)
    assert conn.source_rates == {"S": pytest.approx(40.0 * 500.0 / 1000.0), "G": pytest.approx(1.0)}


def test_from_description_equals_from_network():
    net = _net()
    a = Connectivity.from_network(net)
    b = Connectivity.from_description(json.loads(json.dumps(net.describe())))   # as stored in a run file
    for field in ("names", "models", "metadata", "source_rates"):
        assert getattr(a, field) == getattr(b, field)
    for field in ("sizes", "offsets", "virtual", "src", "tgt", "kind", "n", "p", "autapses"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.resolution == b.resolution and not math.isnan(a.resolution)
