"""A small recurrent PyNN network on parsnn.pynn and on pyNN.nest (spike_precision 'on_grid'): the same
statistics within the seed-to-seed spread (skipped without NEST). Deterministic: fixed seeds on both
sides, so the outcome never changes between runs; the tolerance (4 standard errors of the difference
of the seed means, from the seed spread of both backends) only decides how close is close enough."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN")
import pynn_nest  # noqa: E402

from parsnn.analysis.statistics import analyze_arrays  # noqa: E402

pytestmark = pytest.mark.slow        # about 100 s with NEST (4 seeds x 2 backends)

SEEDS = (1, 2, 3, 4)
T_SIM, T_START = 1000.0, 100.0


def _model(seed):
    def model(sim):
        rng = sim.NumpyRNG(seed=1000 + seed)
        cell = sim.IF_curr_exp(tau_m=20.0, tau_syn_E=2.0, tau_syn_I=4.0, v_thresh=-50.0, v_reset=-60.0,
                               v_rest=-60.0, tau_refrac=2.0, cm=0.25)
        E = sim.Population(240, cell, label="E")
        I = sim.Population(60, cell, label="I")
        for p in (E, I):
            p.initialize(v=sim.RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
        # 20 inputs of 60 spikes/s per cell (both backends pass on every spike of a step: multiplicity)
        drive = sim.Population(200, sim.SpikeSourcePoisson(rate=60.0), label="drive")
        for p in (E, I):
            sim.Projection(drive, p, sim.FixedNumberPreConnector(20, rng=rng),
                           sim.StaticSynapse(weight=0.12, delay=0.5))
        conn = sim.FixedProbabilityConnector(0.1, rng=rng)
        for pre, post, w, rt in ((E, E, 0.05, "excitatory"), (E, I, 0.05, "excitatory"),
                                 (I, E, -0.2, "inhibitory"), (I, I, -0.2, "inhibitory")):
            sim.Projection(pre, post, conn, sim.StaticSynapse(weight=w, delay=1.5), receptor_type=rt)
        E.record("spikes")
        I.record("spikes")
        return E, I
    return model


def _stats(objs):
    out = {}
    for pop in objs:
        trains = pop.get_data("spikes").segments[0].spiketrains
        times = np.concatenate([np.asarray(t.magnitude) for t in trains])
        ids = np.repeat(np.arange(len(trains)), [len(t) for t in trains])
        st = analyze_arrays(times, ids, len(trains), T_START, T_SIM, cc_ids=np.arange(40))
        out[pop.label] = {"rate": float(st.rates.mean()), "cv": float(st.cvs.mean()), "cc": float(st.ccs.mean())}
    return out


@pytest.fixture(scope="module")
def both():
    nest_sim = pynn_nest.nest_backend()
    if nest_sim is None:
        pytest.skip("pyNN.nest (NEST) not available")
    import parsnn.pynn as sim
    runs = {"parsnn": [], "nest": []}
    for seed in SEEDS:
        for name, backend in (("parsnn", sim), ("nest", nest_sim)):
            runs[name].append(pynn_nest.run_model(backend, _model(seed), _stats, T_SIM))
    return runs


@pytest.mark.parametrize("pop", ["E", "I"])
@pytest.mark.parametrize("stat", ["rate", "cv", "cc"])
def test_statistics_agree_with_pynn_nest(both, pop, stat):
    a = np.array([r[pop][stat] for r in both["parsnn"]])
    b = np.array([r[pop][stat] for r in both["nest"]])
    se = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / len(SEEDS))
    if stat == "rate":
        assert a.min() > 5.0 and b.min() > 5.0
    assert abs(a.mean() - b.mean()) <= 4 * se + 0.02 * abs(b.mean()), (a, b)
