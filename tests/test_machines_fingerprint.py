"""Which machine a prediction is for (parsnn.machines.fingerprint): fingerprints, the per-user calibration
cache, labels of predictions for this / another / an unfingerprinted machine, the message without a
calibration, and predict's JSON keys."""
import copy
import json

import pytest

from parsnn.machines import fingerprint, load_machine
from parsnn.mapping.cluster.machinefile import dump_toml

FAKE = {"cpu_vendor": "TestVendor", "cpu_model": "Test CPU 9000", "cpu_family_model": "99/1", "cores": 2,
        "l1d_kib": 32, "l2_kib": 1024, "l3_kib": 8192, "cores_per_l3": 2, "memory_gib": 16,
        "mpi_library": "Test MPI 1.0", "compiler": "cc", "parsnn_version": "0.1.0", "parsnn_commit": "abc1234",
        "engine_digest": "0123456789ab"}
FAKE["hash"] = fingerprint.fingerprint_hash(FAKE)


@pytest.fixture
def fake_machine(monkeypatch, tmp_path):
    """This machine is FAKE, its calibration cache is empty (under tmp_path)."""
    monkeypatch.setattr(fingerprint, "current_fingerprint", lambda date=False: dict(FAKE))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _machine_file(path, fp: dict):
    """A machine file with the shipped Zen 5 guest's constants and the fingerprint ``fp``."""
    data = copy.deepcopy(load_machine("epyc_zen5_kvm_2core_2026_11_22").data)
    data["machine"]["name"] = "test_calibration"
    data["fingerprint"] = fp
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(data))
    return str(path)


def test_hash_depends_on_the_hardware_and_mpi_only():
    assert fingerprint.fingerprint_hash({**FAKE, "parsnn_commit": "other", "date": "2030-01-01",
                                         "engine_digest": "x"}) == FAKE["hash"]
    assert fingerprint.fingerprint_hash({**FAKE, "l3_kib": 16384}) != FAKE["hash"]
    here = fingerprint.current_fingerprint(date=True)
    assert here["cores"] >= 1 and "date" in here and here["hash"] == fingerprint.fingerprint_hash(here)
    assert len(fingerprint.engine_digest()) == 12


def test_labels_this_other_and_no_fingerprint(fake_machine):
    same = load_machine(_machine_file(fake_machine / "same.toml", FAKE))
    assert fingerprint.label(same)["machine_match"] == fingerprint.THIS
    assert fingerprint.label(same)["machine_note"] == ""
    newer = load_machine(_machine_file(fake_machine / "newer.toml", {**FAKE, "parsnn_commit": "0000000", "engine_digest": "ba9876543210"}))
    lab = fingerprint.label(newer)
    assert lab["machine_match"] == fingerprint.THIS and "recalibrate" in lab["machine_note"]
    other = load_machine(_machine_file(fake_machine / "other.toml", {**FAKE, "cpu_model": "Another CPU"}))
    lab = fingerprint.label(other)
    assert lab["machine_match"] == fingerprint.OTHER and "Another CPU" in lab["machine_note"]
    lab = fingerprint.label(load_machine("jureca_dc"))
    assert lab["machine_match"] == fingerprint.NONE and lab["machine_fingerprint"] is None
    # a derived file does not inherit its base's fingerprint
    assert "fingerprint" not in load_machine("jureca_dc").data


def test_predict_without_calibration_says_how_to_make_one(fake_machine, capsys):
    from parsnn.cli import main
    assert fingerprint.find_calibration() is None
    with pytest.raises(fingerprint.NoCalibrationError, match="parsnn calibrate --quick"):
        fingerprint.resolve_machine(None)
    assert main(["predict", "brunel", "--scale", "0.02", "--ranks", "1,2"]) == 2
    err = capsys.readouterr().err
    assert "no calibration of this machine" in err and "parsnn calibrate --quick" in err and FAKE["hash"] in err
    assert "--machine" in err


def test_predict_defaults_to_this_machines_calibration(fake_machine, capsys):
    from parsnn.cli import main
    from parsnn.mapping.cluster import PREDICTION_KEYS
    path = _machine_file(fake_machine / "cache" / "parsnn" / "machines" / f"{FAKE['hash']}.toml", FAKE)
    assert fingerprint.find_calibration() == path
    assert main(["predict", "brunel", "--scale", "0.02", "--ranks", "1,2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for p in out:
        assert set(PREDICTION_KEYS) - {"per_rank"} <= set(p)          # sweep drops per_rank
        assert p["machine"] == "test_calibration" and p["machine_match"] == "this machine"
        assert p["machine_fingerprint"] == FAKE["hash"] and p["rtf_range"] is None     # one batch: no range
    # the text output of an explicitly given machine keeps its table and says whose machine it is
    assert main(["predict", "brunel", "--scale", "0.02", "--ranks", "1,2", "--machine",
                 "epyc_zen5_kvm_2core_2026_11_22"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("brunel_A on epyc_zen5_kvm_2core_2026_11_22:") and text[1].split()[:3] == ["ranks", "thr", "nodes"]
    assert text[-1].startswith("note: 'epyc_zen5_kvm_2core_2026_11_22' was calibrated on another machine")


def test_scaling_collect_without_calibration_makes_no_prediction(fake_machine):
    from parsnn.scaling import prediction_machine
    assert prediction_machine("auto") == (None, {})
    m, lab = prediction_machine("jureca_dc")
    assert m.name == "jureca_dc" and lab["machine_match"] == fingerprint.NONE


@pytest.mark.parametrize("name", ["epyc_zen5_kvm_2core_2026_11_22", "xeon_emr_kvm_2core_2026_12_01", "jureca_dc"])
def test_uncalibrated_neuron_model_takes_its_assumed_ratio(name):
    """iaf_psc_alpha is not calibrated: its cost is the neuron model's assumed ratio to a calibrated kernel."""
    from parsnn import neurons
    machine = load_machine(name)
    base, ratio, source = neurons.get("iaf_psc_alpha").assumed_update_cost
    assert source.startswith("assumed")
    assert machine.update_cost("iaf_psc_alpha") == pytest.approx(ratio * machine.update_cost(base), rel=1e-12)


def test_older_fit_versions_say_what_they_predict_with(fake_machine):
    # a calibration of fit version 5 predicts with its superseded delivery formula and says so, with how to
    # recalibrate; version 6 lacks the version-7 terms; today's version says nothing
    from parsnn.mapping.cluster.calibrate import FIT_VERSION
    path = _machine_file(fake_machine / "v.toml", FAKE)

    def with_batches(versions):
        m = load_machine(path)
        m.data["calibration"] = {"per_batch": [{"fit_version": v} for v in versions]}
        return fingerprint.label(m)["machine_note"]
    old = with_batches([5, 6])
    assert "fit version 5" in old and "delivery formula is superseded" in old and "parsnn calibrate --quick" in old
    six = with_batches([6])
    assert "fit version 6" in six and "first recording flush" in six and "superseded" not in six
    assert with_batches([FIT_VERSION]) == "" and with_batches([]) == ""
