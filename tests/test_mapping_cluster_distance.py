"""The cost model's event cost of fit version 6 (parsnn.mapping.cluster.scatter: a per-row cost, curves at
several prefetch distances) and the distance it predicts with (parsnn.mapping.cluster.distance): a run file's,
else the tuner's cached choice on this machine, else the default. No timing."""
import copy
import json
import os

import numpy as np
import pytest

from parsnn.connectivity import Connectivity
from parsnn.engine import prefetch as engine_prefetch
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster import distance, measure, predict, scatter

MIB = 2.0 ** 20
#: per event at rows without end, per row, at prefetch distances 128 and 0
CURVE6 = {"mib_1": 1.0, "ns_1": 1.5, "mib_2": 8.0, "ns_2": 3.0, "mib_3": 64.0, "ns_3": 6.0,
          "row_mib_1": 4.0, "row_ns_1": 1000.0, "row_mib_2": 16.0, "row_ns_2": 2000.0,
          "d0_ns_1": 1.2, "d0_ns_2": 2.4, "d0_ns_3": 5.0, "d0_row_ns_1": 600.0, "d0_row_ns_2": 1400.0,
          "distance": 128, "no_prefetch_ns": 60.0}


def _machine(curve=CURVE6, fp_hash=None) -> Machine:
    m = load_machine("xeon_emr_kvm_2core_2026_12_01")
    data = copy.deepcopy(m.data)
    data["compute"]["scatter"] = dict(curve)
    if fp_hash is not None:
        data["fingerprint"] = {"hash": fp_hash}
    return Machine(name="curve6", data=data, path=m.path, inherited=m.inherited)


def test_event_cost_adds_the_per_row_cost_over_the_row():
    m = _machine()
    # at 8 MiB: 3.0 ns per event; the per-row cost at 8 MiB is halfway (in log ws) between 1000 and 2000 ns
    assert scatter.event_cost(m, 8 * MIB, 0.0, 1, 4000.0) == pytest.approx((3.0 + 1500.0 / 4000.0) * 1e-9)
    assert scatter.event_cost(m, 8 * MIB, 0.0, 1, 2000.0) > scatter.event_cost(m, 8 * MIB, 0.0, 1, 4000.0)
    # beyond the row points, their ends; a row shorter than ROW_MIN pays the row cost over ROW_MIN
    assert scatter.event_cost(m, 64 * MIB, 0.0, 1, 1e9) == pytest.approx(6.0e-9)
    assert scatter.event_cost(m, 1 * MIB, 0.0, 1, 1.0) == pytest.approx((1.5 + 1000.0 / scatter.ROW_MIN) * 1e-9)
    # the unprefetched share no longer enters (the per-row cost holds it)
    assert scatter.event_cost(m, 8 * MIB, 0.7, 1, 4000.0) == scatter.event_cost(m, 8 * MIB, 0.0, 1, 4000.0)


def _versioned(version, l2_kib=2048.0) -> Machine:
    """The CURVE6 machine with a private L2 of ``l2_kib`` and one calibration batch of fit ``version``."""
    m = _machine()
    data = copy.deepcopy(m.data)
    data["machine"]["l2_kib_per_core"] = l2_kib
    data.setdefault("calibration", {})["per_batch"] = [{"fit_version": version}]
    return Machine(name=f"curve6_v{version}", data=data, path=m.path, inherited=m.inherited)


def test_sharing_charges_only_the_events_beyond_a_cores_own_l2():
    new, old = _versioned(9), _versioned(8)
    assert scatter.split_sharing(new) and not scatter.split_sharing(old)
    cost = lambda m, ws, k: float(scatter.event_cost(m, ws, 0.0, k, 1e12))      # rows without end: the curve
    # one core, or a working set inside the L2: no sharing effect under either rule
    for m in (new, old):
        assert cost(m, 4 * MIB, 1) == pytest.approx(cost(old, 4 * MIB, 1))
        assert cost(m, 1.5 * MIB, 2) == pytest.approx(cost(m, 1.5 * MIB, 1))
    # 2 cores of 4 MiB each, L2 2 MiB: before version 9 the curve is read at x = 2 + 2 x 2 = 6 MiB
    ws, l2, x = 4 * MIB, 2 * MIB, 6 * MIB
    y = lambda w: float(np.interp(np.log(w), np.log([1 * MIB, 8 * MIB, 64 * MIB]), [1.5, 3.0, 6.0]))
    assert cost(old, ws, 2) == pytest.approx(y(x) * 1e-9)
    # version 9: half of a core's writes hit its own L2 at y(l2); the rest costs an event beyond the L2 at x
    # (h(x) = 1/3 of the one-core writes at x hit the L2)
    beyond = (y(x) - y(l2) / 3) / (1 - 1 / 3)
    assert cost(new, ws, 2) == pytest.approx((0.5 * y(l2) + 0.5 * beyond) * 1e-9)
    # between alone and the earlier reading; the per-row cost is read the same way
    assert cost(new, ws, 1) < cost(new, ws, 2) < cost(old, ws, 2)
    row = lambda m: float(scatter.event_cost(m, ws, 0.0, 2, 4000.0)) - cost(m, ws, 2)
    assert 0 < row(new) < row(old)
    # the further beyond the L2, the less the L2's hits matter: the two readings approach each other
    gap = lambda w: cost(old, w, 2) - cost(new, w, 2)
    assert gap(4 * MIB) > gap(16 * MIB) > gap(48 * MIB) > 0


