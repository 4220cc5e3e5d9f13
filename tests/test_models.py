"""Derived quantities and network descriptions of the shipped models (no MPI, no simulation)."""
from __future__ import annotations

import importlib
import json
import math
import warnings

import numpy as np
import pytest

from parsnn.errors import ParameterError
from parsnn.network import FixedIndegree, FixedTotalNumber, Normal, Uniform

try:
    from parsnn.models import brunel, pd14
except ImportError:  # package not installed: import from the source tree
    pd14 = importlib.import_module("models.pd14")
    brunel = importlib.import_module("models.brunel")

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
INH = [1, 3, 5, 7]
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])


def _ref_k_total():
    """K_total = ln(1-p)/ln(1-1/(N_t N_s)) evaluated independently of the module."""
    p = np.array(pd14.PARAMETERS["conn_probs"])
    out = np.zeros((8, 8))
    for t in range(8):
        for s in range(8):
            prod = float(N_FULL[t]) * float(N_FULL[s])
            out[t, s] = math.log(1 - p[t, s]) / math.log((prod - 1) / prod)
    return out


# ---------------------------------------------------------------------------
# PD14: parameters and derived quantities
# ---------------------------------------------------------------------------

def test_parameter_file_matches_reference_facts():
    P = pd14.PARAMETERS
    assert P["populations"] == POPS
    assert P["num_neurons"] == N_FULL.tolist()
    assert P["background"]["K_ext"] == K_EXT.tolist()
    assert P["scaling"]["full_mean_rates"] == RATES.tolist()
    assert P["neuron"]["tau_syn_ex"] == 0.5 and P["neuron"]["E_L"] == -65.0 and P["neuron"]["V_th"] == -50.0
    assert P["synapses"]["g"] == -4.0


def test_num_neurons():
    n = pd14.num_neurons(1.0)
    assert n.dtype.kind == "i"
    assert n.tolist() == N_FULL.tolist()
    assert int(n.sum()) == 77169
    assert pd14.num_neurons(0.1).tolist() == np.round(N_FULL * 0.1).astype(int).tolist()
    assert pd14.num_neurons(0.1).tolist() == [2068, 583, 2192, 548, 485, 106, 1440, 295]


def test_total_synapses_full_scale():
    k = pd14.total_synapses(1.0, 1.0)
    assert k.shape == (8, 8) and k.dtype.kind == "i"
    expected = np.round(_ref_k_total()).astype(np.int64)
    np.testing.assert_array_equal(k, expected)
    assert int(k.sum()) == int(expected.sum()) == 298880968
    assert 2.985e8 < k.sum() < 2.995e8
    # zero probability -> no synapses
    p = np.array(pd14.PARAMETERS["conn_probs"])
    assert np.all(k[p == 0] == 0) and np.all(k[p > 0] > 0)


def test_total_synapses_scaled_from_full_sizes():
    full = _ref_k_total()
    for n_s, k_s in [(0.1, 1.0), (0.5, 0.5), (1.0, 0.2), (0.01, 0.3)]:
        np.testing.assert_array_equal(pd14.total_synapses(n_s, k_s), np.round(full * n_s * k_s).astype(np.int64))
    # the mean in-degree is kept under n_scaling (not recomputed from scaled sizes)
    k01 = pd14.total_synapses(0.1) / pd14.num_neurons(0.1)[:, None]
    np.testing.assert_allclose(k01, full / N_FULL[:, None], rtol=0.02, atol=0.05)


def test_psc_from_psp():
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    assert abs(j - 87.8) < 0.05
    # independent check: peak of the PSP of a 1 pA exponential PSC
    tau_m, tau_s, c_m = 10.0, 0.5, 250.0
    t = np.linspace(0, 10, 200001)
    v = tau_s / (c_m * (1 / tau_s - 1 / tau_m) * tau_s) * (np.exp(-t / tau_m) - np.exp(-t / tau_s))
    assert j * v.max() == pytest.approx(0.15, rel=1e-6)
    assert pd14.psc_from_psp(0.3, 10.0, 0.5, 250.0) == pytest.approx(2 * j)
    with pytest.raises(ParameterError):
        pd14.psc_from_psp(0.15, 10.0, 10.0, 250.0)


def test_weight_matrix():
    w = pd14.weight_matrix(1.0)
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    assert w.shape == (8, 8)
    for t in range(8):
        for s in range(8):
            if (t, s) == (0, 2):
                assert w[t, s] == pytest.approx(2 * j)           # L4E -> L23E doubled
            elif s in INH:
                assert w[t, s] == pytest.approx(-4 * j)          # inhibitory sources: g = -4
            else:
                assert w[t, s] == pytest.approx(j)
    np.testing.assert_allclose(pd14.weight_matrix(0.25), w * 2.0)
    assert pd14.external_weight(1.0) == pytest.approx(j)
    assert pd14.external_weight(0.25) == pytest.approx(2 * j)


