"""``parsnn run --checkpoint`` and ``parsnn resume`` end to end under mpiexec: a run stopped at T/2
on P ranks and resumed on P' ranks writes the spikes (and V_m) of the uninterrupted run after T/2,
bit for bit; bad checkpoints and options are refused with exit status 2 and one message."""
import h5py
import numpy as np
import pytest

CASES = {
    "pd14": (["pd14", "--n-scaling", "0.02", "--bg", "poisson"], 200.0),
    "brunel": (["brunel", "--regime", "A", "--scale", "0.1", "--record-v", "2"], 100.0),
    "multicolumn": (["multicolumn", "--grid", "2", "--column-scaling", "0.005"], 100.0),
}
RANKS = [(1, 2), (2, 3), (3, 1)]
COMMON = ["--seed", "9", "--no-progress"]


def _output(path):
    """{population: (timestamps, node_ids)} and {population: (times, V_m)} of a complete run file."""
    with h5py.File(path, "r") as f:
        assert f["parsnn"].attrs["complete"]
        spikes = {name: (g["timestamps"][:], g["node_ids"][:]) for name, g in f["spikes"].items()}
        report = {}
        for name, g in f.get("report", {}).items():
            start, stop, step = g["mapping/time"][:]
            report[name] = (np.arange(start, stop - step / 2, step), g["data"][:])
    return spikes, report


@pytest.fixture(scope="module")
def full_runs(run_cli, tmp_path_factory):
    """The uninterrupted one-rank run of every case (its output file)."""
    folder = tmp_path_factory.mktemp("full")
    paths = {}
    for model, (args, t_end) in CASES.items():
        paths[model] = str(folder / f"{model}.h5")
        run_cli(1, [*args, *COMMON, "--t-sim", t_end, "--out", paths[model]])
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("ranks", RANKS, ids=lambda r: f"{r[0]}to{r[1]}")
@pytest.mark.parametrize("model", list(CASES))
def test_resume_on_another_rank_count(model, ranks, run_cli, full_runs, tmp_path):
    args, t_end = CASES[model]
    t_ckpt = t_end / 2
    ckpt, out = str(tmp_path / "c.h5"), str(tmp_path / "resumed.h5")
    first = run_cli(ranks[0], [*args, *COMMON, "--t-sim", t_ckpt, "--checkpoint", ckpt])
    assert f"checkpoints: 1 written to {ckpt}" in first.stdout
    second = run_cli(ranks[1], [ckpt, "--t-sim", t_end, "--out", out, "--no-progress"], command="resume")
    assert f"resumed from {ckpt} at {t_ckpt:g} ms" in second.stderr
    ref_spikes, ref_report = _output(full_runs[model])
    got_spikes, got_report = _output(out)
    assert set(ref_spikes) == set(got_spikes)
    assert sum(np.count_nonzero(t > t_ckpt) for t, _ in ref_spikes.values()) > 50
    for name, (times, ids) in ref_spikes.items():
        after = times > t_ckpt
        assert np.array_equal(times[after], got_spikes[name][0]), name
        assert np.array_equal(ids[after], got_spikes[name][1]), name
    assert set(ref_report) == set(got_report)
    for name, (times, values) in ref_report.items():
        after = times > t_ckpt
        assert np.array_equal(values[after], got_report[name][1]), name
    with h5py.File(out, "r") as f:
        assert f["parsnn"].attrs["t_sim"] == t_end


@pytest.fixture(scope="module")
def brunel_checkpoint(run_cli, tmp_path_factory):
    """A one-rank Brunel checkpoint at 50 ms."""
    path = str(tmp_path_factory.mktemp("ckpt") / "brunel.ckpt.h5")
    run_cli(1, [*CASES["brunel"][0], *COMMON, "--t-sim", 50, "--checkpoint", path])
    return path


def _refused(run_cli, args, message, command="resume"):
    """The command fails with status 2 and ``message`` printed once."""
    proc = run_cli(2, args, check=False, command=command)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count(message) == 1, proc.stderr


