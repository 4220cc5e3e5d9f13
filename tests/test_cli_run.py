"""``parsnn run`` end to end, in subprocesses (mostly under ``mpiexec -n 2``).

What is demonstrated:

- bad input (model arguments, t_sim, output path, argparse usage errors) ends
  the job before anything is built with exit status 2 and the message printed
  exactly once (by rank 0), without a traceback;
- an exception on ONE rank during the build or the simulation -- while the
  other rank is already waiting in a collective -- ends the whole job promptly
  (MPI_Abort) with a non-zero status and the message printed once;
- a small run succeeds, prints the summary and writes a complete output file
  with the run and performance metadata; an interrupted run leaves a file
  marked incomplete.

Every subprocess runs with a timeout: a hang fails the test (and the process
group is killed) instead of blocking the test session.
"""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

BIN = os.path.dirname(sys.executable)
MPIEXEC = os.path.join(BIN, "mpiexec")
PARSNN_SCRIPT = os.path.join(BIN, "parsnn")
TIMEOUT = 60.0          # s per subprocess; only a hang comes near it

needs_mpiexec = pytest.mark.skipif(not os.path.exists(MPIEXEC), reason=f"no mpiexec next to {sys.executable}")

PD14_SMALL = ["pd14", "--n-scaling", "0.02", "--no-progress"]
PD14_POPS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _mpiexec_extra():
    """Open MPI refuses more ranks than cores unless told to oversubscribe."""
    try:
        out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ["--oversubscribe"] if re.search(r"Open MPI|OpenRTE|PRRTE", out.stdout + out.stderr) else []


_EXTRA = None


def mpi(n, *argv):
    global _EXTRA
    if _EXTRA is None:
        _EXTRA = _mpiexec_extra()
    return [MPIEXEC, *_EXTRA, "-n", str(n), *argv]


def parsnn_cmd():
    """The installed console script when present, else ``python -m parsnn``."""
    return [PARSNN_SCRIPT] if os.path.exists(PARSNN_SCRIPT) else [sys.executable, "-m", "parsnn"]


class Result:
    def __init__(self, rc, stdout, stderr, seconds):
        self.rc, self.stdout, self.stderr, self.seconds = rc, stdout, stderr, seconds

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return (f"exit {self.rc} after {self.seconds:.1f} s\n--- stdout ---\n{self.stdout}\n"
                f"--- stderr ---\n{self.stderr}")


def run(cmd, cwd=None, timeout=TIMEOUT) -> Result:
    """Run ``cmd`` in its own process group; a timeout (a hang) fails the test."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)     # the group of the process started here: mpiexec and its ranks
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        pytest.fail(f"hang: {' '.join(map(str, cmd))} did not finish within {timeout:g} s\n"
                    f"--- stdout ---\n{out}\n--- stderr ---\n{err}")
    return Result(proc.returncode, out, err, time.perf_counter() - t0)


def open_when_released(path, timeout=20.0):
    """Open an HDF5 file read-only once no killed rank holds its lock any more.

    mpiexec (MPICH hydra) may return from an aborted job a moment before the
    killed ranks are gone; until then HDF5's file lock is still held.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return h5py.File(path, "r")
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def assert_bad_input(r: Result, message: str):
    """Exit 2, ``message`` exactly once, one error line in total, no traceback, nothing built."""
    assert r.rc == 2, r
    assert r.output.count(message) == 1, r
    assert r.output.count("error:") == 1, r
    assert "Traceback" not in r.output, r
    assert "built" not in r.output and "summary" not in r.output, r


# ---------------------------------------------------------------------------
# bad input: exit 2, one message
# ---------------------------------------------------------------------------

@needs_mpiexec
def test_bad_n_scaling_reported_once():
    r = run(mpi(2, *parsnn_cmd(), "run", "pd14", "--n-scaling", "0", "--t-sim", "100", "--no-progress"))
    assert_bad_input(r, "parsnn: error: n_scaling must be a number in (0, 1], got 0.0")
    assert r.output.count("n_scaling") == 1, r
    assert r.stdout == "", r


