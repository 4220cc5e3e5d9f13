"""parsnn.runfile.repair: a run file whose writer was killed in the middle of a write (a torn last
chunk, data after t_flushed) is restored to exactly its data up to t_flushed, or refused."""
import shutil

import h5py
import numpy as np
import pytest

from parsnn.runfile import repair as repair_module
from parsnn.runfile.repair import repair
from parsnn.runfile.writer import RunWriter

POPS = {"E": 50}


def _writer(path):
    return RunWriter.create(path, seed=1, num_ranks=1, partition="round_robin", model="m", resolution=0.1,
                            min_delay_ms=1.0, description={}, run_info={}, partition_map=np.zeros(50, np.int32),
                            spike_populations=POPS, voltage_reports=[("E", [0, 1, 2], 10)], realisation="v2")


def _block(i):
    rng = np.random.default_rng(i)
    t = np.sort(rng.integers(i * 1000, (i + 1) * 1000, 400)) * 0.1 + 0.1
    ids = rng.integers(0, 50, 400)
    order = np.lexsort((ids, t))
    v = rng.normal(-60, 5, (100, 3))
    return {"E": (t[order], ids[order])}, {"E": ((np.arange(100) + 1.0) + 100 * i, np.arange(3, dtype=np.uint64), v)}


def _write(w, i):
    s, v = _block(i)
    w.append_spikes(s)
    w.append_voltages(v)


def _content(path):
    with h5py.File(path, "r") as f:
        return (f["spikes/E/timestamps"][:], f["spikes/E/node_ids"][:], f["report/E/data"][:],
                float(f["parsnn"].attrs["t_flushed"]))


@pytest.fixture
def flushed_twice(tmp_path):
    """(file flushed at 100 ms, the same file one flush later at 200 ms), both left open-less as if killed."""
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    w = _writer(a)
    _write(w, 0)
    w.flushed_ms = 100.0
    w.flush()
    shutil.copyfile(a, b)           # the state on disk after the first flush (the writer never closes it)
    _write(w, 1)
    w.flushed_ms = 200.0
    w.flush()
    w.close()
    return b, a                     # b: first flush only; a: both flushes


@pytest.mark.parametrize("dataset", ["report/E/data", "spikes/E/timestamps", "spikes/E/node_ids"])
def test_torn_last_chunk_is_restored(flushed_twice, dataset):
    old, new = flushed_twice
    expected = _content(old)
    with h5py.File(new, "r") as f:           # the rewritten chunk: same size, same address (in place)
        info = f[dataset].id.get_chunk_info(0)
        _, raw = f[dataset].id.read_direct_chunk((0,) * f[dataset].ndim)
    with h5py.File(old, "r") as f:
        assert f[dataset].id.get_chunk_info(0).byte_offset == info.byte_offset
    with open(old, "r+b") as fh:             # a write stopped after its first page: the old checksum stays
        fh.seek(info.byte_offset)
        fh.write(raw[:4096])
    with h5py.File(old, "r") as f, pytest.raises(OSError):
        f[dataset][:]
    done = repair(old)
    assert [(r.dataset, r.kind) for r in done] == [("/" + dataset, "restored")]
    got = _content(old)
    assert all(np.array_equal(x, y) for x, y in zip(got, expected))
    assert repair(old) == []


def test_damage_that_is_not_a_torn_rewrite_is_refused(flushed_twice):
    old, _ = flushed_twice
    with h5py.File(old, "r") as f:
        info = f["report/E/data"].id.get_chunk_info(0)
    with open(old, "r+b") as fh:             # a flipped byte among the flushed rows
        fh.seek(info.byte_offset + 10)
        b = fh.read(1)
        fh.seek(info.byte_offset + 10)
        fh.write(bytes([b[0] ^ 0xFF]))
    done = repair(old)
    assert [(r.dataset, r.kind) for r in done] == [("/report/E/data", "unrecoverable")]
    with h5py.File(old, "r") as f, pytest.raises(OSError):
        f["report/E/data"][:]


def test_data_after_t_flushed_are_dropped(tmp_path):
    path = str(tmp_path / "run.h5")
    w = _writer(path)
    _write(w, 0)
    w.flushed_ms = 100.0
    w.flush()
    expected = _content(path)
    _write(w, 1)
    w.h5.flush()                             # killed between a flush's data and its t_flushed
    w.h5.close()
    done = repair(path)
    assert {r.kind for r in done} == {"truncated"}
    got = _content(path)
    assert all(np.array_equal(x, y) for x, y in zip(got, expected))
    with h5py.File(path, "r") as f:
        assert list(f["report/E/mapping/time"][:]) == [1.0, 101.0, 1.0]


def test_flush_writes_t_flushed_after_the_data(tmp_path, monkeypatch):
    path = str(tmp_path / "run.h5")
    w = _writer(path)
    _write(w, 0)
    seen = []
    flush = w.h5.flush
    monkeypatch.setattr(w.h5, "flush", lambda: (seen.append(w.h5["parsnn"].attrs.get("t_flushed")), flush()))
    w.flushed_ms = 100.0
    w.flush()
    assert seen == [None, 100.0]
    w.close()


def test_fletcher32_matches_hdf5(tmp_path):
    path = str(tmp_path / "f.h5")
    data = np.random.default_rng(3).normal(size=1000)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, chunks=(1000,), fletcher32=True)
    with h5py.File(path, "r") as f:
        _, raw = f["x"].id.read_direct_chunk((0,))
    assert repair_module.fletcher32_mod(raw[:-4]) == repair_module._stored(raw)
