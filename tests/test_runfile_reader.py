"""parsnn.runfile.reader.RunFile and parsnn.runfile.schema: everything the modules that read run
files need (partition_metrics.measured_from_file, mapping/cluster.run_inputs, scaling.collect,
mapping/neuromorphic.run_inputs), read from one engine run and checked against the raw HDF5."""
import json

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.connectivity import Connectivity
from parsnn.engine import Simulation
from parsnn.runfile import schema
from parsnn.runfile.reader import RunFile
from parsnn.runfile.sonata import IncompleteRunError


T_SIM = 200.0


@pytest.fixture(scope="module")
def run(tmp_path_factory, mixed_network):
    path = tmp_path_factory.mktemp("reader") / "mixed.h5"
    net = mixed_network()
    net.record_spikes(["E", "I"])            # P is simulated but not recorded
    sim = Simulation(net, seed=7, comm=MPI.COMM_SELF, out=str(path), keep_spikes=True,
                     run_info={"command": "run", "t_sim": T_SIM})
    sim.run(T_SIM)
    perf = sim.finish()
    return sim, perf, str(path)


def test_schema_version_written_and_read(run):
    _, _, path = run
    with h5py.File(path, "r") as f:
        assert f["parsnn"].attrs["schema_version"] == schema.SCHEMA_VERSION == 1
    with RunFile(path) as r:
        assert r.schema_version == 1


def _copy_without(path, tmp_path, attribute: str) -> str:
    """A copy of the run file ``path`` without the /parsnn attribute ``attribute`` (as older files)."""
    old = tmp_path / "old.h5"
    with h5py.File(path, "r") as src, h5py.File(old, "w") as dst:
        for key in src:
            src.copy(key, dst)
        del dst["parsnn"].attrs[attribute]
    return str(old)


def test_file_without_schema_version_reads_as_version_1(run, tmp_path):
    _, _, path = run
    with RunFile(_copy_without(path, tmp_path, "schema_version")) as r:
        assert r.schema_version == schema.UNVERSIONED == 1
        assert r.complete and r.t_sim == T_SIM


def test_realisation_written_and_read(run, tmp_path):
    """The run file names the realisation scheme that built the network; files without it are v1's."""
    sim, _, path = run
    with RunFile(path) as r:
        assert r.realisation == sim.realisation == "v2"
    with RunFile(_copy_without(path, tmp_path, "realisation")) as r:
        assert r.realisation == schema.UNRECORDED_REALISATION == "v1"


def test_metadata(run):
    sim, _, path = run
    with RunFile(path) as r, h5py.File(path, "r") as f:
        g = f["parsnn"]
        assert r.complete is True
        assert r.model == "mixed" == g.attrs["model"]
        assert r.seed == 7 and r.num_ranks == 1 and r.partition == "round_robin"
        assert r.resolution == 0.1 and r.t_sim == T_SIM
        assert r.description == json.loads(g.attrs["parameters"]) == sim.net.describe()
        # the given settings, and what the engine adds: its thread count and owner rule, exchange and delivery scheme
        info = dict(r.run_info, exchange=dict(r.run_info["exchange"]))
        sleep_us = info["exchange"].pop("sleep_cost_us")        # measured by the run: what a 1 us sleep cost
        assert sleep_us >= 1.0 and info["exchange"].pop("mpi_wait_yield_us") == min(max(sleep_us, 2.0), 200.0)
        assert info == {"command": "run", "t_sim": T_SIM, "threads": 1, "thread_owners": "mixed",
                              "exchange": {"scheme": "alltoall_fixed_block", "requested": "auto",
                                           "max_neighbours": 0, "adaptive": True, "first_block_words": 32,
                                           "decision": {"by": "rule", "reason": "one rank: no exchange",
                                                        "rule": "alltoall"},
                                           "mpi_wait": "sleep", "mpi_wait_polls": 100},
                              "delivery": {"rings": "per-tau", "ring_buffers": 1 if sim.st.one_ring else 2,
                                           "synapse_row": "uint16 target + float32 weight per synapse, "
                                                          "delay runs per sub-row",
                                           "prefetch": sim.prefetch_info}}
        # the delivery's prefetch distance (parsnn.engine.prefetch): chosen at the first run
        assert r.prefetch == {k: sim.prefetch_info[k] for k in ("distance", "source")}
        assert r.prefetch["source"] in ("tuned", "cached") and r.prefetch["distance"] == sim.st.prefetch
        assert r.metadata["complete"] is True and r.metadata["num_ranks"] == 1
        assert r.population_sizes == {"E": 400, "I": 100}


