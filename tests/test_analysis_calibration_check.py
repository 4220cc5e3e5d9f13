"""analysis/calibration_check.py: the phases it compares (the record timer apart from 'other', the wall
time outside every timer) and their errors, on hand-made timers and predictions."""
import pytest


@pytest.fixture(scope="module")
def check(load_script):
    return load_script("analysis/calibration_check.py")


def test_measured_phases_split_the_record_timer_from_the_rest(check):
    # 2 ranks, 1000 ms in intervals of 0.1 ms (10,000): mean seconds / 1e4 -> us per interval; other =
    # 55 - 20 - 20 - 5 - 2
    perf = {"min_delay_ms": [0.1, 0.1], "timer_update": [0.1, 0.3], "timer_deliver": [0.2, 0.2],
            "timer_exchange": [0.05, 0.05], "timer_record": [0.03, 0.01], "simulate_seconds": [0.5, 0.6]}
    got = check.measured_phases(perf, 1000.0)
    assert got == pytest.approx({"update": 20.0, "deliver": 20.0, "exchange": 5.0, "record": 2.0, "other": 8.0})


def test_predicted_other_is_the_wait_and_meeting(check):
    # one rank: critical path 40 us of which update 10, deliver 20, exchange 1, record 2: 'other' 7 us, the
    # threads' meeting (3) and thread 0's wait (4)
    p = {"critical_path_s": 40e-6, "per_rank": {"update": [10e-6], "deliver": [20e-6], "exchange": [1e-6],
                                                "record": [2e-6], "threads_region": [3e-6], "threads_wait": [4e-6]}}
    got = check.predicted_phases(p)
    assert got == pytest.approx({"update": 10.0, "deliver": 20.0, "exchange": 1.0, "record": 2.0, "other": 7.0})
    # two ranks, rank 0 flushing 8 us at the end of a 1-flush run: rank 1's run ends without waiting for it,
    # so its 'other' is its threads' time only (1 us), not the critical path minus its timers (9 us)
    p2 = {"critical_path_s": 40e-6, "per_rank": {"update": [10e-6, 10e-6], "deliver": [20e-6, 20e-6],
                                                 "exchange": [1e-6, 1e-6], "record": [8e-6, 0.0],
                                                 "threads_region": [1e-6, 1e-6], "threads_wait": [0.0, 0.0]}}
    assert check.predicted_phases(p2)["other"] == pytest.approx(1.0)
    err = check.phase_errors(got, {"update": 10.0, "deliver": 25.0, "exchange": 1.0, "record": 4.0, "other": 10.0})
    assert err["deliver"]["error"] == pytest.approx(-0.2) and err["other"]["error"] == pytest.approx(-0.3)
    assert err["other"]["share"] == pytest.approx(0.2)
