"""Smoke tests of the benchmark harness plumbing (benchmarks/): no NEST, no timing assertions."""
import functools
import importlib.util
import json
import math
import os
import shutil
import sys

import numpy as np
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
    for key in ("ns_event_random_1proc", "ns_event_sorted_2proc", "ns_update_2proc", "rtf_min", "rtf_min_random",
                "ns_event_runs16_2proc", "rtf_min_runs16"):
        assert res[key] > 0
    assert res["sizes"]["runs16_synapse_bytes"] < res["sizes"]["runs1_synapse_bytes"]
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


# ------------------------------------------------------------------ Brian2 as a peer (issue 17)
@pytest.fixture(scope="module")
def brian2_pd14(load_script):
    """benchmarks/brian2_pd14.py as a module (imports brian2 only when it runs)."""
    return load_script("benchmarks/brian2_pd14.py")


BRIAN2_PY = os.path.join(ROOT, "benchmarks", ".venv-brian2", "bin", "python")


@functools.lru_cache(maxsize=1)
def _has_brian2():
    import subprocess
    return os.path.exists(BRIAN2_PY) and subprocess.run([BRIAN2_PY, "-c", "import brian2"],
                                                         capture_output=True).returncode == 0


@pytest.mark.parametrize("n_scaling, k_scaling", [(1.0, 1.0), (0.1, 1.0), (0.25, 0.5)])
def test_brian2_model_numbers_match_parsnn(brian2_pd14, n_scaling, k_scaling):
    """The Brian2 script derives PD14's numbers itself: they must be parsnn's (sizes, synapse totals, weights, DC)."""
    from parsnn.models import pd14
    m = brian2_pd14.model_numbers(brian2_pd14.load_parameters(), n_scaling, k_scaling)
    assert m["populations"] == list(pd14.POPULATIONS)
    assert (m["sizes"] == pd14.num_neurons(n_scaling)).all()
    assert (m["k_total"] == pd14.total_synapses(n_scaling, k_scaling)).all()
    assert m["weight_mean"] == pytest.approx(pd14.weight_matrix(k_scaling), rel=1e-12)
    assert m["dc"] == pytest.approx(pd14.dc_amplitudes(k_scaling, "dc"), rel=1e-12)
    if n_scaling == 1.0 and k_scaling == 1.0:
        assert int(m["k_total"].sum()) == 298_880_968
    with pytest.raises(ValueError, match="n_scaling"):
        brian2_pd14.model_numbers(brian2_pd14.load_parameters(), 0.0, 1.0)


def test_brian2_connectivity_draws(brian2_pd14):
    """Fixed total number per pair (same seed, same pairs; another seed, other pairs); the per-neuron factors
    of the weight and delay expressions give PD14's mean weight per (target, source) pair and delay means."""
    P = brian2_pd14.load_parameters()
    m = brian2_pd14.model_numbers(P, 0.01, 0.5)
    src, tgt = brian2_pd14.draw_pairs(m, 3)
    assert len(src) == len(tgt) == int(m["k_total"].sum())
    first = np.concatenate([[0], np.cumsum(m["sizes"])])
    pop_of = lambda ids: np.searchsorted(first, ids, side="right") - 1  # noqa: E731
    counts = np.zeros((8, 8), np.int64)
    np.add.at(counts, (pop_of(tgt), pop_of(src)), 1)
    assert (counts == m["k_total"]).all()
    src2, _ = brian2_pd14.draw_pairs(m, 3)
    src3, _ = brian2_pd14.draw_pairs(m, 4)
    assert (src2 == src).all() and not (src3 == src).all()
    f = brian2_pd14.neuron_factors(P, m)
    s, t = first[:-1], first[:-1]               # one neuron of each population
    mean_w = f["J_exc"] * (1 + (f["g"] - 1) * f["inh"][s])[None, :] * (1 + f["l4e"][s][None, :] * f["l23e"][t][:, None])
    assert mean_w == pytest.approx(m["weight_mean"], rel=1e-12)
    assert list(f["d_mean"][s]) == [1.5, 0.75] * 4 and f["w_rel_sd"] == 0.1 and f["d_rel_sd"] == 0.5
    v0 = brian2_pd14.initial_potentials(m, 3)
    assert len(v0) == m["sizes"].sum() and -75 < v0.mean() < -60


