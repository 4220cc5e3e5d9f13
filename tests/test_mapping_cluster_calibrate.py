"""parsnn calibrate's fitting and machine file (parsnn.mapping.cluster.calibrate / machinefile): synthetic
measurements made from known constants by the fit's own equations are fitted back, written as a machine
file with fingerprint, spread and sources, and read back; the spread gives predict's RTF range."""
import json
import math

import numpy as np
import pytest

from parsnn.connectivity import Connectivity
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster import calibration, measure, plasticcost, predict, scatter, threadwait, waitfit
from parsnn.mapping.cluster.calibrate import fit_batch
from parsnn.mapping.cluster.collectives import expected_max_normal
from parsnn.mapping.cluster.machinefile import MEASURED, THREAD_RUNS, dump_toml, machine_data
from parsnn.partition.rates import neuron_rates

#: the constants the synthetic measurements are made from (ns / us as in the machine file)
TRUTH = {"update_ns_iaf_psc_exp": 1.1, "update_ns_iaf_psc_exp_scalar": 3.2, "update_ns_iaf_psc_delta": 2.1,
         "update_ns_poisson_source": 12.0, "poisson_input_ns": 30.0, "event_ns_l2": 2.0, "event_ns_l3": 3.0,
         "event_ns_memory": 4.0, "event_ns_memory_no_prefetch": 15.0, "spike_ns": 10.0, "compare_ns": 3.5,
         "pack_ns": 5.0, "record_ns": 29.0, "record_flush_us": 800.0, "null1_update_us": 0.2, "null1_deliver_us": 0.15, "exchange_us": 0.7,
         "collective_call_us": 1.0, "shm_latency_us": 0.5, "shm_overhead_us": 0.3, "alltoall_fixed_us": 0.8,
         "alltoallv_fixed_us": 0.1, "sigma_rel": 0.06, "sigma_us": 1.3, "plastic_event_ns": 40.0,
         "thread_update_efficiency": 0.9, "thread_deliver_efficiency": 0.8, "thread_region_us": 3.0,
         "thread_team_us": 1.7, "thread_sigma_rel": 0.08, "update_ns_iaf_psc_alpha": 2.2,
         "update_ns_iaf_psc_alpha_pone": 11.0}
#: small networks (fast to build) and caches chosen so that the four event equations are independent
SPECS = {"null_P1": {"model": "null"}, "spikes_P1": {"model": "spikes", "neurons": 200},
         "delta_P1": {"model": "delta", "neurons": 500}, "expscalar_P1": {"model": "expscalar", "neurons": 500},
         "alpha_P1": {"model": "alpha", "neurons": 500}, "alphapoisson_P1": {"model": "alphapoisson", "neurons": 500},
         "pd14_P1": {"model": "pd14", "n_scaling": 0.02}, "pd14_poisson_P1": {"model": "pd14", "n_scaling": 0.02,
                                                                              "bg": "poisson"},
         "brunel_P1": {"model": "brunel", "regime": "A", "scale": 0.05},
         "shortrows_P1": {"model": "shortrows", "row": 64, "sources": 200, "targets": 20000},
         "longrows_P1": {"model": "longrows", "row": 1024, "sources": 50, "targets": 20000},
         "hpc_P1": {"model": "hpc_benchmark", "scale": 0.01},
         "hpcstatic_P1": {"model": "hpc_benchmark", "scale": 0.01, "static": True}, **scatter.specs()}
FP = {"cpu_vendor": "Synthetic", "cpu_model": "synthetic CPU", "cpu_family_model": "1/1", "cores": 2,
      "l1d_kib": 32, "l2_kib": 256, "l3_kib": 3584, "cores_per_l3": 2, "memory_gib": 8, "mpi_library": "MPI x",
      "hash": "0123456789ab", "date": "2026-12-01T00:00:00+00:00"}
CACHES = (256 * 1024.0, (256 + 1792) * 1024.0)
BALANCE = {"update_s": 4.5e-9, "update_step_ms": 0.1, "event_s": 11e-9}
T_SIM = 200.0


def _record(name: str, spec: dict, t: dict) -> dict:
    """A 1-rank run record whose timers follow the fit's equations with the constants ``t``."""
    net = measure.calibration_network(spec)
    conn = Connectivity.from_network(net)
    ws, wl = calibration.ring_bytes(conn, 1)
    m = int(wl["min_delay_steps"])
    steps, T = T_SIM / 0.1, T_SIM * 1e-3
    intervals = int(math.ceil(steps / m))
    E, S = float(wl["events_per_s"][0] * T), float(wl["spikes_in_per_s"][0] * T)
    sizes = {p["name"]: p["size"] for p in conn.description["populations"]}
    if name == "spikes_P1":           # one synapse per spike of the Poisson sources
        E = S = sizes["S"] * 500.0 * T
    if name.startswith("scatter"):    # spike_generator sources at their drawn rate, rows of spec["row"]
        S = sizes["S"] * conn.metadata["expected_rates"]["S"] * T
        E = S * spec["row"]
        assert float(wl["events_per_s"][0] * T) == pytest.approx(E, rel=0.02)    # the workload has their events
    N = float(sum(p["size"] for p, v in zip(conn.description["populations"], conn.virtual) if not v))
    c = {k: v * (1e-9 if "_ns" in k else 1e-6) for k, v in t.items() if "_ns" in k or "_us" in k}
    per_step = {"pd14_P1": N * c["update_ns_iaf_psc_exp"], "delta_P1": N * c["update_ns_iaf_psc_delta"],
                "expscalar_P1": N * c["update_ns_iaf_psc_exp_scalar"],
                "alpha_P1": N * c["update_ns_iaf_psc_alpha"], "alphapoisson_P1": N * c["update_ns_iaf_psc_alpha_pone"],
                "pd14_poisson_P1": N * (c["update_ns_iaf_psc_exp_scalar"] + c["poisson_input_ns"]),
                "brunel_P1": N * (c["update_ns_iaf_psc_delta"] + c["poisson_input_ns"]),
                "spikes_P1": sizes.get("T", 0) * c["update_ns_iaf_psc_exp"]
                + sizes.get("S", 0) * c["update_ns_poisson_source"]}.get(name, 0.0)
    if name.startswith("scatter"):    # their targets (the thread constants' update; spike generators are not updated)
        per_step = sizes["T"] * c["update_ns_iaf_psc_exp"]
    f2, f3, fm = calibration.cache_fractions(CACHES, ws)
    u = float(wl["events_unprefetched_per_s"][0] / wl["events_per_s"][0]) if wl["events_per_s"][0] > 0 else 0.0
    u = 0.0 if name.startswith("scatter") else u      # the scatter curve's truth: no unprefetched share
    c_evt = (f2 * c["event_ns_l2"] + f3 * c["event_ns_l3"] + fm * (1 - u) * c["event_ns_memory"]
             + fm * u * c["event_ns_memory_no_prefetch"])
    deliver = c["null1_deliver_us"] * intervals + (S * (c["spike_ns"] + c["event_ns_l2"]) if name == "spikes_P1"
                                                   else S * c["spike_ns"] + E * c_evt)
    deliver += float(wl["plastic_events_per_s"][0] * T) * c["plastic_event_ns"]
    r = neuron_rates(conn, None)
    spike_counts = {pop: float(r[sl].sum() * T) for pop, sl in conn.population_slices().items()}
    perf = {"timer_update": [c["null1_update_us"] * intervals + steps * per_step], "timer_deliver": [deliver],
            "timer_exchange": [c["exchange_us"] * intervals + S * c["pack_ns"]],
            # rank 0's record timer: per recorded spike, and per recorded population and flush (one per 1 s)
            "timer_record": [S * c["record_ns"] + c["record_flush_us"] * math.ceil(T_SIM / 1000.0)
                             * len(conn.description.get("spike_recorder") or [])],
            "synaptic_events": [E], "num_local_neurons": [N],
            "rtf": 1.0, "simulate_seconds": [1.0]}
    if name == "null_P1":
        perf["timer_exchange"] = [c["exchange_us"] * intervals]
    return {"spec": spec, "ranks": 1, "t_sim_ms": T_SIM, "min_delay_steps": m, "rank_of": np.repeat(np.where(conn.virtual, -1, 0), conn.sizes).tolist(),
            "rates": None, "perf": perf, "delivered_spikes": [S], "intervals": intervals,
            "description": conn.description, "busy_cores_before": 0.0, "spike_counts": spike_counts}


