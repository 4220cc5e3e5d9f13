"""parsnn.runfile.append.reopen (``parsnn resume --append``): a run file continued at a checkpoint's
step equals the uninterrupted run's (spikes and V_m bit for bit), the data after the step are
removed first, and files of another simulation or with a gap before the checkpoint are refused."""
import json

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.runfile import schema
from parsnn.runfile.append import reopen

SEED, T_CKPT, T_END = 5, 60.0, 120.0


def _content(path):
    """(complete, spikes {pop: (t, ids)}, V_m {pop: data}, report time mappings) of a run file."""
    with h5py.File(path, "r") as f:
        spikes = {p: (g["timestamps"][:], g["node_ids"][:]) for p, g in f["spikes"].items()}
        report = {p: g["data"][:] for p, g in f["report"].items()}
        times = {p: g["mapping/time"][:] for p, g in f["report"].items()}
        return bool(f["parsnn"].attrs["complete"]), spikes, report, times


@pytest.fixture(scope="module")
def files(tmp_path_factory, mixed_network):
    """The uninterrupted run to T_END, and a run to 90 ms (flushed, not finished) with a checkpoint at T_CKPT."""
    d = tmp_path_factory.mktemp("append")
    full = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, out=str(d / "full.h5"), flush_ms=30.0)
    full.run(T_END)
    full.finish()
    cut = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, out=str(d / "cut.h5"), flush_ms=30.0)
    cut.run(T_CKPT)
    cut.checkpoint(str(d / "c.h5"))
    cut.run(30.0)              # data after the checkpoint, as a run killed later leaves them
    cut.close()
    return d


def test_append_equals_the_uninterrupted_run(files, mixed_network, tmp_path):
    target = tmp_path / "cut.h5"
    target.write_bytes((files / "cut.h5").read_bytes())
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, flush_ms=30.0)
    sim.restore(str(files / "c.h5"))
    sim.out = str(target)
    sim.writer = reopen(str(target), step=sim.t_steps, resolution=sim.h, seed=SEED, description=sim.net.describe(),
                        layout=sim.output_layout())
    with h5py.File(files / "full.h5", "r") as f:
        ref_n = {p: int(np.count_nonzero(g["timestamps"][:] <= T_CKPT)) for p, g in f["spikes"].items()}
    with h5py.File(target, "r") as f:              # truncated at the checkpoint, incomplete
        assert not f["parsnn"].attrs["complete"] and f["parsnn"].attrs["t_flushed"] == T_CKPT
        assert {p: g["timestamps"].shape[0] for p, g in f["spikes"].items()} == ref_n
        assert schema.T_SIM not in f["parsnn"].attrs and schema.PERFORMANCE not in f["parsnn"]
        run = json.loads(f["parsnn"].attrs["run"])
        assert run["segment_from_ms"] == T_CKPT
        assert run["segments"] == [{"from_ms": 0.0, "to_ms": T_CKPT, "num_ranks": 1, "partition": "round_robin",
                                    "threads": 1}]
    sim.run(T_END - T_CKPT)
    sim.finish()
    complete, spikes, report, times = _content(target)
    ref = _content(files / "full.h5")
    assert complete and ref[0]
    assert spikes.keys() == ref[1].keys() and report.keys() == ref[2].keys()
    for p in spikes:
        assert np.array_equal(spikes[p][0], ref[1][p][0]) and np.array_equal(spikes[p][1], ref[1][p][1]), p
    for p in report:
        assert np.array_equal(report[p], ref[2][p]) and np.array_equal(times[p], ref[3][p]), p


def _reopen(path, **kw):
    args = dict(step=600, resolution=0.1, seed=SEED, layout=None)     # refused before the layout is used
    args.update(kw)
    return reopen(str(path), description=args.pop("description"), **args)


def test_other_seed_refused(files, mixed_network):
    with pytest.raises(ParameterError, match="not the output of this run: seed"):
        _reopen(files / "cut.h5", seed=SEED + 1, description=mixed_network().describe())


def test_other_network_refused(files, populations):
    with pytest.raises(ParameterError, match="network description differs"):
        _reopen(files / "cut.h5", description=populations(3).describe())


def test_gap_before_the_checkpoint_refused(files, mixed_network):
    with pytest.raises(ParameterError, match=r"holds data up to 90 ms, before the checkpoint \(100 ms\)"):
        _reopen(files / "cut.h5", step=1000, description=mixed_network().describe())


def test_not_a_run_file_refused(files, mixed_network):
    with pytest.raises(ParameterError, match="not a parsnn run file"):
        _reopen(files / "c.h5", description=mixed_network().describe())
