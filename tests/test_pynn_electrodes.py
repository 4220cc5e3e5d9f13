"""parsnn.pynn current sources: validation and grid mapping of StepCurrentSource, changing a
source between runs, currents across run() boundaries; ACSource against the step-wise closed form
and, with NEST installed, every source (V_m and the recorded currents) against pyNN.nest."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN")

import parsnn.pynn as sim  # noqa: E402


pytestmark = pytest.mark.usefixtures("pynn_sim")      # setup() before and end() after each test


def test_step_current_source_checks_and_grid():
    with pytest.raises(ValueError):
        sim.StepCurrentSource(times=[0.4, -0.6, 0.8], amplitudes=[0.5, -0.5, 0.5])
    with pytest.raises(ValueError):
        sim.StepCurrentSource(times=[0.4, 0.2, 0.8], amplitudes=[0.5, -0.5, 0.5])
    step = sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.5])
    assert np.allclose(step.times.evaluate(), [0.4, 0.9]) and np.allclose(step.amplitudes.evaluate(), [-0.5, 0.5])


def test_changing_a_source_between_runs_holds_from_then_on():
    p = sim.Population(2, sim.IF_curr_exp(v_thresh=0.0), label="E")
    dc = sim.DCSource(amplitude=0.2)
    dc.inject_into(p[0:1])
    p.record("v")
    sim.run(50.0)
    dc.amplitude = 0.6
    sim.run(50.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    t = np.arange(1001) * 0.1
    first = -65.0 + 20 * 0.2 * (1 - np.exp(-t / 20.0))
    at50 = first[500]
    second = -65.0 + 20 * 0.6 + (at50 + 65.0 - 20 * 0.6) * np.exp(-(t - 50.0) / 20.0)
    assert np.allclose(v[:501], first[:501], atol=1e-9) and np.allclose(v[501:], second[501:], atol=1e-9)


def test_currents_across_run_boundaries():
    """A source that starts during the second run, and one that spans both (PyNN's issue 487)."""
    p = sim.Population(2, sim.IF_curr_exp(v_thresh=0.0, v_rest=-60.0), label="E")
    p.initialize(v=-60.0)
    sim.DCSource(amplitude=0.15, start=115.0, stop=145.0).inject_into(p[0:1])
    sim.StepCurrentSource(times=[25.0, 75.0, 115.0], amplitudes=[0.05, 0.1, 0.2]).inject_into(p[1:2])
    p.record("v")
    sim.run(100.0)
    sim.run(100.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude
    assert np.all(v[:1151, 0] == -60.0) and v[1152, 0] > -60.0 and np.argmax(v[:, 0]) == 1450
    assert np.all(v[:251, 1] == -60.0) and v[252, 1] > -60.0
    assert np.all(np.diff(v[1151:, 1]) > 0)              # 0.2 nA from 115 ms: rising towards -56 mV


def _stepwise_v(currents_pa, v0=-65.0, e_l=-65.0, tau_m=20.0, c_m=1000.0, h=0.1):
    """V_m at t = 0, h, ... of an iaf_psc_exp cell without synaptic input driven by a current that is
    constant in each step (``currents_pa[n]`` in step n): NEST's exact propagator, step by step."""
    p22 = np.exp(-h / tau_m)
    p20 = tau_m / c_m * (1.0 - p22)
    v = [v0 - e_l]
    for i in currents_pa:
        v.append(v[-1] * p22 + i * p20)
    return np.array(v) + e_l


def test_ac_source_is_the_stepwise_sinusoid():
    """offset + amplitude sin(2 pi f (t - start) + phase) in each step that begins at t in [start, stop):
    V_m is the exact step-wise solution, the recorded current the sinusoid; a second source adds."""
    p = sim.Population(2, sim.IF_curr_exp(v_thresh=1000.0, cm=1.0, tau_m=20.0, v_rest=-65.0), label="E")
    ac = sim.ACSource(amplitude=0.5, offset=0.1, frequency=100.0, phase=30.0, start=1.0, stop=6.0)
    ac.inject_into(p)
    sim.ACSource(amplitude=0.2, frequency=250.0, start=3.0).inject_into(p[1:2])
    ac.record()
    p.record("v")
    sim.run(4.0)
    sim.run(4.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude
    n = np.arange(80)
    t = n * 0.1
    first = np.where((t >= 1.0 - 1e-9) & (t < 6.0 - 1e-9),
                     500.0 * np.sin(2 * np.pi * 0.1 * (t - 1.0) + np.pi / 6) + 100.0, 0.0)
    second = np.where(t >= 3.0 - 1e-9, 200.0 * np.sin(2 * np.pi * 0.25 * (t - 3.0)), 0.0)
    assert np.abs(v[:, 0] - _stepwise_v(first)).max() < 1e-9
    assert np.abs(v[:, 1] - _stepwise_v(first + second)).max() < 1e-9
    i = ac.get_data()
    assert len(i) == 81 and float(i.sampling_period) == pytest.approx(0.1)
    assert np.abs(np.asarray(i.magnitude).ravel()[:80] - first / 1000.0).max() < 1e-12
    assert np.asarray(i.magnitude)[10, 0] == pytest.approx(0.35)        # sin(30 deg) / 2 + 0.1 at t = start


def test_ac_source_checks_and_changes_between_runs():
    with pytest.raises(ValueError, match="frequency"):
        sim.ACSource(frequency=-1.0)
    p = sim.Population(1, sim.IF_curr_exp(v_thresh=1000.0), label="E")
    ac = sim.ACSource(amplitude=0.3, frequency=50.0)
    ac.inject_into(p)
    p.record("v")
    sim.run(5.0)
    ac.amplitude = 0.0           # holds from now: V then relaxes exponentially
    sim.run(5.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    assert np.abs(v[:51] - _stepwise_v(300.0 * np.sin(2 * np.pi * 0.05 * np.arange(50) * 0.1))).max() < 1e-9
    assert np.allclose(v[51:] + 65.0, (v[50] + 65.0) * np.exp(-np.arange(1, 51) * 0.1 / 20.0), atol=1e-9, rtol=0)


def test_current_sources_as_pynn_nest():
    """ACSource, DCSource and StepCurrentSource on spiking IF_curr_exp cells, over two runs: the same V_m,
    spikes and recorded currents as pyNN.nest (spike_precision='on_grid'); skipped without NEST. (A
    parameter changed between runs is not compared: parsnn applies it from the current step, pyNN.nest
    after NEST's device pipeline, 0.3 ms later at min_delay 0.1. (*) Nor a step exactly at the end of a
    run: pyNN.nest records that step in the current, but its cell's V_m departs from parsnn's there;
    with one run over the same time the two agree.)"""
    import pynn_nest
    nest_sim = pynn_nest.nest_backend()
    if nest_sim is None:
        pytest.skip("pyNN.nest (NEST) not available")

    def model(s):
        cells = s.Population(4, s.IF_curr_exp(v_thresh=-55.0, tau_refrac=2.0, tau_m=15.0))
        ac = s.ACSource(amplitude=0.6, offset=0.9, frequency=80.0, phase=45.0, start=5.0, stop=35.0)
        dc = s.DCSource(amplitude=1.2, start=10.0, stop=30.0)
        step = s.StepCurrentSource(times=[4.0, 12.0, 23.0], amplitudes=[0.4, 1.9, 0.1])   # none at the run boundary (*)
        ac.inject_into(cells[0:2])
        dc.inject_into(cells[1:3])
        step.inject_into(cells[3:4])
        ac2 = s.ACSource(amplitude=0.3, frequency=33.0, phase=-60.0, start=2.0)
        ac2.inject_into(cells[2:4])
        for src in (ac, dc, step, ac2):
            src.record()
        cells.record(["v", "spikes"])
        s.run(20.0)
        return cells, (ac, dc, step, ac2)

    def fetch(objs):
        cells, sources = objs
        seg = cells.get_data().segments[0]
        return (np.asarray(seg.analogsignals[0].magnitude), [np.asarray(st.magnitude) for st in seg.spiketrains],
                [np.asarray(src.get_data().magnitude).ravel() for src in sources])
    sim.end()
    ours = pynn_nest.run_model(sim, model, fetch, 20.0)
    theirs = pynn_nest.run_model(nest_sim, model, fetch, 20.0)
    sim.setup(timestep=0.1)
    assert sum(len(s) for s in ours[1]) > 3
    assert np.abs(ours[0] - theirs[0]).max() < 1e-9
    for a, b in zip(ours[1], theirs[1]):
        assert np.allclose(a, b, atol=1e-9, rtol=0)
    for a, b in zip(ours[2], theirs[2]):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-9