def test_brian2_arguments(brian2_pd14):
    a = brian2_pd14.parse_args([])
    assert (a.n_scaling, a.k_scaling, a.t_sim, a.warmup, a.seed, a.threads, a.bg) == (1.0, 1.0, 1000.0, 500.0, 55, 2, "dc")
    a = brian2_pd14.parse_args(["--n-scaling", "0.25", "--threads", "4", "--t-sim", "1000", "--warmup", "0"])
    assert a.n_scaling == 0.25 and a.threads == 4 and a.warmup == 0.0
    for bad in (["--n-scaling", "0"], ["--k-scaling", "1.5"], ["--threads", "0"], ["--t-sim", "0"], ["--bg", "poisson"]):
        with pytest.raises(SystemExit):
            brian2_pd14.parse_args(bad)


def test_harness_arguments_and_times(bench_pd14):
    a = bench_pd14.parse_args([])
    assert a.simulators == ["parsnn", "nest", "brian2"] and a.ranks == 2 and a.note is None
    cfg = bench_pd14.CONFIGS["full"]
    assert bench_pd14.sim_times(cfg, a) == {"parsnn": 10000.0, "nest": 1000.0, "brian2": 1000.0}
    a = bench_pd14.parse_args(["--t-sim", "1000", "--nest-t-sim", "500", "--note", "shared"])
    assert bench_pd14.sim_times(cfg, a) == {"parsnn": 1000.0, "nest": 500.0, "brian2": 1000.0} and a.note == "shared"
    for bad in (["--simulators", "genn"], ["--t-sim", "-1"], ["--repeats", "0"], ["--warmup", "-5"]):
        with pytest.raises(SystemExit):
            bench_pd14.parse_args(bad)


def test_peer_python(tmp_path, bench_pd14, monkeypatch):
    assert bench_pd14.peer_python("brian2", "/some/python") == "/some/python"
    monkeypatch.setitem(bench_pd14.PEER_VENVS, "brian2", str(tmp_path / "none"))
    assert bench_pd14.peer_python("brian2") is None
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text("#!/bin/sh\n[ \"$2\" = 'import brian2' ]\n")     # imports brian2 and nothing else
    py.chmod(0o755)
    monkeypatch.setitem(bench_pd14.PEER_VENVS, "brian2", str(venv))
    assert bench_pd14.peer_python("brian2") == str(py)
    monkeypatch.setitem(bench_pd14.PEER_VENVS, "nest", str(venv))
    if importlib.util.find_spec("nest") is None:
        assert bench_pd14.peer_python("nest") is None


def test_machine_fingerprint(bench_pd14):
    m = bench_pd14.machine_info()
    if shutil.which("lscpu"):
        assert m["lscpu"] and m["lscpu"].get("Model name") == m["cpu_model"]
    assert "Brian2" in bench_pd14.describe_machine(m)


