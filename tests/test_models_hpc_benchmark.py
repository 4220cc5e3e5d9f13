"""models/hpc_benchmark (NEST's hpc_benchmark) and the run file's plastic weights
(``parsnn run ... --record-weights``, /weights, RunFile.weights)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from parsnn import ParameterError
from parsnn.models import hpc_benchmark
from parsnn.runfile.reader import RunFile


def test_parameters_are_nests():
    d = hpc_benchmark.derived(1.0)
    assert (d["N_E"], d["N_I"], d["C_E"], d["C_I"]) == (9000, 2250, 9000, 2250)
    assert d["J_E"] == pytest.approx(45.61, abs=5e-3)              # NEST's example: 0.14 mV -> ~45.61 pA
    assert d["J_I"] == -5.0 * d["J_E"]
    small = hpc_benchmark.derived(0.1)
    assert (small["N_E"], small["N_I"], small["C_E"], small["C_I"]) == (900, 225, 9000, 2250)


def test_psc_amplitude_gives_the_psp_peak():
    """The converted amplitude gives a 0.14 mV PSP peak (checked on the analytic PSP, sampled finely)."""
    tau_m, tau_s, c_m = 10.0, hpc_benchmark.TAU_SYN, 250.0
    w = hpc_benchmark.derived(1.0)["J_E"]
    s = np.linspace(1e-6, 5.0, 500001)
    a = 1.0 / tau_s - 1.0 / tau_m
    v = w * math.e / (tau_s * c_m) * np.exp(-s / tau_m) * (1.0 - np.exp(-a * s) * (1.0 + a * s)) / (a * a)
    assert v.max() == pytest.approx(0.14, rel=1e-9)


def test_network_description():
    net = hpc_benchmark.build_network(scale=0.02)
    net.validate()
    models = {p.name: (p.synapse_model, p.rule.k, p.rule.allow_autapses) for p in net.projections}
    assert models["E->E"] == ("stdp_pl_synapse_hom", 9000, False)
    assert {models[k][0] for k in ("I->E", "E->I", "I->I")} == {"static_synapse"}
    ee = net.projections[0]
    assert ee.synapse_params == {"alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}
    assert {p.model for p in net.populations.values()} == {"iaf_psc_alpha"}
    assert net.populations["E"].params["tau_minus"] == 30.0
    assert not any(p.plastic for p in hpc_benchmark.build_network(scale=0.02, plastic=False).projections)
    with pytest.raises(ParameterError, match="scale must be"):
        hpc_benchmark.derived(0.0)


def test_record_weights_rank_invariant(run_cli, tmp_path):
    """--record-weights on 1 rank x 1 thread and 2 ranks x 2 threads: the same spikes and E->E
    weights, snapshots every 10 ms."""
    files = {}
    for n in (1, 2):
        out = tmp_path / f"hpc{n}.h5"
        run_cli(n, ["hpc_benchmark", "--scale", "0.05", "--t-sim", "30", "--seed", "3", "--out", out,
                    "--record-weights", "--record-weights-every", "10", "--no-progress", "--threads", str(n)])
        files[n] = out
    with RunFile(str(files[1])) as a, RunFile(str(files[2])) as b:
        wa, wb = a.weights(), b.weights()
        assert set(wa) == {"E-E"} and a.weight_times()["E-E"].tolist() == [10.0, 20.0, 30.0]
        src, tgt, w = wa["E-E"]
        assert src.size == 450 * 9000 and np.all(np.diff(src.astype(np.int64)) >= 0)
        for x, y in zip(wa["E-E"], wb["E-E"]):
            assert np.array_equal(x, y)
        assert np.array_equal(a.weights(0)["E-E"][2], b.weights(0)["E-E"][2])
        assert not np.array_equal(a.weights(0)["E-E"][2], w)          # the weights moved between snapshots
        sa, sb = a.spikes(), b.spikes()
        for name in sa:
            assert np.array_equal(sa[name][0], sb[name][0]) and np.array_equal(sa[name][1], sb[name][1])
        assert sa["E"][0].size > 0


@pytest.mark.parametrize("args,message", [
    (["brunel", "--record-weights"], "model brunel has no plastic projections"),
    (["hpc_benchmark", "--scale", "0.02", "--record-weights-every", "5"], "--record-weights-every needs --record-weights"),
])
def test_bad_weight_options(run_cli, tmp_path, args, message):
    proc = run_cli(1, [*args, "--t-sim", "10", "--out", tmp_path / "x.h5"], check=False)
    assert proc.returncode != 0 and message in proc.stderr