def test_dc_amplitudes_full_scale():
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    expected = K_EXT * 8.0 * j * 0.5 * 1e-3
    np.testing.assert_allclose(pd14.dc_amplitudes(1.0, "dc"), expected, rtol=1e-12)
    assert pd14.dc_amplitudes(1.0, "dc")[0] == pytest.approx(561.97, abs=0.01)
    np.testing.assert_array_equal(pd14.dc_amplitudes(1.0, "poisson"), np.zeros(8))


def test_compensation_current():
    np.testing.assert_array_equal(pd14.compensation_current(1.0, "dc"), np.zeros(8))
    np.testing.assert_array_equal(pd14.compensation_current(1.0, "poisson"), np.zeros(8))
    k = 0.5
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    w = pd14.weight_matrix(1.0)
    indeg = _ref_k_total() / N_FULL[:, None]
    rec = 1e-3 * 0.5 * (1 - math.sqrt(k)) * (w * indeg * RATES).sum(axis=1)
    ext = 1e-3 * 0.5 * (1 - math.sqrt(k)) * j * K_EXT * 8.0
    np.testing.assert_allclose(pd14.compensation_current(k, "dc"), rec, rtol=1e-9)
    np.testing.assert_allclose(pd14.compensation_current(k, "poisson"), rec + ext, rtol=1e-9)
    # the local input is net inhibitory: DC mode lowers the drive, Poisson mode raises it
    assert np.all(pd14.compensation_current(k, "dc") < 0)
    assert np.all(pd14.compensation_current(k, "poisson") > 0)
    np.testing.assert_allclose(pd14.dc_amplitudes(k, "dc"), pd14.dc_amplitudes(1.0, "dc") + rec, rtol=1e-12)
    np.testing.assert_allclose(pd14.dc_amplitudes(k, "poisson"), rec + ext, rtol=1e-12)


def test_rheobase_and_subthreshold():
    assert pd14.rheobase_current() == pytest.approx(375.0)
    assert pd14.subthreshold_populations(1.0) == []
    assert "L23E" in pd14.subthreshold_populations(0.1)


# ---------------------------------------------------------------------------
# PD14: argument validation and warnings
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw, name", [
    ({"n_scaling": 0.0}, "n_scaling"), ({"n_scaling": 1.5}, "n_scaling"), ({"n_scaling": -0.1}, "n_scaling"),
    ({"n_scaling": float("nan")}, "n_scaling"), ({"n_scaling": "0.1"}, "n_scaling"),
    ({"k_scaling": 0.0}, "k_scaling"), ({"k_scaling": 2.0}, "k_scaling"),
    ({"bg": "noise"}, "bg"), ({"bg": None}, "bg"), ({"record_voltage": -1}, "record_voltage"),
])
def test_pd14_bad_arguments(kw, name):
    with pytest.raises(ParameterError, match=name):
        pd14.build_network(**kw)


def test_pd14_range_named_in_error():
    with pytest.raises(ParameterError, match=r"\(0, 1\]"):
        pd14.build_network(n_scaling=2.0)
    with pytest.raises(ParameterError, match="dc"):
        pd14.build_network(bg="DC!")


def test_pd14_too_small_n_scaling():
    with pytest.raises(ParameterError, match="n_scaling"):
        pd14.build_network(n_scaling=1e-4)


def test_subthreshold_warning_k_scaling_dc():
    with pytest.warns(UserWarning, match="sub-threshold") as rec:
        pd14.build_network(n_scaling=0.01, k_scaling=0.1, bg="dc", record=False)
    msg = str(rec[0].message)
    assert "n_scaling" in msg and "L23E" in msg
    with pytest.warns(UserWarning, match="silent"):
        pd14.build_network(n_scaling=0.01, k_scaling=0.9, bg="dc", record=False)


@pytest.mark.parametrize("kw", [dict(k_scaling=1.0, bg="dc"), dict(k_scaling=0.5, bg="poisson"),
                                dict(k_scaling=1.0, bg="poisson")])
def test_no_warning_otherwise(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd14.build_network(n_scaling=0.01, record=False, **kw)


# ---------------------------------------------------------------------------
# PD14: the network description
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [
    dict(),
    dict(n_scaling=0.1),
    dict(n_scaling=0.05, bg="poisson"),
    dict(n_scaling=0.05, k_scaling=0.5, bg="poisson", thalamus=True, record_voltage=3),
    dict(n_scaling=0.02, thalamus=True, record=False, resolution=0.05),
    dict(n_scaling=0.001, record_voltage=5000),
])
def test_pd14_validates(kw):
    net = pd14.build_network(**kw)
    net.validate(1000.0)
    json.dumps(net.metadata)
    json.dumps(net.describe())


