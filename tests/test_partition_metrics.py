"""Expected communication and load metrics of a map (parsnn.partition.metrics)."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.connectivity import Connectivity
from parsnn.network import AllToAll, FixedIndegree, FixedTotalNumber, OneToOne, PairwiseBernoulli
from parsnn.partition import make_map
from parsnn.partition.metrics import BYTES_PER_SPIKE, expected_metrics, remote_ranks_per_neuron
from parsnn.engine import Simulation


# --------------------------------------------------------------------------- hand-checkable metrics

def test_one_to_one_exact(populations):
    net = populations(10, 10)
    net.connect("A", "B", OneToOne())
    conn = Connectivity.from_network(net)
    rank_of = np.array([0] * 10 + [0] * 4 + [1] * 6)          # B's last 6 neurons on rank 1
    m = expected_metrics(conn, rank_of, 2, rates={"A": 2.0, "B": 1.0})
    assert m["remote_deliveries_per_s"] == pytest.approx(6 * 2.0)
    assert m["remote_per_spike"] == pytest.approx(12.0 / 30.0)
    assert m["bytes_sent_per_s"] == pytest.approx([12.0 * BYTES_PER_SPIKE, 0.0])
    assert m["bytes_received_per_s"] == pytest.approx([0.0, 12.0 * BYTES_PER_SPIKE])
    assert m["cut_fraction"] == pytest.approx(0.6)
    assert m["communicating_pairs"] == pytest.approx(1.0)
    per = remote_ranks_per_neuron(conn, rank_of, 2)
    assert np.array_equal(per, np.r_[[0.0] * 4, [1.0] * 6, [0.0] * 10])


@pytest.mark.parametrize("P", [2, 3, 5])
def test_all_to_all_reaches_every_other_rank(P, populations):
    net = populations(4 * P, gen=2)
    net.connect("A", "A", AllToAll(allow_autapses=False))
    net.connect("G", "A", AllToAll())
    rank_of = np.r_[np.arange(4 * P) % P, -1, -1]
    m = expected_metrics(Connectivity.from_network(net), rank_of, P, rates={"A": 3.0})
    assert m["remote_per_spike"] == pytest.approx(P - 1)
    assert m["remote_deliveries_per_s"] == pytest.approx(3.0 * 4 * P * (P - 1))
    assert m["bytes_per_rank_per_s"] == pytest.approx(BYTES_PER_SPIKE * 3.0 * 4 * (P - 1))
    assert m["communicating_pairs"] == pytest.approx(P * (P - 1))
    # synapses: 4P(4P-1), of which 4*3 per rank stay local; generator synapses are left out
    n = 4 * P
    assert m["cut_fraction"] == pytest.approx(1 - P * 4 * 3 / (n * (n - 1)))
    assert m["imbalance"] == pytest.approx(1.0)


def test_random_rules_closed_forms(populations):
    # one source neuron on rank 0, targets on rank 1
    net = populations(1, 3, 2, 2)
    net.connect("A", "B", PairwiseBernoulli(0.5))          # P(no target) = 0.5^3
    rank_of = np.array([0, 1, 1, 1, 0, 0, 0, 0])
    assert remote_ranks_per_neuron(Connectivity.from_network(net), rank_of, 2)[0] == pytest.approx(1 - 0.5 ** 3)
    net = populations(1, 3, 2, 2)
    net.connect("C", "D", FixedTotalNumber(2))             # per source (1 - 2/4)^2 no-hit
    rank_of = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    per = remote_ranks_per_neuron(Connectivity.from_network(net), rank_of, 2)
    assert per[4] == pytest.approx(0.75) and per[5] == pytest.approx(0.75)
    net = populations(1, 3, 2, 2)
    net.connect("C", "B", FixedIndegree(1))                # every B neuron picks one of 2 C sources
    rank_of = np.array([0, 1, 1, 0, 0, 0, 0, 0])           # two B neurons on rank 1
    assert remote_ranks_per_neuron(Connectivity.from_network(net), rank_of, 2)[4] == pytest.approx(1 - 0.5 ** 2)


def test_expected_matches_built_network(mixed_network):
    """The expected remote ranks per neuron and cut fraction agree with the synapses actually built."""
    net = mixed_network(record=False)
    conn = Connectivity.from_network(net)
    sim = Simulation(net, seed=5, comm=MPI.COMM_SELF)
    sim.build()
    ptr, tgt, _, _ = sim._syn_arrays
    src = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    dst = sim.local_gids[tgt]
    P = 4
    rank_of = make_map(conn, P, np.random.default_rng(1).integers(0, P, net.num_nodes).astype(np.int32))[1]
    placed = rank_of[src] >= 0
    pairs = np.unique(np.stack([src[placed], rank_of[dst[placed]]]), axis=1)
    remote = pairs[:, rank_of[pairs[0]] != pairs[1]]
    actual = np.bincount(remote[0], minlength=net.num_nodes)
    expected = remote_ranks_per_neuron(conn, rank_of, P)
    for name, off in net.offsets().items():
        sl = slice(off, off + net.populations[name].size)
        assert actual[sl].mean() == pytest.approx(expected[sl].mean(), rel=0.03, abs=0.02), name
    m = expected_metrics(conn, rank_of, P)
    cut = np.count_nonzero(rank_of[src[placed]] != rank_of[dst[placed]]) / np.count_nonzero(placed)
    assert m["cut_fraction"] == pytest.approx(cut, rel=0.02)
