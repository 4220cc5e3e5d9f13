"""Scaling sweeps: planning, Slurm/PBS job scripts, local runs and result collection."""
import os
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


@pytest.mark.parametrize("scheduler,ext", [("slurm", ".sbatch"), ("pbs", ".pbs")])
def test_jobscripts_are_valid_bash_and_dry_run_prints_the_launch(tmp_path, scheduler, ext):
    runs = plan("strong", "brunel", [1, 4, 256], 0.1)
    paths = write_jobscripts(runs, str(tmp_path / "sweep"), scheduler, ranks_per_node=128, threads=1,
                             partition="block", t_sim=1000.0, seed=3)
    assert [os.path.basename(p) for p in paths] == [f"strong_brunel_P{p}{ext}" for p in (1, 4, 256)]
    text = open(paths[-1]).read()
    assert "@" not in text.replace("%j", "")
    if scheduler == "slurm":
        assert "#SBATCH --nodes=2" in text and "#SBATCH --ntasks-per-node=128" in text
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
        launch = out.stdout.strip().splitlines()[-1]
        assert launch.startswith("srun" if scheduler == "slurm" else "mpiexec")
        assert "python -m parsnn run brunel --scale 0.1 --partition block --t-sim 1000 --seed 3" in launch


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