def test_connectivity(run):
    sim, _, path = run
    with RunFile(path) as r:
        conn = r.connectivity()
    ref = Connectivity.from_network(sim.net)
    assert isinstance(conn, Connectivity)
    assert conn.names == ref.names
    assert np.array_equal(conn.sizes, ref.sizes) and np.array_equal(conn.offsets, ref.offsets)
    assert np.array_equal(conn.kind, ref.kind) and np.array_equal(conn.n, ref.n)


def test_partition_map_and_performance(run):
    sim, perf, path = run
    with RunFile(path) as r, h5py.File(path, "r") as f:
        assert np.array_equal(r.partition_map, f["parsnn/partition_map"][:])
        assert np.array_equal(r.partition_map, sim.rank_of)
        p = r.performance
        assert set(p) == set(perf) == set(f["parsnn/performance"].attrs)
        assert all(isinstance(v, np.ndarray) for v in p.values())
        assert p["remote_deliveries"].shape == (1,) and p["build_seconds"].shape == (1,)
        assert float(p["model_time_ms"]) == T_SIM and int(p["num_synapses"]) == sim.num_synapses
        assert np.array_equal(p["spike_counts"], perf["spike_counts"])


def test_spike_counts_from_the_engine_and_from_recorded_spikes(run):
    sim, perf, path = run
    mem = sim.spikes()
    with RunFile(path) as r:
        counts = r.spike_counts()
        assert list(counts) == ["E", "I", "P", "G"]                  # every population, description order
        assert counts["E"] == mem["E"][0].size and counts["I"] == mem["I"][0].size
        assert counts["P"] > 0 and counts["G"] == 0                  # P: not recorded, still counted
        assert r.recorded_spike_counts() == {"E": mem["E"][0].size, "I": mem["I"][0].size}
        t0, t1 = 50.0, 120.0
        sel = (mem["I"][0] >= t0) & (mem["I"][0] < t1)
        assert r.recorded_spike_counts(t0, t1)["I"] == int(sel.sum()) > 0


def test_spikes_in_a_window(run):
    sim, _, path = run
    mem = sim.spikes()
    with RunFile(path) as r:
        got = r.spikes(t_start=50.0, t_stop=120.0)
        assert set(got) == {"E", "I"}
        for name, (t, ids) in got.items():
            sel = (mem[name][0] >= 50.0) & (mem[name][0] < 120.0)
            assert np.array_equal(t, mem[name][0][sel]) and np.array_equal(ids, mem[name][1][sel])
        assert got["I"][0].size > 100
        blocks = list(r.iter_spikes("I", 50.0, 120.0, chunk=100))
        assert len(blocks) > 1
        assert np.array_equal(np.concatenate([b[0] for b in blocks]), got["I"][0])
        per_neuron = r.spike_counts_per_neuron("I", 50.0, 120.0)
        assert per_neuron.shape == (100,)
        assert np.array_equal(per_neuron, np.bincount(got["I"][1].astype(np.int64), minlength=100))
        rates = r.firing_rates()
        assert rates["E"] == pytest.approx(mem["E"][0].size / 400 / (T_SIM * 1e-3))
        assert rates["I"] == pytest.approx(mem["I"][0].size / 100 / (T_SIM * 1e-3))


def test_step_counts(run):
    sim, _, path = run
    t, _ = sim.spikes()["I"]
    with RunFile(path) as r:
        k = r.step_counts("I", 100.0, 500)              # 500 steps of 0.1 ms from 100 ms
        assert k.shape == (500,)
        sel = (t >= 100.0) & (t < 150.0)
        assert k.sum() == sel.sum() > 100
        expected = np.bincount(np.minimum(((t[sel] - 100.0) / 0.1).astype(np.int64), 499), minlength=500)
        assert np.array_equal(k, expected)
        coarse = r.step_counts("I", 100.0, 5, h=10.0)   # 10 ms bins
        assert np.array_equal(coarse, k.reshape(5, 100).sum(axis=1))


def test_open_file_is_left_open(run):
    _, _, path = run
    with h5py.File(path, "r") as f:
        with RunFile(f) as r:
            assert r.num_ranks == 1
        assert f.id.valid                                # the caller's file stays open


def test_incomplete_run(tmp_path, mixed_network):
    path = str(tmp_path / "broken.h5")
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=path)
    sim.run(50.0)
    sim.close()                                         # no finish(): complete=False, no performance
    with pytest.raises(IncompleteRunError):
        RunFile(path)
    with RunFile(path, allow_incomplete=True) as r:
        assert r.complete is False
        assert r.t_sim is None and r.performance == {} and r.spike_counts() is None
        assert r.recorded_spike_counts()["I"] > 0
        assert r.schema_version == 1
