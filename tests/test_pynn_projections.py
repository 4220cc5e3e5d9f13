"""parsnn.pynn connectors: exact lists, connection counts and weight/delay distributions, units,
and which connectors run in the engine."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN")
from pyNN import errors  # noqa: E402

import parsnn.pynn as sim  # noqa: E402
from parsnn.network import FromList  # noqa: E402
from parsnn.pynn import simulator  # noqa: E402


@pytest.fixture(autouse=True)
def fresh():
    sim.setup(timestep=0.1, rng_seed=11)
    yield
    sim.end()


def pops(n_pre=30, n_post=40):
    return (sim.Population(n_pre, sim.IF_curr_exp(), label="A"), sim.Population(n_post, sim.IF_curr_exp(), label="B"))


def pairs(prj):
    pre, post, w, d = prj.connections_arrays()
    return pre, post, w, d


def in_engine(prj):
    return prj._native is not None


def test_all_to_all_and_one_to_one():
    a, b = pops()
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=2.0))
    pre, post, w, d = pairs(prj)
    assert in_engine(prj) and len(prj) == 1200
    assert set(zip(pre.tolist(), post.tolist())) == {(i, j) for i in range(30) for j in range(40)}
    assert np.all(w == 0.5) and np.all(d == 2.0)
    selfless = sim.Projection(a, a, sim.AllToAllConnector(allow_self_connections=False))
    assert len(selfless) == 30 * 29 and not np.any(pairs(selfless)[0] == pairs(selfless)[1])
    o2o = sim.Projection(a, sim.Population(30, sim.IF_curr_exp()), sim.OneToOneConnector())
    pre, post, _, _ = pairs(o2o)
    assert np.array_equal(np.sort(pre), np.arange(30)) and np.array_equal(pre, post)


def test_fixed_probability_counts():
    a, b = pops(200, 300)
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.1))
    n, mean, sd = len(prj), 6000, np.sqrt(60000 * 0.1 * 0.9)
    assert in_engine(prj) and abs(n - mean) < 5 * sd
    prj1 = sim.Projection(a, b, sim.FixedProbabilityConnector(1.0))
    assert len(prj1) == 60000


def test_fixed_number_pre_and_post():
    a, b = pops(50, 60)
    with_r = sim.Projection(a, b, sim.FixedNumberPreConnector(7, with_replacement=True))
    assert in_engine(with_r)
    assert np.all(np.bincount(pairs(with_r)[1], minlength=60) == 7)
    without = sim.Projection(a, b, sim.FixedNumberPreConnector(7))
    assert not in_engine(without)
    pre, post, _, _ = pairs(without)
    assert np.all(np.bincount(post, minlength=60) == 7)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size          # no multapses
    noself = sim.Projection(a, a, sim.FixedNumberPreConnector(5, allow_self_connections=False,
                                                              with_replacement=True))
    pre, post, _, _ = pairs(noself)
    assert np.all(np.bincount(post, minlength=50) == 5) and not np.any(pre == post)
    fnp = sim.Projection(a, b, sim.FixedNumberPostConnector(9))
    assert np.all(np.bincount(pairs(fnp)[0], minlength=50) == 9)


def test_fixed_total_number():
    a, b = pops(50, 60)
    prj = sim.Projection(a, b, sim.FixedTotalNumberConnector(1234))
    assert in_engine(prj) and len(prj) == 1234
    post = pairs(prj)[1]
    counts = np.bincount(post, minlength=60)
    assert counts.sum() == 1234 and counts.max() < 1234 / 60 + 6 * np.sqrt(1234 / 60)


def test_from_list_file_and_array(tmp_path):
    a, b = pops(5, 4)
    conns = [(0, 3, 0.1, 1.0), (4, 0, 0.2, 0.24), (2, 1, 0.3, 2.0), (0, 3, 0.4, 0.5)]
    prj = sim.Projection(a, b, sim.FromListConnector(conns))
    got = sorted(prj.get(["weight", "delay"], format="list"))
    want = sorted([(0, 3, 0.1, 1.0), (4, 0, 0.2, 0.2), (2, 1, 0.3, 2.0), (0, 3, 0.4, 0.5)])
    assert np.allclose(np.array(got), np.array(want), atol=1e-7)       # weights float32, delays on the grid
    engine_rule = simulator.state.network().projections[0].rule
    assert isinstance(engine_rule, FromList) and np.allclose(np.sort(engine_rule.weight), [100, 200, 300, 400])
    path = tmp_path / "conns.txt"
    np.savetxt(path, np.array(conns))
    from_file = sim.Projection(a, b, sim.FromFileConnector(str(path)))
    assert sorted(from_file.get(["weight", "delay"], format="list")) == got
    mask = np.zeros((5, 4), dtype=bool)
    mask[1, 2] = mask[3, 0] = True
    arr = sim.Projection(a, b, sim.ArrayConnector(mask), sim.StaticSynapse(weight=0.7))
    assert sorted(zip(*pairs(arr)[:2])) == [(1, 2), (3, 0)]
    w = arr.get("weight", format="array")
    assert w[1, 2] == pytest.approx(0.7) and np.isnan(w[0, 0])


def test_distance_dependent_probability_on_a_line():
    a = sim.Population(10, sim.IF_curr_exp(), label="A")
    prj = sim.Projection(a, a, sim.DistanceDependentProbabilityConnector("d < 1.5"))
    assert sorted(zip(*pairs(prj)[:2])) == sorted((i, j) for i in range(10) for j in range(10) if abs(i - j) <= 1)


def test_views_and_assemblies_map_to_the_parent_cells():
    a, b = pops(10, 8)
    prj = sim.Projection(a[2:5], b[[1, 3]], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    assert not in_engine(prj) and len(prj) == 6
    net = simulator.state.network()
    rule = net.projections[0].rule
    assert sorted(zip(rule.pre.tolist(), rule.post.tolist())) == [(i, j) for i in (2, 3, 4) for j in (1, 3)]
    c = sim.Population(3, sim.IF_curr_exp(), label="C")
    both = sim.Projection(a + c, b, sim.FixedNumberPreConnector(2), sim.StaticSynapse(weight=0.1))
    assert len(both) == 16
    net = simulator.state.network()
    parts = [q for q in net.projections if q.name.startswith(both._label)]
    assert {q.source for q in parts} <= {"A", "C"} and sum(q.rule.n for q in parts) == 16


def test_weight_distributions_and_units():
    a, b = pops(100, 100)
    normal = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(
        weight=sim.RandomDistribution("normal_clipped", mu=0.5, sigma=0.1, low=0.3, high=0.6), delay=1.0))
    assert in_engine(normal)
    rule, w_engine, d_engine = normal._native
    assert (w_engine.mean, w_engine.std, w_engine.low, w_engine.high) == (500.0, 100.0, 300.0, 600.0)   # nA -> pA
    w = pairs(normal)[2]
    assert w.min() >= 0.3 - 1e-6 and w.max() <= 0.6 + 1e-6 and 0.45 < w.mean() < 0.48
    boundary = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(
        weight=sim.RandomDistribution("normal_clipped_to_boundary", mu=0.5, sigma=0.1, low=0.4, high=0.6)))
    w = pairs(boundary)[2]
    assert not in_engine(boundary) and np.mean(np.isclose(w, 0.4)) > 0.1 and w.min() >= 0.4 - 1e-6
    expo = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5), sim.StaticSynapse(
        weight=sim.RandomDistribution("exponential", beta=0.2), delay=sim.RandomDistribution("uniform", (1.0, 3.0))))
    w, d = pairs(expo)[2:]
    assert abs(w.mean() - 0.2) < 0.02 and d.min() >= 1.0 and d.max() <= 3.0
    assert np.allclose(d * 10, np.round(d * 10))                       # delays on the time grid
    delta = sim.Projection(a, sim.Population(5, sim.IF_curr_delta(), label="D"), sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.8))
    assert delta._native[1] == 0.8                                     # mV stay mV


def test_inhibitory_weights_follow_pynns_sign_rule():
    a, b = pops(5, 5)
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.3), receptor_type="inhibitory")
    assert prj._native[1] == pytest.approx(-300.0)
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.3), receptor_type="inhibitory")
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.3), receptor_type="excitatory")
    guessed = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.3))
    assert guessed.receptor_type == "inhibitory"                       # PyNN guesses from the sign


def test_same_seeds_same_network_other_seed_other_network():
    def build(seed, rng_seed):
        sim.setup(timestep=0.1, rng_seed=seed)
        a, b = pops(40, 40)
        rng = sim.NumpyRNG(seed=rng_seed)
        p1 = sim.Projection(a, b, sim.FixedProbabilityConnector(0.2, rng=rng))
        p2 = sim.Projection(a, b, sim.FixedNumberPostConnector(3, rng=rng))
        return [tuple(map(tuple, pairs(p)[:2])) for p in (p1, p2)]
    first = build(1, 5)
    assert build(1, 5) == first
    assert build(2, 5)[0] != first[0] and build(2, 5)[1] != first[1]
    assert build(1, 6)[0] != first[0] and build(1, 6)[1] != first[1]     # the NumpyRNG seed keys the streams
