"""Single-neuron exactness: parsnn vs closed-form solutions vs NEST.

Each scenario is one iaf_psc_exp or iaf_psc_delta neuron with constant drive
(I_e plus a DC input) and spike_generator input. parsnn must reproduce the
closed-form solution of tests/reference_solutions.py (V to 1e-9 mV, spike times
to 1e-12 ms); the closed form itself is checked against a literal
implementation of NEST's update rule and, when NEST is installed, against NEST.

Timing convention (NEST's): a spike_generator spike at t_s is emitted in step
t = t_s/h - 1; with a delay of d steps it enters the target in step t + d, the
step that ends at t_s + d*h. For iaf_psc_exp the synaptic current jumps there and
V first changes at the sample t_s + d*h + h; for iaf_psc_delta V jumps at the
sample t_s + d*h.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import reference_solutions as ref

H = 0.1
V_TOL = 1e-9      # mV
T_TOL = 1e-12     # ms

EXP_BASE = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0, "E_L": -65.0,
            "V_th": -50.0, "V_reset": -65.0, "I_e": 0.0, "V_m": -65.0}
DELTA_BASE = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0,
              "I_e": 0.0, "V_m": -65.0}

# Scenario: model, params (I_e = the neuron's own I_e), dc (added through
# Network.add_dc; the total drive is I_e + dc), inputs [(spike time, weight,
# delay)], t_sim. Weights are exactly representable in float32.
SCENARIOS = OrderedDict({
    # tau_syn != tau_m, distinct ex/in time constants, initial condition away
    # from rest, coincident inputs (also twice the same spike of one generator),
    # the earliest possible spike (t = h), delays of 1 and 7 steps and of 2.3 ms
    "exp_syn_ne_tau_m": dict(
        model="iaf_psc_exp",
        params={**EXP_BASE, "tau_syn_ex": 0.5, "tau_syn_in": 3.0, "V_m": -60.0},
        dc=0.0,
        inputs=[(1.0, 87.5, 1.0), (5.0, 87.5, 1.0), (5.0, 87.5, 1.0), (0.1, 87.5, 1.0),
                (3.2, -350.0, 1.0), (3.2, 87.5, 1.0),
                (2.0, 87.5, 0.1), (2.0, -350.0, 0.7), (9.9, 1000.0, 2.3), (12.0, -125.25, 1.0)],
        t_sim=40.0),
    # tau_syn == tau_m: the singular propagator P21 = h/C_m*exp(-h/tau_m)
    "exp_syn_eq_tau_m": dict(
        model="iaf_psc_exp",
        params={**EXP_BASE, "tau_syn_ex": 10.0, "tau_syn_in": 10.0},
        dc=0.0,
        inputs=[(1.0, 87.5, 1.0), (5.0, 87.5, 1.0), (3.2, -350.0, 1.0), (7.5, 40.0, 1.5)],
        t_sim=40.0),
    # tau_syn_ex == tau_m only, mixed with a regular inhibitory channel, firing
    "exp_syn_ex_eq_tau_m_firing": dict(
        model="iaf_psc_exp",
        params={**EXP_BASE, "tau_syn_ex": 10.0, "tau_syn_in": 2.0, "I_e": 200.0},
        dc=150.0,
        inputs=[(2.0, 500.0, 1.0), (6.0, 500.0, 1.0), (30.0, -1500.0, 1.0), (55.0, 250.0, 3.0)],
        t_sim=100.0),
    # tau_syn within 1e-4 of tau_m: the regular propagator, not the singular one
    # (the singular one would be off by ~5e-6 mV here, far above V_TOL)
    "exp_syn_near_tau_m": dict(
        model="iaf_psc_exp",
        params={**EXP_BASE, "tau_syn_ex": 10.001, "tau_syn_in": 9.999, "I_e": 300.0},
        dc=0.0,
        inputs=[(1.0, 500.0, 1.0), (2.0, 500.0, 1.0), (20.0, -350.0, 1.0), (50.0, 750.0, 1.0)],
        t_sim=80.0),
    # DC alone fires repeatedly: reset, refractory clamp, spike-time stamps
    "exp_dc_firing": dict(
        model="iaf_psc_exp", params={**EXP_BASE, "I_e": 100.0}, dc=350.0, inputs=[], t_sim=100.0),
    # DC firing plus excitatory and inhibitory input
    "exp_dc_firing_inputs": dict(
        model="iaf_psc_exp", params={**EXP_BASE, "tau_syn_in": 2.0}, dc=450.0,
        inputs=[(3.0, 87.5, 1.0), (10.0, 1000.0, 1.0), (40.0, -350.0, 1.0), (41.0, -350.0, 1.0),
                (70.0, 2000.0, 0.5)],
        t_sim=100.0),
    # the DC alone spikes at 18.0 ms (refractory steps end at 18.1 .. 20.0 ms);
    # inputs arrive in the spike step (18.0), during refractoriness (18.5, 18.9)
    # and in the last refractory step (20.0): they must still charge i_syn
    # (psc_exp does not discard them)
    "exp_refractory_input": dict(
        model="iaf_psc_exp", params=dict(EXP_BASE), dc=450.0,
        inputs=[(17.0, 500.0, 1.0), (17.5, 500.0, 1.0), (19.0, 500.0, 1.0), (17.9, -250.0, 1.0)],
        t_sim=60.0),
    # no refractory period
    "exp_tref0": dict(
        model="iaf_psc_exp", params={**EXP_BASE, "t_ref": 0.0}, dc=600.0,
        inputs=[(5.0, 87.5, 1.0)], t_sim=50.0),
    # psc_delta: subthreshold jumps (mV), initial condition, coincident inputs
    "delta_inputs": dict(
        model="iaf_psc_delta", params={**DELTA_BASE, "V_m": -62.0}, dc=0.0,
        inputs=[(1.0, 2.5, 1.0), (3.2, -1.25, 1.0), (3.2, 2.5, 1.0), (5.0, 2.5, 7.0), (8.0, 0.75, 0.1)],
        t_sim=40.0),
    # psc_delta: DC firing plus inputs that trigger extra spikes
    "delta_dc_firing": dict(
        model="iaf_psc_delta", params={**DELTA_BASE, "I_e": 50.0}, dc=400.0,
        inputs=[(5.0, 4.0, 1.0), (30.0, 12.0, 1.0), (31.0, 12.0, 1.0), (60.0, -5.0, 2.0)],
        t_sim=100.0),
    # psc_delta: the DC alone spikes at 18.0 ms, refractory steps end 18.1 .. 20.0;
    # inputs arriving at 18.0 (swallowed by the reset), 18.5, 20.0 (discarded)
    # and 20.1 (the first to count)
    "delta_refractory_input": dict(
        model="iaf_psc_delta", params=dict(DELTA_BASE), dc=450.0,
        inputs=[(17.0, 5.0, 1.0), (17.5, 5.0, 1.0), (19.0, 5.0, 1.0), (19.1, 5.0, 1.0)],
        t_sim=40.0),
    # psc_delta lower bound V_min (the negative DC alone would settle at -69 mV)
    "delta_v_min": dict(
        model="iaf_psc_delta", params={**DELTA_BASE, "V_min": -68.0}, dc=-100.0,
        inputs=[(2.0, -10.0, 1.0), (10.0, -2.0, 1.0), (10.5, -2.0, 1.0), (20.0, 4.0, 1.0)],
        t_sim=40.0),
})

# the refractory scenarios assume these spike times of the DC-only neuron
REFRACTORY_SPIKE = 18.0


def total_params(sc):
    """Neuron params with the DC folded into I_e (what NEST and the closed form see)."""
    p = dict(sc["params"])
    p["I_e"] = p.get("I_e", 0.0) + sc["dc"]
    return p


def closed_form(sc, inputs=None, params=None):
    fn = ref.iaf_psc_exp if sc["model"] == "iaf_psc_exp" else ref.iaf_psc_delta
    return fn(total_params(sc) if params is None else params, sc["t_sim"],
              ref.arrivals(sc["inputs"] if inputs is None else inputs), H)


# ---------------------------------------------------------------------------
# literal NEST update rule (only to validate the closed form without NEST)
# ---------------------------------------------------------------------------

def stepwise(sc, inputs=None):
    """NEST's update loop, step by step (the spec the closed form must match)."""
    p = total_params(sc)
    inputs = sc["inputs"] if inputs is None else inputs
    N = round(sc["t_sim"] / H)
    E_L = p["E_L"]
    theta, V_reset = p["V_th"] - E_L, p["V_reset"] - E_L
    n_ref = round(p["t_ref"] / H)
    buf_ex, buf_in = np.zeros(N + 1), np.zeros(N + 1)
    for ts, w, d in inputs:
        step = round(ts / H) - 1 + round(d / H)
        if step < N:
            (buf_ex if w >= 0 else buf_in)[step] += w
    V, r, spikes, out = p["V_m"] - E_L, 0, [], np.empty(N)
    tau_m, C = p["tau_m"], p["C_m"]
    P22 = math.exp(-H / tau_m)
    if sc["model"] == "iaf_psc_exp":
        def p21(ts_):
            if ts_ == tau_m:
                return H / C * math.exp(-H / tau_m)
            return ts_ * tau_m / (tau_m - ts_) / C * math.exp(-H / ts_) * math.expm1(H * (1 / ts_ - 1 / tau_m))
        P11ex, P11in = math.exp(-H / p["tau_syn_ex"]), math.exp(-H / p["tau_syn_in"])
        P21ex, P21in = p21(p["tau_syn_ex"]), p21(p["tau_syn_in"])
        P20 = tau_m / C * (1 - P22)
        iex = iin = 0.0
        for t in range(N):
            if r == 0:
                V = V * P22 + iex * P21ex + iin * P21in + p["I_e"] * P20
            else:
                r -= 1
            iex = iex * P11ex + buf_ex[t]
            iin = iin * P11in + buf_in[t]
            if V >= theta:
                r, V = n_ref, V_reset
                spikes.append((t + 1) * H)
            out[t] = V + E_L
    else:
        P30 = -tau_m / C * math.expm1(-H / tau_m)
        V_min = p.get("V_min", -math.inf) - E_L
        for t in range(N):
            if r == 0:
                V = max(P30 * p["I_e"] + P22 * V + buf_ex[t] + buf_in[t], V_min)
            else:
                r -= 1
            if V >= theta:
                r, V = n_ref, V_reset
                spikes.append((t + 1) * H)
            out[t] = V + E_L
    return np.arange(1, N + 1) * H, out, np.array(spikes)


