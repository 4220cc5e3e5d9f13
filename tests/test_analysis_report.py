"""parsnn.analysis.report: `parsnn analyze` writes figures and JSON, refuses incomplete runs."""
import json

from parsnn import analysis


def test_cli_analyze_writes_figures_and_json(two_pop_run, tmp_path, capsys, write_nest_dir):
    from parsnn import cli
    path, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "nest"), pops, {"E": 1, "I": 41})
    out = tmp_path / "out"
    assert cli.main(["analyze", path, "--compare", d, "--out-dir", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["comparison"]["ks"]["E"] == {"rate": 0.0, "cv": 0.0, "cc": 0.0}
    for fn in ("raster.png", "rates_boxplot.png", "distributions.png", "population_rate.png",
               "ks_distances.png", "summary.json", "comparison.json", "stats.npz"):
        assert (out / fn).stat().st_size > 0, fn
    with open(out / "summary.json") as f:
        assert json.load(f)["populations"]["I"]["size"] == 10


def test_cli_analyze_refuses_incomplete(two_pop_run, tmp_path, capsys, write_run):
    _, pops = two_pop_run
    bad = write_run(str(tmp_path / "bad.h5"), pops, complete=False)
    from parsnn import cli
    assert cli.main(["analyze", bad, "--no-figures"]) == 1
    assert "incomplete run" in capsys.readouterr().err
    assert analysis.main([bad, "--no-figures", "--force", "--out-dir", str(tmp_path / "o")]) == 0
