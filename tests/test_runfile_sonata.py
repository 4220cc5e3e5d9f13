"""Tests for parsnn.runfile.sonata (SONATA spike I/O) and analysis/overview.py, on synthetic files."""
import importlib.util
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from parsnn.runfile import sonata
from parsnn.runfile.sonata import IncompleteRunError

REPO = Path(__file__).resolve().parents[1]


def _random_spikes(rng, size, n, t_sim=1000.0, h=0.1):
    """Grid-aligned random spikes (many exact ties), *unsorted*."""
    t = (rng.integers(1, int(t_sim / h) + 1, n) * h).astype(np.float64)
    ids = rng.integers(0, size, n).astype(np.uint64)
    return t, ids


def _sorted(t, ids):
    o = np.lexsort((ids, t))
    return t[o], ids[o]


def write_run(path, pops, t_sim=1000.0, complete=True, batches=3, storage_chunk=64, meta=True):
    """pops: {name: (size, times, ids)} -> run file written with the public helpers."""
    with h5py.File(path, "w") as f:
        sonata.create_spike_datasets(f, {p: v[0] for p, v in pops.items()}, chunk=storage_chunk)
        for p, (_, t, ids) in pops.items():
            t, ids = _sorted(t, ids)
            # append in time-ordered batches, each one shuffled (append_spikes must sort it)
            for tb, ib in zip(np.array_split(t, batches), np.array_split(ids, batches)):
                perm = np.random.default_rng(0).permutation(tb.size)
                sonata.append_spikes(f, p, tb[perm], ib[perm])
        if meta:
            g = f.create_group("parsnn")
            if complete is not None:
                g.attrs["complete"] = complete
            g.attrs.update(dict(version="0.1.0", seed=42, num_ranks=2, partition="round_robin",
                                model="synthetic", t_sim=t_sim, resolution=0.1,
                                parameters=json.dumps({"g": 5.0, "eta": 2.0})))
            g.create_dataset("partition_map",
                             data=np.arange(sum(v[0] for v in pops.values()), dtype=np.int32) % 2)
            pf = g.create_group("performance")
            pf.attrs.update(dict(build_seconds=np.array([1.0, 1.5]), simulate_seconds=np.array([3.0, 3.5]),
                                 rtf=3.5, peak_rss_bytes=np.array([100, 200], np.int64),
                                 num_synapses=12345, timers_deliver=np.array([0.5, 0.6])))
    return path


@pytest.fixture
def run(tmp_path):
    rng = np.random.default_rng(7)
    pops = {
        "E": (400, *_random_spikes(rng, 400, 20000)),
        "I": (100, *_random_spikes(rng, 100, 6000)),
        "X": (50, np.empty(0), np.empty(0, np.uint64)),  # silent population
    }
    path = write_run(tmp_path / "run.h5", pops)
    expected = {p: _sorted(t, ids) for p, (_, t, ids) in pops.items()}
    return path, pops, expected


# ----------------------------------------------------------------------------- sorting attr