# ---------------------------------------------------------------------------
# parsnn
# ---------------------------------------------------------------------------

def run_parsnn(model, params, dc, inputs, t_sim, presyn=None, interval=H, chunks=None):
    """Simulate one neuron "n" in parsnn. ``inputs`` are grouped by (weight,
    delay) into one single-node spike_generator population per group.

    ``presyn``: optional driver neuron population "pre" (dict with model,
    params, dc, weight, delay) connected to "n". ``interval``: voltage
    sampling interval (ms). ``chunks``: run the simulation as several
    ``sim.run`` calls of these lengths (summing to t_sim).

    Returns (times, V, spike_times[, pre_spike_times])."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation

    net = pn.Network(resolution=H)
    net.add_population("n", 1, model, params=dict(params))
    groups = OrderedDict()
    for ts, w, d in inputs:
        groups.setdefault((w, d), []).append(ts)
    for g, ((w, d), times) in enumerate(groups.items()):
        net.add_population(f"sg{g}", 1, "spike_generator", spike_times=[sorted(times)])
        net.connect(f"sg{g}", "n", pn.AllToAll(), weight=w, delay=d)
    if dc:
        net.add_dc("n", dc)
    rec = ["n"]
    if presyn is not None:
        net.add_population("pre", 1, presyn["model"], params=dict(presyn["params"]))
        if presyn.get("dc"):
            net.add_dc("pre", presyn["dc"])
        net.connect("pre", "n", pn.OneToOne(), weight=presyn["weight"], delay=presyn["delay"])
        rec.append("pre")
    net.record_spikes(rec)
    net.record_voltage("n", [0], interval=interval)
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    for chunk in (chunks or [t_sim]):
        sim.run(chunk)
    spikes = sim.spikes()
    vt = sim.voltages()
    times, ids, V = vt["n"]
    assert list(np.asarray(ids)) == [0]
    out = (np.asarray(times, dtype=float), np.asarray(V, dtype=float)[:, 0],
           np.sort(np.asarray(spikes["n"][0], dtype=float)))
    if presyn is not None:
        out = out + (np.sort(np.asarray(spikes["pre"][0], dtype=float)),)
    return out


def run_scenario(sc, inputs=None):
    return run_parsnn(sc["model"], sc["params"], sc["dc"], sc["inputs"] if inputs is None else inputs,
                      sc["t_sim"])


def assert_trace(times, V, spikes, exp_times, exp_V, exp_spikes, what=""):
    assert times.shape == exp_times.shape, f"{what}: {times.shape[0]} samples, expected {exp_times.shape[0]}"
    np.testing.assert_allclose(times, exp_times, rtol=0, atol=T_TOL, err_msg=f"{what}: sample times")
    assert spikes.shape == exp_spikes.shape, f"{what}: spikes {spikes} != expected {exp_spikes}"
    np.testing.assert_allclose(spikes, exp_spikes, rtol=0, atol=T_TOL, err_msg=f"{what}: spike times")
    err = np.abs(V - exp_V)
    i = int(np.argmax(err))
    assert err[i] <= V_TOL, (f"{what}: |V - expected| = {err[i]:.3e} mV at t = {exp_times[i]:.1f} ms "
                             f"(got {V[i]!r}, expected {exp_V[i]!r}); first sample off by > {V_TOL}: "
                             f"t = {exp_times[int(np.argmax(err > V_TOL))]:.1f} ms")


# ---------------------------------------------------------------------------
# the closed form itself
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_closed_form_matches_nest_update_rule(name):
    sc = SCENARIOS[name]
    sol = closed_form(sc)
    t, V, spikes = stepwise(sc)
    assert sol.threshold_margin > 1e-6, "scenario too close to threshold for a robust spike time"
    assert_trace(sol.times, sol.V_m, sol.spike_times, t, V, spikes, f"{name} closed form vs update rule")


def test_scenarios_exercise_what_they_claim():
    """Guard the scenarios: firing ones fire several times, refractory ones put
    inputs where they are meant to be, V_min is actually reached."""
    for name, sc in SCENARIOS.items():
        sol = closed_form(sc)
        if "firing" in name or "tref0" in name:
            assert len(sol.spike_times) >= 3, name
        if name in ("exp_syn_ne_tau_m", "exp_syn_eq_tau_m", "delta_inputs"):
            assert len(sol.spike_times) == 0, name
        if "refractory" in name:
            alone = closed_form(sc, inputs=[])
            assert alone.spike_times[0] == pytest.approx(REFRACTORY_SPIKE, abs=T_TOL)
            assert sol.spike_times[0] == pytest.approx(REFRACTORY_SPIKE, abs=T_TOL)
    sol = closed_form(SCENARIOS["delta_v_min"])
    assert np.sum(sol.V_m == -68.0) >= 20
    assert np.all(sol.V_m >= -68.0)
    # psc_delta: the inputs at 18.0, 18.5 and 20.0 ms change nothing, 20.1 does
    sc = SCENARIOS["delta_refractory_input"]
    alone = closed_form(sc, inputs=[])
    with_in = closed_form(sc)
    k = np.nonzero(np.abs(with_in.V_m - alone.V_m) > 1e-12)[0][0]
    assert with_in.times[k] == pytest.approx(20.1, abs=T_TOL)
    # psc_exp: the refractory inputs do charge i_syn and change V after release
    sc = SCENARIOS["exp_refractory_input"]
    alone = closed_form(sc, inputs=[])
    with_in = closed_form(sc)
    k = np.nonzero(np.abs(with_in.V_m - alone.V_m) > 1e-12)[0][0]
    assert with_in.times[k] == pytest.approx(REFRACTORY_SPIKE + 2.0 + H, abs=T_TOL)


@pytest.mark.parametrize("name", [n for n in SCENARIOS if SCENARIOS[n]["inputs"]])
def test_closed_form_is_sensitive_to_one_step_of_timing(name):
    """A one-step shift of every arrival must move V by far more than V_TOL, so
    the comparisons below can detect off-by-one delays."""
    sc = SCENARIOS[name]
    shifted = [(ts + H, w, d) for ts, w, d in sc["inputs"]]
    a, b = closed_form(sc), closed_form(sc, inputs=shifted)
    assert np.max(np.abs(a.V_m - b.V_m)) > 1e-3


def test_psp_kernel_limit():
    """The tau_syn == tau_m kernel is the limit of the general one."""
    s = np.linspace(0.0, 50.0, 501)
    k_eq = ref.psc_exp_kernel(s, 10.0, 10.0, 250.0)
    k_near = ref.psc_exp_kernel(s, 10.0, 10.0 * (1 + 1e-7), 250.0)
    np.testing.assert_allclose(k_near, k_eq, rtol=0, atol=1e-8)
    assert k_eq.max() == pytest.approx(10.0 / 250.0 * math.exp(-1.0), rel=1e-3)


# ---------------------------------------------------------------------------
# parsnn vs closed form
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parsnn_matches_closed_form(name):
    sc = SCENARIOS[name]
    sol = closed_form(sc)
    t, V, spikes = run_scenario(sc)
    assert_trace(t, V, spikes, sol.times, sol.V_m, sol.spike_times, f"{name} parsnn vs closed form")


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
@pytest.mark.parametrize("d_steps", [1, 7])
def test_delay_first_effect(model, d_steps):
    """A spike_generator spike at t_s (emitted in step t = t_s/h - 1) with a
    delay of d steps enters the neuron in step t + d, which ends at t_s + d*h.
    psc_exp: the current jumps there, V first deviates from the unperturbed
    trace at the sample t_s + d*h + h. psc_delta: V jumps at t_s + d*h."""
    t_s, t_sim = 2.0, 10.0
    if model == "iaf_psc_exp":
        params, w, first = dict(EXP_BASE), 87.5, t_s + d_steps * H + H
    else:
        params, w, first = dict(DELTA_BASE), 0.5, t_s + d_steps * H
    params["I_e"] = 100.0     # a moving baseline, so "unchanged" is not trivial
    t0, V0, _ = run_parsnn(model, params, 0.0, [], t_sim)
    t1, V1, _ = run_parsnn(model, params, 0.0, [(t_s, w, d_steps * H)], t_sim)
    np.testing.assert_array_equal(t0, t1)
    differs = np.nonzero(V1 != V0)[0]
    assert differs.size, "the input spike had no effect"
    assert t1[differs[0]] == pytest.approx(first, abs=T_TOL), (
        f"V first deviates at t = {t1[differs[0]]:.1f} ms, expected {first:.1f} ms")
    # and the deviation is the closed-form PSP from then on
    sc = dict(model=model, params=params, dc=0.0, inputs=[(t_s, w, d_steps * H)], t_sim=t_sim)
    sol = closed_form(sc)
    assert_trace(t1, V1, np.empty(0), sol.times, sol.V_m, sol.spike_times, "delay test")


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
@pytest.mark.parametrize("delay", [0.1, 0.7])
def test_neuron_to_neuron_delay(model, delay):
    """A neuron's spike with time stamp t_sp and delay d reaches its target
    exactly like a spike_generator spike at t_sp: the closed form of the target,
    fed with the driver's recorded spike times, must match."""
    if model == "iaf_psc_exp":
        params, pre_params, w = dict(EXP_BASE), {**EXP_BASE, "I_e": 500.0}, 87.5
    else:
        params, pre_params, w = dict(DELTA_BASE), {**DELTA_BASE, "I_e": 500.0}, 1.5
    pre = dict(model=model, params=pre_params, dc=0.0, weight=w, delay=delay)
    t_sim = 60.0
    t, V, spikes, pre_spikes = run_parsnn(model, params, 0.0, [], t_sim, presyn=pre)
    pre_ref = closed_form(dict(model=model, params=pre_params, dc=0.0, inputs=[], t_sim=t_sim))
    np.testing.assert_allclose(pre_spikes, pre_ref.spike_times, rtol=0, atol=T_TOL)
    assert len(pre_spikes) >= 3
    sc = dict(model=model, params=params, dc=0.0, inputs=[(ts, w, delay) for ts in pre_spikes], t_sim=t_sim)
    sol = closed_form(sc)
    assert_trace(t, V, spikes, sol.times, sol.V_m, sol.spike_times, "neuron-to-neuron")


