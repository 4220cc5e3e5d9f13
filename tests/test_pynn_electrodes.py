"""parsnn.pynn current sources: validation and grid mapping of StepCurrentSource, changing a
source between runs, and currents across run() boundaries."""
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
