"""iaf_psc_alpha: parsnn against closed-form solutions (always) and against NEST (skipped without it).

The closed form superposes, between threshold crossings, the decay of the initial potential, the
DC response and one alpha PSP per input,

    F(s) = w e / (tau_s C_m) * exp(-s/tau_m) * (1 - exp(-a s) (1 + a s)) / a^2,  a = 1/tau_s - 1/tau_m

(s^2/2 in place of the last factor for tau_s == tau_m): the response, from V = 0, to the current
I(s) = w s/tau_s exp(1 - s/tau_s) of an input arriving at s = 0 (NEST's convention: the spike
arriving in the step that ends at t_a first moves V at t_a + h). After a reset at grid time k0 the
inputs contribute F(t - t_a) - exp(-(t - t_k0)/tau_m) F(t_k0 - t_a) (linearity). This is an
analytic solution, not the update rule; it matches NEST's exact integration on the grid.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

from parsnn.errors import ParameterError
from parsnn.neurons import iaf_psc_alpha
from test_engine_neurons import run_parsnn as run_single_neuron

H = 0.1
V_TOL = 1e-9
BASE = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 2.0, "t_ref": 2.0, "E_L": -65.0,
        "V_th": -50.0, "V_reset": -65.0, "I_e": 0.0, "V_m": -65.0}

SCENARIOS = OrderedDict({
    # one excitatory PSC: the PSP shape
    "single_epsp": dict(params=dict(BASE), inputs=[(1.0, 100.0, 1.0)], t_sim=40.0),
    # one inhibitory PSC with tau_syn_in = tau_m: the singular propagators
    "single_ipsp_singular": dict(params={**BASE, "tau_syn_in": 10.0}, inputs=[(2.0, -300.0, 1.5)], t_sim=40.0),
    # DC response from a non-rest start, below threshold
    "dc_subthreshold": dict(params={**BASE, "I_e": 300.0, "V_m": -60.0}, inputs=[], t_sim=50.0),
    # DC firing with PSCs arriving during refractoriness
    "dc_firing_inputs": dict(params={**BASE, "I_e": 420.0}, t_sim=80.0,
                             inputs=[(3.0, 200.0, 1.0), (24.9, 400.0, 0.1), (25.5, -800.0, 1.0),
                                     (40.0, 1500.0, 2.0), (40.0, 1500.0, 2.0)]),
    # hpc_benchmark's neuron (tau_syn = 0.3258... ms, t_ref 0.5 ms) driven over threshold by PSCs
    "hpc_neuron": dict(params={"E_L": 0.0, "V_reset": 0.0, "V_th": 20.0, "C_m": 250.0, "tau_m": 10.0,
                               "t_ref": 0.5, "tau_syn_ex": 0.32582722403722841,
                               "tau_syn_in": 0.32582722403722841, "V_m": 5.7},
                       inputs=[(1.0 + 0.1 * k, 2000.0, 1.5) for k in range(12)] + [(20.0, -3000.0, 1.5)],
                       t_sim=40.0),
})


def alpha_psp(s, w, tau_s, tau_m, C_m):
    """V (mV) at lag s of the response of an alpha current of weight w (pA) starting at s = 0."""
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    a = 1.0 / tau_s - 1.0 / tau_m
    if a == 0.0:
        g = 0.5 * s * s
    else:
        g = (1.0 - np.exp(-a * s) * (1.0 + a * s)) / (a * a)
    return w * math.e / (tau_s * C_m) * np.exp(-s / tau_m) * g


def closed_form(params, inputs, t_sim):
    """(times, absolute V_m, spike times) of one iaf_psc_alpha neuron."""
    p = {**BASE, **params}
    C, tau_m, E_L, I_e = p["C_m"], p["tau_m"], p["E_L"], p["I_e"]
    theta, V_reset = p["V_th"] - E_L, p["V_reset"] - E_L
    n_ref, N = round(p["t_ref"] / H), round(t_sim / H)
    ins = [(round((ts + d) / H), w, p["tau_syn_ex"] if w >= 0 else p["tau_syn_in"]) for ts, w, d in inputs]
    k = np.arange(1, N + 1)
    V, spikes = np.empty(N), []
    k0, V0 = 0, p["V_m"] - E_L
    while k0 < N:
        kk = k[k0:]
        u = (kk - k0) * H
        seg = V0 * np.exp(-u / tau_m) - tau_m / C * I_e * np.expm1(-u / tau_m)
        for a, w, ts in ins:
            seg = seg + alpha_psp((kk - a) * H, w, ts, tau_m, C) \
                - np.exp(-u / tau_m) * alpha_psp((k0 - a) * H, w, ts, tau_m, C)
        above = np.nonzero(seg >= theta)[0]
        if above.size == 0:
            V[k0:] = seg
            break
        i = int(above[0])
        ks = k0 + 1 + i
        V[k0:ks - 1] = seg[:i]
        spikes.append(ks * H)
        V[ks - 1:min(ks + n_ref, N)] = V_reset
        k0, V0 = ks + n_ref, V_reset
    return k * H, V + E_L, np.array(spikes)


def run_parsnn(params, inputs, t_sim, chunks=None):
    """(times, V_m, spike times) of one parsnn iaf_psc_alpha neuron fed by spike generators."""
    return run_single_neuron("iaf_psc_alpha", params, 0.0, inputs, t_sim, chunks=chunks)


def assert_same(a, b, what):
    (t1, V1, s1), (t2, V2, s2) = a, b
    np.testing.assert_allclose(t1, t2, rtol=0, atol=1e-12, err_msg=what)
    np.testing.assert_allclose(s1, s2, rtol=0, atol=1e-12, err_msg=f"{what}: spike times")
    err = np.abs(V1 - V2)
    assert err.max() <= V_TOL, f"{what}: |dV| = {err.max():.3e} mV at t = {t1[np.argmax(err)]:.1f} ms"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parsnn_matches_closed_form(name):
    sc = SCENARIOS[name]
    assert_same(run_parsnn(sc["params"], sc["inputs"], sc["t_sim"]),
                closed_form(sc["params"], sc["inputs"], sc["t_sim"]), name)


def test_scenarios_fire_where_claimed():
    spikes = {name: closed_form(sc["params"], sc["inputs"], sc["t_sim"])[2] for name, sc in SCENARIOS.items()}
    assert spikes["single_epsp"].size == spikes["dc_subthreshold"].size == 0
    assert spikes["dc_firing_inputs"].size >= 3 and spikes["hpc_neuron"].size >= 1


def test_psc_peak_is_the_weight():
    """The current of an input of weight w peaks at w pA, tau_syn after its arrival (NEST's normalisation)."""
    x = {k: np.zeros(1) for k in ("p11ex", "a21ex", "p31ex", "p21ex", "psc_ex", "p11in", "a21in", "p31in",
                                  "p21in", "psc_in", "p22", "p20", "vmin", "el", "V", "theta", "vreset", "ie")}
    x["refr"] = np.zeros(1, dtype=np.int32)
    params = {**BASE, "tau_syn_ex": 2.0, "V_min": -math.inf, "tau_minus": 20.0}
    iaf_psc_alpha.prepare(x, slice(0, 1), "n", lambda key: np.array([params[key]]), H)
    dI, I, peak = x["psc_ex"][0] * 50.0, 0.0, 0.0
    for _ in range(100):
        I, dI = x["a21ex"][0] * dI + x["p11ex"][0] * I, dI * x["p11ex"][0]
        peak = max(peak, I)
    assert peak == pytest.approx(50.0, rel=1e-12)


def test_runs_in_chunks_bit_identically():
    sc = SCENARIOS["dc_firing_inputs"]
    whole = run_parsnn(sc["params"], sc["inputs"], sc["t_sim"])
    parts = run_parsnn(sc["params"], sc["inputs"], sc["t_sim"], chunks=[13.0, 0.5, 66.5])
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("key,value", [("tau_syn_ex", 0.0), ("C_m", -1.0), ("tau_minus", 0.0)])
def test_bad_parameters_are_rejected(key, value):
    import parsnn.network as pn
    net = pn.Network()
    net.add_population("n", 1, "iaf_psc_alpha", params={key: value})
    with pytest.raises(ParameterError, match=f"parameter {key} must be > 0"):
        net.validate()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parsnn_matches_nest(name):
    pytest.importorskip("nest")
    import nest_single_neuron as nn
    sc = SCENARIOS[name]
    res = nn.run_nest_single_neuron("iaf_psc_alpha", {**BASE, **sc["params"]}, sc["t_sim"], sc["inputs"], H)
    assert_same(run_parsnn(sc["params"], sc["inputs"], sc["t_sim"]),
                (res["times"], res["V_m"], np.sort(res["spike_times"])), f"{name} parsnn vs NEST")
