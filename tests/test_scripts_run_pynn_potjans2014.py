"""scripts/run_pynn_potjans2014.py: its --pynn-connector-rng makes the very connections PyNN's own
FixedTotalNumberConnector makes with the same RNG (its per-synapse loop replaced, its draws kept), and
its stand-in text writer writes every spike of a segment, train by train."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("pyNN")

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "run_pynn_potjans2014.py")


@pytest.fixture
def runner():
    spec = importlib.util.spec_from_file_location("run_pynn_potjans2014", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pairs(prj) -> list:
    return sorted((int(i), int(j)) for i, j, _ in prj.get(["weight"], format="list"))


def test_pynn_connector_rng_connects_as_pynn_does(runner, monkeypatch):
    from pyNN import connectors
    from pyNN.random import NumpyRNG

    import parsnn.pynn as sim
    from parsnn.pynn import projections
    cls = connectors.FixedTotalNumberConnector
    original = cls.connect
    for name in ("_engine_rule", "stream_rng"):          # undone after the test
        monkeypatch.setattr(projections, name, getattr(projections, name))
    monkeypatch.setattr(cls, "connect", original)
    sim.setup(timestep=0.1)
    pre, post = sim.Population(37, sim.IF_curr_exp()), sim.Population(23, sim.IF_curr_exp())
    native = sim.Projection(pre, post, cls(700, rng=NumpyRNG(seed=9)), sim.StaticSynapse(weight=0.1))
    runner.use_pynn_connector_rng()
    fast = sim.Projection(pre, post, cls(700, rng=NumpyRNG(seed=9)), sim.StaticSynapse(weight=0.1))
    cls.connect = original
    slow = sim.Projection(pre, post, cls(700, rng=NumpyRNG(seed=9)), sim.StaticSynapse(weight=0.1))
    fast_pairs, slow_pairs = _pairs(fast), _pairs(slow)
    assert len(fast_pairs) == 700 and fast_pairs == slow_pairs
    assert _pairs(native) != slow_pairs                  # the engine's own draws differ
    sim.end()


def test_masked_draws_are_numpy_randint(runner):
    rs = np.random.RandomState(5)
    expected = np.array([[rs.randint(0, 37, size=1)[0], rs.randint(0, 1000, size=1)[0]] for _ in range(200)])
    words = np.random.RandomState(5).randint(0, 2 ** 32, size=1000, dtype=np.uint32)
    got, used = runner._masked_draws(words, (37, 1000), 200)
    assert used > 0 and np.array_equal(got, expected)
    assert runner._masked_draws(words[:10], (37, 1000), 200)[1] == -1


def test_text_writer_writes_every_spike_train_by_train(runner, tmp_path):
    import neo
    import quantities as pq
    trains = neo.spiketrainlist.SpikeTrainList.from_spike_time_array(
        np.array([3.0, 1.0, 2.0, 5.0]), np.array([11, 10, 11, 12]), np.array([10, 11, 12]), t_stop=10.0 * pq.ms,
        units="ms", t_start=0.0 * pq.ms, source_index=np.array([0, 1, 2]))
    segment = neo.Segment()
    segment.spiketrains = trains
    path = tmp_path / "s.txt"
    runner.TextSegmentWriter(str(path)).write_segment(segment)
    assert path.read_text() == "1.0\t0\n3.0\t1\n2.0\t1\n5.0\t2\n"
