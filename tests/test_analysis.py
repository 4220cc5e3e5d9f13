"""parsnn.analysis: statistics with known answers, streaming, sources, KS, and `parsnn analyze`."""
import json
import os

import h5py
import numpy as np
import pytest

from parsnn import analysis
from parsnn.runfile import sonata
from parsnn.analysis import IncompleteRunError


# --------------------------------------------------------------------------- helpers

def poisson_trains(rng, n, rate_hz, t0, t1):
    """Merged Poisson trains of ``n`` neurons in [t0, t1) ms, on a 0.1 ms grid (as simulators record)."""
    times, ids = [], []
    for i in range(n):
        k = rng.poisson(rate_hz * (t1 - t0) * 1e-3)
        t = np.unique(np.round(rng.uniform(t0, t1, k), 1))
        t = t[t < t1]
        times.append(t)
        ids.append(np.full(t.size, i))
    return np.concatenate(times), np.concatenate(ids)


def write_run(path, pops, t_sim=2000.0, complete=True, sorting="by_time"):
    """A minimal parsnn run file: ``pops = {name: (size, times, ids)}``."""
    with h5py.File(path, "w") as f:
        g = f.create_group("parsnn")
        g.attrs["complete"] = complete
        g.attrs["t_sim"] = t_sim
        g.attrs["seed"] = 7
        g.attrs["model"] = "test"
        sonata.create_spike_datasets(f, {p: v[0] for p, v in pops.items()}, sorting=sorting)
        for p, (size, t, i) in pops.items():
            sonata.append_spikes(f, p, t, np.asarray(i, np.uint64))
    return path


def direct_cvs(times, ids, size, t0, t1):
    out = []
    for n in range(size):
        t = np.sort(times[(ids == n) & (times >= t0) & (times < t1)])
        if t.size >= 3:
            d = np.diff(t)
            out.append(np.std(d) / np.mean(d))
    return np.array(out)


@pytest.fixture(scope="module")
def two_pop_run(tmp_path_factory):
    rng = np.random.default_rng(3)
    te, ie = poisson_trains(rng, 40, 20.0, 0.0, 2000.0)
    ti, ii = poisson_trains(rng, 10, 40.0, 0.0, 2000.0)
    path = str(tmp_path_factory.mktemp("run") / "run.h5")
    write_run(path, {"E": (40, te, ie), "I": (10, ti, ii)})
    return path, {"E": (40, te, ie), "I": (10, ti, ii)}


# --------------------------------------------------------------------------- statistics, known answers

def test_poisson_cv_near_one_and_rates():
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


def test_correlations_identical_independent_and_silent():
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


# --------------------------------------------------------------------------- KS

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


# --------------------------------------------------------------------------- HDF5 source, streaming

def test_analyze_h5_matches_direct(two_pop_run):
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


def test_unsorted_h5_same_as_sorted(two_pop_run, tmp_path):
    path, pops = two_pop_run
    rng = np.random.default_rng(0)
    shuffled = {}
    for p, (size, t, i) in pops.items():
        o = rng.permutation(t.size)
        shuffled[p] = (size, t[o], i[o])
    other = write_run(str(tmp_path / "unsorted.h5"), shuffled, sorting="none")
    a, b = analysis.analyze(path), analysis.analyze(other, chunk=50)
    for p in a.populations:
        np.testing.assert_allclose(a.populations[p].cvs, b.populations[p].cvs, rtol=1e-12)
        np.testing.assert_array_equal(a.populations[p].ccs, b.populations[p].ccs)


def test_incomplete_file_refused(two_pop_run, tmp_path):
    _, pops = two_pop_run
    bad = write_run(str(tmp_path / "bad.h5"), pops, complete=False)
    with pytest.raises(IncompleteRunError, match="incomplete"):
        analysis.analyze(bad)
    st = analysis.analyze(bad, allow_incomplete=True)
    assert st.meta["complete"] is False


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


# --------------------------------------------------------------------------- NEST ASCII