def test_run_brian2_plumbing(tmp_path, bench_pd14):
    """run_brian2 with a stand-in interpreter that writes a record as brian2_pd14.py does: JSON shape, derived
    figures, the passive wait policy in the environment, and a failed run."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\n"
                    "out=''; prev=''; for a in \"$@\"; do [ \"$prev\" = --json-out ] && out=$a; prev=$a; done\n"
                    "cat > \"$out\" <<EOF\n"
                    '{"simulator": "brian2", "version": "2.9.0", "ranks": 1, "processes": 1, "threads": 2,'
                    ' "n_scaling": 0.02, "k_scaling": 1.0, "bg": "dc", "seed": 55, "num_neurons": 1000,'
                    ' "num_synapses": 100000, "t_warmup_ms": 50.0, "t_sim_ms": 100.0, "build_seconds": 2.0,'
                    ' "compile_seconds": 20.0, "warmup_seconds": 0.5, "simulate_seconds": 1.0, "rtf": 10.0,'
                    ' "rtf_whole": 10.0, "peak_rss_bytes": [4000000], "peak_rss_bytes_total": 4000000,'
                    ' "spikes_timed": 500, "synaptic_events": 50000, "omp_wait_policy": "$OMP_WAIT_POLICY",'
                    ' "population_rates_hz": {"L23E": 5.0}}\n'
                    "EOF\n")
    fake.chmod(0o755)
    r = bench_pd14.run_brian2(bench_pd14.CONFIGS["tiny"], 2, 100.0, 50.0, 55, str(fake), log=lambda s: None)
    assert r["ok"] and r["simulator"] == "brian2" and r["omp_wait_policy"] == "passive"
    assert r["bytes_per_synapse"] == pytest.approx(40.0) and r["events_per_second"] == pytest.approx(50000.0)
    assert r["mean_rate_hz"] == pytest.approx(5.0) and "wall_seconds" in r
    fail = tmp_path / "fail"
    fail.write_text("#!/bin/sh\necho 'no brian2' >&2\nexit 1\n")
    fail.chmod(0o755)
    r = bench_pd14.run_brian2(bench_pd14.CONFIGS["tiny"], 2, 100.0, 50.0, 55, str(fail), log=lambda s: None)
    assert not r["ok"] and "no brian2" in r["error"]


def test_report_with_brian2(tmp_path, bench_pd14):
    """Three simulators in one result file: medians, both ratio rows, compile time, the note, RTF incl. warm-up."""
    machine = {"cpu_model": "Test CPU", "cores": 2, "memory_bytes": 24 * 2**30, "nest_version": "3.10.0",
               "brian2_version": "2.9.0", "lscpu": {"Model name": "Test CPU"}}
    runs = []
    for k, f in enumerate((1.0, 1.2, 0.9)):
        runs += [_fake_run(bench_pd14, "parsnn", 1.8 * f, 8.0, int(1.2e9), n_syn=74_720_239, warmup_seconds=0.9),
                 _fake_run(bench_pd14, "nest", 24.0 * f, 35.0, int(3.2e9), n_syn=74_720_239, warmup_seconds=12.0),
                 _fake_run(bench_pd14, "brian2", 14.0 * f, 7.7, int(2.85e9), n_syn=74_720_239, compile_seconds=23.5,
                           warmup_seconds=7.0, spikes_timed=60_000)]
    with open(tmp_path / "pd14_quarter.json", "w") as f:
        json.dump({"config": "quarter", "ranks": 2, "machine": machine, "runs": runs, "finished": "now",
                   "note": "measured on a shared machine"}, f)
    summary = bench_pd14.write_report(str(tmp_path))
    q = summary["configs"]["quarter"]
    assert q["parsnn"]["rtf"] == pytest.approx(1.8) and q["brian2"]["rtf"] == pytest.approx(14.0)
    assert q["brian2"]["repeats"] == 3 and q["brian2"]["compile_seconds"] == 23.5
    assert q["speedup_rtf_brian2"] == pytest.approx(14.0 / 1.8) and q["speedup_rtf"] == pytest.approx(24.0 / 1.8)
    assert q["ratios_brian2"]["build_incl_compile"] == pytest.approx(8.0 / (7.7 + 23.5))
    assert q["parsnn"]["rtf_whole"] == pytest.approx((0.9 + 1.8) / 1.5)
    md = (tmp_path / "summary.md").read_text()
    for text in ("parsnn / Brian2", "parsnn / NEST", "7.7 + 23.5 compile", "Brian2 2.9.0", "measured on a shared machine",
                 "7.8x faster", "RTF incl. warm-up"):
        assert text in md, text
    assert md.index("parsnn / NEST") < md.index("parsnn / Brian2")


@pytest.mark.slow
@pytest.mark.skipif(not _has_brian2(), reason="no benchmarks/.venv-brian2 with brian2 (benchmarks/setup_peers.sh)")
@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_brian2_script_runs(tmp_path):
    """brian2_pd14.py end to end on a tiny PD14 (compiles a C++ project: about a minute)."""
    import subprocess
    out = tmp_path / "b.json"
    p = subprocess.run([BRIAN2_PY, os.path.join(ROOT, "benchmarks", "brian2_pd14.py"), "--n-scaling", "0.02",
                        "--t-sim", "50", "--warmup", "20", "--threads", "2", "--json-out", str(out)],
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["simulator"] == "brian2" and r["num_synapses"] == 5_977_620 and r["num_neurons"] == 1544
    assert r["spikes_timed"] > 0 and r["synaptic_events"] > r["spikes_timed"]
    assert r["peak_rss_bytes_total"] > 5_977_620 * 20 and r["compile_seconds"] > 0
    assert set(r["population_rates_hz"]) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"}
    assert r["omp_wait_policy"] == "passive"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(MPIEXEC), reason="no mpiexec next to the Python interpreter")
def test_harness_all_peers_tiny(tmp_path, bench_pd14):
    """bench_pd14.py end to end with every simulator that is installed (parsnn always)."""
    rc = bench_pd14.main(["--config", "tiny", "--no-wait", "--no-roofline", "--repeats", "1",
                          "--t-sim", "20", "--warmup", "10", "--out-dir", str(tmp_path), "--note", "test"])
    assert rc == 0
    d = json.loads((tmp_path / "pd14_tiny.json").read_text())
    sims = [r["simulator"] for r in d["runs"]]
    assert sims[0] == "parsnn" and all(r["ok"] for r in d["runs"]), [r.get("error") for r in d["runs"]]
    assert d["note"] == "test" and "lscpu" in d["machine"]
    if "brian2" in sims:
        assert "parsnn / Brian2" in (tmp_path / "summary.md").read_text()


# ------------------------------------------------------------------ hpc_benchmark against NEST's own script (issue 15)
@pytest.fixture(scope="module")
def bench_hpc(load_script):
    """benchmarks/bench_hpc.py as a module."""
    return load_script("benchmarks/bench_hpc.py")


@pytest.fixture(scope="module")
def nest_hpc_runner(load_script):
    """benchmarks/nest_hpc_runner.py as a module (imports nest only when it runs)."""
    return load_script("benchmarks/nest_hpc_runner.py")


SCRIPT_LIKE = '''params = {
    "num_threads": 4,  # total number of threads per process
    "scale": 1.0,  # scaling factor of the network size
    "simtime": 250.0,  # total simulation time in ms
    "presimtime": 50.0,  # simulation time until reaching equilibrium
    "record_spikes": True,  # switch
}

brunel_params = {"NE": int(9000 * params["scale"]), "scale": 7}
'''


def test_nest_hpc_runner_sets_only_the_params_section(nest_hpc_runner):
    out = nest_hpc_runner.set_params(SCRIPT_LIKE, {"num_threads": 2, "scale": 0.1, "simtime": 150.0,
                                                   "presimtime": 50.0, "record_spikes": False})
    ns = {}
    exec(out, ns)                                   # noqa: S102 - our own test text
    assert ns["params"] == {"num_threads": 2, "scale": 0.1, "simtime": 150.0, "presimtime": 50.0,
                            "record_spikes": False}
    assert ns["brunel_params"] == {"NE": 900, "scale": 7}       # outside the section: untouched
    assert "# scaling factor of the network size" in out
    with pytest.raises(SystemExit, match="'dt' found 0 times"):
        nest_hpc_runner.set_params(SCRIPT_LIKE, {"dt": 0.1})


def test_nest_hpc_runner_reads_the_scripts_log(tmp_path, nest_hpc_runner):
    log = tmp_path / "log_00.dat"
    log.write_text("0 0 354624 # virt_mem_0 \n1 0 0.25 # build_time_nodes \n2 0 2.5 # build_edge_time \n"
                   "3 0 1.8 # presim_time \n")
    assert nest_hpc_runner.parse_log(str(log)) == {"virt_mem_0": 354624.0, "build_time_nodes": 0.25,
                                                   "build_edge_time": 2.5, "presim_time": 1.8}
    assert nest_hpc_runner.git_blob_hash(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_bench_hpc_nest_record_by_hand(bench_hpc):
    s = {"version": "3.10.0", "threads": 2, "presimtime_ms": 50.0, "simtime_ms": 150.0, "network_size": 1126,
         "num_connections": 12_657_375, "peak_rss_bytes": 600_000_000,
         "log": {"build_time_nodes": 1.0, "build_edge_time": 9.0, "presim_time": 14.0, "sim_time": 30.0},
         "simulate_calls": [{"spikes": 2250, "time_communicate_prepare": [3.5, 4.0]}, {"spikes": 6750}],
         "script": "x", "script_git_blob": "b", "script_is_v3_10": True}
    r = bench_hpc.nest_record(s, {"foreign_cores": 0.0})
    assert r["num_neurons"] == 1125 and r["build_seconds"] == pytest.approx(14.0)
    assert r["simulate_seconds"] == pytest.approx(40.0) and r["rtf"] == pytest.approx(200.0)
    assert r["rtf_timed_phase"] == pytest.approx(200.0)
    assert r["mean_rate_hz"] == pytest.approx(9000 / (1125 * 0.2))
    assert bench_hpc.synapses(0.1) == (1125, 1125 * 11250)


def test_bench_hpc_parsnn_only_tiny(tmp_path, bench_hpc):
    """bench_hpc.py end to end with parsnn on hpc_benchmark 0.01 (parsnn run under mpiexec -n 2, JSON, table)."""
    rc = bench_hpc.main(["--scale", "0.01", "--presim", "5", "--t-sim", "5", "--simulators", "parsnn", "--no-wait",
                         "--out-dir", str(tmp_path)])
    assert rc == 0
    d = json.loads((tmp_path / "hpc_s0.01.json").read_text())
    (r,) = d["runs"]
    assert r["ok"], r.get("error")
    assert r["processes"] == 2 and len(r["peak_rss_bytes"]) == 2
    assert (r["num_neurons"], r["num_synapses"]) == bench_hpc.synapses(0.01) == (112, 112 * (9000 + 2200))
    assert r["rtf"] == pytest.approx(r["simulate_seconds"] / 0.01)
    assert "parsnn / NEST" not in (tmp_path / "hpc_s0.01.md").read_text()


NEST_PY = os.path.join(ROOT, "benchmarks", ".venv-nest", "bin", "python")


@pytest.mark.skipif(not os.path.exists(NEST_PY), reason="benchmarks/.venv-nest (benchmarks/setup_peers.sh nest) missing")
def test_bench_hpc_with_nest_tiny(tmp_path, bench_hpc):
    """Both simulators on hpc_benchmark 0.01: NEST's own script located in the installed package and run."""
    rc = bench_hpc.main(["--scale", "0.01", "--presim", "5", "--t-sim", "5", "--no-wait", "--nest-python", NEST_PY,
                         "--out-dir", str(tmp_path)])
    assert rc == 0
    d = json.loads((tmp_path / "hpc_s0.01.json").read_text())
    nest = [r for r in d["runs"] if r["simulator"] == "nest"]
    assert nest and nest[0]["ok"], nest[0].get("error")
    assert nest[0]["num_synapses"] == bench_hpc.synapses(0.01)[1] + 112      # plus the Poisson generator's
    assert nest[0]["script_is_v3_10"] == nest[0]["version"].startswith("3.10")
    assert "parsnn / NEST" in (tmp_path / "hpc_s0.01.md").read_text()


