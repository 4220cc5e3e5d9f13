"""Expected rates and the cost model of the placement (parsnn.partition.rates)."""
import pytest

from parsnn.connectivity import Connectivity
from parsnn.network import FixedIndegree
from parsnn.partition.rates import plastic_projections, population_costs, population_fluctuations


def test_costs_count_updates_and_events(populations):
    net = populations(10, 20)
    net.connect("A", "B", FixedIndegree(5))
    c = population_costs(Connectivity.from_network(net), rates={"A": 4.0, "B": 1.0})
    upd = 4.5e-9 * 1e4
    assert c[0] == pytest.approx(upd)
    assert c[1] == pytest.approx(upd + 11e-9 * 5 * 4.0)


def test_plastic_events_weigh_their_weight_update(populations):
    # the same in-degree through stdp_synapse and through static synapses: the plastic target population's
    # events cost plastic_event_s more each ([balance] of the partitioner's machine), the static one's as before
    net = populations(10, 20, 20)
    net.connect("A", "B", FixedIndegree(5), weight=1.0, synapse_model="stdp_synapse")
    net.connect("A", "C", FixedIndegree(5), weight=1.0)
    conn = Connectivity.from_network(net)
    assert plastic_projections(conn).tolist() == [True, False]
    c = population_costs(conn, rates={"A": 4.0, "B": 1.0, "C": 1.0})
    upd = 4.5e-9 * 1e4
    assert c[2] == pytest.approx(upd + 11e-9 * 5 * 4.0)
    assert c[1] == pytest.approx(upd + (11e-9 + 1e-7) * 5 * 4.0)


def test_a_connectivity_without_description_has_no_plastic_projection(populations):
    net = populations(10, 20)
    net.connect("A", "B", FixedIndegree(5), weight=1.0, synapse_model="stdp_synapse")
    conn = Connectivity.from_network(net)
    conn.description = {}
    assert plastic_projections(conn).tolist() == [False]
    conn.description = {"projections": []}
    assert plastic_projections(conn).tolist() == [False]


def test_fluctuation_vectors_by_hand(populations):
    # A (10 neurons, 4/s) -> B (20) with in-degree 5 static, -> C (20) with in-degree 5 plastic: per A spike a B
    # neuron gets 5 / 10 events, a C neuron as many at (11 + 100) / 11 static events each; A's spike count in an
    # interval of 0.1 ms has the standard deviation sqrt(10 x 4 x 1e-4)
    net = populations(10, 20, 20)
    net.connect("A", "B", FixedIndegree(5), weight=1.0)
    net.connect("A", "C", FixedIndegree(5), weight=1.0, synapse_model="stdp_synapse")
    fl = population_fluctuations(Connectivity.from_network(net), rates={"A": 4.0, "B": 0.0, "C": 0.0})
    sd = (10 * 4.0 * 1e-4) ** 0.5
    assert fl["B"].tolist() == pytest.approx([0.5 * sd, 0.0, 0.0])
    assert fl["C"].tolist() == pytest.approx([0.5 * sd * (11e-9 + 1e-7) / 11e-9, 0.0, 0.0])
    assert fl["A"].tolist() == [0.0, 0.0, 0.0]                       # nothing projects onto A
    assert population_fluctuations(Connectivity.from_network(net), rates={"A": 4.0, "B": 0.0, "C": 0.0},
                                   interval_ms=0.4)["B"][0] == pytest.approx(0.5 * 2 * sd)