def _update_share(one: dict, t: dict) -> float:
    """Thread 0's share of the 1-thread update work of the scatter record ``one`` on 2 threads: its neurons
    of each population (the engine's owner map) at their model's update cost in ``t`` (the Poisson sources,
    all on thread 0, cost ~11 of their iaf_psc_exp targets here, ~28 on the Xeon)."""
    conn = Connectivity.from_description(one["description"])
    counts = threadwait.slot_counts(conn, np.asarray(one["rank_of"]), 1, 2)
    work = sum(counts[s] * t["update_ns_" + model] for s, model in enumerate(conn.models) if not conn.virtual[s])
    return float(work[0] / work.sum())


def _two_threads(one: dict, t: dict, ratio: float = 1.0) -> dict:
    """The 1-rank x 2-thread record of ``one`` with the thread constants of ``t``: thread 0's update and
    event work are its share of one thread's (its neurons' and its events' share under the engine's owner
    map, ``threadwait.record_shares``) over the efficiency (the event work also times ``ratio``, the
    model's event cost of a thread's half ring over the whole ring's); the wall time outside the timers
    grows by the team's meeting and thread 0's wait for the other thread per interval: sigma / sqrt(pi)
    for relative noise sigma = thread_sigma_rel x thread 0's work."""
    n, S = one["intervals"], one["delivered_spikes"][0]
    o_upd, o_del, c_spk = t["null1_update_us"] * 1e-6, t["null1_deliver_us"] * 1e-6, t["spike_ns"] * 1e-9
    p1 = one["perf"]
    share_d = threadwait.record_shares(one, 2)[1]
    share_u = _update_share(one, t)
    upd = o_upd * n + (p1["timer_update"][0] - o_upd * n) * share_u / t["thread_update_efficiency"]
    ev = p1["timer_deliver"][0] - o_del * n - S * c_spk
    dl = o_del * n + S * c_spk + ev * ratio * share_d / t["thread_deliver_efficiency"]
    untimed = p1["simulate_seconds"][0] - sum(p1[f"timer_{k}"][0] for k in ("update", "deliver", "exchange",
                                                                            "record"))
    perf = dict(p1, timer_update=[upd], timer_deliver=[dl])
    wait = t["thread_team_us"] * 1e-6 * n + t["thread_sigma_rel"] * (upd - o_upd * n + dl - o_del * n - S * c_spk) \
        / math.sqrt(math.pi)
    perf["simulate_seconds"] = [untimed + wait
                                + sum(perf[f"timer_{k}"][0] for k in ("update", "deliver", "exchange", "record"))]
    return dict(one, perf=perf, threads=2, spec=dict(one["spec"], threads=2))


def _synthetic_batch(t: dict) -> dict:
    """Run records, mpibench and noisebench results made from the constants ``t``."""
    runs = {name: _record(name, spec, t) for name, spec in SPECS.items()}
    null2 = dict(runs["null_P1"], ranks=2)
    a2a = t["alltoall_fixed_us"] + t["shm_latency_us"] + 2 * t["shm_overhead_us"]
    # the engine's exchange on 2 ranks: the C Alltoall plus its own cost around the call
    null2["perf"] = dict(null2["perf"], timer_exchange=[(a2a + t["collective_call_us"]) * 1e-6 * null2["intervals"]])
    runs["null_P2"] = null2
    mb = {"pingpong_half_rtt_us": t["shm_latency_us"] + t["shm_overhead_us"],
          "isend_burst_us_per_msg": t["shm_overhead_us"], "alltoall_int_us": a2a,
          "alltoallv_empty_us": t["alltoallv_fixed_us"], "qsort_ns_per_compare": t["compare_ns"]}
    c = calibration.fit_constants(mb, runs, cache_levels=CACHES)
    m = Machine(name="synthetic", data=machine_data([{k: v for k, v in c.items() if isinstance(v, (int, float))}],
                                                    FP, "synthetic", "", BALANCE, {}))
    for name in THREAD_RUNS:
        runs[name + "T2"] = _two_threads(runs[name], t, calibration.thread_event_ratio(runs[name], 2, m)[1])
    nb = []
    for config, busy in (("long", 2400.0), ("short", 17.0)):
        wait = expected_max_normal(2) * math.hypot(t["sigma_rel"] * busy, t["sigma_us"])
        rank = {"compute_us": busy / 2, "scatter_us": busy / 2, "alltoall_us": 0.8 + wait}
        nb += [{"config": config, "launch": k, "alltoall_alone_us": 0.8, "per_rank": [rank, rank]} for k in range(2)]
    # teambench's medians: the untimed rest per interval of 1 x 1, 1 x 2 with the team, 1 x 2 with OpenMP regions
    team = {"threads": 2, "median": {"one": {"untimed_us": 0.4}, "team": {"untimed_us": 0.4 + t["thread_team_us"]},
                                     "region": {"untimed_us": 0.4 + t["thread_region_us"]}}}
    return {"runs": runs, "mpibench": {2: mb}, "noisebench": nb, "oversubscribed": None, "team": team}


@pytest.fixture(scope="module")
def two_batches():
    """The constants fitted from two synthetic batches: TRUTH, and TRUTH with every cost 10 % higher."""
    high = {k: v * 1.1 for k, v in TRUTH.items()}
    return [fit_batch(_synthetic_batch(t), {**FP}, {"update_s": 4.5e-9, "update_step_ms": 0.1, "event_s": 11e-9})
            for t in (TRUTH, high)]


def test_fit_recovers_the_constants_of_synthetic_measurements(two_batches):
    fit = two_batches[0]
    for key, value in TRUTH.items():
        assert fit[key] == pytest.approx(value, rel=1e-4, abs=1e-9), key     # the spike/event fit iterates
    assert "yield_us" not in fit          # no rank count above the cores was measured


def test_machine_file_from_batches_round_trips_with_spread_and_sources(tmp_path, two_batches):
    data = machine_data(two_batches, FP, "synthetic_machine", "a synthetic machine",
                        {"update_s": 4.5e-9, "update_step_ms": 0.1, "event_s": 11e-9},
                        {"batches": 2, "date": FP["date"], "notes": ["synthetic"]})
    path = tmp_path / "m.toml"
    path.write_text(dump_toml(data, "a header\nsecond line"))
    m = load_machine(str(path))
    assert m.name == "synthetic_machine" and m.cores == 2 and m.data["fingerprint"]["hash"] == FP["hash"]
    ev = m.data["compute"]["event_ns"]
    # the median of two batches (TRUTH and 1.1 x TRUTH) is 1.05 x TRUTH; the spread is [TRUTH, 1.1 x TRUTH]
    assert ev["memory"] == pytest.approx(1.05 * TRUTH["event_ns_memory"], rel=1e-4)
    assert m.data["spread"]["compute.event_ns.memory"] == pytest.approx([4.0, 4.4], rel=1e-4)
    assert m.data["threads"]["region_us"] == pytest.approx(1.05 * TRUTH["thread_region_us"], rel=1e-4)
    assert m.data["spread"]["threads.deliver_efficiency"] == pytest.approx([0.8, 0.88], rel=1e-4)
    assert m.data["oversubscription"]["yield_us"] > 0          # assumed, and the source says so
    sources = m.sources()
    assert sources["oversubscription.yield_us"].startswith("assumed")
    assert all(".".join(path) in sources for path, _key, _how in MEASURED)
    assert sources["compute.peer_ns"].startswith("assumed")
    # the event cost curve: the scatter networks, rising with the ring working set, at two prefetch distances,
    # with the per-row cost (0 here: the synthetic event cost does not depend on the row)
    cur = scatter.curve(m)
    assert len(cur["mib"]) == len(scatter.SCATTER_TARGETS) and cur["mib"] == sorted(cur["mib"])
    assert cur["distance"] == 128 and list(cur["other"]) == [0] and cur["row_ns"] == [0.0] * len(scatter.ROW_TARGETS)
    assert cur["ns"][-1] > cur["ns"][0]
    assert "compute.scatter.mib_1" not in m.data["spread"]       # the same in every batch: no error bar
    low, high = m.bounds()
    assert low.data["compute"]["event_ns"]["memory"] == pytest.approx(4.0, rel=1e-4)
    assert high.data["noise"]["sigma_rel"] == pytest.approx(1.1 * TRUTH["sigma_rel"], rel=1e-4)


