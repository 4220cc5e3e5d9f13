"""parsnn.pynn cells, parameters, units, initial values, recording and simulation control."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN")
import neo  # noqa: E402

import parsnn.pynn as sim  # noqa: E402
from parsnn.pynn import simulator  # noqa: E402


pytestmark = pytest.mark.usefixtures("pynn_sim")      # setup() before and end() after each test


def test_parameter_names_and_units_reach_the_engine():
    p = sim.Population(3, sim.IF_curr_exp(cm=0.25, i_offset=0.1, tau_syn_E=0.5, tau_syn_I=0.7, v_rest=-70.0,
                                          v_reset=-71.0, v_thresh=-55.0, tau_refrac=2.0, tau_m=10.0), label="E")
    p.initialize(v=[-60.0, -61.0, -62.0])
    net = simulator.state.network()
    params = net.populations["E"].params
    assert params["C_m"] == 250.0 and params["I_e"] == 100.0          # nF -> pF, nA -> pA
    assert (params["tau_syn_ex"], params["tau_syn_in"], params["E_L"], params["V_reset"], params["V_th"],
            params["t_ref"], params["tau_m"]) == (0.5, 0.7, -70.0, -71.0, -55.0, 2.0, 10.0)
    assert np.array_equal(params["V_m"], [-60.0, -61.0, -62.0])
    assert net.populations["E"].model == "iaf_psc_exp"
    assert p.get("cm") == pytest.approx(0.25) and p.get("i_offset") == pytest.approx(0.1)


def test_spike_sources_and_native_types():
    sim.Population(2, sim.SpikeSourcePoisson(rate=5.0, start=10.0, duration=50.0), label="P")
    sim.Population(2, sim.SpikeSourceArray(spike_times=[1.04, 2.0, 2.01]), label="G")
    sim.Population(2, sim.native_cell_type("iaf_psc_delta")(tau_m=7.0, C_m=100.0), label="D")
    sim.Population(2, sim.IF_curr_delta(cm=0.5), label="C")
    net = simulator.state.network()
    assert net.populations["P"].params == {"rate": 5.0, "start": 10.0, "stop": 60.0}
    assert [list(t) for t in net.populations["G"].spike_times] == [[1.1, 2.0, 2.1]] * 2   # rounded up (NEST)
    assert net.populations["D"].params["tau_m"] == 7.0 and net.populations["D"].params["C_m"] == 100.0
    assert net.populations["C"].model == "iaf_psc_delta" and net.populations["C"].params["C_m"] == 500.0


def test_dc_driven_membrane_potential_is_the_closed_form():
    """V(t) = v_rest + R I (1 - exp(-t / tau_m)) below threshold; samples at t = 0, dt, 2 dt, ..."""
    p = sim.Population(2, sim.IF_curr_exp(cm=0.5, tau_m=15.0, v_rest=-70.0, v_thresh=0.0, i_offset=0.2))
    p.initialize(v=-70.0)
    sim.DCSource(amplitude=0.1).inject_into(p[1:])
    p.record("v")
    sim.run(50.0)
    sig = p.get_data().segments[0].analogsignals[0]
    t = sig.times.magnitude
    assert sig.shape == (501, 2) and t[0] == 0.0 and t[-1] == pytest.approx(50.0)
    for k, current in enumerate((0.2, 0.3)):
        expected = -70.0 + 15.0 / 0.5 * current * (1.0 - np.exp(-t / 15.0))
        assert np.allclose(sig.magnitude[:, k], expected, rtol=0, atol=1e-10)


def _relax(v0, current, t, tau=20.0, r=20.0):
    """V(t) of a passive membrane from v0 under a constant current (nA, R in MOhm)."""
    return -65.0 + (v0 + 65.0 - r * current) * np.exp(-t / tau) + r * current


def test_step_and_timed_dc_currents_and_i_offset_between_runs():
    """Piecewise-constant currents change the exact solution at their (grid) times."""
    p = sim.Population(3, sim.IF_curr_exp(v_thresh=0.0), label="E")
    sim.DCSource(amplitude=0.5, start=10.0, stop=30.0).inject_into(p[0:1])
    sim.StepCurrentSource(times=[5.0, 20.0], amplitudes=[0.2, -0.1]).inject_into(p[1:])
    p.record("v")
    sim.run(25.0)
    p.set(i_offset=[0.0, 0.0, 1.0])
    sim.run(25.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude
    t = np.arange(501) * 0.1
    dc = np.where(t <= 10, -65.0, np.where(t <= 30, _relax(-65.0, 0.5, t - 10), 0))
    dc = np.where(t > 30, _relax(_relax(-65.0, 0.5, 20.0), 0.0, t - 30), dc)
    assert np.allclose(v[:, 0], dc, atol=1e-9)
    step = np.where(t <= 5, -65.0, _relax(-65.0, 0.2, t - 5))
    at20 = _relax(-65.0, 0.2, 15.0)
    step = np.where(t > 20, _relax(at20, -0.1, t - 20), step)
    assert np.allclose(v[:, 1], step, atol=1e-9)
    at25 = _relax(at20, -0.1, 5.0)
    assert np.allclose(v[251:, 2], _relax(at25, 0.9, t[251:] - 25), atol=1e-9)     # i_offset 1 nA from 25 ms


def test_poisson_rate_changes_between_runs():
    p = sim.Population(200, sim.SpikeSourcePoisson(rate=10.0), label="P")
    n = sim.Population(1, sim.IF_curr_exp(), label="N")
    sim.Projection(p, n, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.0))
    p.record("spikes")
    sim.run(500.0)
    p.set(rate=100.0)
    sim.run(500.0)
    trains = p.get_data().segments[0].spiketrains
    times = np.concatenate([s.magnitude for s in trains])
    first, second = np.sum(times <= 500.0) / 100.0, np.sum(times > 500.0) / 100.0     # spikes/s
    assert 8.0 < first < 12.0 and 90.0 < second < 110.0


def test_first_spike_time_on_the_grid():
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0, tau_refrac=2.0))
    p.record("spikes")
    sim.run(40.0)
    train = p.get_data().segments[0].spiketrains[0]
    t_cross = -20.0 * np.log(1 - 15.0 / 20.0)
    assert float(train[0]) == pytest.approx(np.ceil(t_cross / 0.1) * 0.1)


def test_random_parameters_and_initial_values_come_from_parsnn_streams():
    rd = sim.RandomDistribution("normal", mu=-60.0, sigma=2.0, rng=sim.NumpyRNG(seed=3))
    p = sim.Population(2000, sim.IF_curr_exp(tau_m=sim.RandomDistribution("uniform", (10.0, 20.0))), label="E")
    p.initialize(v=rd)
    tau = p.get("tau_m")
    assert tau.min() >= 10.0 and tau.max() < 20.0 and abs(tau.mean() - 15.0) < 0.3
    v = p._initial_values_of("v")
    assert abs(v.mean() + 60.0) < 0.2 and abs(v.std() - 2.0) < 0.15
    # same seeds, same values; another setup seed, other values
    sim.setup(timestep=0.1)
    q = sim.Population(2000, sim.IF_curr_exp(), label="E")
    q.initialize(v=rd)
    assert np.array_equal(q._initial_values_of("v"), v)
    sim.setup(timestep=0.1, rng_seed=99)
    q = sim.Population(2000, sim.IF_curr_exp(), label="E")
    q.initialize(v=rd)
    assert not np.array_equal(q._initial_values_of("v"), v)


def test_views_set_and_initialize():
    p = sim.Population(6, sim.IF_curr_exp(), label="E")
    p[1:3].set(tau_m=5.0)
    p[4:].initialize(v=-55.0)
    net = simulator.state.network()
    assert list(net.populations["E"].params["tau_m"]) == [20.0, 5.0, 5.0, 20.0, 20.0, 20.0]
    assert list(net.populations["E"].params["V_m"]) == [-65.0] * 4 + [-55.0] * 2
    assert p[1:3].get("tau_m") == 5.0 and list(p[0:2].get("tau_m")) == [20.0, 5.0]


def test_recording_clear_restarts_the_recording():
    p = sim.Population(2, sim.IF_curr_exp(i_offset=1.0), label="E")
    p[:1].record(["spikes", "v"])
    sim.run(60.0)
    seg = p.get_data(clear=True).segments[0]
    assert len(seg.spiketrains) == 1 and len(seg.spiketrains[0]) > 0
    sim.run(40.0)
    later = p.get_data().segments[0]
    assert later.spiketrains[0].t_start == 60.0 * later.spiketrains[0].units
    assert float(later.spiketrains[0].min()) > 60.0
    assert later.analogsignals[0].shape[0] == 400


def test_reset_starts_a_new_segment_with_the_same_network(tmp_path):
    p = sim.Population(2, sim.IF_curr_exp(i_offset=0.5), label="E")
    q = sim.Population(20, sim.SpikeSourcePoisson(rate=200.0), label="P")
    sim.Projection(q, p, sim.FixedProbabilityConnector(0.5), sim.StaticSynapse(weight=0.2))
    p[:1].record(["spikes", "v"])
    sim.run(60.0)
    seg = p.get_data().segments[0]
    assert len(seg.spiketrains[0]) > 2
    sim.reset()
    sim.run(60.0)
    block = p.get_data()
    assert len(block.segments) == 2
    # after reset the same network, seed and initial state: the same spikes as in the first segment
    assert np.array_equal(block.segments[1].spiketrains[0].magnitude, seg.spiketrains[0].magnitude)
    path = tmp_path / "E.pkl"
    p.write_data(str(path))
    back = neo.io.PickleIO(str(path)).read_block()
    assert len(back.segments) == 2
    assert p.get_spike_counts()[p[0]] == len(seg.spiketrains[0])


def test_state_queries():
    sim.setup(timestep=0.25, min_delay=0.5)
    assert sim.get_time_step() == 0.25 and sim.get_min_delay() == 0.5 and sim.rank() == 0
    assert sim.num_processes() == 1
    sim.Population(1, sim.IF_curr_exp())
    sim.run(10.0)
    sim.run_until(12.5)
    assert sim.get_current_time() == pytest.approx(12.5)


def test_unsupported_features_raise_naming_them():
    for name in ("IF_cond_exp", "TsodyksMarkramSynapse", "Vogels2011Rule", "NoisyCurrentSource", "SpikeSourceGamma"):
        with pytest.raises(NotImplementedError, match=name):
            getattr(sim, name)
    with pytest.raises(AttributeError):
        sim.NoSuchThing
    p = sim.Population(1, sim.IF_curr_exp())
    sim.run(1.0)
    with pytest.raises(NotImplementedError, match=r"set\(tau_m=...\) after run\(\) is not supported.*reset"):
        p.set(tau_m=3.0)
    with pytest.raises(NotImplementedError, match="creating a Population after run"):
        sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError, match="native_cell_type|no parsnn model"):
        sim.native_cell_type("aeif_cond_exp")


def test_procedural_api_and_assembly_recording(tmp_path):
    a = sim.create(sim.IF_curr_exp, {"i_offset": 1.0}, n=5)
    b = sim.create(sim.IF_curr_exp, {}, n=4)
    prj = sim.connect(a, b, weight=0.5, delay=1.0, p=1.0)
    sim.record("spikes", a, str(tmp_path / "a.pkl"))
    (a + b).record("v")
    sim.run(30.0)
    seg = (a + b).get_data().segments[0]
    assert len(prj) == 20 and len(seg.spiketrains) == 5 and seg.analogsignals[0].shape == (301, 9)
    sim.end()
    assert (tmp_path / "a.pkl").exists()


def test_off_grid_spike_times_round_up_as_in_pynn_nest():
    """NEST's Time::ms_stamp of t - min_delay, plus min_delay: up to the grid, tics truncated, equal
    steps kept (values measured on pyNN.nest with NEST 3.10, spike_precision='on_grid')."""
    from parsnn.pynn.populations import on_grid
    t = [0.11, 0.2, 0.30000000000000004, 0.29999999999999993, 0.7, 1.0, 1.00004, 1.02, 1.05, 1.09996, 2.55]
    assert on_grid(t, 0.1, 0.1).tolist() == [0.2, 0.2, 0.4, 0.3, 0.7, 1.0, 1.1, 1.1, 1.1, 1.1, 2.6]
    assert on_grid([1.09996, 2.5, 2.55], 0.1, 1.0).tolist() == [1.1, 2.5, 2.6]
    assert on_grid([0.3, 0.33], 0.025, 0.1).tolist() == [0.3, 0.35]


def test_off_grid_spikes_give_the_psp_of_the_rounded_up_time():
    """Two spikes in one step both arrive (NEST's multiplicity); V_m is the exact iaf_psc_exp response."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.02, 1.05]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=20.0, tau_syn_E=5.0, cm=1.0, v_rest=-65.0))
    sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.5))
    cell.record("v")
    src.record("spikes")
    sim.run(10.0)
    v = cell.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    t = np.arange(v.size) * 0.1
    # the synaptic current jumps at 1.1 + 0.5 ms
    dt_ = np.clip(t - 1.6, 0.0, None)
    psp = 2 * 1.0 * (5.0 * 20.0 / 15.0) * (np.exp(-dt_ / 20.0) - np.exp(-dt_ / 5.0))
    assert np.allclose(v, -65.0 + psp, atol=1e-9, rtol=0)
    assert list(src.get_data().segments[0].spiketrains[0].magnitude) == [1.1, 1.1]