def test_pd14_structure_full_scale():
    net = pd14.build_network()
    assert list(net.populations) == POPS
    assert net.num_nodes == 77169
    k = pd14.total_synapses()
    assert len(net.projections) == int((k > 0).sum())
    assert sum(pr.rule.n for pr in net.projections) == int(k.sum())
    w = pd14.weight_matrix()
    for pr in net.projections:
        t, s = POPS.index(pr.target), POPS.index(pr.source)
        assert isinstance(pr.rule, FixedTotalNumber) and pr.rule.n == k[t, s]
        assert isinstance(pr.weight, Normal) and pr.weight.mean == pytest.approx(w[t, s])
        assert pr.weight.std == pytest.approx(0.1 * abs(w[t, s]))
        assert isinstance(pr.delay, Normal) and pr.delay.low == pytest.approx(0.05)
        if s in INH:
            assert (pr.weight.low, pr.weight.high) == (-math.inf, 0.0)
            assert (pr.delay.mean, pr.delay.std) == (0.75, 0.375)
        else:
            assert (pr.weight.low, pr.weight.high) == (0.0, math.inf)
            assert (pr.delay.mean, pr.delay.std) == (1.5, 0.75)
    for i, pop in enumerate(POPS):
        p = net.populations[pop]
        assert p.model == "iaf_psc_exp"
        assert p.params["V_m"] == Normal(pd14.PARAMETERS["neuron"]["V0_mean"][i], pd14.PARAMETERS["neuron"]["V0_std"][i])
        assert p.params["tau_syn_ex"] == 0.5 and p.params["V_reset"] == -65.0 and "I_e" not in p.params
    dc = {d.target: d.amplitude for d in net.dc_inputs}
    np.testing.assert_allclose([dc[p] for p in POPS], pd14.dc_amplitudes(1.0, "dc"))
    assert net.poisson_inputs == []
    assert net.spike_recorder.populations == POPS
    assert net.voltage_recorders == []
    assert net.metadata["K_total"] == k.tolist()
    assert net.metadata["n_scaling"] == 1.0 and net.metadata["bg"] == "dc"


def test_pd14_poisson_background():
    k_s = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = pd14.build_network(n_scaling=0.05, k_scaling=k_s, bg="poisson")
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    assert [d.target for d in net.poisson_inputs] == POPS
    for i, d in enumerate(net.poisson_inputs):
        assert d.rate == pytest.approx(round(K_EXT[i] * k_s) * 8.0)
        assert d.weight == pytest.approx(j / math.sqrt(k_s))
        assert d.delay == 1.5
    dc = {d.target: d.amplitude for d in net.dc_inputs}
    np.testing.assert_allclose([dc[p] for p in POPS], pd14.compensation_current(k_s, "poisson"))
    w = pd14.weight_matrix(1.0) / math.sqrt(k_s)
    pr = next(p for p in net.projections if p.source == "L4E" and p.target == "L23E")
    assert pr.weight.mean == pytest.approx(w[0, 2])
    assert pr.rule.n == pd14.total_synapses(0.05, k_s)[0, 2]


def test_pd14_thalamus():
    net = pd14.build_network(n_scaling=0.1, thalamus=True)
    tc = net.populations["TC"]
    assert tc.model == "poisson_source" and tc.size == round(902 * 0.1)
    assert (tc.params["rate"], tc.params["start"], tc.params["stop"]) == (120.0, 700.0, 710.0)
    th = [p for p in net.projections if p.source == "TC"]
    assert sorted(p.target for p in th) == sorted(["L4E", "L4I", "L6E", "L6I"])
    j = pd14.psc_from_psp(0.15, 10.0, 0.5, 250.0)
    cp = pd14.PARAMETERS["thalamus"]["conn_probs_to_pops"]
    for p in th:
        i = POPS.index(p.target)
        prod = 902.0 * N_FULL[i]
        assert p.rule.n == round(math.log(1 - cp[i]) / math.log((prod - 1) / prod) * 0.1)
        assert p.weight.mean == pytest.approx(j) and p.weight.low == 0.0
        assert (p.delay.mean, p.delay.std, p.delay.low) == (1.5, 0.75, pytest.approx(0.05))
    assert "TC" not in net.spike_recorder.populations
    # the thalamic in-degree of L4E is ~93 (PD14 Table 5: 0.0983 of 902 plus multapses)
    assert 90 < th[0].rule.n / net.populations[th[0].target].size < 96


def test_pd14_record_voltage():
    net = pd14.build_network(n_scaling=0.001, record=False, record_voltage=4)
    assert net.spike_recorder is None
    assert [v.population for v in net.voltage_recorders] == POPS
    for v in net.voltage_recorders:
        assert v.interval == 1.0
        assert v.ids == list(range(min(4, net.populations[v.population].size)))