def test_prediction_range_from_the_spread(tmp_path, two_batches):
    from parsnn.network import FixedIndegree, Network
    data = machine_data(two_batches, FP, "synthetic_machine", "", {"update_s": 4.5e-9, "update_step_ms": 0.1,
                                                                     "event_s": 11e-9}, {"batches": 2})
    path = tmp_path / "m.toml"
    path.write_text(dump_toml(data))
    net = Network(0.1)
    net.add_population("E", 400, "iaf_psc_exp")
    net.connect("E", "E", FixedIndegree(40), weight=1.0, delay=1.0)
    conn = Connectivity.from_network(net)
    p = predict(conn, 2, str(path), rates={"E": 10.0})
    lo, hi = p["rtf_range"]
    assert lo < p["rtf"] < hi and p["critical_path_s_range"][0] < p["critical_path_s"]
    # a machine without spread (one batch, or a target description) has no range
    assert predict(conn, 2, "jureca_dc", rates={"E": 10.0})["rtf_range"] is None


def test_rows_networks_outgrow_the_caches():
    from parsnn.mapping.cluster.calibrate import specs_p1
    big = specs_p1({"l2_kib": 2048, "l3_kib": 300 * 1024, "cores_per_l3": 2, "cores": 2})
    small = specs_p1({"l2_kib": 512, "l3_kib": 16 * 1024, "cores_per_l3": 4, "cores": 2})
    assert small["shortrows_P1"]["targets"] == 100000
    # ring = targets x 16 B x 101 slots >= 4 x (L2 + L3 share)
    assert big["longrows_P1"]["targets"] * 8 * 101 >= 4 * (2048 + 150 * 1024) * 1024      # one ring of 8 B
    assert np.isclose(big["longrows_P1"]["targets"], big["shortrows_P1"]["targets"])


