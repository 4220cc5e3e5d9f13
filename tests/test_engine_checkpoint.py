"""Exact checkpoint and restore (parsnn.engine.checkpoint, parsnn.runfile.checkpoint): a run
continued from a checkpoint gives the spikes and V_m of the uninterrupted run, bit for bit; a
checkpoint of another seed or network, or a truncated or corrupted one, is refused."""
import glob
import os

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn import Network, ParameterError
from parsnn.engine import Simulation
from parsnn.engine import checkpoint as checkpointing
from parsnn.network import FixedIndegree
from parsnn.runfile import checkpoint as checkpoint_file

SEED = 3
T_END, T_CKPT = 250.0, 120.0


def _assert_continues(full: Simulation, resumed: Simulation, t_ckpt: float):
    """The resumed run's spikes and V_m are the full run's after ``t_ckpt``."""
    ref, got = full.spikes(), resumed.spikes()
    assert set(ref) == set(got)
    assert sum(np.count_nonzero(t > t_ckpt) for t, _ in ref.values()) > 100     # active after the checkpoint
    for name, (times, ids) in ref.items():
        after = times > t_ckpt
        assert np.array_equal(times[after], got[name][0]), name
        assert np.array_equal(ids[after], got[name][1]), name
    ref_v, got_v = full.voltages(), resumed.voltages()
    assert set(ref_v) == set(got_v)
    for name, (times, ids, values) in ref_v.items():
        after = times > t_ckpt
        assert np.array_equal(times[after], got_v[name][0]), name
        assert np.array_equal(values[after], got_v[name][2]), name


@pytest.fixture(scope="module")
def full_run(mixed_network):
    """The uninterrupted serial run of the mixed network."""
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.run(T_END)
    return sim


@pytest.fixture(scope="module")
def saved(mixed_network, tmp_path_factory):
    """A checkpoint of the mixed network at T_CKPT (serial)."""
    path = str(tmp_path_factory.mktemp("ckpt") / "mixed.ckpt.h5")
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.run(T_CKPT)
    sim.checkpoint(path)
    return path


def _resumed(net, path, seed=SEED, comm=MPI.COMM_SELF, partition="round_robin", threads=1, realisation="v2"):
    """A simulation of ``net`` continued from ``path`` to T_END."""
    sim = Simulation(net, seed=seed, comm=comm, keep_spikes=True, partition=partition, threads=threads,
                     realisation=realisation)
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0      # parallel regions even for this small network
    t = sim.restore(path)
    sim.run(T_END - t)
    return sim


def test_resume_is_bit_identical(full_run, saved, mixed_network):
    _assert_continues(full_run, _resumed(mixed_network(), saved), T_CKPT)


def test_resume_with_another_partition(full_run, saved, mixed_network):
    # one rank, but another local order: the per-gid layout does not depend on it
    _assert_continues(full_run, _resumed(mixed_network(), saved, partition="block"), T_CKPT)


@pytest.mark.parametrize("threads", [2, 3])
def test_resume_on_another_thread_count(full_run, saved, mixed_network, threads):
    """A checkpoint written by one thread continues on 2 or 3 threads per rank, bit for bit."""
    _assert_continues(full_run, _resumed(mixed_network(), saved, threads=threads), T_CKPT)


def test_checkpoint_of_threads_resumes_on_one(full_run, mixed_network, tmp_path):
    """A checkpoint written with 2 threads continues on 1, bit for bit."""
    path = str(tmp_path / "threads.ckpt.h5")
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, keep_spikes=True, threads=2)
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0
    sim.run(T_CKPT)
    sim.checkpoint(path)
    _assert_continues(full_run, _resumed(mixed_network(), path), T_CKPT)


