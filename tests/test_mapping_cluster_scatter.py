"""The measured event-cost curve of the cost model (parsnn.mapping.cluster.scatter), the ring and synapse
bytes the workload takes from the engine, and predict's range and thread-oversubscription rules. No timing:
synthetic run records made from known constants are fitted back."""
import copy
import math
import subprocess
import sys

import numpy as np
import pytest

from parsnn.connectivity import Connectivity
from parsnn.engine.footprint import RING_SLOT_BYTES, STATIC_SYNAPSE_BYTES
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster import measure, predict, scatter, sweep
from parsnn.mapping.cluster.predict import OversubscribedThreads, batch_machines
from parsnn.mapping.cluster.workload import ring_buffers, ring_working_set, workload
from parsnn.network import FixedIndegree, Network

#: a curve that rises from 2 to 12 ns between 1 and 64 MiB; unprefetched events at memory cost 60 ns
CURVE = {"mib_1": 1.0, "ns_1": 2.0, "mib_2": 8.0, "ns_2": 5.0, "mib_3": 64.0, "ns_3": 12.0, "no_prefetch_ns": 60.0}


def _curve_machine(base: str = "xeon_emr_kvm_2core_2026_12_01", curve=CURVE) -> Machine:
    """A shipped machine with the test curve in ``[compute.scatter]``."""
    m = load_machine(base)
    data = copy.deepcopy(m.data)
    data["compute"]["scatter"] = dict(curve)
    return Machine(name="curve", data=data, path=m.path, inherited=m.inherited)


def test_event_cost_interpolates_the_curve_in_log_working_set():
    m = _curve_machine()
    mib = 2.0 ** 20
    assert scatter.event_cost(m, 1.0 * mib) == pytest.approx(2e-9)
    assert scatter.event_cost(m, 0.01 * mib) == pytest.approx(2e-9)            # below the first point: its cost
    assert scatter.event_cost(m, 1e4 * mib) == pytest.approx(12e-9)            # beyond the last: memory-bound
    # halfway between 1 and 8 MiB in log ws: halfway between 2 and 5 ns
    assert scatter.event_cost(m, math.sqrt(8.0) * mib) == pytest.approx(3.5e-9)
    # unprefetched events pay the no-prefetch extra as far as the curve has reached the memory-bound cost
    assert scatter.event_cost(m, 1.0 * mib, 1.0) == pytest.approx(2e-9)
    assert scatter.event_cost(m, 64.0 * mib, 1.0) == pytest.approx(60e-9)
    miss = (5.0 - 2.0) / (12.0 - 2.0)
    assert scatter.event_cost(m, 8.0 * mib, 0.5) == pytest.approx((5.0 + 0.5 * miss * 48.0) * 1e-9)


def test_without_a_curve_the_cache_model_is_used():
    m = load_machine("xeon_emr_kvm_2core_2026_12_01")
    assert scatter.curve(m) is None
    ws = np.array([1e5, 1e7, 1e9])
    assert np.allclose(scatter.event_cost(m, ws, 0.1), m.event_cost(ws, 0.1))


def test_a_larger_network_pays_more_per_event_with_the_curve_not_with_nominal_caches():
    """The session-7 finding: with a 300 MiB nominal L3, the cache model gives PD14 0.1 and 0.25 almost
    the same event cost; the measured curve makes the cost grow with the ring working set."""
    def per_event(machine, n):
        net = measure.calibration_network({"model": "pd14", "n_scaling": n})
        return predict(Connectivity.from_network(net), 1, machine)["workload"]["event_ns"]
    nominal = load_machine("xeon_emr_kvm_2core_2026_12_01")
    assert per_event(nominal, 0.25) == pytest.approx(per_event(nominal, 0.1), rel=0.25)
    curved = _curve_machine()
    assert per_event(curved, 0.25) > 1.3 * per_event(curved, 0.1)


#: a curve of fit version 6: per event at rows without end, per row, at prefetch distances 128 and 0
CURVE6 = {"mib_1": 1.0, "ns_1": 1.5, "mib_2": 8.0, "ns_2": 3.0, "mib_3": 64.0, "ns_3": 6.0,
          "row_mib_1": 4.0, "row_ns_1": 1000.0, "row_mib_2": 16.0, "row_ns_2": 2000.0,
          "d0_ns_1": 1.2, "d0_ns_2": 2.4, "d0_ns_3": 5.0, "d0_row_ns_1": 600.0, "d0_row_ns_2": 1400.0,
          "distance": 128, "no_prefetch_ns": 60.0}


