"""Measured metrics of a run and the remote deliveries predicted from its partition
(parsnn.partition.measured)."""
import json

import numpy as np

from parsnn.partition.measured import measured_from_file


def test_run_stores_partition_and_prediction_matches_count(tmp_path, run_cli):
    """parsnn run --partition graph: the map and its expected metrics are in the HDF5 metadata, and the
    remote deliveries predicted from the map and the measured rates match the engine's count."""
    import h5py
    out = tmp_path / "mc.h5"
    run_cli(2, ["multicolumn", "--grid", "2", "--column-scaling", "0.005", "--t-sim", "200", "--partition", "graph",
                "--out", out, "--no-progress"])
    with h5py.File(out, "r") as f:
        g = f["parsnn"]
        assert g.attrs["partition"] == "graph" and g["partition_map"].attrs["strategy"] == "graph"
        run = json.loads(g.attrs["run"])
        assert {"remote_deliveries_per_s", "imbalance", "cut_fraction", "seconds"} <= set(run["partition_expected"])
        assert set(np.unique(g["partition_map"][:]).tolist()) == {0, 1}
    m = measured_from_file(out)
    assert m["strategy"] == "graph" and m["counted_remote_deliveries"] > 0
    assert abs(m["relative_error"]) < 0.10


def test_appended_run_predicts_from_the_counted_segment(tmp_path, run_cli):
    """A run resumed with --append counts remote deliveries only after its checkpoint, while the file
    holds the spikes of the whole run: the prediction takes the rates of the counted segment."""
    out, ckpt = tmp_path / "mc.h5", tmp_path / "mc.ckpt.h5"
    common = ["--seed", "3", "--no-progress"]
    run_cli(2, ["multicolumn", "--grid", "2", "--column-scaling", "0.005", "--partition", "graph", "--t-sim", "100",
                "--out", out, "--checkpoint", ckpt, *common])
    run_cli(2, [ckpt, "--t-sim", "200", "--append", "--out", out, "--no-progress"], command="resume")
    m = measured_from_file(out)
    assert m["counted_from_ms"] == 100.0 and m["model_time_ms"] == 200.0
    assert m["counted_remote_deliveries"] > 0
    assert abs(m["relative_error"]) < 0.10