def test_event_cost_at_the_engines_prefetch_distance():
    m = _machine()
    at = lambda d: float(scatter.event_cost(m, 8 * MIB, 0.0, 1, 4000.0, d))
    assert at(0) == pytest.approx((2.4 + 1000.0 / 4000.0) * 1e-9)
    assert at(128) == pytest.approx((3.0 + 1500.0 / 4000.0) * 1e-9) == at(None) == at(256)
    assert at(64) == pytest.approx(0.5 * (at(0) + at(128)))          # linear between measured distances
    # a version-6 curve measured at one distance only: every distance gets it
    one = _machine({k: v for k, v in CURVE6.items() if not k.startswith("d0_")})
    assert float(scatter.event_cost(one, 8 * MIB, 0.0, 1, 4000.0, 0)) == pytest.approx(at(128))


def test_a_curve_before_fit_version_6_keeps_its_formula():
    old = {k: v for k, v in CURVE6.items() if "row" not in k and not k.startswith("d0_")}
    m = _machine(old)
    assert "row_ns" not in scatter.curve(m)
    miss = (3.0 - 1.5) / (6.0 - 1.5)
    want = (3.0 + 0.5 * miss * (60.0 - 6.0)) * 1e-9
    assert scatter.event_cost(m, 8 * MIB, 0.5, 1, 4000.0, 0) == pytest.approx(want)      # row, distance ignored


def _pd14():
    return Connectivity.from_network(measure.calibration_network({"model": "pd14", "n_scaling": 0.05}))


def test_prediction_uses_the_given_distance_and_reports_it():
    conn, m = _pd14(), _machine()
    p0 = predict(conn, 1, m, prefetch_distance=0, with_range=False)
    p128 = predict(conn, 1, m, prefetch_distance=128, with_range=False)
    assert p0["prefetch"] == {"distance": 0, "source": "given"}
    assert p0["workload"]["event_ns"] < p128["workload"]["event_ns"]
    assert p0["phases"]["deliver"] < p128["phases"]["deliver"]
    with pytest.raises(Exception, match="prefetch"):
        predict(conn, 1, m, prefetch_distance=-3, with_range=False)


def test_without_a_distance_the_cache_of_this_machine_else_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("parsnn.machines.fingerprint.machine_hash", lambda: "feedfacecafe")
    conn = _pd14()
    wl = predict(conn, 1, _machine(), with_range=False)        # nothing cached: the engine's default
    assert wl["prefetch"]["source"] == "default" and wl["prefetch"]["distance"] == engine_prefetch.DEFAULT
    from parsnn.mapping.cluster.workload import workload
    w = workload(conn, 1)
    size = distance.size_class(w, 1)
    assert size.startswith("ring2^") and size.endswith("-1ring-p1")
    path = engine_prefetch.cache_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({engine_prefetch.cache_key("feedfacecafe", size): {"distance": 0}}, f)
    here = predict(conn, 1, _machine(fp_hash="feedfacecafe"), with_range=False)
    assert here["prefetch"] == {"distance": 0, "source": "cached", "size_class": size}
    # another machine's file: this machine's cache says nothing about it
    other = predict(conn, 1, _machine(fp_hash="0123456789ab"), with_range=False)
    assert other["prefetch"]["source"] == "default"
    # 2 ranks are another size class (not cached here)
    assert predict(conn, 2, _machine(fp_hash="feedfacecafe"), with_range=False)["prefetch"]["source"] == "default"


def test_size_class_matches_the_engines(tmp_path):
    """The model's size class of a network is the one the engine computes when it runs it."""
    from mpi4py import MPI
    from parsnn.engine import Simulation
    net = measure.calibration_network({"model": "pd14", "n_scaling": 0.02})
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, prefetch="auto")
    sim.build()
    st = sim.st
    ring = int(st.D) * int(st.ring_n) * 8 * (1 if st.one_ring else 2)
    engine = engine_prefetch.size_class(ring, bool(st.tgt16), 1 if st.one_ring else 2, 1)
    from parsnn.mapping.cluster.workload import workload
    assert distance.size_class(workload(Connectivity.from_network(net), 1), 1) == engine


def test_run_inputs_read_the_runs_prefetch_distance(tmp_path):
    from mpi4py import MPI
    from parsnn.engine import Simulation
    from parsnn.mapping.cluster import run_inputs
    net = measure.calibration_network({"model": "pd14", "n_scaling": 0.02})
    out = str(tmp_path / "run.h5")
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, prefetch=32, out=out)
    sim.run(10.0)
    sim.finish()
    assert run_inputs(out)["prefetch_distance"] == 32
