"""parsnn.analysis.statistics: statistics with known answers, KS, streaming over a run file."""
import numpy as np
import pytest

from parsnn import analysis


def test_poisson_cv_near_one_and_rates(direct_cvs, poisson_trains):
    rng = np.random.default_rng(1)
    t, i = poisson_trains(rng, 100, 50.0, 0.0, 20000.0)
    cvs = analysis.isi_cvs(t, i, 100, 0.0, 20000.0)
    assert cvs.size == 100
    assert abs(cvs.mean() - 1.0) < 0.03
    np.testing.assert_allclose(cvs, direct_cvs(t, i, 100, 0.0, 20000.0), rtol=1e-10)
    rates = analysis.firing_rates(t, i, 100, 0.0, 20000.0)
    np.testing.assert_allclose(rates, np.bincount(i, minlength=100) / 20.0)
    assert abs(rates.mean() - 50.0) < 1.0


def test_regular_trains_cv_zero_and_window_half_open():
    t = np.concatenate([np.arange(0.0, 1000.0, 10.0), np.arange(0.0, 1000.0, 25.0)])
    i = np.concatenate([np.zeros(100, int), np.ones(40, int)])
    cvs = analysis.isi_cvs(t, i, 3, 100.0, 900.0)   # neuron 2 is silent: no CV
    np.testing.assert_allclose(cvs, [0.0, 0.0], atol=1e-12)
    rates = analysis.firing_rates(t, i, 3, 100.0, 900.0)
    # [100, 900): 80 spikes of neuron 0 (100..890), 32 of neuron 1 (100..875)
    np.testing.assert_allclose(rates, [80 / 0.8, 32 / 0.8, 0.0])


def test_cv_needs_three_spikes():
    t = np.array([1.0, 2.0, 5.0, 7.0, 3.0, 9.0, 10.0])
    i = np.array([0, 0, 1, 1, 0, 1, 2])
    cvs = analysis.isi_cvs(t, i, 3, 0.0, 100.0)
    # neuron 0: ISIs 1, 1 -> CV 0; neuron 1: ISIs 2, 2 -> CV 0; neuron 2 has 1 spike
    np.testing.assert_allclose(cvs, [0.0, 0.0], atol=1e-12)
    t2 = np.array([0.0, 1.0, 4.0])  # ISIs 1, 3: std 1, mean 2
    np.testing.assert_allclose(analysis.isi_cvs(t2, [0, 0, 0], 1, 0.0, 10.0), [0.5])


def test_correlations_identical_independent_and_silent(poisson_trains):
    rng = np.random.default_rng(2)
    t, i = poisson_trains(rng, 1, 30.0, 0.0, 10000.0)
    # neurons 0, 1, 2 fire identically; 3, 4 independently; 5 is silent
    t3, i3 = poisson_trains(rng, 2, 30.0, 0.0, 10000.0)
    times = np.concatenate([t, t, t, t3])
    ids = np.concatenate([np.zeros(t.size), np.ones(t.size), np.full(t.size, 2), i3 + 3]).astype(int)
    cc = analysis.spike_count_correlations(times, ids, [0, 1, 2], 0.0, 10000.0, 2.0)
    np.testing.assert_allclose(cc, [1.0, 1.0, 1.0], atol=1e-12)
    cc = analysis.spike_count_correlations(times, ids, [3, 4], 0.0, 10000.0, 2.0)
    assert cc.size == 1 and abs(cc[0]) < 0.03
    # pairs with the silent neuron give no value: 15 pairs of 6 neurons, minus the 5 with neuron 5
    cc = analysis.spike_count_correlations(times, ids, range(6), 0.0, 10000.0, 2.0, size=6)
    assert cc.size == 10
    # agrees with numpy on the binned counts
    edges = np.arange(0.0, 10000.0 + 1e-9, 2.0)
    counts = np.array([np.histogram(times[ids == n], edges)[0] for n in (0, 3, 4)])
    ref = np.corrcoef(counts)[np.triu_indices(3, 1)]
    np.testing.assert_allclose(analysis.spike_count_correlations(times, ids, [0, 3, 4], 0.0, 10000.0), ref,
                               rtol=1e-10, atol=1e-12)


def test_subsample_is_seeded_and_bounded():
    a = analysis.subsample_ids(1000, 50, 12345, "L23E")
    assert a.size == 50 and np.all(np.diff(a) > 0) and a.max() < 1000
    np.testing.assert_array_equal(a, analysis.subsample_ids(1000, 50, 12345, "L23E"))
    assert not np.array_equal(a, analysis.subsample_ids(1000, 50, 12345, "L4E"))
    np.testing.assert_array_equal(analysis.subsample_ids(30, 50, 1, "x"), np.arange(30))


def test_ks_known_distributions():
    assert analysis.ks_distance([1, 2, 3], [1, 2, 3]) == 0.0
    assert analysis.ks_distance([1, 2, 3], [4, 5, 6]) == 1.0
    assert analysis.ks_distance([1, 2, 3, 4], [1, 2, 3]) == pytest.approx(0.25)
    assert np.isnan(analysis.ks_distance([], [1.0]))
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 20000), rng.normal(0.5, 1, 20000)
    # sup |Phi(x) - Phi(x - 0.5)| = 2 Phi(0.25) - 1 = 0.1974
    assert analysis.ks_distance(a, b) == pytest.approx(0.1974, abs=0.015)
    assert analysis.ks_distance(a, rng.normal(0, 1, 20000)) < 0.03


def test_analyze_h5_matches_direct(two_pop_run, direct_cvs):
    path, pops = two_pop_run
    st = analysis.analyze(path, t_start=500.0, cc_subsample=8, subsample_seed=4)
    assert list(st.populations) == ["E", "I"]
    assert st.params["t_stop"] == 2000.0 and st.meta["seed"] == 7
    for p, (size, t, i) in pops.items():
        s = st.populations[p]
        m = (t >= 500.0) & (t < 2000.0)
        np.testing.assert_allclose(s.rates, np.bincount(i[m], minlength=size) / 1.5)
        np.testing.assert_allclose(s.cvs, direct_cvs(t, i, size, 500.0, 2000.0), rtol=1e-10)
        assert s.n_spikes == m.sum()
        np.testing.assert_array_equal(s.cc_ids, analysis.subsample_ids(size, 8, 4, p))
        assert s.ccs.size == 28
        # population rate in 5 ms bins over [0, 2000): mean equals the mean rate
        assert s.pop_rate.size == 400
        assert s.pop_rate.sum() * 5e-3 == pytest.approx(t.size / size)


def test_streaming_small_chunks_equal_one_chunk(two_pop_run):
    path, _ = two_pop_run
    a = analysis.analyze(path, chunk=7)
    b = analysis.analyze(path, chunk=1 << 20)
    for p in a.populations:
        for name in ("rates", "cvs", "ccs", "pop_rate", "raster_times", "raster_ids"):
            np.testing.assert_array_equal(getattr(a.populations[p], name), getattr(b.populations[p], name))


def test_save_load_roundtrip(two_pop_run, tmp_path):
    path, _ = two_pop_run
    a = analysis.analyze(path)
    a.save_npz(tmp_path / "s.npz")
    b = analysis.RunStats.load_npz(tmp_path / "s.npz")
    assert b.params == a.params and b.label == a.label
    assert analysis.compare(a, b) == {p: {"rate": 0.0, "cv": 0.0, "cc": 0.0} for p in a.populations}


def test_empty_window_rejected(two_pop_run):
    with pytest.raises(ValueError, match="empty analysis window"):
        analysis.analyze(two_pop_run[0], t_start=3000.0)
