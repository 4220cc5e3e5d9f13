"""Scaling sweeps: planning, Slurm/PBS job scripts, local runs and result collection."""
import os
import re
import stat
import subprocess
import sys

import pytest

from parsnn.errors import ParameterError
from parsnn.scaling import collect, parse_ranks, plan, run_local, write_jobscripts



def test_plan_strong_and_weak():
    strong = plan("strong", "brunel", [1, 2, 4], 0.1, cores=2)
    assert [r.model_args for r in strong] == [["brunel", "--scale", "0.1"]] * 3
    assert [r.oversubscribed for r in strong] == [False, False, True]
    weak = plan("weak", "pd14", [1, 2, 4], 0.05, cores=2)
    assert [r.model_args[2] for r in weak] == ["0.05", "0.1", "0.2"]
    with pytest.raises(ParameterError, match="n_scaling = size x ranks <= 1"):
        plan("weak", "pd14", [1, 32], 0.05)
    with pytest.raises(ParameterError, match="'strong' or 'weak'"):
        plan("medium", "pd14", [1], 0.1)
    with pytest.raises(ParameterError, match="--model"):
        plan("strong", "nest", [1], 0.1)
    assert parse_ranks("4,1,2,2") == [1, 2, 4]
    for bad in ("0,1", "a,b", ""):
        with pytest.raises(ParameterError, match="--ranks"):
            parse_ranks(bad)


def test_plan_sweeps_threads_with_ranks():
    from parsnn.scaling import parse_threads
    runs = plan("strong", "brunel", [1, 2], 0.1, cores=2, threads=[1, 2])
    assert [(r.name, r.ranks, r.threads, r.oversubscribed) for r in runs] == [
        ("strong_brunel_P1T1", 1, 1, False), ("strong_brunel_P1T2", 1, 2, False),
        ("strong_brunel_P2T1", 2, 1, False), ("strong_brunel_P2T2", 2, 2, True)]
    assert [r.name for r in plan("strong", "brunel", [1], 0.1)] == ["strong_brunel_P1"]
    assert parse_threads("2,1,2") == [1, 2] and parse_threads(4) == [4]
    for bad in ("0", "x", ""):
        with pytest.raises(ParameterError, match="--threads"):
            parse_threads(bad)


