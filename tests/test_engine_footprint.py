"""The engine's storage constants (parsnn.engine.footprint), which the cost model reads, against what a
built Simulation really allocates: bytes per static synapse and per ring slot, rings per neuron."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.engine.footprint import RING_SLOT_BYTES, STATIC_SYNAPSE_BYTES
from parsnn.mapping.cluster.workload import ring_buffers
from parsnn.network import FixedTotalNumber, Network


def _net(tau_in: float) -> Network:
    """Long rows (10,000 synapses per source, one delay): the row pointers and delay runs add < 0.1 B a synapse."""
    net = Network(0.1)
    net.add_population("S", 20, "poisson_source", params={"rate": 10.0})
    net.add_population("T", 500, "iaf_psc_exp", params={"tau_syn_ex": 0.5, "tau_syn_in": tau_in})
    net.connect("S", "T", FixedTotalNumber(200000), weight=1.0, delay=1.0)
    return net


@pytest.mark.parametrize("tau_in", [0.5, 2.0])
def test_footprint_constants_match_the_built_engine(tau_in):
    net = _net(tau_in)
    sim = Simulation(net, seed=3, comm=MPI.COMM_SELF)
    sim.build()
    sim.run(1.0)
    perf = sim.performance()
    # every static synapse's own bytes, plus its share of the row pointers and delay runs
    assert STATIC_SYNAPSE_BYTES <= perf["bytes_per_static_synapse"] < STATIC_SYNAPSE_BYTES + 0.1
    assert np.asarray(sim.st.ring_ex).itemsize == RING_SLOT_BYTES
    # the cost model's rings per neuron are the engine's (per-tau: one ring when the time constants agree)
    assert ring_buffers(net.describe()) == (1 if sim.st.one_ring else 2)
    assert bool(sim.st.one_ring) == (tau_in == 0.5)