def test_spike_times_must_be_positive():
    with pytest.raises(ValueError, match="spike_times must be > 0"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[0.0, 1.0]))


def test_off_grid_spike_times_as_pynn_nest():
    """The same model on pyNN.nest (spike_precision='on_grid', iaf_psc_exp): same V_m, same recorded
    source spikes; skipped without NEST."""
    import pynn_nest
    nest_sim = pynn_nest.nest_backend()
    if nest_sim is None:
        pytest.skip("pyNN.nest (NEST) not available")
    times = [0.15, 1.02, 1.05, 2.0, 2.0, 3.33, 4.07]

    def model(s):
        src = s.Population(2, s.SpikeSourceArray(spike_times=times))
        cell = s.Population(2, s.IF_curr_exp(tau_syn_E=2.0))
        s.Projection(src, cell, s.OneToOneConnector(), s.StaticSynapse(weight=1.5, delay=0.3))
        cell.record("v")
        src.record("spikes")
        return src, cell

    def fetch(objs):
        src, cell = objs
        return (np.asarray(cell.get_data().segments[0].analogsignals[0].magnitude),
                np.asarray(src.get_data().segments[0].spiketrains[0].magnitude))
    sim.end()
    ours = pynn_nest.run_model(sim, model, fetch, 8.0)
    theirs = pynn_nest.run_model(nest_sim, model, fetch, 8.0)
    sim.setup(timestep=0.1)
    assert np.abs(ours[0] - theirs[0]).max() < 1e-9
    assert np.allclose(ours[1], theirs[1], atol=1e-12, rtol=0)