@pytest.mark.parametrize("scheduler,ext", [("slurm", ".sbatch"), ("pbs", ".pbs")])
def test_jobscripts_are_valid_bash_and_dry_run_prints_the_launch(tmp_path, scheduler, ext):
    runs = plan("strong", "brunel", [1, 4, 256], 0.1)
    paths = write_jobscripts(runs, str(tmp_path / "sweep"), scheduler, ranks_per_node=128, threads=1,
                             partition="block", t_sim=1000.0, seed=3)
    assert [os.path.basename(p) for p in paths] == [f"strong_brunel_P{p}{ext}" for p in (1, 4, 256)]
    text = open(paths[-1]).read()
    assert not re.findall(r"@[A-Z_]+@", text)
    if scheduler == "slurm":
        assert "#SBATCH --nodes=2" in text and "#SBATCH --ntasks-per-node=128" in text
        assert "#SBATCH --signal=B:USR1@120" in text
    else:
        assert "select=2:ncpus=128:mpiprocs=128" in text
    submit = (tmp_path / "sweep" / "submit_all.sh").read_text()
    submit_cmd = "sbatch" if scheduler == "slurm" else "qsub"
    assert [ln.split()[0] for ln in submit.splitlines() if ln.endswith(ext)] == [submit_cmd] * 3
    # syntax check, then a dry run with fake launchers that print what they would start
    fake = tmp_path / "bin"
    fake.mkdir()
    for launcher in ("srun", "mpiexec"):
        f = fake / launcher
        f.write_text(f'#!/bin/bash\necho "{launcher} $*"\n')
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    for p in paths:
        assert subprocess.run(["bash", "-n", p]).returncode == 0
        env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", PBS_O_WORKDIR=str(tmp_path))
        out = subprocess.run(["bash", p], capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        launcher = "srun" if scheduler == "slurm" else "mpiexec"
        launch = [ln for ln in out.stdout.splitlines() if ln.startswith(launcher)][-1]
        assert "python -m parsnn run brunel --scale 0.1 --partition block --t-sim 1000 --seed 3 --no-record" in launch


@pytest.mark.slow
def test_local_sweep_collect_and_plot(tmp_path, load_script):
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        pytest.skip("no mpiexec next to the Python interpreter")
    runs = plan("weak", "brunel", [1, 2], 0.02, cores=1)
    run_local(runs, str(tmp_path), "round_robin", 60.0, 1, log=lambda *a: None)
    rows = collect(str(tmp_path), "epyc_zen5_kvm_2core_2026_11_22")
    assert [r["ranks"] for r in rows] == [1, 2]
    assert [r["oversubscribed"] for r in rows] == [False, True]
    assert rows[1]["num_neurons"] == 2 * rows[0]["num_neurons"]          # weak: work per rank fixed
    for r in rows:
        assert r["t_sim_ms"] == 60.0 and r["rtf"] > 0 and r["build_seconds"] > 0
        assert r["time_to_solution"] == pytest.approx(r["build_seconds"] + r["simulate_seconds"])
    assert rows[0]["remote_deliveries"] == 0 < rows[1]["remote_deliveries"]
    # the cost model's prediction for each run (this machine): its own description and partition map
    for r in rows:
        assert r["predicted_machine"] == "epyc_zen5_kvm_2core_2026_11_22" and "predicted_error" not in r
        assert r["predicted_machine_match"] in ("other machine", "this machine") and r["predicted_rtf_range"] is None
        # rates from the engine's spike counts: the predicted synaptic events are the run's
        assert r["predicted_rates_from"] == "spike_counts"
        assert r["predicted_synaptic_events"] == pytest.approx(r["synaptic_events"], rel=0.05)
        assert r["predicted_rtf"] > 0 and all(r[f"predicted_timer_{ph}"] >= 0 for ph in ("update", "deliver"))
    # weak scaling: the same neurons per rank, so the same predicted update time; no exchange on 1 rank
    assert rows[1]["predicted_timer_update"] == pytest.approx(rows[0]["predicted_timer_update"], rel=1e-9)
    assert rows[0]["predicted_timer_exchange"] < rows[1]["predicted_timer_exchange"]
    assert collect(str(tmp_path), None)[0].get("predicted_rtf") is None
    with pytest.raises(ParameterError):
        collect(str(tmp_path), "no_such_machine")
    scaling_plots = load_script("analysis/scaling_plots.py")
    assert scaling_plots.main([str(tmp_path)]) == 0
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
    assert (tmp_path / "results.json").exists()



# ------------------------------------------------------- job scripts: continuing across allocations

def _fake(folder, name, body):
    """An executable ``folder/name`` running the bash ``body``."""
    folder.mkdir(exist_ok=True)
    f = folder / name
    f.write_text("#!/bin/bash\n" + body + "\n")
    f.chmod(f.stat().st_mode | stat.S_IEXEC)
    return f


def _script(tmp_path, scheduler, **kw):
    runs = plan("strong", "brunel", [2], 0.05)
    args = dict(ranks_per_node=2, threads=1, partition="round_robin", t_sim=2000.0, seed=9)
    args.update(kw)
    return write_jobscripts(runs, str(tmp_path / "sweep"), scheduler, **args)[0]


def test_jobscripts_wire_the_signal_path(tmp_path):
    slurm = open(_script(tmp_path, "slurm", signal_lead=300)).read()
    for line in ("#SBATCH --signal=B:USR1@300", "#SBATCH --requeue", "trap 'kill -USR1 \"$step\" 2>/dev/null' USR1",
                 'scontrol requeue "${SLURM_JOB_ID}"', "EXIT_STOPPED=3"):
        assert line in slurm
    pbs_path = _script(tmp_path, "pbs", signal_lead=300)
    pbs = open(pbs_path).read()
    for line in ("#PBS -r y", "LEAD=300", 'qsub "$SCRIPT"', f"SCRIPT={os.path.abspath(pbs_path)}"):
        assert line in pbs
    for text in (slurm, pbs):
        assert '--append --checkpoint "$CKPT"' in text and '--checkpoint "$CKPT" --no-progress' in text
    with pytest.raises(ParameterError, match="--signal-lead"):
        _script(tmp_path, "slurm", signal_lead=-1)


def test_pbs_script_signals_itself_before_the_walltime_and_resubmits(tmp_path):
    """A fake mpiexec that exits with parsnn's status 3 on USR1: the script's timer (1 s before the
    walltime's end minus the lead) sends it, the script submits itself again; with a checkpoint
    present the next job resumes."""
    path = _script(tmp_path, "pbs", walltime="00:02:01", signal_lead=120)
    fake = tmp_path / "bin"
    log = tmp_path / "calls.txt"
    _fake(fake, "mpiexec", f'echo "mpiexec $*" >> {log}\ntrap \'echo "got USR1" >> {log}; exit 3\' USR1\n'
                           'for i in $(seq 300); do sleep 0.1; done\nexit 0')
    _fake(fake, "qsub", f'echo "qsub $*" >> {log}')
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", PBS_O_WORKDIR=str(tmp_path))
    proc = subprocess.run(["bash", path], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 3, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("mpiexec -n 2 python -m parsnn run brunel") and "--overwrite" in calls[0]
    assert calls[1:] == ["got USR1", f"qsub {os.path.abspath(path)}"]
    ckpt = tmp_path / "sweep" / "strong_brunel_P2.ckpt.h5"
    ckpt.write_text("")
    log.write_text("")
    _fake(fake, "mpiexec", f'echo "mpiexec $*" >> {log}')
    proc = subprocess.run(["bash", path], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0
    assert log.read_text().splitlines() == [
        f"mpiexec -n 2 python -m parsnn resume {ckpt} --t-sim 2000 --append --checkpoint {ckpt} "
        "--partition round_robin --no-progress --threads 1"]


@pytest.mark.slow
def test_local_sweep_over_threads_collects_and_predicts_each_layout(tmp_path):
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "mpiexec")):
        pytest.skip("no mpiexec next to the Python interpreter")
    runs = plan("strong", "brunel", [1], 0.4, cores=2, threads=[1, 2])     # 5,000 neurons: threads share work
    run_local(runs, str(tmp_path), "round_robin", 60.0, 1, log=lambda *a: None)
    rows = collect(str(tmp_path), "jureca_dc")
    assert [(r["name"], r["ranks"], r["threads"]) for r in rows] == [("strong_brunel_P1T1", 1, 1),
                                                                     ("strong_brunel_P1T2", 1, 2)]
    assert all("predicted_error" not in r and r["predicted_rtf"] > 0 for r in rows)
    # the same network and rates on 1 rank: the run with two threads is predicted for two threads
    from parsnn.mapping import cluster
    inp = cluster.run_inputs(str(tmp_path / "strong_brunel_P1T2.h5"))
    p = cluster.predict(inp["connectivity"], 1, "jureca_dc", inp["rank_of"], rates=inp["rates"], t_sim_ms=60.0,
                        threads=2)
    assert rows[1]["predicted_rtf"] == pytest.approx(p["rtf"]) and rows[1]["predicted_rtf"] != rows[0]["predicted_rtf"]


@pytest.mark.slow
def test_slurm_script_requeues_and_the_next_allocation_appends(tmp_path, run_cli):
    """The generated Slurm script under a fake srun (the venv's mpiexec on 2 ranks) and a fake
    scontrol: USR1 to the batch shell (as --signal=B:USR1 sends it) stops the run with status 3 and
    a requeue; the script's second execution (the requeued job) appends to the output file, which
    then equals an uninterrupted run's."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    # 10 s of model time: long enough that the signal comes while it runs (2 s took 0.24 s on a fast machine
    # with the prefetch distance cached by an earlier test, and the stop then came after the run's end)
    path = _script(tmp_path, "slurm", options=("--no-progress", "--flush-every", "100"), run_options=("--record-v", "2"),
                   t_sim=10000.0)
    fake = tmp_path / "bin"
    log = tmp_path / "scontrol.txt"
    _fake(fake, "srun", f'shift\nexec {mpiexec} -n 2 "$@"')          # drop --cpu-bind=cores
    _fake(fake, "scontrol", f'echo "scontrol $*" >> {log}')
    env = dict(os.environ, PATH=f"{fake}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
               SLURM_JOB_ID="4242")
    err = tmp_path / "job.err"
    job = subprocess.Popen(["bash", path], stdout=subprocess.PIPE, stderr=open(err, "w"), text=True, env=env)
    import time
    deadline = time.time() + 120
    while "built" not in err.read_text():
        assert job.poll() is None and time.time() < deadline, err.read_text()
        time.sleep(0.1)
    time.sleep(0.1)
    job.send_signal(10)                                                 # SIGUSR1
    out, _ = job.communicate(timeout=120)
    assert job.returncode == 3, err.read_text()
    assert log.read_text() == "scontrol requeue 4242\n" and "requeueing job 4242" in out
    second = subprocess.run(["bash", path], capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stderr
    ref = str(tmp_path / "ref.h5")
    run_cli(2, ["brunel", "--scale", "0.05", "--record-v", "2", "--seed", "9", "--t-sim", 10000, "--out", ref,
                "--no-progress"])
    import h5py
    import numpy as np
    with h5py.File(tmp_path / "sweep" / "strong_brunel_P2.h5", "r") as got, h5py.File(ref, "r") as want:
        assert got["parsnn"].attrs["complete"]
        for name in ("spikes/E/timestamps", "spikes/E/node_ids", "spikes/I/node_ids", "report/E/data"):
            assert np.array_equal(got[name][:], want[name][:]), name


@pytest.mark.parametrize("scheduler", ["slurm", "pbs"])
def test_jobscripts_choose_the_mpi_wait_policy_explicitly(tmp_path, scheduler):
    """Generated scripts wait by busy poll on dedicated nodes (MPI_WAIT=poll, with the reason), pass it
    to parsnn run, and take another policy when asked; an unknown one is refused."""
    from parsnn.scaling import JOB_MPI_WAIT
    text = open(_script(tmp_path, scheduler)).read()
    assert JOB_MPI_WAIT == "poll" and "\nMPI_WAIT=poll\n" in text and "dedicated nodes" in text
    assert '--mpi-wait "$MPI_WAIT"' in text.split("set -- run", 1)[1].split("\n\n")[0]
    assert '--mpi-wait' not in text.split("set -- resume", 1)[1].split("\n")[0]     # resume keeps the stored one
    assert "\nMPI_WAIT=sleep\n" in open(_script(tmp_path / "b", scheduler, mpi_wait="sleep")).read()
    with pytest.raises(ParameterError, match="--mpi-wait must be one of poll, yield, sleep"):
        _script(tmp_path / "c", scheduler, mpi_wait="nap")
