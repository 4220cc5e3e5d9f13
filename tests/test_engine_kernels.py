"""The vectorized neuron update (cython/update.h) against the scalar reference kernel.

Segments with one parameter set and no Poisson input devices take the vector
kernel; ``EngineState.vector_update = False`` sends every segment through the
scalar kernel. Both must give bit-identical spikes and membrane potentials.
"""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from parsnn.models import pd14
from parsnn.network import Network, OneToOne, Uniform
from parsnn.engine import Simulation


def _run(net, vector: bool, t_sim: float, seed: int = 5):
    sim = Simulation(net, seed=seed, comm=MPI.COMM_SELF)
    sim.build()
    sim.st.vector_update = vector
    sim.run(t_sim)
    return sim


def _assert_same(a: Simulation, b: Simulation):
    sa, sb = a.spikes(), b.spikes()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k][0], sb[k][0])
        np.testing.assert_array_equal(sa[k][1], sb[k][1])
    va, vb = a.voltages(), b.voltages()
    assert va.keys() == vb.keys()
    for k in va:
        assert np.array_equal(va[k][2], vb[k][2])      # bitwise, not approximately


def test_pd14_vector_kernel_is_bit_identical_to_scalar():
    net = pd14.build_network(n_scaling=0.02, record=True, record_voltage=20)
    vec = _run(net, True, 200.0)
    seg = np.asarray(vec.st.segments)
    assert np.all(seg[:, 3] == 0), "PD14 populations should be uniform segments (the vector kernel's case)"
    sca = _run(net, False, 200.0)
    n_spikes = sum(len(v[0]) for v in vec.spikes().values())
    assert n_spikes > 500                   # enough spikes to exercise the threshold/refractory selects
    _assert_same(vec, sca)