def _array_onto_cell(times):
    """A 2-cell SpikeSourceArray onto one IF_curr_exp cell (V_m and the sources' spikes recorded)."""
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=times), label="array")
    cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=2.0), label="cell")
    sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=0.3))
    src.record("spikes")
    cell.record("v")
    return src, cell


def test_spike_source_array_set_between_runs():
    """PyNN's test_update_SpikeSourceArray: new spike_times after run() take effect from then on, the
    spikes sent so far stay recorded, get() returns the new times; the target's V_m is bit-identical
    to that of a source given all the times (the replaced, unsent 25.05 ms excepted) from the start."""
    from pyNN.parameters import Sequence
    src, cell = _array_onto_cell([Sequence([3.0, 25.05]), Sequence([])])
    sim.run(10.0)
    src.set(spike_times=[Sequence([12.0, 15.0, 18.0]), Sequence([17.0, 19.02])])
    assert list(src.get("spike_times")[0].value) == [12.0, 15.0, 18.0]
    sim.run(10.0)
    src[1:].set(spike_times=Sequence([23.0, 27.0, 29.0]))          # through a view
    src[:1].set(spike_times=Sequence([22.0, 25.0]))
    sim.run(10.0)
    trains = src.get_data().segments[0].spiketrains
    assert list(trains[0].magnitude) == [3.0, 12.0, 15.0, 18.0, 22.0, 25.0]
    assert list(trains[1].magnitude) == [17.0, 19.1, 23.0, 27.0, 29.0]
    v = cell.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    sim.end()
    sim.setup(timestep=0.1)
    _, whole = _array_onto_cell([Sequence([3.0, 12.0, 15.0, 18.0, 22.0, 25.0]),
                                 Sequence([17.0, 19.02, 23.0, 27.0, 29.0])])
    sim.run(30.0)
    assert np.array_equal(v, whole.get_data().segments[0].analogsignals[0].magnitude[:, 0])


