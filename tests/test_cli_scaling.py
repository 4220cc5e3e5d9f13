"""`parsnn scaling` on the command line (parsnn.cli.scaling): job scripts, an empty collect, bad ranks."""


def test_cli_writes_slurm_sweep_and_rejects_bad_ranks(tmp_path, capsys):
    from parsnn.cli import main
    out = tmp_path / "s"
    assert main(["scaling", "weak", "--model", "multicolumn", "--size", "4", "--ranks", "1,4,16", "--slurm",
                 "--out-dir", str(out), "--t-sim", "500"]) == 0
    scripts = sorted(p.name for p in out.glob("*.sbatch"))
    assert scripts == ["weak_multicolumn_P1.sbatch", "weak_multicolumn_P16.sbatch", "weak_multicolumn_P4.sbatch"]
    assert "run multicolumn --grid 8 " in (out / "weak_multicolumn_P16.sbatch").read_text()   # 64 columns
    assert main(["scaling", "collect", "--out-dir", str(out)]) == 0        # nothing finished yet: empty table
    assert "0 runs" in capsys.readouterr().out
    assert not (out / "scaling.png").exists()
    assert main(["scaling", "strong", "--ranks", "0,2", "--out-dir", str(out)]) == 2
    assert "--ranks must be" in capsys.readouterr().err
    assert main(["scaling", "strong", "--threads", "0", "--out-dir", str(out)]) == 2
    assert "--threads must be" in capsys.readouterr().err


def test_cli_sweeps_threads_in_job_scripts(tmp_path):
    from parsnn.cli import main
    out = tmp_path / "t"
    assert main(["scaling", "strong", "--model", "pd14", "--size", "0.1", "--ranks", "1,2", "--threads", "1,2",
                 "--slurm", "--out-dir", str(out)]) == 0
    scripts = sorted(p.name for p in out.glob("*.sbatch"))
    assert scripts == ["strong_pd14_P1T1.sbatch", "strong_pd14_P1T2.sbatch", "strong_pd14_P2T1.sbatch",
                       "strong_pd14_P2T2.sbatch"]
    text = (out / "strong_pd14_P2T2.sbatch").read_text()
    assert "--threads 2" in text and "--cpus-per-task=2" in text
    assert "--threads 1" in (out / "strong_pd14_P2T1.sbatch").read_text()


def test_results_table_has_the_sweep_layout():
    from parsnn.cli.scaling import RESULT_COLUMNS
    from parsnn.tables import format_table
    rows = [dict(ranks=128, threads=2, oversubscribed=True, num_neurons=12345, num_synapses=123456789, build_seconds=1.234,
                 simulate_seconds=22.5, rtf=0.1234, timer_update=1.1, timer_deliver=2.2, timer_exchange=0.01)]
    header, rule, line = format_table(RESULT_COLUMNS, rows).split("\n")
    assert header == "ranks thr   neurons     synapses  build s    sim s      RTF  update deliver    exch pred. RTF"
    assert line == " 128*   2    12,345  123,456,789     1.23    22.50    0.123    1.10    2.20    0.01         -"


def test_local_sweep_over_existing_run_files_is_refused(tmp_path, capsys):
    from parsnn.cli import main
    from parsnn.scaling import plan
    runs = plan("strong", "brunel", [1, 2], 0.01)
    existing = tmp_path / f"{runs[1].name}.h5"
    existing.write_bytes(b"old")
    assert main(["scaling", "strong", "--ranks", "1,2", "--size", "0.01", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"run file(s) of this sweep already exist: {existing}; pass --overwrite to replace them" in err
    assert existing.read_bytes() == b"old" and not (tmp_path / f"{runs[0].name}.h5").exists()


def test_local_sweep_passes_overwrite_on(tmp_path):
    from parsnn.scaling import plan, run_local
    fake = tmp_path / "mpiexec"
    fake.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
    fake.chmod(0o755)
    runs = plan("strong", "brunel", [1], 0.01)
    (tmp_path / f"{runs[0].name}.h5").write_bytes(b"old")
    run_local(runs, str(tmp_path), "round_robin", 10.0, 1, mpiexec=str(fake), log=lambda *a: None, overwrite=True)
    assert (tmp_path / "calls").read_text().rstrip().endswith("--overwrite")