def test_pynn_vs_nest_table(tmp_path, load_script):
    """benchmarks/pynn_timings.py table: both analysis formats; medians, ranges and the ratios of the
    medians (pyNN.nest / parsnn.pynn; parsnn.pynn / parsnn run pd14 from the whole command's times)."""
    bench = load_script("benchmarks/pynn_timings.py")
    examples = {"brunel": {"stats": {}, "time": {
        "parsnn": {"build": [1.0, 2.0, 9.0], "run": [1.0, 1.0, 1.0], "cpu_build": [0.5, 0.5, 0.5], "cpu_run": [0.5] * 3},
        "nest": {"build": [30.0, 40.0, 50.0], "run": [10.0] * 3, "cpu_build": [20.0] * 3, "cpu_run": [4.0] * 3}}}}
    nan = float("nan")
    potjans = {"config": {"n_scaling": 0.25, "k_scaling": 0.1, "t_sim": 1000.0}, "stats": {}, "times": {
        "parsnn": {"build": [4.0], "run": [20.0], "cpu_build": [1.0], "cpu_run": [9.0], "build+run": [24.0],
                   "cpu_build+run": [10.0]},
        "cli": {"build": [2.0], "run": [20.0], "cpu_build": [nan], "cpu_run": [nan], "build+run": [25.0],
                "cpu_build+run": [8.0]}}}
    paths = []
    for name, data in (("ex.json", examples), ("pd.json", potjans)):
        paths.append(str(tmp_path / name))
        with open(paths[-1], "w") as f:
            json.dump(data, f)
    out = tmp_path / "table"
    bench.main(["table", *paths, "--machine", "m", "--note", "idle", "--out", str(out)])
    text = (tmp_path / "table.md").read_text()
    assert "Load: idle" in text
    assert "| brunel | parsnn.pynn | 3 | 2 [1-9] | 1 [1-1] | 3 [2-10] | 1 [1-1] |  |" in text
    assert "| brunel | pyNN.nest | 3 | 40 [30-50] | 10 [10-10] | 50 [40-60] | 24 [24-24] | " \
           "pyNN.nest / parsnn.pynn: 16.7x; 24x |" in text
    assert ("| Potjans2014 (n_scaling 0.25, K_scaling 0.1) | parsnn run pd14 (same configuration) | 1 | 2 | 20 | "
            "25 | 8 | parsnn.pynn / parsnn run pd14: 0.96x; 1.25x |") in text
    stored = json.loads((tmp_path / "table.json").read_text())
    assert stored["times"]["brunel"]["nest"]["build"] == [30.0, 40.0, 50.0]


