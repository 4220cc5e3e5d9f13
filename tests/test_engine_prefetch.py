"""The static delivery's prefetch distance (parsnn.engine.prefetch): a run-time value that changes
only the time, tuned at the first run and cached per machine fingerprint and size class."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn import _engine
from parsnn.engine import Simulation
from parsnn.engine import prefetch
from parsnn.errors import ParameterError
from parsnn.models import pd14
from parsnn.runfile.reader import RunFile
from parsnn.runfile import schema


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private per-user cache directory (for this process and the runs it starts)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "parsnn" / "prefetch.json"


def _spikes(distance):
    sim = Simulation(pd14.build_network(n_scaling=0.02, record=True), seed=7, comm=MPI.COMM_SELF,
                     prefetch=distance)
    sim.run(150.0)
    assert sim.st.prefetch == distance and sim.prefetch_info == {"distance": distance, "source": "given"}
    return sim.spikes()


def test_spikes_identical_for_any_distance():
    ref = _spikes(0)
    assert sum(len(t) for t, _ in ref.values()) > 500
    for d in (16, 256):
        other = _spikes(d)
        assert other.keys() == ref.keys()
        for k in ref:
            np.testing.assert_array_equal(other[k][0], ref[k][0])
            np.testing.assert_array_equal(other[k][1], ref[k][1])


def test_engine_default_is_the_compiled_distance():
    assert _engine.EngineState().prefetch == prefetch.DEFAULT


@pytest.mark.parametrize("bad", [-1, 1025, "fast", "", 2.5, True, None, "-3"])
def test_bad_values_rejected(bad):
    with pytest.raises(ParameterError, match=r"prefetch must be 'auto' or an integer in \[0, 1024\]"):
        prefetch.check(bad)
    with pytest.raises(ParameterError, match="prefetch must be"):
        Simulation(pd14.build_network(n_scaling=0.02), comm=MPI.COMM_SELF, prefetch=bad)


@pytest.mark.parametrize("good,value", [("auto", "auto"), ("0", 0), (64, 64), ("1024", 1024), (np.int64(8), 8)])
def test_good_values(good, value):
    assert prefetch.check(good) == value


def test_cli_rejects_bad_prefetch(run_cli):
    r = run_cli(1, ["pd14", "--n-scaling", "0.02", "--prefetch", "2000"], check=False)
    assert r.returncode == 2
    assert "--prefetch must be 'auto' or an integer in [0, 1024]" in r.stderr
    assert "Traceback" not in r.stderr


def test_cache_round_trip_and_other_fingerprint(cache):
    size = prefetch.size_class(40 << 20, True, 1, 2)
    assert size == "ring2^25-u16-1ring-p2"
    key_a, key_b = prefetch.cache_key("aaaaaaaaaaaa", size), prefetch.cache_key("bbbbbbbbbbbb", size)
    assert prefetch.cache_lookup(key_a) is None                   # no file yet
    prefetch.cache_store(key_a, {"distance": 64, "ns_per_event": {"64": 2.0}})
    assert prefetch.cache_lookup(key_a)["distance"] == 64
    assert prefetch.cache_lookup(key_b) is None                   # another machine: not reused
    assert prefetch.cache_lookup(prefetch.cache_key("aaaaaaaaaaaa", "ring2^20-u16-1ring-p2")) is None
    prefetch.cache_store(key_b, {"distance": 256})
    data = json.loads(cache.read_text())
    assert data[key_a]["distance"] == 64 and data[key_b]["distance"] == 256
    cache.write_text("{not json")                                 # a damaged cache is a miss, then rewritten
    assert prefetch.cache_lookup(key_a) is None
    prefetch.cache_store(key_a, {"distance": 32})
    assert prefetch.cache_lookup(key_a)["distance"] == 32


def test_resolve_tunes_then_reuses_then_retunes_on_another_machine(cache, monkeypatch):
    from parsnn.machines import fingerprint
    sim = Simulation(pd14.build_network(n_scaling=0.02), comm=MPI.COMM_SELF)
    sim.build()
    monkeypatch.setattr(fingerprint, "machine_hash", lambda: "aaaaaaaaaaaa")
    first = prefetch.resolve(sim.st, MPI.COMM_SELF, "auto", 1)
    assert first["source"] == "tuned" and first["distance"] in prefetch.CANDIDATES
    assert sim.st.prefetch == first["distance"]
    assert set(first["ns_per_event"]) == {str(c) for c in prefetch.CANDIDATES}
    assert first["tune_seconds"] < 30                             # a sanity bound, not a timing claim
    again = prefetch.resolve(sim.st, MPI.COMM_SELF, "auto", 1)
    assert again["source"] == "cached" and again["distance"] == first["distance"]
    entry = json.loads(cache.read_text())[prefetch.cache_key("aaaaaaaaaaaa", first["size_class"])]
    entry["distance"] = 32 if first["distance"] != 32 else 64      # the cached value is the one used
    prefetch.cache_store(prefetch.cache_key("aaaaaaaaaaaa", first["size_class"]), entry)
    assert prefetch.resolve(sim.st, MPI.COMM_SELF, "auto", 1)["distance"] == entry["distance"]
    monkeypatch.setattr(fingerprint, "machine_hash", lambda: "bbbbbbbbbbbb")
    assert prefetch.resolve(sim.st, MPI.COMM_SELF, "auto", 1)["source"] == "tuned"
    assert prefetch.resolve(sim.st, MPI.COMM_SELF, 16, 1) == {"distance": 16, "source": "given"}


def test_probe_leaves_the_state_alone():
    sim = Simulation(pd14.build_network(n_scaling=0.02), comm=MPI.COMM_SELF)
    sim.build()
    st = sim.st
    before = np.asarray(st.ring_ex).copy()
    gids, slots = prefetch.spike_sequence(st, events=20000)
    assert np.all(np.diff(np.asarray(st.syn_ptr))[gids] > 0) and np.all((slots >= 0) & (slots < st.D))
    rex = np.zeros(st.D * st.ring_n)
    wall, cpu = _engine.scatter_probe(st, gids, slots, rex, np.zeros(0), 64)
    assert wall > 0 and cpu > 0
    assert np.count_nonzero(rex) > 0
    np.testing.assert_array_equal(np.asarray(st.ring_ex), before)
    with pytest.raises(ValueError):
        _engine.scatter_probe(st, gids, slots, np.zeros(10), np.zeros(0), 64)


def test_choose_keeps_default_within_margin():
    t = np.array([[1.00, 1.00, 1.00, 1.00, 1.00]] * 3)
    assert prefetch.choose(t) == prefetch.DEFAULT
    t[:, 1] = 0.93                                   # 7 % faster: within the margin
    assert prefetch.choose(t) == prefetch.DEFAULT
    t[:, 1] = 0.85
    assert prefetch.choose(t) == prefetch.CANDIDATES[1]


@pytest.mark.parametrize("ranks,arg,source", [(1, "48", "given"), (2, "auto", "tuned")])
def test_run_file_records_distance(run_cli, tmp_path, cache, ranks, arg, source):
    out = tmp_path / "r.h5"
    proc = run_cli(ranks, ["pd14", "--n-scaling", "0.02", "--t-sim", "50", "--no-progress", "--out", out,
                           "--prefetch", arg])
    with h5py.File(out, "r") as f:
        assert f[schema.META].attrs[schema.PREFETCH_SOURCE] == source
    info = RunFile(str(out)).prefetch
    assert info["source"] == source
    assert info["distance"] == (48 if arg != "auto" else json.loads(cache.read_text()).popitem()[1]["distance"])
    assert RunFile(str(out)).run_info["delivery"]["prefetch"]["distance"] == info["distance"]
    assert f"delivery prefetch distance {info['distance']} ({source}" in proc.stdout + proc.stderr