def test_checkpoints_during_a_run(full_run, mixed_network, tmp_path, monkeypatch):
    """Checkpoints written inside run() at interval boundaries continue exactly too."""
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.checkpoint_every(str(tmp_path / "c.h5"), 50.0)
    written = []

    def numbered(path):
        written.append(sim.t_steps)
        Simulation.checkpoint(sim, f"{path}.{sim.t_steps}")
    monkeypatch.setattr(sim, "checkpoint", numbered)
    sim.run(T_END)
    assert written == [500, 1000, 1500, 2000, 2500]
    assert not glob.glob(str(tmp_path / ".*.tmp"))           # no temporary file left behind
    _assert_continues(full_run, _resumed(mixed_network(), str(tmp_path / "c.h5.1500")), 150.0)


def test_checkpoint_content(saved, mixed_network):
    ckpt = checkpoint_file.read(saved)
    net = mixed_network()
    assert ckpt.step == round(T_CKPT / 0.1) and ckpt.seed == SEED
    assert ckpt.num_nodes == net.num_nodes
    assert ckpt.state["ring_ex"].shape[0] == net.num_nodes
    assert np.any(ckpt.state["ring_ex"]) and np.any(ckpt.state["n_fired"])
    assert ckpt.connectivity["count"] > 0 and len(ckpt.connectivity["hash"]) == 32


def test_connectivity_checksum_ignores_the_layout(mixed_network):
    sums = []
    for partition in ("round_robin", "block"):
        sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, partition=partition)
        sim.build()
        sums.append(checkpointing.connectivity_checksum(sim))
    other = Simulation(mixed_network(), seed=SEED + 1, comm=MPI.COMM_SELF)
    other.build()
    assert sums[0] == sums[1]
    assert checkpointing.connectivity_checksum(other)["hash"] != sums[0]["hash"]