def test_spike_source_array_times_in_the_past_are_refused():
    """As NEST: times at or before the current time raise (naming it); the old times stay."""
    from pyNN.errors import InvalidParameterValueError
    src, _ = _array_onto_cell([5.0, 15.0])
    sim.run(10.0)
    with pytest.raises(InvalidParameterValueError, match="after the current time 10 ms.*got 10 ms"):
        src.set(spike_times=[10.0, 12.0])
    with pytest.raises(InvalidParameterValueError, match="sorted"):
        src.set(spike_times=[14.0, 12.0])
    assert list(src.get("spike_times").value) == [5.0, 15.0]
    sim.run(10.0)
    assert list(src.get_data().segments[0].spiketrains[0].magnitude) == [5.0, 15.0]


def test_spike_source_array_after_reset_uses_the_last_times():
    """reset() rebuilds the network with the times last set (as pyNN.nest re-sets them)."""
    src, _ = _array_onto_cell([5.0])
    sim.run(10.0)
    src.set(spike_times=[12.0, 14.0])
    sim.run(10.0)
    sim.reset()
    sim.run(20.0)
    segments = src.get_data().segments
    assert [list(s.magnitude) for s in segments[0].spiketrains] == [[5.0, 12.0, 14.0]] * 2
    assert [list(s.magnitude) for s in segments[1].spiketrains] == [[12.0, 14.0]] * 2
