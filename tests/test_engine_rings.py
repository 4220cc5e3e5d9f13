"""The input ring schemes (parsnn.engine.rings): one ring per synaptic time constant (per-tau, the
default) or one per receptor. Per-tau changes a result only in the last bits of the input sums,
falls back to two rings when the receptors' time constants differ, and is selectable both ways."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.network import FixedIndegree, Network, Normal, PairwiseBernoulli

V_TOL = 1e-9     # mV, the tolerance of the NEST and closed-form comparisons


def _network(tau_syn_in: float = 0.5) -> Network:
    """Excitatory and inhibitory iaf_psc_exp, iaf_psc_alpha and iaf_psc_delta neurons with
    recurrent synapses of both signs and Poisson input devices of both signs."""
    net = Network(resolution=0.1)
    net.add_population("E", 60, params={"tau_syn_ex": 0.5, "tau_syn_in": tau_syn_in, "I_e": 300.0})
    net.add_population("A", 20, model="iaf_psc_alpha", params={"I_e": 300.0})
    net.add_population("D", 20, model="iaf_psc_delta", params={"I_e": 300.0})
    for src, w in (("E", 60.0), ("A", -150.0), ("D", -120.0)):
        for tgt in ("E", "A", "D"):
            net.connect(src, tgt, FixedIndegree(8), weight=Normal(w, abs(w) / 10, -math.inf, math.inf)
                        if w > 0 else w, delay=Normal(1.5, 0.5, 0.1, math.inf))
    net.connect("E", "E", PairwiseBernoulli(0.1), weight=-30.0, delay=0.7)
    net.add_poisson("E", rate=4000.0, weight=40.0)
    net.add_poisson("A", rate=2000.0, weight=-30.0)
    net.record_spikes(["E", "A", "D"])
    net.record_voltage("E", range(10), interval=0.1)
    net.record_voltage("A", range(5), interval=0.1)
    return net


def _run(net, rings, t_sim=150.0, **kw):
    sim = Simulation(net, seed=5, comm=MPI.COMM_SELF, rings=rings, **kw)
    sim.run(t_sim)
    return sim, sim.spikes(), sim.voltages()


def test_one_ring_when_the_receptors_share_their_time_constant():
    sim, spikes, volts = _run(_network(), "per-tau")
    ref, ref_spikes, ref_volts = _run(_network(), "per-receptor")
    assert sim.st.one_ring and not ref.st.one_ring
    assert np.asarray(sim.st.ring_in).size == sim.st.n_loc           # one slot of zeros
    assert np.asarray(ref.st.ring_in).size == ref.st.ring_n * ref.st.D
    assert not np.any(np.asarray(sim.st.ring_in)) and not np.any(np.asarray(sim.st.i_in))
    for pop in ("E", "A"):
        v, v_ref = volts[pop][2], ref_volts[pop][2]
        assert np.max(np.abs(v - v_ref)) <= V_TOL
    assert sum(t.size for t, _ in spikes.values()) > 100
    for pop in spikes:
        np.testing.assert_array_equal(spikes[pop][0], ref_spikes[pop][0])
        np.testing.assert_array_equal(spikes[pop][1], ref_spikes[pop][1])
    # the last bits do change: it is another realisation of the sums
    assert not all(np.array_equal(volts[p][2], ref_volts[p][2]) for p in ("E", "A"))


def test_two_rings_when_the_time_constants_differ():
    sim, spikes, volts = _run(_network(tau_syn_in=2.0), "per-tau")
    ref, ref_spikes, ref_volts = _run(_network(tau_syn_in=2.0), "per-receptor")
    assert not sim.st.one_ring
    for pop in spikes:
        np.testing.assert_array_equal(spikes[pop][0], ref_spikes[pop][0])
    for pop in volts:
        np.testing.assert_array_equal(volts[pop][2], ref_volts[pop][2])


def test_one_ring_result_does_not_depend_on_threads():
    _, spikes, volts = _run(_network(), "per-tau")
    _, spikes2, volts2 = _run(_network(), "per-tau", threads=2)
    for pop in spikes:
        np.testing.assert_array_equal(spikes[pop][0], spikes2[pop][0])
    for pop in volts:
        np.testing.assert_array_equal(volts[pop][2], volts2[pop][2])


def test_a_two_ring_checkpoint_continues_in_one_ring(tmp_path):
    """A per-receptor checkpoint restored into a per-tau simulation (the inhibitory parts folded
    into the totals) continues the per-receptor run up to the last bits."""
    ckpt = str(tmp_path / "c.h5")
    first = Simulation(_network(), seed=5, comm=MPI.COMM_SELF, rings="per-receptor")
    first.run(100.0)
    first.checkpoint(ckpt)
    assert np.any(np.asarray(first.st.ring_in)) and np.any(np.asarray(first.st.i_in))
    first.run(50.0)
    ref_volts = first.voltages()
    second = Simulation(_network(), seed=5, comm=MPI.COMM_SELF, rings="per-tau")
    second.restore(ckpt)
    assert second.st.one_ring and not np.any(np.asarray(second.st.i_in))
    second.run(50.0)
    volts = second.voltages()
    for pop in ("E", "A"):
        t_ref, _, v_ref = ref_volts[pop]
        tail = v_ref[np.asarray(t_ref) > 100.0]
        assert tail.shape == volts[pop][2].shape
        assert np.max(np.abs(volts[pop][2] - tail)) <= V_TOL


def test_bad_scheme_refused():
    with pytest.raises(ParameterError, match="rings must be one of per-tau, per-receptor"):
        Simulation(_network(), seed=5, comm=MPI.COMM_SELF, rings="one")


def test_run_file_records_the_delivery_scheme(run_cli, tmp_path):
    from parsnn.runfile.reader import RunFile
    for rings, buffers in (("per-tau", 1), ("per-receptor", 2)):
        out = str(tmp_path / f"{rings}.h5")
        run_cli(2, ["brunel", "--regime", "A", "--scale", "0.02", "--t-sim", "20", "--no-progress",
                    "--rings", rings, "--out", out])
        info = RunFile(out).run_info["delivery"]
        assert info["rings"] == rings and info["ring_buffers"] == buffers