def test_truncated_checkpoint_refused(run_cli, brunel_checkpoint, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(open(brunel_checkpoint, "rb").read()[:3000])
    _refused(run_cli, [str(bad), "--t-sim", 100], f"checkpoint '{bad}' is truncated, corrupted")


def test_resume_before_the_checkpoint_refused(run_cli, brunel_checkpoint):
    _refused(run_cli, [brunel_checkpoint, "--t-sim", 40], "--t-sim (40 ms) must be after the checkpoint time (50 ms)")


def test_checkpoint_interval_must_fit_the_min_delay(run_cli, tmp_path):
    _refused(run_cli, [*CASES["brunel"][0], *COMMON, "--t-sim", 10, "--checkpoint", str(tmp_path / "c.h5"),
                       "--checkpoint-every", 1.0], "multiple of the min delay (1.5 ms), got 1.0 ms", command="run")


def test_checkpoint_every_needs_a_path(run_cli):
    _refused(run_cli, [*CASES["brunel"][0], *COMMON, "--t-sim", 10, "--checkpoint-every", 3.0],
             "--checkpoint-every needs --checkpoint PATH", command="run")


@pytest.mark.slow
def test_resume_a_resumed_run(run_cli, full_runs, brunel_checkpoint, tmp_path):
    """A checkpoint written by ``parsnn resume`` continues like one written by ``parsnn run``."""
    second, out = str(tmp_path / "second.h5"), str(tmp_path / "out.h5")
    run_cli(2, [brunel_checkpoint, "--t-sim", 75, "--checkpoint", second, "--no-progress"], command="resume")
    run_cli(3, [second, "--t-sim", 100, "--out", out, "--no-progress"], command="resume")
    ref, _ = _output(full_runs["brunel"])
    got, _ = _output(out)
    for name, (times, ids) in ref.items():
        assert np.array_equal(times[times > 75], got[name][0]), name
        assert np.array_equal(ids[times > 75], got[name][1]), name


def test_existing_checkpoint_not_replaced(run_cli, brunel_checkpoint, tmp_path):
    """``run --checkpoint`` refuses an existing file; ``resume`` may continue into its own checkpoint."""
    _refused(run_cli, [*CASES["brunel"][0], *COMMON, "--t-sim", 10, "--checkpoint", brunel_checkpoint],
             f"--checkpoint: '{brunel_checkpoint}' already exists; pass --overwrite to replace it", command="run")
    own = tmp_path / "own.h5"
    own.write_bytes(open(brunel_checkpoint, "rb").read())
    run_cli(2, [str(own), "--t-sim", 60, "--checkpoint", str(own), "--no-progress"], command="resume")
    with h5py.File(own, "r") as f:
        assert f["checkpoint"].attrs["step"] == 600


def test_append_needs_an_output_file(run_cli, brunel_checkpoint):
    _refused(run_cli, [brunel_checkpoint, "--t-sim", 60, "--append"],
             f"--append: the run of checkpoint '{brunel_checkpoint}' wrote no output file; name the file to "
             "continue with --out")


def test_append_to_another_run_refused(run_cli, brunel_checkpoint, tmp_path):
    other = str(tmp_path / "other.h5")
    run_cli(1, [*CASES["brunel"][0], "--seed", "10", "--no-progress", "--t-sim", 60, "--out", other])
    _refused(run_cli, [brunel_checkpoint, "--t-sim", 60, "--append", "--out", other],
             f"--append: run file '{other}' is not the output of this run: seed: file 10, checkpoint 9")
    with h5py.File(other, "r") as f:                      # left as it was
        assert f["parsnn"].attrs["complete"] and f["parsnn"].attrs["t_sim"] == 60


def test_default_signal_checkpoint_must_not_exist(run_cli, tmp_path):
    out = tmp_path / "run.h5"
    (tmp_path / "run.ckpt.h5").write_text("")
    _refused(run_cli, [*CASES["brunel"][0], *COMMON, "--t-sim", 10, "--out", str(out)],
             f"'{tmp_path / 'run.ckpt.h5'}' already exists; pass --overwrite to replace it", command="run")


# realisation v1: the network whose activity the test below describes (silent 5-50 ms, a burst at 55-60 ms)
HPC = ["hpc_benchmark", "--scale", "0.02", "--seed", "3", "--realisation", "v1", "--no-progress"]


def _same_weights(a, b):
    """Two (source ids, target ids, weights) triples are equal bit for bit."""
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_resume_records_weights(run_cli, tmp_path):
    """``resume --record-weights [--record-weights-every]`` on other layouts (1 x 2 under the owner rule
    "split", and 2 x 2 ranks x threads) continues the weight snapshots of the uninterrupted 1 x 1 run bit for bit: into a new
    file, or with --append into the interrupted run's /weights (a second --append from the same
    checkpoint first drops the snapshots after it). The network is silent from 5 to 50 ms and bursts
    at 55-60 ms."""
    from parsnn.runfile.reader import RunFile
    full, part, new, ckpt = (str(tmp_path / f) for f in ("full.h5", "part.h5", "new.h5", "c.h5"))
    every = ["--record-weights", "--record-weights-every", 20]
    run_cli(1, [*HPC, "--t-sim", 70, "--out", full, *every])
    run_cli(1, [*HPC, "--t-sim", 50, "--out", part, *every, "--checkpoint", ckpt])
    run_cli(1, [ckpt, "--t-sim", 70, "--out", new, "--record-weights", "--threads", 2, "--thread-owners", "split",
                "--no-progress"], command="resume")
    with RunFile(full) as a, RunFile(new) as c:
        assert (a.run_info["thread_owners"], c.run_info["thread_owners"]) == ("mixed", "split")
        assert a.weight_times()["E-E"].tolist() == [20.0, 40.0, 60.0, 70.0]
        assert c.weight_times()["E-E"].tolist() == [70.0]
        assert _same_weights(a.weights()["E-E"], c.weights()["E-E"])
        assert not np.array_equal(a.weights(1)["E-E"][2], a.weights()["E-E"][2])     # the weights moved after 50 ms
        sa, sc = a.spikes(), c.spikes()
        for name, (t, i) in sa.items():
            assert np.array_equal(t[t > 50], sc[name][0]) and np.array_equal(i[t > 50], sc[name][1]), name
    for ranks in (1, 2):      # the second --append replaces the snapshots the first wrote after 50 ms
        run_cli(ranks, [ckpt, "--t-sim", 70, "--append", *every, "--threads", 2, "--no-progress"], command="resume")
        with RunFile(full) as a, RunFile(part) as b:
            assert b.weight_times()["E-E"].tolist() == [20.0, 40.0, 50.0, 60.0, 70.0]
            for i, j in [(0, 0), (1, 1), (2, 3), (3, 4)]:
                assert _same_weights(a.weights(i)["E-E"], b.weights(j)["E-E"]), (ranks, i)
            sa, sb = a.spikes(), b.spikes()
            for name in sa:
                assert np.array_equal(sa[name][0], sb[name][0]) and np.array_equal(sa[name][1], sb[name][1])


def test_resume_record_weights_every_needs_record_weights(run_cli, brunel_checkpoint):
    _refused(run_cli, [brunel_checkpoint, "--t-sim", 60, "--record-weights-every", 5],
             "--record-weights-every needs --record-weights")
    _refused(run_cli, [brunel_checkpoint, "--t-sim", 60, "--record-weights"],
             "--record-weights: model brunel has no plastic projections")


def test_resume_keeps_the_realisation_of_the_checkpoint(run_cli, tmp_path):
    """A run built by v1 resumes under v1 (the stored option), not under the default: its spikes after
    the checkpoint are those of the uninterrupted v1 run, and both run files say v1."""
    args, ckpt = [*CASES["brunel"][0], *COMMON, "--realisation", "v1"], str(tmp_path / "c.h5")
    full, part = str(tmp_path / "full.h5"), str(tmp_path / "part.h5")
    run_cli(1, [*args, "--t-sim", 100, "--out", full])
    run_cli(1, [*args, "--t-sim", 50, "--checkpoint", ckpt])
    run_cli(2, [ckpt, "--t-sim", 100, "--out", part], command="resume")
    (sa, _), (sb, _) = _output(full), _output(part)
    assert sum(np.count_nonzero(t > 50.0) for t, _ in sa.values()) > 50
    for name, (t, ids) in sa.items():
        after = t > 50.0
        assert np.array_equal(t[after], sb[name][0]) and np.array_equal(ids[after], sb[name][1]), name
    for path in (full, part):
        with h5py.File(path, "r") as f:
            assert f["parsnn"].attrs["realisation"] == "v1"


def test_unknown_realisation_refused(run_cli):
    _refused(run_cli, [*CASES["brunel"][0], *COMMON, "--t-sim", 10, "--realisation", "v3"],
             "argument --realisation: invalid choice: 'v3'", command="run")
