"""Property-based tests (hypothesis) of engine invariants."""
import numpy as np
from hypothesis import given, settings, strategies as st
from mpi4py import MPI

from parsnn.connectivity import Connectivity
from parsnn.network import Network
from parsnn.partition.strategies import block, round_robin
from parsnn.engine import Simulation

from parsnn.models import brunel

T_TOTAL = 120.0


def _network():
    net = brunel.build_network(regime="A", scale=0.05)
    net.record_voltage("E", [0, 3], 0.2)
    return net


def _spikes(pieces, flush_ms):
    sim = Simulation(_network(), seed=9, comm=MPI.COMM_SELF, flush_ms=flush_ms)
    for p in pieces:
        sim.run(p)
    assert sim.min_delay_steps == 15          # cuts fall inside min-delay intervals
    return sim.spikes(), sim.voltages()


REFERENCE = {}


def _reference():
    if not REFERENCE:
        REFERENCE["run"] = _spikes([T_TOTAL], 1000.0)
    return REFERENCE["run"]


@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, int(T_TOTAL * 10) - 1), max_size=5, unique=True),
       flush_ms=st.sampled_from([0.3, 7.0, 50.0, 1000.0]))
def test_splitting_a_run_changes_nothing(cuts, flush_ms):
    """Running 120 ms in arbitrary pieces, flushing at arbitrary intervals, gives the
    same spikes and voltages as one run: interval boundaries are not part of the model."""
    edges = [0, *sorted(cuts), int(T_TOTAL * 10)]
    pieces = [(b - a) / 10 for a, b in zip(edges, edges[1:])]
    spikes, volts = _spikes(pieces, flush_ms)
    ref_spikes, ref_volts = _reference()
    assert sum(len(t) for t, _ in ref_spikes.values()) > 100
    for name in ref_spikes:
        assert np.array_equal(spikes[name][0], ref_spikes[name][0])
        assert np.array_equal(spikes[name][1], ref_spikes[name][1])
    for name in ref_volts:
        assert np.array_equal(volts[name][2], ref_volts[name][2])


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 60), min_size=1, max_size=5), nranks=st.integers(1, 9),
       virtual=st.integers(0, 3))
def test_shipped_partitions_are_balanced_and_complete(sizes, nranks, virtual):
    net = Network(0.1)
    for k, n in enumerate(sizes):
        net.add_population(f"p{k}", n, "iaf_psc_exp")
    if virtual:
        net.add_population("gen", virtual, "spike_generator", spike_times=[[1.0]] * virtual)
    placeable = sum(sizes)
    for strategy in (round_robin, block):
        rank_of = strategy(Connectivity.from_network(net), nranks)
        assert rank_of.shape == (net.num_nodes,)
        assert np.all(rank_of[placeable:] == -1)             # spike generators are virtual
        counts = np.bincount(rank_of[:placeable], minlength=nranks)
        assert counts.size == nranks and counts.sum() == placeable
        assert counts.max() - counts.min() <= 1
