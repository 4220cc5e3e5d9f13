"""The simple placement strategies round_robin, block and population (parsnn.partition.strategies)."""
import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.network import FixedIndegree
from parsnn.partition.metrics import expected_metrics
from parsnn.partition.strategies import block, population, round_robin


def test_round_robin_and_block_unchanged(populations):
    conn = Connectivity.from_network(populations(5, 3, gen=1))
    assert round_robin(conn, 3).tolist() == [0, 1, 2, 0, 1, 2, 0, 1, -1]
    assert block(conn, 2).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, -1]


def test_population_keeps_populations_together(populations):
    net = populations(100, 100, 100, 100)
    for a, b in (("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")):
        net.connect(a, b, FixedIndegree(10))
    conn = Connectivity.from_network(net)
    rank_of = population(conn, 4)
    assert rank_of.tolist() == np.repeat(np.arange(4), 100).tolist()
    assert population(conn, 2).tolist() == np.repeat(np.arange(2), 200).tolist()
    # 3 ranks: populations must be split, and blocks stay within 5 % of the mean cost
    m = expected_metrics(conn, population(conn, 3), 3)
    assert m["imbalance"] <= 1.05


def test_population_splits_large_populations_balanced():
    from parsnn.models import pd14
    conn = Connectivity.from_network(pd14.build_network(0.1, record=False))
    for P in (2, 4, 7):
        m = expected_metrics(conn, population(conn, P), P)
        assert m["imbalance"] <= 1.05, P
