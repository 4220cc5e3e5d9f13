"""Output safety of the run file: Fletcher32 checksums on every dataset, CorruptRunError on damaged
data, the checks of parsnn.runfile.verify, and Simulation(out=...) refusing an existing file."""
import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.runfile import CorruptRunError, RunFile, schema
from parsnn.runfile.verify import verify


def write_run(path, net, t_sim=120.0, finish=True):
    """A small run file of ``net`` at ``path`` (``finish=False``: left incomplete, as after a crash)."""
    sim = Simulation(net, seed=5, comm=MPI.COMM_SELF, out=str(path), flush_ms=50.0)
    sim.run(t_sim)
    if finish:
        sim.finish()
    else:
        sim.close()
    return path


@pytest.fixture(scope="module")
def intact(tmp_path_factory, mixed_network):
    return write_run(tmp_path_factory.mktemp("verify") / "mixed.h5", mixed_network())


def flip_byte(path, dataset, at=5):
    """Flip one byte of the first chunk of ``dataset`` in the raw file."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        offset = ds.id.get_offset() if ds.chunks is None else ds.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset + at)
        byte = raw.read(1)[0]
        raw.seek(offset + at)
        raw.write(bytes([byte ^ 0xFF]))


def failed(checks):
    return {c.name: c.detail for c in checks if not c.ok}


def test_every_dataset_carries_a_checksum(intact):
    with h5py.File(intact, "r") as f:
        datasets = []
        f.visititems(lambda n, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        assert {d.name for d in datasets} >= {"/spikes/E/timestamps", "/spikes/E/node_ids", "/report/E/data",
                                              "/report/E/mapping/node_ids", "/parsnn/partition_map"}
        assert all(d.fletcher32 and d.chunks for d in datasets), [d.name for d in datasets if not d.fletcher32]


def test_intact_file_passes_verify(intact):
    checks = verify(intact)
    assert failed(checks) == {}
    names = [c.name for c in checks]
    for name in ("schema version", "complete", "spikes E sorted", "spikes E times", "spikes E node ids",
                 "report E", "partition map", "readable /spikes/E/timestamps"):
        assert name in names


def test_flipped_byte_in_spikes_is_reported_as_corrupted(intact, tmp_path):
    path = tmp_path / "damaged.h5"
    path.write_bytes(intact.read_bytes())
    flip_byte(path, "spikes/E/timestamps")
    with RunFile(path) as run:
        assert run.recorded_spike_counts()["I"] > 0          # the rest of the file stays readable
        with pytest.raises(CorruptRunError, match="dataset /spikes/E/timestamps") as info:
            run.spikes("E")
    assert info.value.dataset == "/spikes/E/timestamps" and "corrupted run file" in str(info.value)
    bad = failed(verify(path))
    assert set(bad) == {"readable /spikes/E/timestamps", "spikes E"}
    assert bad["readable /spikes/E/timestamps"].startswith("corrupted: checksum mismatch")


def test_flipped_byte_in_partition_map_is_reported(intact, tmp_path):
    path = tmp_path / "damaged.h5"
    path.write_bytes(intact.read_bytes())
    flip_byte(path, "parsnn/partition_map", at=0)
    with RunFile(path) as run, pytest.raises(CorruptRunError, match="/parsnn/partition_map"):
        run.partition_map
    assert "readable /parsnn/partition_map" in failed(verify(path))


def test_incomplete_file_is_reported_with_its_flush_time(tmp_path, mixed_network):
    path = write_run(tmp_path / "crashed.h5", mixed_network(), t_sim=120.0, finish=False)
    checks = {c.name: c for c in verify(path)}
    assert not checks["complete"].ok and "complete=False" in checks["complete"].detail
    assert list(failed(checks.values())) == ["complete"]
    assert "t_flushed (last flush)" in checks["spikes E times"].detail
    with h5py.File(path, "r") as f:
        assert f["parsnn"].attrs[schema.T_FLUSHED] == pytest.approx(120.0)


def test_spikes_out_of_range_and_unsorted_fail(intact, tmp_path):
    path = tmp_path / "edited.h5"
    path.write_bytes(intact.read_bytes())
    with h5py.File(path, "r+") as f:
        ts, ids = f["spikes/E/timestamps"], f["spikes/E/node_ids"]
        ts[0], ts[1] = 1e6, 0.0
        ids[0] = 10_000
    assert {"spikes E sorted", "spikes E times", "spikes E node ids"} <= set(failed(verify(path)))


def test_file_without_checksums_still_verifies(tmp_path):
    """A file from before checksums existed: readable, and verify says it has none."""
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("parsnn")
        g.attrs.update({"complete": True, "num_ranks": 1, "t_sim": 10.0})
        g.create_dataset("partition_map", data=np.zeros(2, np.int64))
        s = f.create_group("spikes/A")
        s.attrs["size"] = 2
        s.create_dataset("timestamps", data=[1.0, 2.0])
        s.create_dataset("node_ids", data=np.array([0, 1], np.uint64))
    checks = verify(path)
    assert failed(checks) == {}
    assert "no checksum" in next(c.detail for c in checks if c.name == "readable /spikes/A/timestamps")


def test_not_a_run_file(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"not hdf5")
    (check,) = verify(path)
    assert check.name == "open" and not check.ok


def test_simulation_refuses_existing_output(tmp_path, mixed_network):
    path = tmp_path / "x.h5"
    path.write_bytes(b"precious")
    with pytest.raises(ParameterError, match=f"output file '{path}' already exists; pass overwrite=True"):
        Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=str(path))
    assert path.read_bytes() == b"precious"
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=str(path), overwrite=True)
    sim.run(10.0)
    sim.finish()
    with RunFile(path) as run:
        assert run.complete


# ------------------------------------------------------------------ checkpoints

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, mixed_network):
    """A checkpoint of the mixed network at 60 ms."""
    path = tmp_path_factory.mktemp("verify_ckpt") / "mixed.ckpt.h5"
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF)
    sim.run(60.0)
    sim.checkpoint(str(path))
    return path


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def test_intact_checkpoint_passes_verify(checkpoint):
    checks = verify(checkpoint)
    assert failed(checks) == {}
    names = [c.name for c in checks]
    assert names[:4] == ["open", "format version", "parsnn version", "complete"]
    assert {"readable /checkpoint/V_m", "readable /checkpoint/ring_ex", "shapes", "network", "state"} <= set(names)
    assert "model time 60 ms" in {c.name: c.detail for c in checks}["state"]


def test_corrupted_checkpoint_fails_verify(checkpoint, tmp_path):
    bad = _copy(checkpoint, tmp_path / "bad.h5")
    flip_byte(bad, "/checkpoint/ring_in", at=40)
    assert set(failed(verify(bad))) == {"readable /checkpoint/ring_in", "state"}


def test_checkpoint_with_a_missing_dataset_fails_verify(checkpoint, tmp_path):
    bad = _copy(checkpoint, tmp_path / "missing.h5")
    with h5py.File(bad, "r+") as f:
        del f["checkpoint/i_in"]
    assert failed(verify(bad)) == {"complete": "missing: i_in"}


@pytest.mark.parametrize("change,check", [
    (lambda g: g["V_m"].__setitem__(3, np.nan), "state"),
    (lambda g: g["refractory"].__setitem__(0, -2), "state"),
    (lambda g: g.attrs.__setitem__("num_nodes", 7), "shapes"),
    (lambda g: g.attrs.__setitem__("connectivity_hash", "xyz"), "network"),
    (lambda g: g.attrs.__setitem__("version", "0.0.1"), "parsnn version"),
    (lambda g: g.attrs.__setitem__("format_version", 99), "format version"),
], ids=["nan", "negative refractory", "num_nodes", "hash", "version", "format"])
def test_insane_checkpoint_fails_verify(checkpoint, tmp_path, change, check):
    bad = _copy(checkpoint, tmp_path / "insane.h5")
    with h5py.File(bad, "r+") as f:
        change(f["checkpoint"])
    assert check in failed(verify(bad))


def test_cli_verify_checkpoint(checkpoint, capsys):
    from parsnn.cli import main
    assert main(["verify", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    passed = sum(line.startswith("ok ") for line in out.splitlines())
    assert passed >= 14 and f"all {passed} checks passed" in out
