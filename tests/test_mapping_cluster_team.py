"""The cost model's thread synchronisation terms (parsnn/mapping/cluster/team.py): the persistent team's
meeting per interval, the OpenMP region for small ranks, the JURECA-DC constants and their labels, and
the micro-benchmark that measures them (teambench)."""
import math
import tomllib

import pytest

from parsnn import _engine
from parsnn.connectivity import Connectivity
from parsnn.machines import load_machine
from parsnn.mapping.cluster import team, teambench
from parsnn.mapping.cluster.predict import PAR_MIN_EVENTS, PAR_MIN_UPDATES, predict
from parsnn.mapping.cluster.layout import limiting_terms
from parsnn.mapping.cluster.machinefile import MEASURED, dump_toml
from parsnn.network import FixedIndegree, Network

from test_mapping_cluster import SIMPLE

TIERS = [(4, 24.0), (64, 94.0), (128, 197.0)]
TEAM = """
[threads]
update_efficiency = 1.0
deliver_efficiency = 1.0
region_us = 0.5
region_us_per_thread = 0.1
{team}
"""
TEAM_KEYS = """team_us = 0.2
team_yield_us = 0.5
team_futex_us = 5.0
[threads.team_line]
threads_1 = 4
ns_1 = 24.0
threads_2 = 64
ns_2 = 94.0
threads_3 = 128
ns_3 = 197.0
"""


def _machine(tmp_path, with_team=True):
    path = tmp_path / "team.toml"
    path.write_text(SIMPLE.format(cpn=128, upd=1.0, evt=1.0, ovh=0.0) + TEAM.format(team=TEAM_KEYS if with_team
                                                                                     else ""))
    return load_machine(str(path))


def _net(n, k=8, rate=0.0):
    net = Network(0.1, name="t")
    net.add_population("A", n, "iaf_psc_exp")
    net.connect("A", "A", FixedIndegree(k), weight=1.0, delay=0.1)
    net.metadata = {"expected_rates": {"A": rate}}
    return net


def test_pair_latency_by_hand():
    assert team.pair_latency_ns(TIERS, 1) == 0.0 and team.pair_latency_ns([], 8) == 0.0
    assert team.pair_latency_ns(TIERS, 2) == 24.0 and team.pair_latency_ns(TIERS, 4) == 24.0
    # a thread of 8: 3 others in its CCX (24 ns), 4 in other CCXs of the socket (94 ns)
    assert team.pair_latency_ns(TIERS, 8) == pytest.approx((3 * 24 + 4 * 94) / 7)
    assert team.pair_latency_ns(TIERS, 64) == pytest.approx((3 * 24 + 60 * 94) / 63)
    assert team.pair_latency_ns(TIERS, 128) == pytest.approx((3 * 24 + 60 * 94 + 64 * 197) / 127)
    # beyond the last tier: its latency
    assert team.pair_latency_ns(TIERS, 256) == pytest.approx((3 * 24 + 60 * 94 + 192 * 197) / 255)


def test_team_meeting_by_hand(tmp_path):
    m = _machine(tmp_path)
    assert team.team_tiers(m) == TIERS and team.has_team(m)
    assert team.team_s(m, 1) == 0.0
    # team_us + T x L(T): T - 1 arrivals on one line and one wake
    assert team.team_s(m, 64) == pytest.approx(0.2e-6 + 64 * (3 * 24 + 60 * 94) / 63 * 1e-9)
    assert team.team_s(m, 2) == pytest.approx(0.2e-6 + 2 * 24e-9)
    # the waiters' phase: spinning (no extra), yielding, asleep
    spin, yld = team.TEAM_SPIN_US * 1e-6, team.TEAM_YIELD_US * 1e-6
    assert team.team_s(m, 2, wait_s=0.9 * spin) == pytest.approx(team.team_s(m, 2))
    assert team.team_s(m, 2, wait_s=1.1 * spin) == pytest.approx(team.team_s(m, 2) + 0.5e-6)
    assert team.team_s(m, 2, wait_s=spin + yld + 1e-6) == pytest.approx(team.team_s(m, 2) + 5e-6)
    # the OpenMP region: log2 T tree + per-thread part
    assert team.region_s(m, 8) == pytest.approx(0.5e-6 * 3 + 0.1e-6 * 8)


def test_without_team_constants_the_team_costs_the_region(tmp_path):
    m = _machine(tmp_path, with_team=False)
    assert not team.has_team(m)
    assert team.team_s(m, 4) == pytest.approx(team.region_s(m, 4)) == pytest.approx(0.5e-6 * 2 + 0.4e-6)


def test_team_spin_phases_are_the_engines():
    assert team.TEAM_SPIN_US == _engine.TEAM_SPIN_NS / 1000
    assert team.TEAM_YIELD_US == _engine.TEAM_YIELD_NS / 1000
    assert PAR_MIN_UPDATES == _engine.PAR_MIN_UPDATES and PAR_MIN_EVENTS == _engine.PAR_MIN_EVENTS


def test_predict_uses_the_team_above_the_smallest_update_and_the_region_below(tmp_path):
    m = _machine(tmp_path)
    # 8,192 neurons, m = 1: 8,192 updates per interval on 1 rank -> the team
    big = predict(Connectivity.from_network(_net(8192)), 1, m, threads=4)
    x = big["exchange_terms"]
    assert x["threads_sync"] == "team"
    assert x["threads_region"] == pytest.approx(team.team_s(m, 4))
    assert any(t["term"].startswith("threads' team meeting") for t in limiting_terms(big, top=8))
    # 1,000 neurons (< 4,096 updates) but >= 1,024 events per interval -> one OpenMP region per interval
    small = predict(Connectivity.from_network(_net(1000, k=100, rate=200.0)), 1, m, threads=4)
    assert small["exchange_terms"]["threads_sync"] == "omp_region"
    assert small["exchange_terms"]["threads_region"] == pytest.approx(team.region_s(m, 4))
    # neither: the threads' shares run in turn, no synchronisation
    tiny = predict(Connectivity.from_network(_net(100)), 1, m, threads=4)
    assert tiny["exchange_terms"]["threads_sync"] == "none" and tiny["exchange_terms"]["threads_region"] == 0.0