# ---------------------------------------------------------------------------
# Brunel
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("regime, g, eta", [("A", 3.0, 2.0), ("B", 6.0, 4.0), ("C", 5.0, 2.0), ("D", 4.5, 0.9)])
def test_brunel_regimes(regime, g, eta):
    assert brunel.REGIMES[regime] == {"g": g, "eta": eta}
    net = brunel.build_network(regime, scale=0.1)
    net.validate(1000.0)
    json.dumps(net.metadata)
    assert net.populations["E"].size == 1000 and net.populations["I"].size == 250
    c_e, c_i = 100, 25
    nu_thr = 20.0 / (0.1 * c_e * 20.0) * 1000.0
    assert net.metadata["nu_thr"] == pytest.approx(nu_thr) == pytest.approx(100.0)
    for p in net.projections:
        assert isinstance(p.rule, FixedIndegree) and p.delay == 1.5
        if p.source == "E":
            assert p.rule.k == c_e and p.weight == pytest.approx(0.1)
        else:
            assert p.rule.k == c_i and p.weight == pytest.approx(-g * 0.1)
    assert len(net.projections) == 4
    assert [d.target for d in net.poisson_inputs] == ["E", "I"]
    for d in net.poisson_inputs:
        assert d.rate == pytest.approx(eta * nu_thr * c_e) == pytest.approx(eta * 10000.0)
        assert d.weight == 0.1 and d.delay == 1.5
    pop = net.populations["E"]
    assert pop.model == "iaf_psc_delta" and pop.params["V_m"] == Uniform(0.0, 20.0)
    assert (pop.params["V_th"], pop.params["V_reset"], pop.params["E_L"], pop.params["tau_m"],
            pop.params["t_ref"]) == (20.0, 10.0, 0.0, 20.0, 2.0)


def test_brunel_full_scale_and_fixed_indegree():
    d = brunel.derived("C", 1.0)
    assert (d["N_E"], d["N_I"], d["C_E"], d["C_I"]) == (10000, 2500, 1000, 250)
    assert d["nu_thr"] == pytest.approx(10.0)      # spikes/s
    d = brunel.derived("C", 0.2, keep_indegree=True)
    assert (d["N_E"], d["N_I"], d["C_E"], d["C_I"]) == (2000, 500, 1000, 250)
    net = brunel.build_network("b", scale=0.05, keep_indegree=True, v0="zero", record=False)
    net.validate(500.0)
    assert {p.rule.k for p in net.projections} == {1000, 250}
    assert net.populations["I"].params["V_m"] == 0.0 and net.spike_recorder is None


def test_brunel_mean_field_rate_against_hand_values_and_simulation():
    from mpi4py import MPI
    from scipy import integrate, special

    from parsnn.engine import Simulation
    # the returned rate solves the self-consistency equation, written out here by hand
    nu = brunel.mean_field_rate("C", 1.0) * 1e-3                  # per ms
    mu = 0.1 * 20.0 * (1000 * nu - 5.0 * 250 * nu + 20.0)       # nu_x = 2 x 10 Hz x 1000 = 20 per ms
    sigma = 0.1 * np.sqrt(20.0 * (1000 * nu + 25.0 * 250 * nu + 20.0))
    val, _ = integrate.quad(lambda u: np.exp(u * u) * (1 + special.erf(u)), (10 - mu) / sigma, (20 - mu) / sigma)
    assert 1.0 / (2.0 + 20.0 * np.sqrt(np.pi) * val) == pytest.approx(nu, rel=1e-6)
    assert nu * 1e3 == pytest.approx(37.95, abs=0.05)            # Brunel 2000, regime C (~38 spikes/s)
    from parsnn.connectivity import Connectivity
    from parsnn.partition.rates import population_rates
    net = brunel.build_network("C", scale=0.1)
    expected = population_rates(Connectivity.from_network(net))    # what predict/partition/map use
    assert expected.tolist() == [pytest.approx(85.8, abs=0.1)] * 2
    # the asynchronous irregular network fires at the mean-field rate (measured 85.5 spikes/s)
    sim = Simulation(net, seed=3, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.run(700.0)
    t, _ = sim.spikes()["E"]
    rate = np.count_nonzero(t > 200.0) / net.populations["E"].size / 0.5
    assert rate == pytest.approx(expected[0], rel=0.05)


@pytest.mark.parametrize("kw, name", [
    ({"regime": "E"}, "regime"), ({"regime": 1}, "regime"), ({"scale": 0.0}, "scale"),
    ({"scale": -1.0}, "scale"), ({"scale": float("inf")}, "scale"), ({"scale": 1e-5}, "scale"),
    ({"v0": "random"}, "v0"),
])
def test_brunel_bad_arguments(kw, name):
    with pytest.raises(ParameterError, match=name):
        brunel.build_network(**kw)