def _splitmix(x):
    """splitmix64's finaliser on a uint64 array (the reference of cython/checksum.pyx)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def test_checksum_kernel_matches_the_numpy_reference(mixed_network):
    """The kernel hashes what the format promises (and what checkpoints written so far hold):
    mix(mix(src << 32 ^ tgt) ^ (weight bits << 16 | delay)), lane 2 mixed once more with a constant."""
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, partition="block")
    sim.build()
    ptr, tgt, weight, delay = (np.asarray(a) for a in sim._syn_arrays)
    src = np.repeat(np.arange(ptr.size - 1, dtype=np.uint64), np.diff(ptr))
    with np.errstate(over="ignore"):
        key = _splitmix((src << np.uint64(32)) ^ np.asarray(sim.local_gids, dtype=np.uint64)[tgt])
        key = _splitmix(key ^ ((weight.view(np.uint32).astype(np.uint64) << np.uint64(16)) | delay.astype(np.uint64)))
        lanes = int(key.sum(dtype=np.uint64)), int(_splitmix(key ^ np.uint64(0x5851F42D4C957F2D)).sum(dtype=np.uint64))
    assert src.size > 10000
    assert checkpointing.connectivity_checksum(sim)["hash"] == f"{lanes[0]:016x}{lanes[1]:016x}"


def test_other_seed_refused(saved, mixed_network):
    with pytest.raises(ParameterError, match=r"does not belong.*seed: checkpoint 3, this simulation 4"):
        _resumed(mixed_network(), saved, seed=SEED + 1)


def test_other_realisation_refused(saved, mixed_network):
    assert checkpoint_file.read(saved).realisation == "v2"
    with pytest.raises(ParameterError, match=r"does not belong.*realisation scheme: the checkpoint's network was "
                                             r"built by v2, this simulation uses v1"):
        _resumed(mixed_network(), saved, realisation="v1")


def test_checkpoint_without_a_realisation_is_v1(saved, mixed_network, tmp_path):
    """A checkpoint written before the scheme was recorded was built by v1: it resumes under v1 only."""
    old = str(tmp_path / "old.ckpt.h5")
    v1 = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, realisation="v1")
    v1.run(T_CKPT)
    v1.checkpoint(old)
    with h5py.File(old, "r+") as f:
        del f["checkpoint"].attrs["realisation"]
    assert checkpoint_file.read(old).realisation == "v1"
    with pytest.raises(ParameterError, match="realisation scheme"):
        _resumed(mixed_network(), old)
    _resumed(mixed_network(), old, realisation="v1")


def test_other_network_refused(saved, mixed_network):
    net = mixed_network()
    net.add_dc("I", 10.0)
    with pytest.raises(ParameterError, match="network description 'dc_inputs' differs"):
        _resumed(net, saved)


def test_truncated_checkpoint_refused(saved, mixed_network, tmp_path):
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(open(saved, "rb").read()[:5000])
    with pytest.raises(ParameterError, match="truncated or corrupted"):
        _resumed(mixed_network(), str(bad))


def test_corrupted_checkpoint_refused(saved, mixed_network, tmp_path):
    bad = str(tmp_path / "corrupted.h5")
    data = bytearray(open(saved, "rb").read())
    with h5py.File(saved, "r") as f:
        offset = f["checkpoint/ring_ex"].id.get_chunk_info(0).byte_offset
    data[offset + 8] ^= 0xFF
    open(bad, "wb").write(bytes(data))
    with pytest.raises(ParameterError, match="truncated or corrupted"):
        _resumed(mixed_network(), bad)


def test_missing_checkpoint_refused(mixed_network, tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        _resumed(mixed_network(), str(tmp_path / "nothing.h5"))


def test_interval_must_be_a_multiple_of_the_min_delay(tmp_path):
    net = Network(0.1)
    net.add_population("E", 20, "iaf_psc_exp")
    net.connect("E", "E", FixedIndegree(2), weight=1.0, delay=1.0)
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    with pytest.raises(ParameterError, match=r"multiple of the min delay \(1 ms\), got 0.5"):
        sim.checkpoint_every(str(tmp_path / "c.h5"), 0.5)
    sim.checkpoint_every(str(tmp_path / "c.h5"), 2.0)


def test_atomic_replace(saved, tmp_path, mixed_network):
    """An existing checkpoint is replaced as a whole, with the file mode of an ordinary output."""
    path = tmp_path / "c.h5"
    path.write_bytes(b"old")
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF)
    sim.run(10.0)
    sim.checkpoint(str(path))
    assert checkpoint_file.read(str(path)).step == 100
    assert os.listdir(tmp_path) == ["c.h5"]
    assert os.stat(path).st_mode & 0o044


@pytest.mark.mpi
def test_resume_across_rank_counts(full_run, mixed_network, tmp_path):
    """Under mpiexec: a checkpoint of all ranks continues on one rank, and one rank's on all."""
    comm = MPI.COMM_WORLD
    folder = comm.bcast(str(tmp_path), root=0)
    many_to_one, one_to_many = os.path.join(folder, "world.h5"), os.path.join(folder, "self.h5")
    sim = Simulation(mixed_network(), seed=SEED, comm=comm)
    sim.run(T_CKPT)
    sim.checkpoint(many_to_one)
    if comm.rank == 0:
        single = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF)
        single.run(T_CKPT)
        single.checkpoint(one_to_many)
    comm.Barrier()
    _assert_continues(full_run, _resumed(mixed_network(), many_to_one), T_CKPT)
    _assert_continues(full_run, _resumed(mixed_network(), one_to_many, comm=comm), T_CKPT)


def test_restored_run_counts_its_own_time(saved, mixed_network):
    """The real-time factor of a restored run is over the time it simulated, not since 0."""
    sim = _resumed(mixed_network(), saved)
    perf = sim.performance()
    assert perf["model_time_ms"] == pytest.approx(T_END)
    assert perf["rtf"] == pytest.approx(max(perf["simulate_seconds"]) / ((T_END - T_CKPT) * 1e-3))
    with pytest.raises(ParameterError, match="before the first run"):
        sim.restore(saved)