def test_jureca_team_constants_are_labelled_and_round_trip(tmp_path):
    j = load_machine("jureca_dc")
    assert team.has_team(j) and [t for t, _ in team.team_tiers(j)] == [4, 64, 128]
    src = j.sources()
    assert src["threads.team_line"].startswith("published") and "core-to-core-latency" in src["threads.team_line"]
    for key in ("team_us", "team_yield_us", "team_futex_us", "region_us"):
        assert src[f"threads.{key}"].startswith("assumed"), key
    assert src["threads.region_us_per_thread"].startswith("derived")
    # the machine file's threads table written by the calibration's TOML writer reads back the same
    text = dump_toml({"threads": j.data["threads"]})
    assert tomllib.loads(text)["threads"] == j.data["threads"]
    # two nodes of 2 x 64: the team (ranks of ~19,000 neurons) at 64 threads, as the equation gives
    assert team.team_s(j, 64) == pytest.approx(0.2e-6 + 64 * (3 * 24 + 60 * 94) / 63 * 1e-9)
    # the calibration measures team_us, and says how
    assert any(path == ("threads", "team_us") and key == "thread_team_us" for path, key, _ in MEASURED)


def test_teambench_constants_from_medians():
    res = {"threads": 4, "median": {"one": {"untimed_us": 1.0}, "team": {"untimed_us": 3.5},
                                    "region": {"untimed_us": 9.0}}}
    c = teambench.constants(res)
    assert c["thread_team_us"] == pytest.approx(2.5)
    assert c["thread_omp_region_us"] == pytest.approx(8.0 / math.log2(4))
    assert teambench.constants(None) == {} and teambench.constants({}) == {}


def test_teambench_runs_the_engines_team_on_a_silent_network():
    res = teambench.measure(threads=2, neurons=4096, t_sim_ms=5.0, repeats=1, warmup_ms=1.0)
    assert set(res["runs"]) == {"one", "team", "region"}
    for name, runs in res["runs"].items():
        assert len(runs) == 1 and runs[0]["wall_us"] > 0
        assert len(runs[0]["work_us"]) == (1 if name == "one" else 2)
    # the team's threads each waited at the meeting; with one thread nobody waits
    assert res["runs"]["one"][0]["wait_us"] == [0.0]
    assert all(w > 0 for w in res["runs"]["team"][0]["wait_us"])
    assert {"thread_team_us", "thread_omp_region_us"} <= set(res)
    with pytest.raises(ValueError, match="threads"):
        teambench.measure(threads=1)


def test_calibration_batch_runs_teambench_and_fits_its_constants(monkeypatch):
    from parsnn.mapping.cluster import calibrate, measure
    monkeypatch.setattr(measure, "launch", lambda specs, P, mpiexec=None: [{} for _ in specs])
    monkeypatch.setattr(measure, "mpibench", lambda P, workdir, iters, mpiexec=None: {})
    monkeypatch.setattr(measure, "noisebench", lambda launches, workdir, scale, mpiexec=None: [])
    calls = []
    fake = {"threads": 2, "median": {"one": {"untimed_us": 1.0}, "team": {"untimed_us": 2.5},
                                     "region": {"untimed_us": 4.0}}}
    monkeypatch.setattr(teambench, "launch", lambda **kw: calls.append(kw) or fake)
    two = calibrate.measure_batch("quick", [2], "/tmp", {"cores": 2}, log=lambda *a: None)
    one = calibrate.measure_batch("quick", [2], "/tmp", {"cores": 1}, log=lambda *a: None)
    assert two["team"] is fake and len(calls) == 1 and one["team"] is None
    assert teambench.constants(two["team"]) == {"thread_team_us": 1.5, "thread_omp_region_us": 3.0}


def test_a_batch_the_hypervisor_stole_from_is_measured_again_once_and_recorded():
    from parsnn.mapping.cluster import calibrate
    steals = iter([0.22, 0.30, 0.02, 0.25])
    batch = lambda: {"started": "t", "seconds": 30.04, "machine": {"steal_cores": next(steals)}}  # noqa: E731
    discarded, said = [], []
    # the first batch lost 0.22 cores: measured again; the second attempt lost 0.30 too, and is kept, since
    # only MAX_REMEASURED (1) batch of a calibration is measured again
    kept = calibrate.unstolen_batch(batch, discarded, log=said.append)
    assert kept["machine"]["steal_cores"] == 0.30 and len(said) == 1 and "0.22" in said[0]
    assert discarded == [{"started": "t", "seconds": 30.0, "steal_cores": 0.22}]
    assert calibrate.unstolen_batch(batch, discarded)["machine"]["steal_cores"] == 0.02
    notes = calibrate._steal_notes([kept, {"machine": {"steal_cores": 0.02}}], discarded)
    assert len(notes) == 2 and "1 batch(es) measured again" in notes[0] and notes[1].startswith("batch 1 kept")
    # a quiet batch is used at once and leaves no note
    fresh = []
    assert calibrate.unstolen_batch(lambda: {"machine": {"steal_cores": 0.01}}, fresh)["machine"]["steal_cores"] == 0.01
    assert fresh == [] and calibrate._steal_notes([{"machine": {}}], fresh) == []