def write_nest_dir(d, pops, first_gids, t_sim=2000.0, rng=None, sidecar=True, complete=True,
                   rec_gid0=100, vps=2):
    """NEST-like output: one recorder per population, spikes split over ``vps`` files, unsorted."""
    rng = rng or np.random.default_rng(0)
    os.makedirs(d, exist_ok=True)
    for k, (p, (size, t, i)) in enumerate(pops.items()):
        vp = rng.integers(0, vps, t.size)
        for v in range(vps):
            m = vp == v
            o = rng.permutation(m.sum())
            with open(os.path.join(d, f"spike_recorder-{rec_gid0 + k}-{v}.dat"), "w") as f:
                f.write("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n")
                for s, tt in zip((i[m] + first_gids[p])[o], t[m][o]):
                    f.write(f"{s}\t{tt:.3f}\n")
    if sidecar:
        with open(os.path.join(d, analysis.NEST_SIDECAR), "w") as f:
            json.dump({"complete": complete, "t_sim": t_sim, "seed": 3, "label": "spike_recorder",
                       "populations": {p: {"first_gid": first_gids[p], "size": v[0]} for p, v in pops.items()}}, f)
    return d


def test_nest_ascii_reader_file(tmp_path):
    fn = tmp_path / "spike_recorder-9-0.dat"
    fn.write_text("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n"
                  "5\t1.100\n3\t0.700\n5\t12.300\n")
    s, t = analysis.read_nest_ascii(fn, chunk_lines=1)
    np.testing.assert_array_equal(s, [5, 3, 5])
    np.testing.assert_allclose(t, [1.1, 0.7, 12.3])
    empty = tmp_path / "spike_recorder-9-1.dat"
    empty.write_text("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n")
    assert analysis.read_nest_ascii(empty)[0].size == 0


def test_nest_dir_same_stats_as_h5(two_pop_run, tmp_path):
    path, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "nest"), pops, {"E": 1, "I": 41})
    a = analysis.analyze(path, cc_subsample=10)
    b = analysis.analyze(d, cc_subsample=10)
    assert b.kind == "nest" and list(b.populations) == ["E", "I"] and b.params["t_stop"] == 2000.0
    for p in a.populations:
        for name in ("rates", "ccs"):
            np.testing.assert_array_equal(getattr(a.populations[p], name), getattr(b.populations[p], name))
        np.testing.assert_allclose(a.populations[p].cvs, b.populations[p].cvs, rtol=1e-9)
    assert analysis.compare(a, b) == {p: {"rate": 0.0, "cv": 0.0, "cc": 0.0} for p in a.populations}
    # an explicit population map instead of the sidecar
    src = analysis.NestAsciiSource(d, populations={"I": (41, 10)})
    assert src.sizes == {"I": 10}
    c = analysis.analyze(src, t_stop=2000.0, cc_subsample=10)
    np.testing.assert_array_equal(c.populations["I"].rates, a.populations["I"].rates)


def test_nest_dir_incomplete_and_fallback(two_pop_run, tmp_path):
    _, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "inc"), pops, {"E": 1, "I": 41}, complete=False)
    with pytest.raises(IncompleteRunError):
        analysis.analyze(d)
    analysis.analyze(d, allow_incomplete=True)
    d2 = write_nest_dir(str(tmp_path / "nosidecar"), pops, {"E": 1, "I": 41}, sidecar=False)
    with pytest.warns(UserWarning):
        st = analysis.analyze(d2, t_stop=2000.0)
    assert list(st.populations) == ["spike_recorder-100", "spike_recorder-101"]
    assert st.populations["spike_recorder-101"].size == 10


# --------------------------------------------------------------------------- command line

def test_cli_analyze_writes_figures_and_json(two_pop_run, tmp_path, capsys):
    from parsnn import cli
    path, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "nest"), pops, {"E": 1, "I": 41})
    out = tmp_path / "out"
    assert cli.main(["analyze", path, "--compare", d, "--out-dir", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["comparison"]["ks"]["E"] == {"rate": 0.0, "cv": 0.0, "cc": 0.0}
    for fn in ("raster.png", "rates_boxplot.png", "distributions.png", "population_rate.png",
               "ks_distances.png", "summary.json", "comparison.json", "stats.npz"):
        assert (out / fn).stat().st_size > 0, fn
    with open(out / "summary.json") as f:
        assert json.load(f)["populations"]["I"]["size"] == 10


def test_cli_analyze_refuses_incomplete(two_pop_run, tmp_path, capsys):
    _, pops = two_pop_run
    bad = write_run(str(tmp_path / "bad.h5"), pops, complete=False)
    from parsnn import cli
    assert cli.main(["analyze", bad, "--no-figures"]) == 1
    assert "incomplete run" in capsys.readouterr().err
    assert analysis.main([bad, "--no-figures", "--force", "--out-dir", str(tmp_path / "o")]) == 0