@pytest.mark.parametrize("name", ["exp_refractory_input", "delta_dc_firing", "exp_syn_ne_tau_m"])
def test_run_in_chunks(name):
    """Several sim.run calls, ending inside min-delay intervals and right after
    spikes, continue the same trajectory."""
    sc = SCENARIOS[name]
    chunks = [13.7, 4.4, 0.1, 20.0]
    chunks.append(round(sc["t_sim"] - sum(chunks), 10))
    sol = closed_form(sc)
    t, V, spikes = run_parsnn(sc["model"], sc["params"], sc["dc"], sc["inputs"], sc["t_sim"], chunks=chunks)
    assert_trace(t, V, spikes, sol.times, sol.V_m, sol.spike_times, f"{name} in chunks {chunks}")


@pytest.mark.parametrize("interval", [0.5, 1.0])
def test_recording_interval(interval):
    """With interval I the samples are at t = I, 2I, ... (NEST's multimeter)."""
    sc = SCENARIOS["exp_dc_firing_inputs"]
    sol = closed_form(sc)
    every = round(interval / H)
    t, V, spikes = run_parsnn(sc["model"], sc["params"], sc["dc"], sc["inputs"], sc["t_sim"], interval=interval)
    assert_trace(t, V, spikes, sol.times[every - 1::every], sol.V_m[every - 1::every], sol.spike_times,
                 f"interval {interval}")