def test_calibrate_refuses_bad_input_before_measuring(tmp_path, capsys):
    from parsnn.cli import main
    assert main(["calibrate", "--quick", "--ranks", "0,2"]) == 2
    assert "--ranks must be a comma-separated list of integers >= 1" in capsys.readouterr().err
    existing = tmp_path / "m.toml"
    existing.write_text("")
    assert main(["calibrate", "--quick", "--out", str(existing)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--batches", "-1"])
    assert e.value.code == 2 and "--batches must be >= 0" in capsys.readouterr().err
    assert main(["calibrate", "--batches", "0"]) == 2                        # nothing to measure or merge
    assert "--batches 0 needs" in capsys.readouterr().err
    assert main(["calibrate", "--quick", "--merge", str(existing)]) == 2      # not a calibration: before measuring
    assert "--merge" in capsys.readouterr().err


def test_merge_takes_earlier_batches_of_this_machine_only(tmp_path, two_batches):
    from parsnn.errors import ParameterError
    from parsnn.mapping.cluster.calibrate import FIT_VERSION, previous_batches
    per = [{k: v for k, v in b.items() if isinstance(v, (int, float))} for b in two_batches]
    old = dict(per[0])
    old.pop("fit_version")
    old["collective_call_us"] = 99.0                  # mpi4py's per-call cost in a version-1 batch
    cal = {"batches": 3, "date": "2026-11-30T10:00:00+00:00", "per_batch": [*per, old]}
    data = machine_data(two_batches, FP, "m", "", {"update_s": 4.5e-9, "update_step_ms": 0.1, "event_s": 11e-9}, cal)
    path = tmp_path / "old.toml"
    path.write_text(dump_toml(data))
    fits, dates = previous_batches([str(path)], dict(FP))
    assert len(fits) == 3 and dates == [cal["date"]] * 3
    assert fits[0]["event_ns_memory"] == pytest.approx(TRUTH["event_ns_memory"], rel=1e-4)
    # the version-1 batch's call cost is recomputed as the engine's exchange minus the C Alltoall
    assert fits[2]["fit_version"] == FIT_VERSION
    assert fits[2]["collective_call_us"] == pytest.approx(TRUTH["collective_call_us"], rel=1e-4)
    with pytest.raises(ParameterError, match="fingerprint"):
        previous_batches([str(path)], {**FP, "hash": "ffffffffffff"})
    with pytest.raises(ParameterError, match="cannot read"):
        previous_batches([str(tmp_path / "missing.toml")], dict(FP))



def test_merge_only_combines_earlier_calibrations(tmp_path, two_batches, monkeypatch):
    from parsnn.machines import fingerprint
    from parsnn.mapping.cluster.calibrate import calibrate
    monkeypatch.setattr(fingerprint, "current_fingerprint", lambda date=False: dict(FP))
    per = [{k: v for k, v in b.items() if isinstance(v, (int, float))} for b in two_batches]
    paths = []
    for i, (b, date) in enumerate(zip(per, ("2026-12-01T10:00:00+00:00", "2026-12-01T14:00:00+00:00"))):
        data = machine_data([b], FP, "m", "", {"update_s": 4.5e-9, "update_step_ms": 0.1, "event_s": 11e-9},
                            {"batches": 1, "date": date, "per_batch": [b], "batch_dates": [date]})
        paths.append(str(tmp_path / f"c{i}.toml"))
        with open(paths[-1], "w") as f:
            f.write(dump_toml(data))
    out = str(tmp_path / "merged.toml")
    path, data = calibrate("quick", repeats=0, out=out, merge=paths, log=lambda *a: None)
    m = load_machine(path)
    assert m.data["calibration"]["batches"] == 2 and len(m.data["calibration"]["per_batch"]) == 2
    assert m.data["calibration"]["batch_dates"] == ["2026-12-01T10:00:00+00:00", "2026-12-01T14:00:00+00:00"]
    # the spread spans the two calibrations (TRUTH and 1.1 x TRUTH): the drift between them is in the range
    assert m.data["spread"]["compute.event_ns.l2"] == pytest.approx([2.0, 2.2], rel=1e-4)
    assert any("merged" in n for n in m.data["calibration"]["notes"])


def test_plastic_event_cost_without_events_is_not_a_number():
    # a run in which nothing fired gives no equation: NaN, which the machine file's median skips
    rec = {"perf": {"synaptic_events": [0], "timer_deliver": [1e-3]}, "intervals": 10, "spike_counts": {},
           "description": Connectivity.from_network(measure.calibration_network(
               {"model": "hpc_benchmark", "scale": 0.01})).description}
    c = plasticcost.plastic_event_cost(rec, rec, 0.0)
    assert math.isnan(c["plastic_event_ns"])


def test_median_and_spread_over_segments_and_batches():
    from parsnn.mapping.cluster.machinefile import combine, median_fit
    fits = [{"a": 1.0, "b": float("nan"), "c": True}, {"a": 3.0, "b": 2.0}, {"a": 2.0, "b": 4.0}]
    # per key the median of its finite numbers (a NaN or a bool is no value)
    assert median_fit(fits) == {"a": 2.0, "b": 3.0}
    batches = [{"event_ns_l2": 2.0, "spike_ns": 10.0}, {"event_ns_l2": 2.4, "spike_ns": 12.0}]
    samples = [{"event_ns_l2": x} for x in (1.9, 2.1, 2.2, 3.0, 2.3)]
    med, spread = combine(batches, samples)
    # pooled segments give the median; the spread spans the segments and the batch values
    assert med["event_ns_l2"] == 2.2 and spread["event_ns_l2"] == [1.9, 3.0]
    # a constant no segment has: the batches' median and range
    assert med["spike_ns"] == 11.0 and spread["spike_ns"] == [10.0, 12.0]
    # without segments, as before: over the batches
    assert combine(batches)[0]["event_ns_l2"] == 2.2 and combine(batches)[1]["event_ns_l2"] == [2.0, 2.4]


def test_segment_figures_difference_the_snapshots():
    snap = lambda t, upd, ev, sp, steps: {"timer_update": upd, "timer_deliver": 2 * upd, "simulate_seconds": t,
                                          "synaptic_events": ev, "delivered_spikes": sp, "steps": steps,
                                          "plastic_facilitations": 3 * ev, "plastic_history_windows": ev // 10}
    ranks = [[snap(1.0, 0.1, 100, 10, 50), snap(1.5, 0.3, 400, 40, 150), snap(2.5, 0.4, 500, 45, 250)],
             [snap(1.1, 0.2, 120, 12, 50), snap(1.8, 0.3, 300, 30, 150), snap(2.6, 0.6, 700, 70, 250)]]
    seg = measure.segment_figures(ranks, 0, 1, 0.1, 5)
    assert seg["perf"]["timer_update"] == pytest.approx([0.2, 0.1])
    assert seg["perf"]["timer_deliver"] == pytest.approx([0.4, 0.2])
    assert seg["perf"]["synaptic_events"] == [300, 180] and seg["delivered_spikes"] == [30, 18]
    assert seg["perf"]["plastic_facilitations"] == [900, 540]
    assert seg["perf"]["plastic_history_windows"] == [30, 18]
    assert seg["intervals"] == 20 and seg["t_sim_ms"] == pytest.approx(10.0)
    assert seg["perf"]["rtf"] == pytest.approx(0.7 / 0.01)          # the slowest rank's seconds per model second
    whole = measure.segment_figures(ranks, 0, 2, 0.1, 5)
    assert whole["perf"]["synaptic_events"] == [400, 580] and whole["intervals"] == 40


def test_a_record_file_run_writes_its_spikes_and_removes_the_file(monkeypatch, tmp_path):
    # record_file: the run writes its recorded spikes to a run file (as parsnn run --out), which goes away
    # after the record is made; the spikes are the same as without a file
    import tempfile
    from mpi4py import MPI
    from parsnn.engine import recording
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    written = []
    orig = recording.Recorder.flush
    monkeypatch.setattr(recording.Recorder, "flush", lambda self, st, writer=None: (written.append(writer is not None),
                                                                                   orig(self, st, writer))[1])
    spec = {"model": "spikes", "neurons": 50, "segments": 2}
    rec = measure.run_spec({**spec, "record_file": True}, 4.0, MPI.COMM_SELF)
    assert written == [True, True] and list(tmp_path.iterdir()) == []
    written.clear()
    plain = measure.run_spec(spec, 4.0, MPI.COMM_SELF)
    assert written == [False, False] and rec["spike_counts"] == plain["spike_counts"]
    assert rec["spike_counts"]["S"] > 0


def test_run_spec_leaves_out_the_warm_up_and_keeps_the_segments():
    from mpi4py import MPI
    rec = measure.run_spec({"model": "spikes", "neurons": 50, "warmup_ms": 2.0, "segments": 3}, 6.0, MPI.COMM_WORLD)
    assert rec["warmup_ms"] == pytest.approx(2.0) and rec["t_sim_ms"] == pytest.approx(6.0)
    assert len(rec["segments"]) == 3 and rec["intervals"] == 60
    assert sum(s["intervals"] for s in rec["segments"]) == rec["intervals"]
    assert sum(s["perf"]["synaptic_events"][0] for s in rec["segments"]) == rec["perf"]["synaptic_events"][0] > 0
    assert sum(s["delivered_spikes"][0] for s in rec["segments"]) == rec["delivered_spikes"][0]
    assert sum(s["perf"]["timer_deliver"][0] for s in rec["segments"]) == pytest.approx(rec["perf"]["timer_deliver"][0])


def test_segments_give_the_median_and_the_prediction_range(tmp_path):
    # three measuring segments of one batch, made from TRUTH x 0.9, x 1.0 and x 1.2
    factors = (0.9, 1.0, 1.2)
    seg_batches = [_synthetic_batch({k: v * f for k, v in TRUTH.items()}) for f in factors]
    batch = seg_batches[1]
    for name, res in batch["runs"].items():
        res["segments"] = [{"perf": b["runs"][name]["perf"], "delivered_spikes": b["runs"][name]["delivered_spikes"],
                            "intervals": b["runs"][name]["intervals"], "t_sim_ms": b["runs"][name]["t_sim_ms"]}
                           for b in seg_batches]
    fit = fit_batch(batch, {**FP}, BALANCE)
    for key in ("update_ns_iaf_psc_exp", "event_ns_memory", "spike_ns", "thread_deliver_efficiency"):
        assert fit[key] == pytest.approx(TRUTH[key], rel=1e-4), key                    # the median segment
        vals = sorted(f[key] for f in fit["segment_fits"])
        assert vals == pytest.approx([f * TRUTH[key] for f in factors], rel=1e-4), key
    assert fit["segment_fits"][0]["sigma_rel"] == pytest.approx(TRUTH["sigma_rel"], rel=1e-4)   # the batch's
    per = [{k: v for k, v in fit.items() if isinstance(v, (int, float))}]
    data = machine_data([fit], FP, "m", "", BALANCE, {"batches": 1, "per_batch": per,
                                                      "per_segment": fit["segment_fits"]})
    path = tmp_path / "m.toml"
    path.write_text(dump_toml(data))
    m = load_machine(str(path))
    assert m.data["compute"]["update_ns"]["iaf_psc_exp"] == pytest.approx(TRUTH["update_ns_iaf_psc_exp"], rel=1e-4)
    assert m.data["spread"]["compute.update_ns.iaf_psc_exp"] == pytest.approx([0.99, 1.32], rel=1e-4)
    assert len(m.data["calibration"]["per_segment"]) == 3
    from parsnn.mapping.cluster.predict import batch_machines
    samples = batch_machines(m)
    assert len(samples) == 3            # one machine per segment, though there is one batch
    assert sorted(s.data["compute"]["event_ns"]["l2"] for s in samples) == pytest.approx([1.8, 2.0, 2.4], rel=1e-4)


def test_thread_efficiency_interpolates_in_log_size():
    from parsnn.mapping.cluster.predict import thread_efficiency
    m = Machine(name="t", data={"threads": {"deliver_efficiency": 0.7,
                                            "deliver": {"mib_1": 1.0, "eff_1": 1.0, "mib_2": 16.0, "eff_2": 0.6}}})
    eff = thread_efficiency(m, "deliver", [0.5, 1.0, 4.0, 16.0, 100.0], 0.7)
    assert eff == pytest.approx([1.0, 1.0, 0.8, 0.6, 0.6])        # constant beyond the measured sizes
    # no [threads.update] points: the scalar efficiency
    assert thread_efficiency(m, "update", [1e4, 1e6], 0.55) == pytest.approx([0.55, 0.55])


def test_update_thread_efficiency_is_read_at_the_ranks_neurons_for_any_min_delay():
    # the calibration networks (min delay one step) measure the efficiency at their neuron count; a network of
    # 15-step intervals (hpc_benchmark) must read it at its neurons, not at neurons x 15 (session 23: its 1 x 2
    # update came out 36 % too fast from the large network's superlinear point)
    from parsnn.mapping.cluster.predict import _efficiencies
    m = Machine(name="t", data={"threads": {"update": {"n_1": 8000.0, "eff_1": 0.8, "n_2": 128000.0, "eff_2": 1.4},
                                            "deliver": {"mib_1": 1.0, "eff_1": 1.0, "mib_2": 16.0, "eff_2": 0.6}}})
    wl = {"neurons": {"iaf_psc_alpha": np.array([8000.0, 128000.0])}, "ring_slot_bytes": 8, "max_delay_steps": 40,
          "min_synaptic_delay_steps": 15, "ring_neurons": np.array([8000.0, 128000.0])}
    thr = {"update_efficiency": 1.0, "deliver_efficiency": 1.0}
    for steps in (1, 15):
        upd, _ = _efficiencies(m, wl, 2, steps, np.array([2.0, 2.0]), thr)
        assert upd == pytest.approx([0.8, 1.4])


def test_calibration_jobscript_has_the_wait_policy(tmp_path, capsys):
    from parsnn.cli import main
    out = tmp_path / "cal.sbatch"
    assert main(["calibrate", "--jobscript", str(out), "--quick", "--ranks", "1,2,64", "--batches", "4"]) == 0
    text = out.read_text()
    assert "MPI_WAIT=poll" in text                        # dedicated nodes by default, as the run scripts
    assert '--mpi-wait "$MPI_WAIT"' in text and "parsnn calibrate --quick --ranks" in text
    assert "RANKS=1,2,64" in text and "REPEATS=4" in text and "@" not in text.replace("@@", "")
    assert main(["calibrate", "--jobscript", str(out), "--mpi-wait", "sleep"]) == 0
    text = out.read_text()
    assert "MPI_WAIT=sleep" in text and "--quick" not in text
    assert "RANKS=1,2,16,128" in text and "REPEATS=3" in text          # a cluster node's defaults
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--jobscript", str(out), "--mpi-wait", "spin"])
    assert e.value.code == 2 and "--mpi-wait" in capsys.readouterr().err


def test_interleaved_runs_keep_their_order_and_leave_out_the_re_warms():
    from mpi4py import MPI
    jobs = [[{"model": "spikes", "neurons": 40, "warmup_ms": 1.0, "segments": 2, "group": "g", "rewarm_ms": 0.5}, 4.0],
            [{"model": "null", "warmup_ms": 1.0, "segments": 2, "group": "g", "rewarm_ms": 0.5}, 2.0]]
    spikes, null = measure.run_interleaved(jobs, MPI.COMM_WORLD)
    assert spikes["spec"]["model"] == "spikes" and null["spec"]["model"] == "null"
    assert spikes["t_sim_ms"] == pytest.approx(4.0) and null["t_sim_ms"] == pytest.approx(2.0)
    # the warm-up and a re-warm before each of the 2 segments are left out of the record
    assert spikes["warmup_ms"] == pytest.approx(2.0) and len(spikes["segments"]) == 2
    assert spikes["intervals"] == 40 and sum(s["intervals"] for s in spikes["segments"]) == 40
    # the rates count every spike over all the model time run (warm-ups included)
    assert spikes["spike_counts"]["S"] > 0
    assert spikes["rates"]["S"] == pytest.approx(spikes["spike_counts"]["S"] / 40 / 6e-3)
    # the group's memory on huge pages, read once with every network built (what a batch records)
    assert spikes["memory_pages"] == null["memory_pages"]
    if spikes["memory_pages"]:                        # {} where /proc/self/smaps_rollup is missing (not Linux)
        assert spikes["memory_pages"]["anon_kib"] >= spikes["memory_pages"]["anon_huge_kib"] >= 0


#: the keys a measurement's spec gains for a run (warm-up, segments, wait policy, interleaving, threads)
_RUN_KEYS = ("warmup_ms", "segments", "mpi_wait", "group", "rewarm_ms", "threads")


def _outlier(rec: dict, factor: float) -> dict:
    """A copy of a run record whose every timer and simulate time is ``factor`` x as long."""
    perf = {k: ([x * factor for x in v] if k.startswith("timer_") or k == "simulate_seconds" else v)
            for k, v in rec["perf"].items()}
    return dict(rec, perf=perf)


def _fake_machine(monkeypatch, batch: dict, outliers=()) -> list:
    """measure.launch and measure.mpibench answering from the synthetic ``batch`` (by the jobs' specs), their
    calls numbered in ``outliers`` (0 = the first launch or mpibench call) with every time 3x (a cold start);
    noisebench from the batch too. Returns the list of calls (kind, ranks, jobs) as they happen."""
    import copy
    import json
    from parsnn.machines import fingerprint
    from parsnn.mapping.cluster import calibrate as cal
    from parsnn.mapping.cluster import teambench
    monkeypatch.setattr(fingerprint, "current_fingerprint", lambda date=False: dict(FP))
    names = {json.dumps(v, sort_keys=True): k for k, v in cal.specs_p1(FP).items()}
    calls = []

    def launch(jobs, P, mpiexec=None, timeout=900.0):
        """Run records of the synthetic batch for ``jobs`` on ``P`` ranks."""
        calls.append(("launch", P, jobs))
        out = []
        for spec, _t in jobs:
            base = json.dumps({k: v for k, v in spec.items() if k not in _RUN_KEYS}, sort_keys=True)
            name = "null_P2" if P == 2 else names[base] + ("T2" if spec.get("threads", 1) == 2 else "")
            rec = copy.deepcopy(batch["runs"][name])
            out.append(_outlier(rec, 3.0) if len(calls) - 1 in outliers else rec)
        return out

    def mpibench(P, workdir, iterations=20000, mpiexec=None):
        """The synthetic batch's mpibench results (3x the times for an outlier call)."""
        calls.append(("mpibench", P, iterations))
        f = 3.0 if len(calls) - 1 in outliers else 1.0
        return {k: v * f for k, v in batch["mpibench"][2].items()}

    monkeypatch.setattr(measure, "launch", launch)
    monkeypatch.setattr(measure, "mpibench", mpibench)
    monkeypatch.setattr(measure, "noisebench", lambda *a, **k: copy.deepcopy(batch["noisebench"]))
    monkeypatch.setattr(teambench, "launch", lambda **kw: None)     # the team's meeting: not measured here
    return calls


#: the machine file's tables of fitted constants
_FITTED = ("compute", "overhead", "collectives", "network", "threads", "noise")


@pytest.fixture(scope="module")
def truth_batch():
    """Synthetic measurements made from :data:`TRUTH`."""
    return _synthetic_batch(TRUTH)


def test_warm_up_runs_first_and_is_left_out_of_the_constants(tmp_path, monkeypatch, truth_batch):
    from parsnn.mapping.cluster.calibrate import WARM_UP_RUNS, calibrate
    quiet = lambda *a: None
    calls = _fake_machine(monkeypatch, truth_batch)
    _, plain = calibrate("quick", repeats=1, out=str(tmp_path / "plain.toml"), log=quiet)
    # the warm-up: before any measurement, the event-cost and update networks on 1 rank without segments, then
    # mpibench on 2 ranks; the batch follows
    assert calls[0][:2] == ("launch", 1) and calls[1][:2] == ("mpibench", 2)
    assert len(calls[0][2]) == len(WARM_UP_RUNS) and all("segments" not in spec for spec, _t in calls[0][2])
    assert calls[2][:2] == ("launch", 1) and all(spec.get("segments") for spec, _t in calls[2][2])
    # a cold start (the warm-up's launch and mpibench 3x slower) changes no constant ...
    _fake_machine(monkeypatch, truth_batch, outliers=(0, 1))
    _, cold = calibrate("quick", repeats=1, out=str(tmp_path / "cold.toml"), log=quiet)
    for table in _FITTED:
        assert cold[table] == plain[table], table
    # ... whereas the same outlier in the first measured launch does (the fake reaches the fit)
    _fake_machine(monkeypatch, truth_batch, outliers=(2,))
    _, hit = calibrate("quick", repeats=1, out=str(tmp_path / "hit.toml"), log=quiet)
    assert hit["compute"]["update_ns"]["iaf_psc_exp"] > 2 * plain["compute"]["update_ns"]["iaf_psc_exp"]
    assert plain["compute"]["update_ns"]["iaf_psc_exp"] == pytest.approx(TRUTH["update_ns_iaf_psc_exp"], rel=1e-3)
    # without the warm-up, the first launch is the batch's: the cold start is in the constants
    calls = _fake_machine(monkeypatch, truth_batch, outliers=(0,))
    _, unwarmed = calibrate("quick", repeats=1, out=str(tmp_path / "unwarmed.toml"), log=quiet, warm=False)
    assert all(spec.get("segments") for spec, _t in calls[0][2])
    assert unwarmed["compute"]["update_ns"]["iaf_psc_exp"] > 2 * plain["compute"]["update_ns"]["iaf_psc_exp"]


def test_machine_file_records_the_warm_up_and_round_trips(tmp_path, monkeypatch, truth_batch):
    import tomllib
    from parsnn.mapping.cluster.calibrate import WARM_UP_RUNS, calibrate, previous_batches
    _fake_machine(monkeypatch, truth_batch)
    path, data = calibrate("quick", repeats=1, out=str(tmp_path / "w.toml"), log=lambda *a: None)
    with open(path, "rb") as f:
        back = tomllib.load(f)
    warm = back["calibration"]["warm_up"]
    assert warm["ran"] is True and warm["runs"] == [n[:-3] for n in WARM_UP_RUNS] and warm["seconds"] >= 0
    assert "after an untimed warm-up" in open(path).read().splitlines()[0]
    assert back["calibration"]["command"] == "parsnn calibrate --quick"
    assert len(back["calibration"]["machine_per_batch"]) == 1
    m = load_machine(path)
    assert m.data["compute"]["update_ns"] == pytest.approx(data["compute"]["update_ns"], rel=1e-5)
    assert m.data["compute"]["scatter"] == pytest.approx(data["compute"]["scatter"], rel=1e-5)
    assert m.data["overhead"] == pytest.approx(data["overhead"], rel=1e-5)
    fits, _dates = previous_batches([path], dict(FP))                     # --merge reads it back
    assert fits[0]["update_ns_iaf_psc_exp"] == pytest.approx(TRUTH["update_ns_iaf_psc_exp"], rel=1e-3)
    _fake_machine(monkeypatch, truth_batch)
    path, _ = calibrate("quick", repeats=1, out=str(tmp_path / "n.toml"), log=lambda *a: None, warm=False)
    with open(path, "rb") as f:
        back = tomllib.load(f)
    assert back["calibration"]["warm_up"] == {"ran": False}
    assert back["calibration"]["command"] == "parsnn calibrate --quick --no-warm-up"


def test_no_warm_up_option_reaches_the_procedure(tmp_path, monkeypatch, truth_batch, capsys):
    from parsnn.cli import main
    from parsnn.mapping.cluster import calibrate as cal
    seen = []
    real = cal.calibrate
    monkeypatch.setattr(cal, "calibrate", lambda *a, **k: seen.append(k["warm"]) or real(*a, **{**k, "log": lambda *x: None}))
    _fake_machine(monkeypatch, truth_batch)
    assert main(["calibrate", "--quick", "--batches", "1", "--out", str(tmp_path / "a.toml")]) == 0
    assert "untimed warm-up" in capsys.readouterr().out
    assert main(["calibrate", "--quick", "--batches", "1", "--no-warm-up", "--out", str(tmp_path / "b.toml")]) == 0
    assert seen == [True, False] and "untimed warm-up" not in capsys.readouterr().out


def test_join_launches_keeps_both_launches_segments_and_sums_them():
    seg = lambda upd, ev, steps: {"perf": {"timer_update": [upd], "timer_deliver": [2 * upd], "simulate_seconds": [3 * upd],
                                           "synaptic_events": [ev]}, "delivered_spikes": [ev // 10],
                                  "intervals": steps, "t_sim_ms": steps * 0.1}
    rec = lambda segs, wall: {"spec": {"model": "scatter"}, "perf": {"num_local_neurons": [7], **measure.add_figures(segs)["perf"]},
                              "segments": segs, "wall_s": wall, "rates": {"S": 5.0}}
    a, b = rec([seg(0.1, 100, 10), seg(0.2, 200, 10)], 1.0), rec([seg(0.4, 300, 20)], 2.0)
    j = measure.join_launches(a, b)
    # the segments of the first launch, then the later one's; the totals their sum; the rest the first's
    assert [s["perf"]["synaptic_events"][0] for s in j["segments"]] == [100, 200, 300]
    assert j["perf"]["synaptic_events"] == [600] and j["perf"]["timer_update"] == pytest.approx([0.7])
    assert j["intervals"] == 40 and j["t_sim_ms"] == pytest.approx(4.0) and j["delivered_spikes"] == [60]
    assert j["perf"]["rtf"] == pytest.approx(2.1 / 4e-3) and j["perf"]["num_local_neurons"] == [7]
    assert j["launches"] == 2 and j["wall_s"] == 3.0 and j["rates"] == {"S": 5.0}
    # records without segments (one figure per launch): the first's figures, the launches counted
    plain = measure.join_launches({"perf": {"timer_update": [0.1]}}, {"perf": {"timer_update": [9.0]}})
    assert plain["perf"]["timer_update"] == [0.1] and plain["launches"] == 2


def test_a_one_segment_launch_is_joined_with_its_figures():
    """An odd segment count splits into launches of k and 1 segments: the one-segment launch's record keeps
    its segment, so joining counts its model time and events (they were dropped when such a record had no
    segment list)."""
    from mpi4py import MPI
    spec = {"model": "scatter", "targets": 2000, "warmup_ms": 2.0}
    one = measure.run_spec({**spec, "segments": 1}, 5.0, MPI.COMM_SELF)
    two = measure.run_spec({**spec, "segments": 2}, 10.0, MPI.COMM_SELF)
    assert len(one["segments"]) == 1 and one["segments"][0]["t_sim_ms"] == pytest.approx(one["t_sim_ms"])
    j = measure.join_launches(two, one)
    assert len(j["segments"]) == 3 and j["t_sim_ms"] == pytest.approx(15.0)
    assert j["perf"]["synaptic_events"][0] == two["perf"]["synaptic_events"][0] + one["perf"]["synaptic_events"][0]


def test_a_batch_measures_the_interleaved_networks_in_two_launches(tmp_path, monkeypatch, truth_batch):
    from parsnn.mapping.cluster.calibrate import INTERLEAVED, MODES, calibrate, interleaved_segments
    calls = _fake_machine(monkeypatch, truth_batch)
    calibrate("quick", repeats=1, out=str(tmp_path / "two.toml"), log=lambda *a: None, warm=False)
    first, last = interleaved_segments(MODES["quick"])
    assert first + last == MODES["quick"]["segments"] and first >= last >= 1
    main = calls[0][2]
    # the batch's first launch: every 1-rank network, the interleaved ones with the first share of the segments
    assert {spec["segments"] for spec, _t in main if spec.get("group") is None} == {MODES["quick"]["segments"]}
    assert {spec["segments"] for spec, _t in main if spec.get("group")} == {first}
    # fit version 10: one group per network (a scatter network's two prefetch distances, next to each other in the
    # launch), never several networks in one group
    groups = [spec["group"] for spec, _t in main if spec.get("group")]
    runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(runs) == len(set(groups)) == 1 + len(INTERLEAVED[1:]) // 2
    for g in set(groups):
        members = [spec for spec, _t in main if spec.get("group") == g]
        assert len({json.dumps({k: v for k, v in m.items() if k not in measure._RUN_KEYS}, sort_keys=True)
                    for m in members}) == 1
        assert len(members) == (1 if members[0]["model"] == "pd14" else 2)
    # the batch's last launch (after mpibench and noisebench): the interleaved networks alone, the rest of the segments
    late = [c for c in calls if c[0] == "launch" and c[1] == 1][-1][2]
    assert len(late) == len(INTERLEAVED) and all(s["group"] and s["segments"] == last for s, _t in late)
    assert [c[0] for c in calls].index("mpibench") < calls.index([c for c in calls if c[2] is late][0])
    # the two launches together simulate each interleaved network's model time once, as one launch would (the
    # thread constants compare a network's 1-thread record, joined over both, with its 2-thread record of one)
    from parsnn.mapping.cluster.calibrate import _t_key
    once = sum(MODES["quick"]["t"][_t_key(n)] for n in INTERLEAVED)
    both = sum(t for spec, t in main if spec.get("group")) + sum(t for _s, t in late)
    assert both == pytest.approx(once)


def test_batches_before_fit_version_5_drop_the_redefined_constants():
    # version 4 measured record_ns in memory (fixed cost included) and the update's thread efficiencies
    # against thread 0's share of the neurons: merged into a version-5 calibration they are left out
    from parsnn.mapping.cluster.calibrate import FIT_VERSION, _current_meaning
    old = {"fit_version": 4, "record_ns": 41.0, "thread_update_efficiency": 0.56, "thread_update_eff_1": 0.54,
           "thread_update_n_1": 10500.0, "thread_deliver_eff_1": 0.8, "spike_ns": 16.0}
    got = _current_meaning(dict(old))
    # (version 6 redefined the delivery's thread efficiencies too: dropped as well)
    assert got == {"fit_version": FIT_VERSION, "thread_update_n_1": 10500.0, "spike_ns": 16.0}
    new = {**old, "fit_version": FIT_VERSION}
    assert _current_meaning(dict(new)) == new


def test_batches_before_fit_version_6_drop_the_event_cost_curve():
    # version 5's curve came from scatter networks with poisson_source devices at the tuner's distance, and its
    # points carried the per-row cost: merged into a version-6 calibration, it is left out (not mixed)
    from parsnn.mapping.cluster.calibrate import FIT_VERSION, _current_meaning
    old = {"fit_version": 5, "scatter_mib_1": 0.87, "scatter_ns_1": 1.96, "scatter_no_prefetch_ns": 51.2,
           "thread_deliver_efficiency": 0.9, "thread_update_efficiency": 0.8, "spike_ns": 16.0}
    assert _current_meaning(dict(old)) == {"fit_version": FIT_VERSION, "thread_update_efficiency": 0.8,
                                           "spike_ns": 16.0}


def test_wait_sigma_us_recovers_the_engines_own_wait():
    # a 2-rank PD14 record whose exchange timers are the model's with [noise] wait_us = 7 us (rank 1 also waited
    # for rank 0's 10 ms of recording): the fit, with the model without it, finds 7 us; a record that waited
    # no longer than the model says gives 0
    import copy as _copy
    from parsnn.machines import Machine, load_machine
    base = load_machine("epyc_zen5_kvm_2core_2026_11_22")
    data = _copy.deepcopy(base.data)
    data.setdefault("noise", {})["wait_us"] = 7.0
    for key in ("record_ns", "record_flush_us", "record_first_us"):
        data["compute"][key] = 0.0
    truth = Machine(name="truth", data=data)
    net = measure.calibration_network({"model": "pd14", "n_scaling": 0.02})
    conn = Connectivity.from_network(net)
    rank_of = np.where(np.repeat(conn.virtual, conn.sizes), -1, np.arange(conn.num_nodes) % 2)
    res = {"description": conn.description, "rank_of": rank_of.tolist(), "ranks": 2, "rates": None,
           "min_delay_steps": 1, "t_sim_ms": 400.0, "intervals": 4000, "prefetch": None}
    pred = calibration.predict_record(res, truth)
    exch = np.asarray(pred["per_rank"]["exchange"]) * 4000 + np.array([0.0, 0.01])
    res["perf"] = {"timer_exchange": exch.tolist(), "timer_record": [0.01, 0.0]}
    assert waitfit.wait_sigma_us(res, base) == pytest.approx(7.0, rel=1e-9)
    res["perf"]["timer_exchange"] = (exch * 0.5).tolist()
    assert waitfit.wait_sigma_us(res, base) == 0.0


def test_wait_constants_recover_an_absolute_and_a_relative_part():
    # fit version 8: x^2 = wait_us^2 + (wait_rel busy)^2 through points of several sizes
    pts = [(b, math.hypot(3.0, 0.4 * b)) for b in (14.0, 23.0, 60.0)]
    got = waitfit.wait_constants(pts)
    assert got["wait_us"] == pytest.approx(3.0, rel=1e-9) and got["wait_rel"] == pytest.approx(0.4, rel=1e-9)
    # a wait that does not grow with the work is absolute, one proportional to it relative
    flat = waitfit.wait_constants([(10.0, 5.0), (40.0, 5.0)])
    assert flat["wait_us"] == pytest.approx(5.0) and flat["wait_rel"] == pytest.approx(0.0, abs=1e-6)
    prop = waitfit.wait_constants([(10.0, 2.0), (40.0, 8.0)])
    assert prop["wait_us"] == pytest.approx(0.0, abs=1e-6) and prop["wait_rel"] == pytest.approx(0.2)
    # a wait that shrinks with the work: no negative square, the better one-term fit (absolute here)
    down = waitfit.wait_constants([(10.0, 6.0), (40.0, 4.0)])
    assert down["wait_rel"] == 0.0 and down["wait_us"] == pytest.approx(math.sqrt((36.0 + 16.0) / 2))
    # one point: all relative; none: nothing
    assert waitfit.wait_constants([(20.0, 5.0)]) == {"wait_us": 0.0, "wait_rel": pytest.approx(0.25)}
    assert waitfit.wait_constants([]) == {}


def _two_rank_record(n_scaling: float, truth) -> dict:
    """A 2-rank PD14 record whose exchange timers are ``truth``'s prediction (no recording)."""
    net = measure.calibration_network({"model": "pd14", "n_scaling": n_scaling})
    conn = Connectivity.from_network(net)
    rank_of = np.where(np.repeat(conn.virtual, conn.sizes), -1, np.arange(conn.num_nodes) % 2)
    res = {"description": conn.description, "rank_of": rank_of.tolist(), "ranks": 2, "rates": None,
           "min_delay_steps": 1, "t_sim_ms": 400.0, "intervals": 4000, "prefetch": None}
    pred = calibration.predict_record(res, truth)
    res["perf"] = {"timer_exchange": (np.asarray(pred["per_rank"]["exchange"]) * 4000).tolist(),
                   "timer_record": [0.0, 0.0]}
    return res


def test_engine_wait_fits_both_parts_on_two_sizes():
    # two 2-rank records of different sizes whose exchange timers are the model's with wait_us = 2 us and
    # wait_rel = 0.3: the batch fit (calibrate._engine_wait, through wait_residual and wait_constants) finds both
    import copy as _copy
    from parsnn.mapping.cluster import calibrate
    s15 = load_machine("analysis/results/calibration_check_zen5_idle_2026_12_02_s15.toml")
    c = dict(s15.data["calibration"]["per_batch"][0])
    fp, balance = s15.data["fingerprint"], s15.data.get("balance", {})
    base = Machine(name="batch", data=machine_data([c], fp, "batch", "", balance, {}))
    data = _copy.deepcopy(base.data)
    data["noise"].update(wait_us=2.0, wait_rel=0.3)
    for key in ("record_ns", "record_flush_us", "record_first_us"):
        data["compute"][key] = 0.0
    truth = Machine(name="truth", data=data)
    small, large = _two_rank_record(0.02, truth), _two_rank_record(0.06, truth)
    rs, rl = waitfit.wait_residual(small, base), waitfit.wait_residual(large, base)
    assert rl["busy_us"] > 2 * rs["busy_us"] and rl["x_us"] > rs["x_us"] > 2.0
    got = waitfit.wait_constants([(rs["busy_us"], rs["x_us"]), (rl["busy_us"], rl["x_us"])])
    assert got["wait_us"] == pytest.approx(2.0, rel=0.05) and got["wait_rel"] == pytest.approx(0.3, rel=0.02)
    # through the batch fit: the runs under WAIT_RUNS' 2-rank names
    runs = dict(zip([n[:-3] + "_P2" for n in calibrate.WAIT_RUNS], (small, large)))
    out = calibrate._engine_wait({"runs": runs}, c, fp, balance)
    assert out["wait_sigma_us"] == pytest.approx(got["wait_us"], rel=1e-9)
    assert out["wait_rel"] == pytest.approx(got["wait_rel"], rel=1e-9)
    assert out["wait_busy_us_2"] == pytest.approx(rl["busy_us"]) and out["wait_x_us_1"] == pytest.approx(rs["x_us"])
    # a batch of fit version 7 (PD14 0.1 on 2 ranks alone): wait_us alone, as then
    old = calibrate._engine_wait({"runs": {"pd14_P2": small}}, c, fp, balance)
    assert set(old) == {"wait_sigma_us"} and old["wait_sigma_us"] == pytest.approx(rs["x_us"], rel=1e-9)
    assert calibrate._engine_wait({"runs": {}}, c, fp, balance) == {}


def test_wait_rel_in_the_prediction_and_old_files_unchanged():
    # [noise] wait_rel adds (wait_rel busy) in quadrature: a larger network waits more in absolute terms; a file
    # without it (fit version 7 and older) predicts exactly as before
    import copy as _copy
    from parsnn.mapping.cluster.predict import predict as _predict
    old = load_machine("analysis/results/calibration_check_zen5_idle_2026_12_02_s15.toml")
    assert "wait_rel" not in old.data["noise"]
    data = _copy.deepcopy(old.data)
    data["noise"]["wait_rel"] = 0.0
    zero = Machine(name="zero", data=data)
    rel = _copy.deepcopy(data)
    rel["noise"]["wait_rel"] = 0.3
    rel = Machine(name="rel", data=rel)
    extra = []
    for n in (0.02, 0.06):
        conn = Connectivity.from_network(measure.calibration_network({"model": "pd14", "n_scaling": n}))
        p_old = _predict(conn, 2, old, t_sim_ms=1000.0, with_range=False)
        p_zero = _predict(conn, 2, zero, t_sim_ms=1000.0, with_range=False)
        p_rel = _predict(conn, 2, rel, t_sim_ms=1000.0, with_range=False)
        assert p_old["per_rank"]["exchange"] == p_zero["per_rank"]["exchange"] and p_old["rtf"] == p_zero["rtf"]
        busy = max(p_old["per_rank"]["busy"])
        sig0 = (p_old["compute_s"] - busy) / expected_max_normal(2)
        sig1 = (p_rel["compute_s"] - busy) / expected_max_normal(2)
        assert sig1 == pytest.approx(math.hypot(sig0, 0.3 * busy), rel=0.02)
        extra.append(np.mean(p_rel["per_rank"]["exchange"]) - np.mean(p_old["per_rank"]["exchange"]))
    assert extra[1] > 1.5 * extra[0] > 0


def test_fit_version_8_labels_version_7_files():
    from parsnn.machines.fingerprint import fit_version, fit_version_note
    from parsnn.mapping.cluster.calibrate import FIT_VERSION
    m = load_machine("analysis/results/calibration_check_zen5_idle_2026_12_02_s15.toml")
    assert FIT_VERSION >= 8 and fit_version(m) == 7
    note = fit_version_note(m)
    assert "fit version 7" in note and "version 8" in note and "recalibrate" in note


def test_batches_before_fit_version_9_drop_the_delivery_thread_efficiency():
    # version 8 fitted the delivery's thread efficiency against the curve read at the shared working set;
    # version 9's sharing rule (scatter.shared_cost) gives it another meaning: merged, it is left out
    from parsnn.mapping.cluster.calibrate import FIT_VERSION, _current_meaning
    old = {"fit_version": 8, "thread_deliver_efficiency": 1.2, "thread_deliver_eff_1": 1.1,
           "thread_deliver_mib_1": 1.7, "thread_update_efficiency": 1.0, "wait_rel": 0.2}
    assert FIT_VERSION >= 9
    assert _current_meaning(dict(old)) == {"fit_version": FIT_VERSION, "thread_deliver_mib_1": 1.7,
                                           "thread_update_efficiency": 1.0, "wait_rel": 0.2}


def test_batches_before_fit_version_8_drop_the_absolute_wait():
    # version 7's wait_sigma_us was all of the engine's wait, fitted on PD14 0.1: merged into a version-8
    # calibration it is left out (the absolute part of version 8's two-part fit means something else)
    from parsnn.mapping.cluster.calibrate import FIT_VERSION, _current_meaning
    got = _current_meaning({"fit_version": 7, "wait_sigma_us": 1.6, "sigma_us": 1.7})
    assert got == {"fit_version": FIT_VERSION, "sigma_us": 1.7}


def _plastic_segments(a_ns, b_ns, ratios, c_event_ns=2.0, o_del=1e-6, hist=None, miss_ns=0.0, l2_bytes=1.0):
    """A plastic hpc run record with one segment per facilitation ratio, deliver timers following
    a x plastic events + b x facilitations on top of c_event per event, and its static twin; with ``hist`` (history
    windows per plastic event, one per segment) also b + miss_ns exp(-(l2_bytes / B) h / n) per history window."""
    conn = Connectivity.from_network(measure.calibration_network({"model": "hpc_benchmark", "scale": 0.01}))
    desc = conn.description
    n_e = conn.sizes[conn.index("E")]
    n_i = conn.sizes[conn.index("I")]
    counts = {"E": 100.0 * n_e, "I": 100.0 * n_i}
    ev_per_e, ev_per_i = 9000 + 2250 * n_i / n_e, 2250 * (n_e + n_i) / n_i     # E -> E + E -> I; I -> both
    e_total = counts["E"] * ev_per_e + counts["I"] * ev_per_i
    plastic = {"description": desc, "spike_counts": counts, "intervals": 50 * len(ratios),
               "perf": {"synaptic_events": [e_total]}}
    pev_total = plasticcost.plastic_events(plastic)                    # the events' plastic share, as the fit takes it
    segs = []
    for j, r in enumerate(ratios):
        ev = e_total / len(ratios)
        pev = pev_total / len(ratios)
        d = o_del * 50 + c_event_ns * 1e-9 * ev + a_ns * 1e-9 * pev + b_ns * 1e-9 * r * pev
        perf = {"timer_deliver": [d], "synaptic_events": [ev], "plastic_facilitations": [r * pev]}
        if hist is not None:
            h = hist[j]
            perf["plastic_history_windows"] = [h * pev]
            miss = miss_ns * np.exp(-l2_bytes / plasticcost.HISTORY_EVENT_BYTES * h / n_e)
            perf["timer_deliver"][0] += h * pev * (b_ns + miss) * 1e-9
        segs.append({"perf": perf, "intervals": 50, "delivered_spikes": [0], "t_sim_ms": 10.0})
    plastic["segments"] = segs
    plastic["perf"]["timer_deliver"] = [sum(sg["perf"]["timer_deliver"][0] for sg in segs)]
    static = {"description": desc, "intervals": 200,
              "perf": {"synaptic_events": [1e8], "timer_deliver": [o_del * 200 + c_event_ns * 1e-9 * 1e8]}}
    return plastic, static


def test_the_plastic_cost_per_event_and_per_facilitation_are_fitted_across_segments():
    plastic, static = _plastic_segments(4.0, 6.0, [0.05, 0.4, 0.7, 0.9])
    ff = plasticcost.facilitation_fit(plastic, static, 1e-6)
    assert ff["plastic_event_ns"] == pytest.approx(4.0, rel=1e-6)
    assert ff["facilitation_ns"] == pytest.approx(6.0, rel=1e-6)
    assert ff["facilitation_fit"]["facilitations_per_plastic_event"] == pytest.approx([0.05, 0.4, 0.7, 0.9])
    # segments alike in facilitations per event, or one segment, or no segments: no fit
    assert plasticcost.facilitation_fit(*_plastic_segments(4.0, 6.0, [0.5, 0.55, 0.6]), 1e-6) is None
    assert plasticcost.facilitation_fit(*_plastic_segments(4.0, 6.0, [0.5]), 1e-6) is None
    assert plasticcost.facilitation_fit(None, static, 1e-6) is None
    # a fit without a positive cost per facilitation is refused
    assert plasticcost.facilitation_fit(*_plastic_segments(4.0, -1.0, [0.05, 0.9]), 1e-6) is None


def test_the_plastic_fit_takes_out_the_history_windows_misses():
    # segments whose history windows (rising with the archives) each cost a facilitation and a miss: given the machine's
    # unprefetched access and L2 the fit recovers a and b; without them the misses inflate the fitted constants
    hist = [0.001, 0.02, 0.05, 0.1]
    args = (4.0, 6.0, [0.05, 0.4, 0.7, 0.9])
    kw = {"hist": hist, "miss_ns": 50.0, "l2_bytes": 4096.0}        # a small L2: most history windows miss
    plastic, static = _plastic_segments(*args, **kw)
    assert plasticcost.plastic_targets(plastic["description"]) == float(
        Connectivity.from_description(plastic["description"]).sizes[0])
    ff = plasticcost.facilitation_fit(plastic, static, 1e-6, miss_ns=50.0, l2_bytes=4096.0)
    assert ff["plastic_event_ns"] == pytest.approx(4.0, rel=1e-6)
    assert ff["facilitation_ns"] == pytest.approx(6.0, rel=1e-6)
    assert ff["facilitation_fit"]["history_windows_per_plastic_event"] == pytest.approx(hist)
    blind = plasticcost.facilitation_fit(plastic, static, 1e-6)
    assert blind["plastic_event_ns"] + blind["facilitation_ns"] > 10.5