def test_sorting_attr_is_uint8_enum_with_sonata_names(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as f:
        for kind in ("none", "by_id", "by_time"):
            g = f.create_group(kind)
            sonata.write_sorting_attr(g, kind)
            dt = g.attrs.get_id("sorting").dtype
            assert h5py.check_enum_dtype(dt) == {"none": 0, "by_id": 1, "by_time": 2}
            assert dt.base == np.uint8 or dt == np.uint8
            assert g.attrs.get_id("sorting").get_type().get_class() == h5py.h5t.ENUM
            assert sonata.read_sorting_attr(g) == kind
        assert sonata.read_sorting_attr(f.create_group("absent")) == "none"
        with pytest.raises(ValueError, match="sorting kind"):
            sonata.write_sorting_attr(f["none"], "by_timestamp")


def test_layout_written_by_helpers(run):
    path, pops, _ = run
    with h5py.File(path, "r") as f:
        assert list(f["spikes"]) == ["E", "I", "X"]
        for p, (size, t, _) in pops.items():
            g = f["spikes"][p]
            assert g.attrs["size"] == size
            assert g["timestamps"].dtype == np.float64 and g["node_ids"].dtype == np.uint64
            assert g["timestamps"].attrs["units"] == "ms"
            assert g["timestamps"].maxshape == (None,) and g["timestamps"].chunks is not None
            assert g["timestamps"].shape == (t.size,)


def test_population_order_is_creation_order(tmp_path):
    with h5py.File(tmp_path / "o.h5", "w") as f:
        sonata.create_spike_datasets(f, {"zE": 3, "aI": 2})
        sonata.create_spike_datasets(f, {"mE": 1})
    assert list(sonata.population_sizes(tmp_path / "o.h5")) == ["zE", "aI", "mE"]
    assert sonata.population_sizes(tmp_path / "o.h5") == {"zE": 3, "aI": 2, "mE": 1}


# ----------------------------------------------------------------------------- round trip

def test_round_trip_full(run):
    path, _, expected = run
    got = sonata.read_spikes(path, chunk=333)
    assert list(got) == ["E", "I", "X"]
    for p, (t, ids) in expected.items():
        np.testing.assert_array_equal(got[p][0], t)
        np.testing.assert_array_equal(got[p][1], ids)
        assert got[p][0].dtype == np.float64 and got[p][1].dtype == np.uint64
    # stored order is by time, ties by node id
    t, ids = got["E"]
    assert np.all(np.diff(t) >= 0)
    tie = np.diff(t) == 0
    assert tie.any() and np.all(np.diff(ids.astype(np.int64))[tie] > -1)


@pytest.mark.parametrize("window", [(500.0, 700.0), (None, 250.05), (123.4, None), (0.1, 0.1),
                                    (999.9, 2000.0), (-5.0, 0.05), (1500.0, 1600.0), (0.0, 1000.0)])
def test_time_window_half_open(run, window):
    path, _, expected = run
    t0, t1 = window
    got = sonata.read_spikes(path, ["E", "I"], t_start=t0, t_stop=t1, chunk=1000)
    assert list(got) == ["E", "I"]
    for p in ("E", "I"):
        t, ids = expected[p]
        m = np.ones(t.size, bool)
        if t0 is not None:
            m &= t >= t0
        if t1 is not None:
            m &= t < t1
        np.testing.assert_array_equal(got[p][0], t[m])
        np.testing.assert_array_equal(got[p][1], ids[m])
        assert sonata.count_spikes(path, p, t0, t1)[p] == m.sum()
        blocks = list(sonata.iter_spikes(path, p, t0, t1, chunk=777))
        assert all(b[0].size <= 777 for b in blocks)
        assert sum(b[0].size for b in blocks) == m.sum()


def test_window_boundary_on_exact_spike_time(run):
    path, _, expected = run
    t, _ = expected["E"]
    edge = t[t.size // 2]  # an existing spike time, with ties
    a = sonata.read_spikes(path, "E", None, edge)["E"][0]
    b = sonata.read_spikes(path, "E", edge, None)["E"][0]
    assert a.size + b.size == t.size and np.all(a < edge) and b[0] == edge


def test_bisect_matches_searchsorted(run):
    path, _, expected = run
    t = expected["E"][0]
    with h5py.File(path, "r") as f:
        ds = f["spikes/E/timestamps"]
        assert ds.shape[0] > 4 * 1024  # the on-disk bisection loop actually runs
        for v in [-1.0, 0.1, t[0], t[1234], t[t.size // 2], 555.55, t[-1], 1e9]:
            for side in ("left", "right"):
                assert sonata._bisect(ds, v, side) == np.searchsorted(t, v, side), (v, side)


def test_unsorted_population_reads_the_same(tmp_path):
    rng = np.random.default_rng(3)
    t, ids = _random_spikes(rng, 30, 5000)
    with h5py.File(tmp_path / "u.h5", "w") as f:
        sonata.create_spike_datasets(f, {"P": 30}, sorting="none")
        sonata.append_spikes(f, "P", t, ids)  # stored as given
        f.create_group("parsnn").attrs["complete"] = True
    got_t, got_ids = sonata.read_spikes(tmp_path / "u.h5", "P", 200.0, 400.0, chunk=100)["P"]
    m = (t >= 200.0) & (t < 400.0)
    np.testing.assert_array_equal(got_t, t[m])
    np.testing.assert_array_equal(got_ids, ids[m])
    assert sonata.count_spikes(tmp_path / "u.h5", "P", 200.0, 400.0)["P"] == m.sum()


def test_read_spikes_accepts_open_file_and_rejects_bad_args(run):
    path, _, expected = run
    with sonata.open_run(path) as f:
        got = sonata.read_spikes(f, "I")
        np.testing.assert_array_equal(got["I"][0], expected["I"][0])
        assert f.id.valid  # caller's file is not closed
    with pytest.raises(KeyError, match="available"):
        sonata.read_spikes(path, "nope")
    with pytest.raises(ValueError, match="t_stop"):
        sonata.read_spikes(path, t_start=10.0, t_stop=5.0)


def test_append_spikes_validation(tmp_path):
    with h5py.File(tmp_path / "v.h5", "w") as f:
        sonata.create_spike_datasets(f, {"P": 10})
        assert sonata.append_spikes(f, "P", [1.0, 2.0], [3, 4]) == 2
        assert sonata.append_spikes(f, "P", [], []) == 2
        with pytest.raises(ValueError, match="node ids"):
            sonata.append_spikes(f, "P", [3.0], [10])
        with pytest.raises(ValueError, match="node ids"):
            sonata.append_spikes(f, "P", [3.0], [-1])
        with pytest.raises(ValueError, match="before the last stored"):
            sonata.append_spikes(f, "P", [1.5], [0])
        with pytest.raises(ValueError, match="before the last stored"):
            sonata.append_spikes(f, "P", [2.0], [3])  # same time, lower id than stored tie
        with pytest.raises(ValueError, match="not sorted"):
            sonata.append_spikes(f, "P", [5.0, 4.0], [0, 0], sort=False)
        with pytest.raises(ValueError, match="times but"):
            sonata.append_spikes(f, "P", [5.0, 6.0], [0])
        with pytest.raises(ValueError, match="finite"):
            sonata.append_spikes(f, "P", [np.nan], [0])
        with pytest.raises(ValueError, match="already exists"):
            sonata.create_spike_datasets(f, {"P": 10})
        assert sonata.append_spikes(f, "P", [7.0, 2.0, 2.0], [1, 9, 5]) == 5
        np.testing.assert_array_equal(f["spikes/P/timestamps"][:], [1, 2, 2, 2, 7])
        np.testing.assert_array_equal(f["spikes/P/node_ids"][:], [3, 4, 5, 9, 1])


# ----------------------------------------------------------------------------- completeness

@pytest.mark.parametrize("complete,meta", [(False, True), (None, True), (True, False)])
def test_incomplete_run_refused(tmp_path, complete, meta):
    pops = {"E": (5, np.array([1.0, 2.0]), np.array([0, 1], np.uint64))}
    path = write_run(tmp_path / "bad.h5", pops, complete=complete, meta=meta)
    with pytest.raises(IncompleteRunError, match="bad.h5"):
        sonata.open_run(path)
    with pytest.raises(IncompleteRunError):
        sonata.read_spikes(path)
    assert isinstance(IncompleteRunError("x"), RuntimeError)
    with sonata.open_run(path, allow_incomplete=True) as f:
        assert "spikes" in f
    got = sonata.read_spikes(path, allow_incomplete=True)
    np.testing.assert_array_equal(got["E"][0], [1.0, 2.0])


def test_complete_run_opens(run):
    path, _, _ = run
    with sonata.open_run(path) as f:
        assert bool(f["parsnn"].attrs["complete"])


# ----------------------------------------------------------------------------- metadata and rates

def test_read_metadata(run):
    path, _, _ = run
    meta = sonata.read_metadata(path)
    assert meta["complete"] is True
    assert meta["parameters"] == {"g": 5.0, "eta": 2.0}
    assert meta["t_sim"] == 1000.0 and meta["num_ranks"] == 2 and meta["model"] == "synthetic"
    assert isinstance(meta["partition"], str)
    np.testing.assert_array_equal(meta["performance"]["build_seconds"], [1.0, 1.5])
    assert meta["performance"]["num_synapses"] == 12345
    assert "timers_deliver" in meta["performance"]
    assert meta["populations"] == {"E": 400, "I": 100, "X": 50}
    assert "partition_map" not in meta


def test_firing_rates_on_known_data(tmp_path):
    # A: 10 neurons, 4 spikes/neuron in [500, 1000) + 3 warm-up spikes -> 8 Hz
    # B: 4 neurons, 1 spike in [500, 1000) -> 1 / (4 * 0.5 s) = 0.5 Hz
    tA = np.concatenate([np.repeat([600.0, 700.0, 800.0, 999.9], 10), [100.0, 200.0, 499.9]])
    iA = np.concatenate([np.tile(np.arange(10), 4), [0, 1, 2]]).astype(np.uint64)
    pops = {"A": (10, tA, iA), "B": (4, np.array([500.0]), np.array([3], np.uint64)),
            "C": (3, np.empty(0), np.empty(0, np.uint64))}
    path = write_run(tmp_path / "r.h5", pops, t_sim=1000.0)
    rates = sonata.firing_rates(path, t_start=500.0)
    assert rates["A"] == pytest.approx(8.0)
    assert rates["B"] == pytest.approx(0.5)
    assert rates["C"] == 0.0
    # explicit window [600, 800): A has 20 spikes in 0.2 s over 10 neurons -> 10 Hz
    assert sonata.firing_rates(path, 600.0, 800.0)["A"] == pytest.approx(10.0)
    assert sonata.count_spikes(path, "A", 500.0)["A"] == 40
    counts = sonata.spike_counts_per_neuron(path, "A", 500.0, chunk=7)
    np.testing.assert_array_equal(counts, np.full(10, 4))
    with pytest.raises(ValueError, match="empty rate window"):
        sonata.firing_rates(path, t_start=1000.0)


# ----------------------------------------------------------------------------- libsonata

def test_libsonata_reads_our_file(run):
    libsonata = pytest.importorskip("libsonata")
    path, _, expected = run
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == ["E", "I", "X"]
    for p in ("E", "I"):
        pop = reader[p]
        assert pop.sorting == "by_time"
        assert pop.time_units == "ms"
        spikes = pop.get()
        t, ids = expected[p]
        assert len(spikes) == t.size
        got_ids = np.array([s[0] for s in spikes], np.uint64)
        got_t = np.array([s[1] for s in spikes])
        np.testing.assert_array_equal(got_t, t)
        np.testing.assert_array_equal(got_ids, ids)
        assert pop.times == (t[0], t[-1])
        # libsonata windows are closed [tstart, tstop] (+-1e-6); ours are half-open
        win = pop.get(tstart=300.0, tstop=400.0)
        assert len(win) == np.count_nonzero((t >= 300.0 - 1e-6) & (t <= 400.0 + 1e-6))
        ours = sonata.read_spikes(path, p, 300.0, np.nextafter(400.0 + 1e-6, np.inf))[p][0]
        assert len(win) == ours.size
    assert reader["X"].get() == []


def test_libsonata_rejects_non_enum_sorting(tmp_path):
    """Documents why write_sorting_attr uses an enum: a plain integer is not readable."""
    libsonata = pytest.importorskip("libsonata")
    with h5py.File(tmp_path / "int.h5", "w") as f:
        sonata.create_spike_datasets(f, {"P": 2})
        sonata.append_spikes(f, "P", [1.0], [0])
        del f["spikes/P"].attrs["sorting"]
        f["spikes/P"].attrs.create("sorting", 2, dtype=np.uint8)
    with pytest.raises(RuntimeError):
        libsonata.SpikeReader(str(tmp_path / "int.h5"))["P"]


# ----------------------------------------------------------------------------- overview script

def _load_overview():
    spec = importlib.util.spec_from_file_location("overview", REPO / "analysis" / "overview.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_select_neurons_bounds():
    ov = _load_overview()
    sizes = {"L23E": 20683, "L23I": 5834, "L4E": 21915, "L4I": 5479, "L5E": 4850, "L5I": 1065,
             "L6E": 14395, "L6I": 2948, "tiny": 3, "empty": 0}
    sel = ov.select_neurons(sizes, 2000)
    assert list(sel) == list(sizes)
    assert sum(len(v) for v in sel.values()) <= 2000
    assert len(sel["tiny"]) == 3 and len(sel["empty"]) == 0
    for p, ids in sel.items():
        assert np.all(np.diff(ids) > 0) and (ids.size == 0 or (ids[0] >= 0 and ids[-1] < sizes[p]))
    assert len(sel["L4E"]) > len(sel["L5E"]) > len(sel["tiny"])  # roughly proportional
    small = ov.select_neurons({"E": 80, "I": 20}, 2000)
    assert [len(v) for v in small.values()] == [80, 20]  # everything when it fits


def test_overview_writes_png(run, tmp_path, capsys):
    ov = _load_overview()
    path, _, expected = run
    out = tmp_path / "fig.png"
    assert ov.main([str(path), "--out", str(out), "--t-start", "500", "--window", "200"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    text = capsys.readouterr().out
    n_e = np.count_nonzero(expected["E"][0] >= 500.0)
    assert f"{n_e / (400 * 0.5):.3f}" in text  # E rate in the table
    assert "X" in text


def test_overview_refuses_incomplete_unless_forced(tmp_path, capsys):
    ov = _load_overview()
    pops = {"E": (5, np.array([600.0, 700.0]), np.array([0, 1], np.uint64))}
    path = write_run(tmp_path / "inc.h5", pops, complete=False)
    out = tmp_path / "inc.png"
    assert ov.main([str(path), "--out", str(out)]) == 1
    assert not out.exists()
    assert "inc.h5" in capsys.readouterr().err
    assert ov.main([str(path), "--out", str(out), "--force"]) == 0
    assert out.exists()
    # t_start beyond the end of the run is a usage error, not a silent empty figure
    assert ov.main([str(path), "--out", str(out), "--force", "--t-start", "5000"]) == 2
