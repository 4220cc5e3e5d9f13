"""Expected rates and the cost model of the placement (parsnn.partition.rates)."""
import pytest

from parsnn.connectivity import Connectivity
from parsnn.network import FixedIndegree
from parsnn.partition.rates import population_costs


def test_costs_count_updates_and_events(populations):
    net = populations(10, 20)
    net.connect("A", "B", FixedIndegree(5))
    c = population_costs(Connectivity.from_network(net), rates={"A": 4.0, "B": 1.0})
    upd = 4.5e-9 * 1e4
    assert c[0] == pytest.approx(upd)
    assert c[1] == pytest.approx(upd + 11e-9 * 5 * 4.0)
