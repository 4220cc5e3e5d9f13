"""Sinusoidal input currents of the engine (parsnn/engine/currents.py, cython/currents.pxi): the
step-wise closed form, the same spikes and V_m on 1, 2 and 3 threads, removal, and bad input."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.network import AllToAll, Network

SOURCE = dict(amplitude=300.0, offset=50.0, frequency=40.0, phase=30.0, start=2.0, stop=30.0)


def _net():
    net = Network(0.1)
    net.add_population("E", 60, "iaf_psc_exp", params=dict(V_m=-60.0, C_m=250.0, tau_m=10.0))
    net.add_population("D", 20, "iaf_psc_delta", params=dict(V_m=-60.0))
    net.add_population("P", 10, "poisson_source", params=dict(rate=500.0))
    net.connect("P", "E", AllToAll(), weight=40.0, delay=1.0)
    net.add_dc("E", 200.0)
    net.record_spikes()
    net.record_voltage("E", [0, 5, 59], 0.1)
    net.record_voltage("D", [0, 3], 0.1)
    return net


def _run(threads=1, t=40.0):
    sim = Simulation(_net(), seed=5, comm=MPI.COMM_SELF, threads=threads)
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0
    sim.set_ac_currents("E", [dict(index=np.arange(0, 60, 2), **SOURCE),
                              dict(index=[5, 6], amplitude=100.0, offset=0.0, frequency=100.0, phase=0.0,
                                   start=0.0, stop=1e12)])
    sim.set_ac_currents("D", [dict(index=[3], **{**SOURCE, "amplitude": 200.0})])
    sim.run(t)
    return sim


def test_sinusoid_is_the_stepwise_closed_form():
    """A non-spiking iaf_psc_delta cell (E_L -70 mV, from -60 mV): V - E_L after each step =
    (V - E_L) p22 + I(step) p20; samples at t = h, 2h, ..."""
    sim = _run()
    _, ids, v = sim.voltages()["D"]
    v3, v0 = v[:, list(ids).index(3)], v[:, list(ids).index(0)]
    h, tau, c = 0.1, 10.0, 250.0
    p22 = np.exp(-h / tau)
    p20 = tau / c * (1 - p22)
    n = np.arange(400)
    t = n * h
    cur = np.where((t >= 2.0 - 1e-9) & (t < 30.0 - 1e-9),
                   200.0 * np.sin(2 * np.pi * 0.04 * (t - 2.0) + np.pi / 6) + 50.0, 0.0)
    y, out = -60.0 + 70.0, []
    for i in cur:
        y = y * p22 + i * p20
        out.append(y - 70.0)
    assert np.abs(v3 - np.array(out)).max() < 1e-9
    assert np.allclose(v0, -70.0 + 10.0 * np.exp(-h * (n + 1) / tau), atol=1e-9)    # no source


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_same_spikes_and_voltages(threads):
    ref, got = _run(), _run(threads)
    for key in ref.spikes():
        assert np.array_equal(ref.spikes()[key][0], got.spikes()[key][0])
        assert np.array_equal(ref.spikes()[key][1], got.spikes()[key][1])
    for key in ref.voltages():
        assert np.array_equal(ref.voltages()[key][2], got.voltages()[key][2])
    assert sum(t.size for t, _ in ref.spikes().values()) > 50


def test_removing_the_sources_restores_the_constant_current():
    sim = Simulation(_net(), seed=5, comm=MPI.COMM_SELF)
    sim.set_ac_currents("D", [dict(index=[0], **{**SOURCE, "amplitude": 200.0})])
    sim.run(5.0)
    sim.set_ac_currents("D", [])
    assert not sim.st.currents_on
    sim.run(5.0)
    _, ids, v = sim.voltages()["D"]
    v0 = v[:, list(ids).index(0)] + 70.0
    assert v0[49] > v0[20]                                    # driven up to 5 ms, then only relaxing:
    assert np.allclose(v0[50:], v0[49] * np.exp(-0.1 * np.arange(1, 51) / 10.0), atol=1e-9, rtol=0)


def test_bad_sources_are_refused():
    sim = Simulation(_net(), seed=5, comm=MPI.COMM_SELF)
    with pytest.raises(ParameterError, match="indices"):
        sim.set_ac_currents("E", [dict(index=[60], **SOURCE)])
    with pytest.raises(ParameterError, match="frequency"):
        sim.set_ac_currents("E", [dict(index=[0], **{**SOURCE, "frequency": -1.0})])
    with pytest.raises(ParameterError, match="not a neuron population"):
        sim.set_ac_currents("P", [dict(index=[0], **SOURCE)])