@pytest.mark.parametrize("t_ref", [0.0, 0.1, 2.0])
@pytest.mark.parametrize("size", [1, 63, 64, 65, 200])
def test_block_edges_and_refractory_lengths(size, t_ref):
    # strong DC drive makes every neuron fire repeatedly; one-to-one inhibitory spike
    # input from a generator gives neurons different states, so spikes fall at
    # different positions inside the kernel's 64-neuron blocks
    net = Network(0.1)
    params = dict(C_m=250.0, tau_m=10.0, tau_syn_ex=2.0, tau_syn_in=2.0, t_ref=t_ref, E_L=-65.0,
                  V_th=-50.0, V_reset=-65.0, I_e=600.0, V_m=Uniform(-70.0, -50.5))
    net.add_population("N", size, "iaf_psc_exp", params=params)
    times = [[1.0 + 0.7 * (i % 13) + 3.1 * j for j in range(10)] for i in range(size)]
    net.add_population("G", size, "spike_generator", spike_times=times)
    net.connect("G", "N", OneToOne(), weight=-400.0, delay=1.0)
    net.record_spikes("N")
    net.record_voltage("N", ids=list(range(0, size, max(1, size // 7))), interval=0.1)
    vec = _run(net, True, 100.0)
    assert np.all(np.asarray(vec.st.segments)[:, 3] == 0)
    sca = _run(net, False, 100.0)
    spikes = vec.spikes()["N"]
    assert len(spikes[0]) >= 2 * size
    assert len(np.unique(spikes[0])) > 1
    _assert_same(vec, sca)



def _state_bits(sim: Simulation) -> dict:
    """The neuron state arrays after a run as raw 64/32-bit patterns (so +0.0 and -0.0 differ)."""
    return {a: np.asarray(getattr(sim.st, a)).copy().view(np.uint32) for a in ("V", "i_ex", "i_in", "r")}


def _quiet_network(i_e: float) -> Network:
    """iaf_psc_exp with equal synaptic time constants (one ring), V_m = E_L: population Q gets no
    input (with I_e = 0 its V_m relative to E_L stays an exact zero), D spikes of both signs."""
    net = Network(0.1)
    params = dict(tau_syn_ex=0.5, tau_syn_in=0.5, I_e=i_e, V_m=-65.0, E_L=-65.0, V_th=-50.0, V_reset=-65.0)
    net.add_population("Q", 70, "iaf_psc_exp", params=params)
    net.add_population("D", 70, "iaf_psc_exp", params=params)
    net.add_population("G", 70, "spike_generator", spike_times=[[1.0 + 0.3 * (i % 7), 4.0] for i in range(70)])
    net.connect("G", "D", OneToOne(), weight=Uniform(-300.0, 300.0), delay=1.0)
    net.record_spikes("D")
    net.record_voltage("D", ids=list(range(0, 70, 5)), interval=0.1)
    return net


@pytest.mark.parametrize("i_e", [0.0, 300.0])
def test_one_ring_kernel_keeps_every_bit_of_the_state(i_e):
    # one ring and every i_in +0.0: the vector kernel that skips i_in and ring_in (update.h) runs; the
    # state after the run equals the scalar kernel's bit for bit, the sign of an exact zero included
    net = _quiet_network(i_e)
    vec = _run(net, True, 20.0)
    assert vec.st.one_ring and vec.st.iin_zero
    sca = _run(net, False, 20.0)
    _assert_same(vec, sca)
    a, b = _state_bits(vec), _state_bits(sca)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert not np.any(a["i_in"])                    # i_in stayed +0.0


def test_nonzero_inhibitory_current_takes_the_full_kernel():
    # a nonzero i_in (one ring) rules the shortcut out: the full vector kernel runs and still
    # equals the scalar one bit for bit
    net = pd14.build_network(n_scaling=0.02, record=True, record_voltage=20)
    sims = []
    for vector in (True, False):
        sim = Simulation(net, seed=5, comm=MPI.COMM_SELF)
        sim.build()
        sim.st.vector_update = vector
        i_in = np.asarray(sim.st.i_in)
        i_in[:] = np.linspace(-30.0, 30.0, i_in.size)
        sim.run(100.0)
        sims.append(sim)
    assert sims[0].st.one_ring and not sims[0].st.iin_zero
    _assert_same(*sims)
    a, b = _state_bits(sims[0]), _state_bits(sims[1])
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def _alpha_network(size: int, t_ref: float, tau_in: float, v_min: float) -> Network:
    """iaf_psc_alpha driven by Poisson devices of both signs and DC, with spike input of both signs,
    so that neurons fire, sit refractory and (with a V_min) hit the clip at different places of the
    kernel's blocks."""
    net = Network(0.1)
    params = dict(C_m=250.0, tau_m=10.0, tau_syn_ex=0.5, tau_syn_in=tau_in, t_ref=t_ref, E_L=-65.0,
                  V_th=-50.0, V_reset=-65.0, I_e=300.0, V_m=Uniform(-70.0, -50.5))
    if v_min > -np.inf:
        params["V_min"] = v_min
    net.add_population("N", size, "iaf_psc_alpha", params=params)
    net.add_poisson("N", rate=8000.0, weight=40.0, delay=0.5)
    net.add_poisson("N", rate=3000.0, weight=-30.0 / tau_in, delay=1.0)
    times = [[1.0 + 0.7 * (i % 13) + 3.1 * j for j in range(10)] for i in range(size)]
    net.add_population("G", size, "spike_generator", spike_times=times)
    net.connect("G", "N", OneToOne(), weight=Uniform(-450.0 / tau_in, 300.0), delay=1.0)
    net.record_spikes("N")
    net.record_voltage("N", ids=list(range(0, size, max(1, size // 7))), interval=0.1)
    return net


@pytest.mark.parametrize("rings", ["per-tau", "per-receptor"])
@pytest.mark.parametrize("size,t_ref,tau_in,v_min", [(1, 2.0, 0.5, -np.inf), (64, 0.0, 0.5, -66.0),
                                                     (257, 0.5, 0.5, -np.inf), (300, 2.0, 1.5, -66.0)])
def test_alpha_vector_kernel_is_bit_identical_to_scalar(size, t_ref, tau_in, v_min, rings):
    # one parameter set: _update_alpha forms each block's input (ring, Poisson devices) and runs
    # update_alpha.h's kernel; with vector_update off, the scalar loop. Spikes, V_m and the whole
    # state (both currents and their derivatives) agree bit for bit
    net = _alpha_network(size, t_ref, tau_in, v_min)
    sims = []
    for vector in (True, False):
        sim = Simulation(net, seed=7, comm=MPI.COMM_SELF, rings=rings)
        sim.build()
        sim.st.vector_update = vector
        sim.run(60.0)
        sims.append(sim)
    assert np.all(np.asarray(sims[0].st.segments)[:, 3] == 0)
    assert sims[0].st.one_ring == (rings == "per-tau" and tau_in == 0.5)
    spikes = sims[0].spikes()["N"]
    assert len(spikes[0]) >= size
    _assert_same(*sims)
    for a in ("V", "i_ex", "i_in", "di_ex", "di_in", "r"):
        x, y = np.asarray(getattr(sims[0].st, a)), np.asarray(getattr(sims[1].st, a))
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), a
    if v_min > -np.inf:     # the clip was reached (V_m relative to E_L = V_min - E_L)
        assert np.min(sims[0].voltages()["N"][2]) <= v_min + 1e-9


@pytest.mark.parametrize("rings", ["per-tau", "per-receptor"])
@pytest.mark.parametrize("size,weight,delay", [(1, 60.0, 0.5), (255, 45.0, 1.5), (256, -40.0, 0.1),
                                               (257, 45.0, 2.0), (600, -40.0, 1.0)])
def test_alpha_one_poisson_device_per_neuron_is_bit_identical_to_scalar(size, weight, delay, rings):
    # one Poisson device per neuron (hpc_benchmark's drive): _update_alpha_uniform forms a block's inputs
    # at once (poisson.h's parsnn_pone_input: no draws before the delay, then one mean for the whole batch);
    # with vector_update off, the scalar loop's per-neuron _poisson_input. The same spikes, V_m and state.
    net = Network(0.1)
    net.add_population("N", size, "iaf_psc_alpha", params=dict(
        C_m=250.0, tau_m=10.0, tau_syn_ex=0.5, tau_syn_in=0.5 if rings == "per-tau" else 1.5, t_ref=2.0,
        E_L=-65.0, V_th=-50.0, V_reset=-65.0, I_e=900.0 if weight < 0 else 0.0, V_m=Uniform(-70.0, -50.5)))
    net.add_poisson("N", rate=9000.0 if weight > 0 else 2000.0, weight=weight, delay=delay)
    net.record_spikes("N")
    net.record_voltage("N", ids=list(range(0, size, max(1, size // 7))), interval=0.1)
    sims = []
    for vector in (True, False):
        sim = Simulation(net, seed=3, comm=MPI.COMM_SELF, rings=rings)
        sim.build()
        sim.st.vector_update = vector
        sim.run(80.0)
        sims.append(sim)
    assert np.all(np.diff(np.asarray(sims[0].st.pd_ptr)) == 1)
    spikes = sims[0].spikes()["N"]
    assert len(spikes[0]) >= size // 2
    _assert_same(*sims)
    for a in ("V", "i_ex", "i_in", "di_ex", "di_in", "r"):
        x, y = np.asarray(getattr(sims[0].st, a)), np.asarray(getattr(sims[1].st, a))
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), a