# ---------------------------------------------------------------------------
# NEST (optional)
# ---------------------------------------------------------------------------

def _nest_run(sc):
    pytest.importorskip("nest")
    import nest_single_neuron as nn
    return nn.run_nest_single_neuron(sc["model"], total_params(sc), sc["t_sim"], sc["inputs"], H)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_closed_form_matches_nest(name):
    sc = SCENARIOS[name]
    res = _nest_run(sc)
    sol = closed_form(sc)
    assert_trace(res["times"], res["V_m"], res["spike_times"], sol.times, sol.V_m, sol.spike_times,
                 f"{name} NEST vs closed form")
    if sc["model"] == "iaf_psc_exp":
        np.testing.assert_allclose(res["I_syn_ex"], sol.I_syn_ex, rtol=0, atol=1e-9)
        np.testing.assert_allclose(res["I_syn_in"], sol.I_syn_in, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parsnn_matches_nest(name):
    sc = SCENARIOS[name]
    res = _nest_run(sc)
    t, V, spikes = run_scenario(sc)
    assert_trace(t, V, spikes, res["times"], res["V_m"], res["spike_times"], f"{name} parsnn vs NEST")
    np.testing.assert_array_equal(np.round(spikes / H).astype(np.int64),
                                  np.round(res["spike_times"] / H).astype(np.int64))


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
def test_neuron_to_neuron_matches_nest(model):
    pytest.importorskip("nest")
    import nest_single_neuron as nn
    base = EXP_BASE if model == "iaf_psc_exp" else DELTA_BASE
    w = 87.5 if model == "iaf_psc_exp" else 1.5
    pre = dict(model=model, params={**base, "I_e": 500.0}, dc=0.0, weight=w, delay=0.7)
    res = nn.run_nest_single_neuron(model, dict(base), 60.0, [], H, presyn=pre)
    t, V, spikes, pre_spikes = run_parsnn(model, dict(base), 0.0, [], 60.0, presyn=pre)
    np.testing.assert_allclose(pre_spikes, res["presyn_spike_times"], rtol=0, atol=T_TOL)
    assert_trace(t, V, spikes, res["times"], res["V_m"], res["spike_times"], "neuron-to-neuron vs NEST")


# ---------------------------------------------------------------------------
# spike generator times replaced between runs (Simulation.set_spike_times)
# ---------------------------------------------------------------------------

def _generator_net(times, min_delay=1.0):
    """Two spike generators onto three iaf_psc_exp neurons (all to all), spikes and V_m recorded."""
    import parsnn.network as pn
    net = pn.Network(resolution=H)
    net.add_population("sg", 2, "spike_generator", spike_times=times)
    net.add_population("n", 3, "iaf_psc_exp", params=dict(EXP_BASE, I_e=360.0))
    net.connect("sg", "n", pn.AllToAll(), weight=2500.0, delay=min_delay)
    net.add_population("quiet", 1, "spike_generator", spike_times=[[2.0]])     # no targets: never sent
    net.record_spikes(["n"])
    net.record_voltage("n", [0, 1, 2], interval=H)
    return net


def test_spike_times_set_between_runs_equal_the_times_given_from_the_start():
    """Setting new times after a run sends exactly the spikes that a generator given the kept
    (already sent) plus the new times from the start sends: bit-identical V_m and spikes; times
    not sent yet are replaced, and the generator may send more spikes than it had (the receive
    buffer grows)."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    whole = Simulation(_generator_net([[1.0, 12.0, 12.0, 15.3, 15.4], [5.0, 10.1, 18.0]]), seed=1,
                       comm=MPI.COMM_SELF)
    whole.run(30.0)
    parts = Simulation(_generator_net([[1.0, 25.0], [5.0]]), seed=1, comm=MPI.COMM_SELF)
    parts.run(10.0)
    parts.set_spike_times("sg", [[12.0, 12.0, 15.3, 15.4], [10.1, 18.0]])
    parts.run(20.0)
    a, b = whole.voltages()["n"], parts.voltages()["n"]
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2])
    sa, sb = whole.spikes()["n"], parts.spikes()["n"]
    assert sa[0].size > 8 and np.array_equal(sa[0], sb[0]) and np.array_equal(sa[1], sb[1])


@pytest.mark.parametrize("times, message", [
    ([[10.0], []], "after the current time 10 ms"),
    ([[9.0, 12.0], []], "after the current time"),
    ([[12.05], []], "multiples of the resolution"),
    ([[], [14.0, 12.0]], "node 1: spike times must be sorted"),
    ([[12.0]], "2 sequences, got 1"),
])
def test_spike_times_set_between_runs_are_checked(times, message):
    """Times at or before the current time (NEST refuses them), off the grid or unsorted, or the
    wrong number of sequences: a ParameterError naming the rule; nothing is changed."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    from parsnn.errors import ParameterError
    sim = Simulation(_generator_net([[1.0, 12.0], [5.0]]), seed=1, comm=MPI.COMM_SELF)
    sim.run(10.0)
    with pytest.raises(ParameterError, match=message):
        sim.set_spike_times("sg", times)
    with pytest.raises(ParameterError, match="not a spike_generator"):
        sim.set_spike_times("n", [[12.0]] * 3)
    sim.run(10.0)
    assert np.asarray(sim.st.gen_step).tolist() == [9, 49, 119]       # the given times still hold


@pytest.mark.parametrize("threads", [1, 2])
def test_poisson_devices_drive_as_their_streams_say(threads):
    """The Poisson input devices' counts (drawn a chunk of neurons at a time, cython/poisson.h) are
    the first draws of their streams (seed, purpose, gid, t - delay): the membrane of iaf_psc_delta
    neurons (no threshold in reach) follows v = p22 v + sum_j w_j k_j, with k_j from one px_poisson
    per stream. 300 devices (more than a chunk of 256 entries holds for one neuron), per-neuron
    rates with means 0, below 1, about 2, above 10 (the PTRS branch), mixed delays and signs."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn import _rng as rng_kernels
    from parsnn.engine import Simulation
    from parsnn.engine.streams import purpose
    n_dev, h, steps, tau_m, seed = 300, 0.1, 60, 10.0, 3
    net = pn.Network(resolution=h)
    net.add_population("n", 4, "iaf_psc_delta", params={"V_th": 1e9, "tau_m": tau_m, "V_m": -70.0})
    devs = []
    for k in range(n_dev):
        rate = np.array([0.0, 3000.0 + k, 20856.0, 120000.0 - 7 * k]) if k % 3 else 5000.0 + 10 * k
        w, d = (0.01 * (1 + k % 7)) * (-1 if k % 4 == 1 else 1), h * (1 + k % 5)
        devs.append(net.add_poisson("n", rate=rate, weight=w, delay=d, name=f"p{k}"))
    net.record_voltage("n", [0, 1, 2, 3], interval=h)
    sim = Simulation(net, seed=seed, comm=MPI.COMM_SELF, threads=threads)
    sim.run(steps * h)
    times, ids, V = sim.voltages()["n"]
    V = np.asarray(V, dtype=float)
    assert V.shape == (steps, 4)
    t = np.arange(steps, dtype=np.int64)
    p22 = math.exp(-h / tau_m)
    for i in range(4):
        w_in = np.zeros(steps)
        for k, dev in enumerate(devs):
            rate = np.asarray(dev.rate, dtype=float)
            lam = (rate[i] if rate.ndim else float(rate)) * h * 1e-3
            delay = max(1, int(round(dev.delay / h)))
            on = t[t >= delay]
            cnt = rng_kernels.poisson_counts(seed, np.full(on.size, purpose("poisson_input", k, dev.name), np.uint64),
                                             np.full(on.size, i, np.uint64), (on - delay).astype(np.uint64),
                                             np.full(on.size, lam), batched=False)
            w_in[on] += dev.weight * cnt
        v, expect = 0.0, []
        for s in range(steps):
            v = p22 * v + w_in[s]
            expect.append(v - 70.0)
        np.testing.assert_allclose(V[:, i], expect, rtol=0, atol=1e-9)
    assert np.ptp(V[:, 3]) > 100 and np.all(V[:, 0] != 0)      # the big means drive; neuron 0 only the fixed ones
