"""The multi-column sheet model (parsnn.models.multicolumn)."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.errors import ParameterError
from parsnn.models import multicolumn as mc
from parsnn.models import pd14
from parsnn.network import FixedTotalNumber, Normal
from parsnn.connectivity import Connectivity


def test_sizes_names_and_metadata():
    net = mc.build_network(3, n_scaling=0.01)
    per = pd14.num_neurons(0.01)
    assert net.num_nodes == 9 * per.sum()
    names = list(net.populations)
    assert names[:8] == [f"c00_{p}" for p in pd14.POPULATIONS] and names[-1] == "c08_L6I"
    assert [net.populations[f"c04_{p}"].size for p in pd14.POPULATIONS] == per.tolist()
    assert all(isinstance(q.rule, FixedTotalNumber) for q in net.projections)
    meta = net.metadata
    assert meta["model"] == "multicolumn" and meta["grid"] == [3, 3] and len(meta["columns"]) == 9
    assert meta["expected_rates"]["c05_L5E"] == pytest.approx(pd14.PARAMETERS["scaling"]["full_mean_rates"][4])
    assert mc.column_of_population("c07_L4I") == 7
    net.validate()


def test_lateral_profile():
    w = mc.lateral_weights(8, sigma_mm=1.0, radius_mm=1.5)
    assert np.allclose(w.sum(axis=1), 1.0) and np.all(np.diag(w) == 0)
    assert np.count_nonzero(w[0]) == 8                         # Moore neighbourhood on the torus
    d = mc.distances(8)
    assert d[0, 7] == pytest.approx(1.0) and d[0, 9] == pytest.approx(np.sqrt(2))   # periodic wrap
    assert w[0, 1] > w[0, 9] > 0 and w[0, 2] == 0
    open_w = mc.lateral_weights(4, periodic=False)
    assert np.count_nonzero(open_w[0]) == 3 and np.count_nonzero(open_w[5]) == 8


def test_in_degrees_as_pd14_on_torus_and_inhibition_local():
    """Every neuron keeps PD14's synapse numbers (up to rounding); only E sources project laterally,
    onto their own layer, with delays growing with distance."""
    net = mc.build_network(4, n_scaling=0.01, lateral_fraction=0.3)
    K = pd14.total_synapses(0.01, 0.1)
    incoming = {}
    for q in net.projections:
        src_col, tgt_col = mc.column_of_population(q.source), mc.column_of_population(q.target)
        s, t = q.source.split("_")[1], q.target.split("_")[1]
        incoming[(tgt_col, t, s)] = incoming.get((tgt_col, t, s), 0) + q.rule.n
        if src_col != tgt_col:
            assert s.endswith("E") and s[:-1] == t[:-1], q.name
            assert isinstance(q.delay, Normal) and q.delay.mean > pd14.PARAMETERS["synapses"]["delay_exc_mean"]
    for (c, t, s), n in incoming.items():
        k = K[pd14.POPULATIONS.index(t), pd14.POPULATIONS.index(s)]
        assert abs(n - k) <= 8, (c, t, s, n, k)
    d1 = next(q for q in net.projections if q.source == "c00_L23E" and q.target == "c01_L23E").delay.mean
    d2 = next(q for q in net.projections if q.source == "c00_L23E" and q.target == "c05_L23E").delay.mean
    assert d2 > d1


def test_no_lateral_gives_independent_columns():
    net = mc.build_network((1, 3), n_scaling=0.005, lateral_fraction=0.0)
    assert all(mc.column_of_population(q.source) == mc.column_of_population(q.target) for q in net.projections)
    conn = Connectivity.from_network(net)
    assert conn.num_nodes == 3 * pd14.num_neurons(0.005).sum()


@pytest.mark.parametrize("kwargs, match", [
    (dict(grid=0), "grid"), (dict(grid=(2, "a")), "grid"), (dict(lateral_fraction=1.0), "lateral_fraction"),
    (dict(sigma_mm=0), "sigma_mm"), (dict(bg="x"), "bg"), (dict(n_scaling=2.0), "n_scaling"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        mc.build_network(**kwargs)


def test_small_sheet_is_active():
    from parsnn.engine import Simulation
    net = mc.build_network(2, n_scaling=0.005)
    sim = Simulation(net, seed=3, comm=MPI.COMM_SELF, summary_from_ms=100.0)
    sim.run(300.0)
    rates = sim.summary_rates()
    assert len(rates) == 32
    assert 0.5 < np.mean(list(rates.values())) < 30.0