def _scatter_record(name: str, spec: dict, machine: Machine, o_del: float, c_spk: float, t_ms: float = 200.0) -> dict:
    """A 1-rank run record of a calibration network whose deliver timer follows the machine's event cost
    exactly: the scatter networks' events and spikes from their spike_generator sources (the workload has
    none for them), rows of ``row``, at the spec's prefetch distance; 'shortrows' at the curve's last point."""
    net = measure.calibration_network(spec)
    conn = Connectivity.from_network(net)
    wl = workload(conn, 1)
    T = t_ms * 1e-3
    intervals = int(round(t_ms / 0.1 / wl["min_delay_steps"]))
    if name.startswith("scatter"):
        S = net.populations["S"].size * net.metadata["expected_rates"]["S"] * T
        E = S * spec["row"]
        c = float(scatter.event_cost(machine, ring_working_set(wl)[0], 0.0, 1, spec["row"], spec["prefetch"]))
    else:
        E, S = float(wl["events_per_s"][0] * T), float(wl["spikes_in_per_s"][0] * T)
        c = 60e-9
    deliver = o_del * intervals + S * c_spk + E * c
    return {"spec": spec, "ranks": 1, "t_sim_ms": t_ms, "rank_of": [0] * conn.num_nodes, "rates": None,
            "description": conn.description, "intervals": intervals, "delivered_spikes": [S],
            "perf": {"timer_deliver": [deliver], "synaptic_events": [E]},
            "prefetch": {"distance": spec.get("prefetch", 128), "source": "given"}}


def test_fit_curve_recovers_the_points_and_the_row_costs_of_synthetic_runs():
    specs = {**scatter.specs(), "shortrows_P1": {"model": "shortrows", "row": 64, "sources": 2000, "targets": 400000}}
    ws = {name: float(ring_working_set(workload(Connectivity.from_network(measure.calibration_network(spec)), 1))[0])
          / 2 ** 20 for name, spec in specs.items()}
    names = [scatter.run_name(n) for n in scatter.SCATTER_TARGETS]
    assert [ws[n] for n in names] == sorted(ws[n] for n in names)
    rows = [scatter.run_name(n) for n in scatter.ROW_TARGETS]
    # a true curve through exactly those working sets: per event, per row (at the ROW_TARGETS), at 128 and 0
    truth = {**{f"mib_{i}": ws[n] for i, n in enumerate(names, start=1)},
             **{f"ns_{i}": v for i, v in enumerate([2.0, 3.0, 6.5, 11.0], start=1)},
             **{f"d0_ns_{i}": v for i, v in enumerate([1.7, 2.6, 5.5, 10.0], start=1)},
             **{f"row_mib_{j}": ws[n] for j, n in enumerate(rows, start=1)},
             **{f"row_ns_{j}": 1200.0 + 700.0 * j for j in range(1, len(rows) + 1)},
             **{f"d0_row_ns_{j}": 600.0 + 500.0 * j for j in range(1, len(rows) + 1)},
             "distance": 128, "no_prefetch_ns": 60.0}
    m = _curve_machine(curve=truth)
    o_del, c_spk = 0.05e-6, 9e-9
    runs = {name: _scatter_record(name, spec, m, o_del, c_spk) for name, spec in specs.items()}
    fit = scatter.fit_curve(runs, o_del, c_spk)
    for k, v in truth.items():
        assert fit["scatter_" + k] == pytest.approx(v, rel=1e-6), k
    # a missing run (a row length, or a point): no curve (the machine file then keeps the cache-level model)
    assert scatter.fit_curve({k: v for k, v in runs.items() if k != names[0]}, o_del, c_spk) == {}
    long_row = scatter.run_name(scatter.ROW_TARGETS[0], scatter.LONG_ROW)
    assert scatter.fit_curve({k: v for k, v in runs.items() if k != long_row}, o_del, c_spk) == {}


def _two_rings_net(tau_in: float) -> Network:
    net = Network(0.1)
    net.add_population("E", 100, "iaf_psc_exp", params={"tau_syn_ex": 0.5, "tau_syn_in": tau_in})
    net.add_population("D", 10, "iaf_psc_delta")
    net.connect("E", "E", FixedIndegree(10), weight=1.0, delay=1.0)
    return net


def test_ring_bytes_follow_the_engine_ring_scheme():
    one, two = _two_rings_net(0.5), _two_rings_net(2.0)
    assert ring_buffers(one.describe()) == 1 and ring_buffers(two.describe()) == 2
    w1 = workload(Connectivity.from_network(one), 1, rates={"E": 5.0})
    w2 = workload(Connectivity.from_network(two), 1, rates={"E": 5.0})
    assert w1["ring_slot_bytes"] == RING_SLOT_BYTES and w2["ring_slot_bytes"] == 2 * RING_SLOT_BYTES
    assert np.allclose(ring_working_set(w2), 2 * ring_working_set(w1))
    # model defaults: iaf_psc_exp's tau_syn_ex and tau_syn_in are both 2 ms
    net = Network(0.1)
    net.add_population("A", 10, "iaf_psc_exp")
    assert ring_buffers(net.describe()) == 1


