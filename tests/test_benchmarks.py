"""Smoke tests of the benchmark harness plumbing (benchmarks/): no NEST, no timing assertions."""
import json
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def bench_pd14(load_script):
    """benchmarks/bench_pd14.py as a module."""
    return load_script("benchmarks/bench_pd14.py")


@pytest.fixture(scope="module")
def roofline(load_script):
    """benchmarks/roofline.py as a module."""
    return load_script("benchmarks/roofline.py")

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def _fake_run(bench_pd14, sim, rtf, build, rss, n_syn=298_880_968, n_neurons=77_169, t_ms=1000.0, **kw):
    r = {"simulator": sim, "ok": True, "version": "x", "processes": 2 if sim == "parsnn" else 1,
         "threads": 1 if sim == "parsnn" else 3, "ranks": 2 if sim == "parsnn" else 1, "n_scaling": 1.0,
         "num_neurons": n_neurons, "num_synapses": n_syn, "t_warmup_ms": 500.0, "t_sim_ms": t_ms,
         "build_seconds": build, "simulate_seconds": rtf * t_ms * 1e-3, "rtf": rtf,
         "peak_rss_bytes": [rss], "peak_rss_bytes_total": rss, "synaptic_events": int(9.7e8 * t_ms * 1e-3),
         "foreign_cores": 0.0, **kw}
    if sim == "parsnn":
        r["timers"] = {"timer_update": [1.0, 1.1], "timer_deliver": [3.0, 3.2], "timer_exchange": [0.4, 0.5],
                       "timer_record": [0.0, 0.0], "build_connect": [8.0, 8.1], "build_routes": [0.5, 0.6]}
    else:
        r["spikes_timed"] = int(2.5e5 * t_ms * 1e-3)
    return bench_pd14.finish_record(r)


def test_report_from_fake_results(tmp_path, bench_pd14):
    machine = {"cpu_model": "Test CPU", "cores": 2, "memory_bytes": 24 * 2**30, "mpich_wheel": "9.9",
               "compiler": "cc 1.0", "python": "3.11", "kernel": "6", "nest_version": "3.10.0"}
    for name, (p_rtf, n_rtf) in {"full": (6.0, 112.0), "quarter": (1.2, 18.7)}.items():
        runs = [_fake_run(bench_pd14, "parsnn", p_rtf, 12.0, int(3.2e9)), _fake_run(bench_pd14, "nest", n_rtf, 158.0, int(12.3e9)),
                _fake_run(bench_pd14, "parsnn", p_rtf * 1.1, 13.0, int(3.2e9)),
                {"simulator": "nest", "ok": False, "error": "boom", "threads": 3}]
        with open(tmp_path / f"pd14_{name}.json", "w") as f:
            json.dump({"config": name, "ranks": 2, "machine": machine, "runs": runs, "finished": "now"}, f)
    summary = bench_pd14.write_report(str(tmp_path))
    full = summary["configs"]["full"]
    assert full["parsnn"]["repeats"] == 2 and full["nest"]["repeats"] == 1
    assert full["speedup_rtf"] == pytest.approx(112.0 / 6.0)
    assert full["ratios"]["bytes_per_synapse"] == pytest.approx(3.2 / 12.3)
    met = {t["target"]: t["met"] for t in summary["targets"]}
    assert len(met) == 5 and all(met.values())
    md = (tmp_path / "summary.md").read_text()
    assert "Test CPU" in md and "parsnn / NEST" in md and "issue-3 target" in md and "18.7x faster" in md
    assert (tmp_path / "summary.png").stat().st_size > 1000
    assert json.loads((tmp_path / "summary.json").read_text())["configs"]["quarter"]["nest"]["rtf"] == 18.7


def test_nest_record_and_threads(bench_pd14):
    side = {"complete": True, "nest_version": "3.10.0", "threads": 3, "n_scaling": 1.0, "k_scaling": 1.0,
            "bg": "dc", "seed": 55, "populations": {"A": {"first_gid": 1, "size": 60}, "B": {"first_gid": 61, "size": 40}},
            "num_synapses": 10_000, "t_sim": 1500.0, "t_warmup": 500.0, "build_seconds": 2.0,
            "warmup_seconds": 1.0, "simulate_seconds": 4.0, "rtf": 4.0, "peak_rss_bytes": 2_000_000,
            "spikes_timed": 500}
    r = bench_pd14.nest_record(side, 500.0, {"wall_seconds": 8.0})
    assert r["t_sim_ms"] == 1000.0 and r["synaptic_events"] == 500 * 100
    assert r["events_per_second"] == pytest.approx(50_000 / 4.0)
    assert r["bytes_per_synapse"] == pytest.approx(200.0) and r["mean_rate_hz"] == pytest.approx(5.0)
    assert bench_pd14.nest_threads_for(2, 298_880_968) == 4      # 2 threads cannot hold full-scale PD14
    assert bench_pd14.nest_threads_for(3, 298_880_968) == 3
    assert bench_pd14.nest_threads_for(2, 74_720_239) == 2
    assert bench_pd14.nest_threads_for(2, 298_880_968, override=4) == 4


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler")
def test_roofline_probe_tiny(tmp_path, bench_pd14, roofline):
    res = roofline.probe(procs=2, events=2e4, steps=5, small=True, build_dir=str(tmp_path),
                         parsnn_result=_fake_run(bench_pd14, "parsnn", 6.0, 12.0, int(3.2e9)))
    for key in ("ns_event_random_1proc", "ns_event_sorted_2proc", "ns_update_2proc", "rtf_min", "rtf_min_random"):
        assert res[key] > 0
    assert res["parsnn"]["rtf_over_min"] > 0 and len(res["raw"]["multi"]) == 2
    assert "RTF lower bound" in roofline.format_report(res)


@pytest.mark.skipif(not os.path.exists(MPIEXEC), reason="no mpiexec next to the Python interpreter")
@pytest.mark.slow
def test_harness_parsnn_only_tiny(tmp_path, bench_pd14):
    """bench_pd14.py end to end with parsnn on a tiny PD14 (driver under mpiexec -n 2, JSON, report)."""
    rc = bench_pd14.main(["--config", "tiny", "--simulators", "parsnn", "--no-wait", "--no-roofline",
                          "--t-sim", "20", "--warmup", "10", "--out-dir", str(tmp_path)])
    assert rc == 0
    d = json.loads((tmp_path / "pd14_tiny.json").read_text())
    (r,) = d["runs"]
    assert r["ok"], r.get("error")
    for key in ("build_seconds", "rtf", "peak_rss_bytes_total", "bytes_per_synapse", "synaptic_events",
                "events_per_second", "timers", "wall_seconds"):
        assert key in r
    assert r["processes"] == 2 and len(r["peak_rss_bytes"]) == 2 and r["t_sim_ms"] == 20.0
    assert len(r["timers"]["timer_deliver"]) == 2 and r["synaptic_events"] > 0
    assert "n_scaling 0.02" in (tmp_path / "summary.md").read_text()
