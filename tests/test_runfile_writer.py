"""The engine's HDF5 output: SONATA spikes, voltage reports, metadata, completeness."""
import json

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.runfile import sonata
from parsnn.engine import Simulation


@pytest.fixture(scope="module")
def run(tmp_path_factory, mixed_network):
    path = tmp_path_factory.mktemp("out") / "mixed.h5"
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=str(path), keep_spikes=True,
                     flush_ms=60.0, run_info={"purpose": "test"})
    sim.run(250.0)
    sim.finish()
    return sim, path


def test_spikes_round_trip(run):
    sim, path = run
    mem = sim.spikes()
    disk = sonata.read_spikes(str(path))
    assert set(disk) == {"E", "I", "P"}
    for name, (t, ids) in mem.items():
        assert len(t) > 0
        assert np.array_equal(disk[name][0], t)
        assert np.array_equal(disk[name][1], ids.astype(np.uint64))
        # by_time sorting, ties by node id; flushes every 60 ms did not break it
        order = np.lexsort((ids, t))
        assert np.array_equal(order, np.arange(len(t)))


def test_sonata_layout(run):
    _, path = run
    with h5py.File(path, "r") as f:
        for name, size in (("E", 400), ("I", 100), ("P", 30)):
            g = f[f"spikes/{name}"]
            assert g.attrs["size"] == size
            assert sonata.read_sorting_attr(g) == "by_time"
            assert g["timestamps"].dtype == np.float64 and g["timestamps"].attrs["units"] == "ms"
            assert g["node_ids"].dtype == np.uint64
            assert g["node_ids"][:].max() < size


def test_libsonata_reads_spikes(run):
    libsonata = pytest.importorskip("libsonata")
    sim, path = run
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == ["E", "I", "P"]
    t, ids = sim.spikes()["E"]
    got = reader["E"].get()
    assert [(n, tt) for n, tt in got] == list(zip(ids.tolist(), t.tolist()))


def test_voltage_report(run):
    sim, path = run
    mem = sim.voltages()
    with h5py.File(path, "r") as f:
        for name, every in (("E", 0.5), ("I", 1.0)):
            r = f[f"report/{name}"]
            data = r["data"][:]
            assert r["data"].attrs["units"] == "mV"
            start, stop, dt = r["mapping/time"][:]
            assert (start, dt) == (every, every)
            assert data.shape[0] == round((stop - start) / dt) == round(250.0 / every)
            assert np.array_equal(r["mapping/node_ids"][:], mem[name][1])
            assert np.array_equal(data, mem[name][2])
            assert np.allclose(mem[name][0], every * np.arange(1, data.shape[0] + 1))


def test_metadata_and_performance(run):
    sim, path = run
    with h5py.File(path, "r") as f:
        g = f["parsnn"]
        assert g.attrs["complete"]
        assert g.attrs["seed"] == 5 and g.attrs["num_ranks"] == 1
        assert g.attrs["partition"] == "round_robin"
        assert g.attrs["t_sim"] == 250.0 and g.attrs["resolution"] == 0.1
        params = json.loads(g.attrs["parameters"])
        assert [p["name"] for p in params["populations"]] == ["E", "I", "P", "G"]
        assert json.loads(g.attrs["run"])["purpose"] == "test"
        assert np.array_equal(g["partition_map"][:], sim.rank_of)
        perf = g["performance"].attrs
        for key in ("build_seconds", "simulate_seconds", "peak_rss_bytes", "timer_update", "timer_deliver"):
            assert np.asarray(perf[key]).shape == (1,)
        assert perf["num_synapses"] == sim.num_synapses > 0
        assert perf["rtf"] > 0
        # spikes emitted per population, in the order of the populations (the generator G: 0)
        mem = sim.spikes()
        assert perf["spike_counts"].tolist() == [len(mem["E"][0]), len(mem["I"][0]), len(mem["P"][0]), 0]
        assert min(perf["spike_counts"][:3]) > 0


def test_interrupted_run_is_marked_incomplete(tmp_path, mixed_network):
    path = tmp_path / "broken.h5"
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=str(path))
    sim.run(100.0)
    sim.close()                      # what an aborted run leaves behind: no finish()
    with pytest.raises(sonata.IncompleteRunError):
        sonata.open_run(str(path))
    with h5py.File(path, "r") as f:
        assert not f["parsnn"].attrs["complete"]
        assert len(f["spikes/E/timestamps"]) > 0     # what was flushed is kept, and marked