def test_cost_model_imports_neither_mpi_nor_the_engine():
    code = ("import sys; import parsnn.mapping.cluster as c; c.predict; "
            "print('mpi4py.MPI' in sys.modules, 'parsnn.engine.simulation' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert STATIC_SYNAPSE_BYTES == 6                      # uint16 target + float32 weight (cython/deliver.h)


# --------------------------------------------------------------------------- predict: range and threads

def _batched_machine() -> Machine:
    """The shipped Xeon file with two calibration batches whose constants pull in opposite directions."""
    m = load_machine("xeon_emr_kvm_2core_2026_12_01")
    data = copy.deepcopy(m.data)
    data["threads"] = {"update_efficiency": 0.8, "deliver_efficiency": 0.8, "region_us": 5.0}
    data["spread"] = {"threads.update_efficiency": [0.4, 1.3], "threads.deliver_efficiency": [0.5, 1.5],
                      "compute.update_ns.iaf_psc_exp": [1.4, 3.0]}
    a = {"thread_update_efficiency": 0.4, "thread_deliver_efficiency": 0.5, "update_ns_iaf_psc_exp": 1.4,
         "thread_region_us": 5.0}
    b = {"thread_update_efficiency": 1.3, "thread_deliver_efficiency": 1.5, "update_ns_iaf_psc_exp": 3.0,
         "thread_region_us": 5.0}
    data["calibration"] = {"batches": 2, "per_batch": [a, b], "batch_dates": ["2026-12-01T18:00:00+00:00"] * 2}
    return Machine(name="batched", data=data, path=m.path, inherited=m.inherited)


def test_prediction_range_holds_the_point_and_every_batch():
    conn = Connectivity.from_network(measure.calibration_network({"model": "pd14", "n_scaling": 0.1}))
    m = _batched_machine()
    p = predict(conn, 1, m, threads=2)
    lo, hi = p["rtf_range"]
    assert lo <= p["rtf"] <= hi
    per_batch = [predict(conn, 1, b, threads=2, with_range=False)["rtf"] for b in batch_machines(m)]
    assert [lo, hi] == pytest.approx([min(per_batch + [p["rtf"]]), max(per_batch + [p["rtf"]])])
    assert batch_machines(m)[0].data["threads"]["update_efficiency"] == 0.4
    assert "spread" not in batch_machines(m)[0].data


def test_threads_beyond_the_cores_are_refused_ranks_beyond_them_are_modelled(capsys):
    conn = Connectivity.from_network(measure.calibration_network({"model": "pd14", "n_scaling": 0.02}))
    m = _batched_machine()                                     # 2 cores, one node
    with pytest.raises(OversubscribedThreads, match="2 rank\\(s\\) x 2 threads .* 2 cores"):
        predict(conn, 2, m, threads=2)
    assert predict(conn, 4, m)["oversubscribed"]              # 4 ranks x 1 thread: the yield model
    skipped = []
    curve = sweep(conn, [1, 2], m, threads=[1, 2], skipped=skipped)
    assert [(p["ranks"], p["threads"]) for p in curve] == [(1, 1), (1, 2), (2, 1)]
    assert len(skipped) == 1 and "not modelled" in skipped[0]
    with pytest.raises(OversubscribedThreads):
        sweep(conn, [2], m, threads=[2], skipped=[])


def test_cores_scattering_at_once_share_the_cache_beyond_l2():
    m = _curve_machine()                                       # L2 2 MiB per core, 2 cores per L3
    mib = 2.0 ** 20
    assert scatter.shared_working_set(m, 4 * mib, 2) == pytest.approx(6 * mib)     # 2 + 2 x (4 - 2)
    assert scatter.shared_working_set(m, 1 * mib, 2) == pytest.approx(1 * mib)     # within each L2
    assert scatter.shared_working_set(m, 4 * mib, 1) == pytest.approx(4 * mib)
    # 2 ranks of a network: each rank's ring is half, but both scatter at once into the shared cache
    conn = Connectivity.from_network(measure.calibration_network({"model": "pd14", "n_scaling": 0.25}))
    one, two = predict(conn, 1, m)["workload"], predict(conn, 2, m)["workload"]
    ws1, ws2 = one["ring_bytes_per_interval_max"], two["ring_bytes_per_interval_max"]
    assert ws2 == pytest.approx(ws1 / 2, rel=0.02)
    assert two["event_ns"] == pytest.approx(scatter.event_cost(m, ws2, two["unprefetched_event_fraction"], 2) * 1e9)
    assert two["event_ns"] > scatter.event_cost(m, ws2, two["unprefetched_event_fraction"], 1) * 1e9