@needs_mpiexec
def test_t_sim_not_a_multiple_of_the_resolution():
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--t-sim", "100.05"))
    assert_bad_input(r, "parsnn: error: t_sim = 100.05 ms must be a multiple of the resolution 0.1 ms")
    assert r.output.count("t_sim") == 1, r


@needs_mpiexec
def test_t_sim_not_a_multiple_of_a_coarser_resolution():
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--resolution", "0.3"))   # default t_sim 1000
    assert_bad_input(r, "t_sim = 1000.0 ms must be a multiple of the resolution 0.3 ms")


@needs_mpiexec
def test_output_directory_missing():
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--t-sim", "100", "--out", "/nonexistent/dir/x.h5"))
    assert_bad_input(r, "parsnn: error: --out: directory '/nonexistent/dir' does not exist")


@needs_mpiexec
def test_output_is_a_directory(tmp_path):
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--t-sim", "100", "--out", str(tmp_path)))
    assert_bad_input(r, f"parsnn: error: --out: '{tmp_path}' is a directory")


@needs_mpiexec
@pytest.mark.parametrize("argv, message", [
    (["run", "foo"], "argument model: invalid choice: 'foo'"),
    (["run", "pd14", "--partition", "bogus"], "argument --partition: invalid choice: 'bogus'"),
    (["run", "pd14", "--seed", "-1"], "--seed must be an integer in [0, 2^63), got -1"),
    (["run", "pd14", "--t-sim", "0"], "--t-sim must be > 0, got 0"),
    (["run", "pd14", "--warmup", "-5"], "--warmup must be >= 0, got -5"),
    (["run", "brunel", "--record-v", "-1"], "--record-v must be >= 0, got -1"),
    (["run", "pd14", "--bg", "foo"], "argument --bg: invalid choice: 'foo'"),
    (["run", "brunel", "--regime", "E"], "argument --regime: invalid choice: 'E'"),
    (["run", "brunel", "--mpi-wait", "nap"], "argument --mpi-wait: invalid choice: 'nap'"),
    (["run", "brunel", "--exchange", "ring"], "argument --exchange: invalid choice: 'ring'"),
    (["run", "brunel", "--mpi-wait-polls", "-1"], "--mpi-wait-polls must be >= 0, got -1"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_reported_once(argv, message):
    r = run(mpi(2, *parsnn_cmd(), *argv))
    assert r.rc == 2, r
    assert r.output.count(message) == 1, r
    assert r.output.count("usage:") == 1, r
    assert r.output.count("error:") == 1, r
    assert "Traceback" not in r.output, r


def test_serial_bad_input():
    r = run([sys.executable, "-m", "parsnn", "run", "brunel", "--scale", "0", "--no-progress"])
    assert_bad_input(r, "parsnn: error: scale must be a finite number > 0, got 0.0")


# ---------------------------------------------------------------------------
# a failure on one rank ends the whole job
# ---------------------------------------------------------------------------

DRIVER = textwrap.dedent('''\
    """Test driver: raise on one rank in one phase of `parsnn run`; the other
    rank carries on into the collectives and would wait forever without MPI_Abort."""
    import sys

    from mpi4py import MPI

    import parsnn.cli
    from parsnn.engine import Simulation

    PHASE, FAIL_RANK = sys.argv[1], int(sys.argv[2])
    rank = MPI.COMM_WORLD.Get_rank()
    original_build, original_run = Simulation.build, Simulation.run

    def build(self):
        if PHASE == "build" and rank == FAIL_RANK:
            raise RuntimeError(f"injected failure in build on rank {rank}")
        return original_build(self)

    def run(self, t_sim):
        if PHASE == "run":
            original_run(self, 100.0)           # simulate (and write) the first 100 ms on every rank
            # rank 0 has written the first 100 ms once everyone is here (an abort can kill a rank mid-write)
            MPI.COMM_WORLD.Barrier()
            if rank == FAIL_RANK:
                raise RuntimeError(f"injected failure in run on rank {rank}")
            t_sim -= 100.0
        return original_run(self, t_sim)

    Simulation.build, Simulation.run = build, run
    sys.exit(parsnn.cli.main(sys.argv[3:]))
''')


def driver(tmp_path):
    path = tmp_path / "driver.py"
    path.write_text(DRIVER)
    return str(path)


def assert_aborted(r: Result, phase: str, rank: int):
    assert r.rc != 0 and r.rc != 2, r          # 2 would mean "bad input"; MPICH and Open MPI give 1
    assert r.output.count("injected failure") == 1, r
    assert f"parsnn: error on rank {rank} of 2: RuntimeError: injected failure in {phase} on rank {rank}" in r.stderr, r
    assert "Traceback" not in r.output, r
    assert "parsnn summary" not in r.stdout, r


@needs_mpiexec
@pytest.mark.parametrize("rank", [1, 0])
def test_rank_failing_in_build_ends_the_job(tmp_path, rank):
    r = run(mpi(2, sys.executable, driver(tmp_path), "build", str(rank),
                "run", "pd14", "--n-scaling", "0.02", "--t-sim", "100", "--no-progress"), cwd=tmp_path)
    assert_aborted(r, "build", rank)
    assert "built" not in r.output, r


@needs_mpiexec
@pytest.mark.parametrize("rank", [0, 1])
def test_rank_failing_in_simulation_ends_the_job(tmp_path, rank):
    r = run(mpi(2, sys.executable, driver(tmp_path), "run", str(rank),
                "run", "pd14", "--n-scaling", "0.02", "--t-sim", "200", "--no-progress"), cwd=tmp_path)
    assert_aborted(r, "run", rank)
    assert "built" in r.stderr, r              # the failure really happened after the build


@needs_mpiexec
def test_debug_prints_the_traceback_once(tmp_path):
    r = run(mpi(2, sys.executable, driver(tmp_path), "build", "1",
                "run", "pd14", "--n-scaling", "0.02", "--t-sim", "100", "--no-progress", "--debug"), cwd=tmp_path)
    assert r.rc not in (0, 2), r
    assert r.output.count("Traceback") == 1, r
    assert r.output.count("parsnn: error on rank 1 of 2") == 1, r


def test_serial_failure_in_simulation(tmp_path):
    r = run([sys.executable, driver(tmp_path), "run", "0",
             "run", "brunel", "--scale", "0.05", "--t-sim", "200", "--no-progress"], cwd=tmp_path)
    assert r.rc == 1, r
    assert r.output.count("injected failure") == 1, r
    assert "parsnn: error: RuntimeError: injected failure in run on rank 0" in r.stderr, r


@needs_mpiexec
@pytest.mark.parametrize("rank", [0, 1])
def test_interrupted_run_leaves_an_incomplete_file(tmp_path, rank):
    from parsnn.runfile import sonata
    out = tmp_path / "interrupted.h5"
    r = run(mpi(2, sys.executable, driver(tmp_path), "run", str(rank),
                "run", "pd14", "--n-scaling", "0.02", "--t-sim", "200", "--no-progress", "--seed", "7",
                "--partition", "block", "--out", str(out)), cwd=tmp_path)
    assert_aborted(r, "run", rank)
    assert out.exists(), r
    with open_when_released(out) as f:
        g = f["parsnn"]
        assert not g.attrs["complete"]
        assert g.attrs["num_ranks"] == 2 and g.attrs["seed"] == 7 and g.attrs["partition"] == "block"
        assert "performance" not in g
        # what was written before the failure is there and readable
        t = np.concatenate([f[f"spikes/{p}/timestamps"][:] for p in PD14_POPS])
        assert t.size > 0 and t.max() <= 100.0
    with pytest.raises(sonata.IncompleteRunError):
        sonata.open_run(out)


# ---------------------------------------------------------------------------
# successful runs
# ---------------------------------------------------------------------------

def _check_summary(stdout, pops, nranks):
    assert "== parsnn summary ==" in stdout
    m = re.search(r"mean firing rates, [\d.]+-[\d.]+ ms \(spikes/s\):\n(.*)\n", stdout)
    assert m, stdout
    rates = dict(re.findall(r"(\w+) (\d+\.\d+)", m.group(1)))
    assert set(rates) == set(pops), stdout
    assert all(float(v) > 0 for v in rates.values()), stdout
    assert re.search(rf"neurons [\d,]+  synapses [\d,]+  ranks {nranks}\n", stdout), stdout
    assert re.search(r"build time +\d+\.\d+ s", stdout), stdout
    assert re.search(r"real-time factor +\d+\.\d+", stdout), stdout
    gib = re.search(r"peak memory per rank: (.*) \(", stdout)
    assert gib and len(re.findall(r"\d+\.\d+ GiB", gib.group(1))) == nranks, stdout
    return int(re.search(r"synapses ([\d,]+)", stdout).group(1).replace(",", ""))


@needs_mpiexec
def test_small_pd14_run_writes_complete_output(tmp_path):
    out = tmp_path / "x.h5"
    r = run(mpi(2, *parsnn_cmd(), "run", "pd14", "--n-scaling", "0.02", "--t-sim", "200", "--out", str(out),
                "--no-progress"), cwd=tmp_path)
    assert r.rc == 0, r
    assert "error" not in r.stderr and "Traceback" not in r.output, r
    assert r.stderr.count("parsnn pd14: 1,544 nodes on 2 rank(s), partition round_robin, seed 55") == 1, r
    n_syn = _check_summary(r.stdout, PD14_POPS, 2)
    assert r.stdout.count("== parsnn summary ==") == 1, r
    with h5py.File(out, "r") as f:
        g = f["parsnn"]
        assert bool(g.attrs["complete"]) is True
        assert g.attrs["num_ranks"] == 2
        assert g.attrs["seed"] == 55
        assert g.attrs["partition"] == "round_robin"
        assert g.attrs["t_sim"] == 200.0
        p = g["performance"].attrs
        assert np.shape(p["build_seconds"]) == (2,) and np.all(p["build_seconds"] > 0)
        assert np.shape(p["simulate_seconds"]) == (2,) and np.all(p["simulate_seconds"] > 0)
        assert np.ndim(p["rtf"]) == 0 and p["rtf"] > 0
        assert np.shape(p["peak_rss_bytes"]) == (2,) and np.all(p["peak_rss_bytes"] > 0)
        assert p["num_synapses"] == n_syn == np.sum(p["num_local_synapses"])
        assert p["num_ranks"] == 2 and p["model_time_ms"] == 200.0
        np.testing.assert_array_equal(g["partition_map"][:], np.arange(1544) % 2)
        for pop in PD14_POPS:
            t = f[f"spikes/{pop}/timestamps"][:]
            assert t.size > 0 and t.max() <= 200.0


def test_serial_brunel_run():
    r = run([sys.executable, "-m", "parsnn", "run", "brunel", "--scale", "0.05", "--t-sim", "100", "--no-progress"])
    assert r.rc == 0, r
    assert "error" not in r.stderr and "Traceback" not in r.output, r
    _check_summary(r.stdout, ("E", "I"), 1)


@needs_mpiexec
def test_existing_output_is_refused_and_kept(tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"precious")
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--t-sim", "100", "--out", str(out)))
    assert_bad_input(r, f"parsnn: error: --out: '{out}' already exists; pass --overwrite to replace it")
    assert out.read_bytes() == b"precious"


@needs_mpiexec
def test_overwrite_replaces_existing_output(tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"old")
    r = run(mpi(2, *parsnn_cmd(), "run", *PD14_SMALL, "--t-sim", "50", "--out", str(out), "--overwrite"))
    assert r.rc == 0, r
    with h5py.File(out, "r") as f:
        assert f["parsnn"].attrs["complete"]