def test_roofline_prefetch_distance(roofline):
    run = {"simulator": "parsnn", "prefetch": {"distance": 64, "source": "tuned"}}
    assert roofline.prefetch_distance("auto", run) == (64, "parsnn run, tuned")
    assert roofline.prefetch_distance("auto", None) == (128, "default")
    assert roofline.prefetch_distance("32", run) == (32, "given")


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler")
def test_roofline_probe_uses_the_distance(tmp_path, roofline):
    res = roofline.probe(procs=1, events=2e4, steps=5, small=True, build_dir=str(tmp_path), prefetch="32")
    assert res["prefetch_distance"] == 32 and res["prefetch_source"] == "given"
    assert all(r["prefetch_distance"] == 32 for r in res["raw"]["single"])
    assert "prefetch 32 ahead, given" in roofline.format_report(res)


def test_build_phase_split_one_build_per_thread_counts():
    """benchmarks/build_phase_split.py --one (a tiny PD14 build in a fresh process): every phase with its
    figures; the main thread's faults a part of the process's in every timed phase; the resident memory after the build read from /proc/self/smaps_rollup."""
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "build_phase_split.py"), "--n-scaling",
                          "0.02", "--one", "2"], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    res = json.loads(out.strip().splitlines()[-1])
    phases = res["phases"]
    timed = ("count", "touch", "generate", "group", "runs", "alloc", "buffers")
    assert set(phases) == {*timed, "other", "build"} and res["threads"] == 2 and res["synapses"] > 0
    for p in timed:
        assert 0 <= phases[p]["main_minflt"] <= phases[p]["minflt"], p
    assert 0 < phases["generate"]["minflt"] <= phases["build"]["minflt"]
    assert phases["build"]["main_cpu"] <= phases["build"]["all_cpu"] + 0.01
    if os.path.exists("/proc/self/smaps_rollup"):
        smaps = res["smaps_after_build_mb"]
        assert 0 < smaps["Anonymous"] <= smaps["Rss"] and 0 <= smaps["AnonHugePages"] <= smaps["Anonymous"]


def test_cold_touch_probe_rows():
    """benchmarks/cold_touch_probe.py in a fresh process: one row per (round, wait, threads); its first
    8 MiB are fresh memory, faulted in by the touch (at least one fault per 2 MiB, at most one per
    4 KiB page plus a few); later ones may reuse freed memory (fewer faults, never more)."""
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "cold_touch_probe.py"), "--mib", "8",
                          "--threads", "1,2", "--waits", "0", "--rounds", "2"], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    rows = [json.loads(ln) for ln in out.strip().splitlines()]
    assert [(r["round"], r["threads"]) for r in rows] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert 4 <= rows[0]["minflt"] and all(0 <= r["minflt"] <= 8 * 256 + 64 for r in rows)
    assert all(r["wall"] >= 0 and 0 <= r["main_cpu"] <= r["all_cpu"] + 0.01 for r in rows)
    if os.path.exists("/proc/stat"):
        assert all(len(r["machine_busy_idle_steal_per_cpu"]) == os.cpu_count() for r in rows)
