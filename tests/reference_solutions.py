"""Closed-form reference solutions for single iaf_psc_exp / iaf_psc_delta neurons.

These are *not* re-implementations of the step-by-step update rule. Between
threshold crossings the membrane potential is evaluated from the analytic
solution of the linear ODE,

    iaf_psc_exp:   dV/dt = -V/tau_m + (I_syn_ex + I_syn_in + I_e)/C_m,
                   dI_syn_X/dt = -I_syn_X/tau_syn_X + sum_k w_k delta(t - t_k)
    iaf_psc_delta: dV/dt = -V/tau_m + I_e/C_m + sum_k w_k delta(t - t_k)

(V relative to E_L), as a superposition of the initial-condition decay, the DC
response tau_m/C_m*I_e*(1 - exp(-t/tau_m)) and one post-synaptic potential per
input spike. NEST's exact integration makes the simulated trajectory coincide
with this solution on the grid t = k*h, given the NEST timing conventions:

* an input with arrival time ``t_a`` (= spike time + delay, a multiple of h) is
  the jump of I_syn (psc_exp) or V (psc_delta) at the *end* of the update step
  that ends at t_a; for psc_exp the PSP therefore starts at t_a with the
  kernel  w*tau_m*tau_s/(C_m*(tau_m-tau_s))*(exp(-s/tau_m)-exp(-s/tau_s)),
  s = t - t_a  (limit w*s/C_m*exp(-s/tau_m) for tau_s == tau_m);
* threshold crossings are only detected on the grid: the first grid time t_k
  with V(t_k) >= V_th is the spike time; V is then clamped to V_reset for the
  samples t_k .. t_k + t_ref and the analytic solution restarts at
  t_k + t_ref from V_reset (psc_exp: with the synaptic currents still decaying
  and accumulating inputs that arrived meanwhile; psc_delta: inputs arriving
  in (t_k - h, t_k + t_ref] are lost, the one at t_k in the reset);
* iaf_psc_delta's lower bound V_min is applied on the grid the same way (the
  solution restarts from V_min at the first grid time where V < V_min).

All functions take absolute potentials (mV) in NEST parameter names and return
absolute V_m sampled at t = h, 2h, ..., t_sim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PSC_EXP_DEFAULTS = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0, "t_ref": 2.0,
                    "E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "I_e": 0.0, "V_m": -70.0}
PSC_DELTA_DEFAULTS = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0,
                      "V_reset": -70.0, "V_min": -math.inf, "I_e": 0.0, "V_m": -70.0}


@dataclass
class Solution:
    times: np.ndarray          # t = h .. t_sim (ms)
    V_m: np.ndarray            # absolute membrane potential (mV) at ``times``
    spike_times: np.ndarray    # ms
    I_syn_ex: np.ndarray | None = None   # pA at ``times`` (psc_exp only)
    I_syn_in: np.ndarray | None = None
    #: smallest distance (mV) between V and V_th over all non-refractory grid
    #: samples; if it is tiny, rounding could move a spike by one step.
    threshold_margin: float = math.inf


def arrivals(inputs):
    """``[(spike_time, weight, delay)]`` -> ``[(arrival_time, weight)]``."""
    return [(float(ts) + float(d), float(w)) for (ts, w, d) in inputs]


# ---------------------------------------------------------------------------
# analytic building blocks (s, u in ms, arrays allowed)
# ---------------------------------------------------------------------------

def dc_response(u, I, tau_m, C_m):
    """V(u) from V(0) = 0 under constant current I: tau_m/C_m*I*(1 - exp(-u/tau_m))."""
    return -tau_m / C_m * I * np.expm1(-np.asarray(u, dtype=float) / tau_m)


def psc_exp_kernel(s, tau_m, tau_syn, C_m):
    """PSP (mV) at lag s >= 0 of a unit (1 pA) exponential current starting at s = 0
    with V(0) = 0; zero for s <= 0."""
    s = np.asarray(s, dtype=float)
    sp = np.maximum(s, 0.0)
    if tau_m == tau_syn:
        k = sp / C_m * np.exp(-sp / tau_m)
    else:
        # exp(-s/tau_m) - exp(-s/tau_syn), written without cancellation for tau_syn ~ tau_m
        k = (tau_m * tau_syn / (C_m * (tau_m - tau_syn)) * np.exp(-sp / tau_m)
             * -np.expm1(-sp * (tau_m - tau_syn) / (tau_m * tau_syn)))
    return np.where(s > 0, k, 0.0)


def _steps(t, h):
    n = round(t / h)
    if abs(n * h - t) > 1e-9 * max(1.0, abs(t)):
        raise ValueError(f"time {t} ms is not a multiple of h = {h} ms")
    return n


# ---------------------------------------------------------------------------
# iaf_psc_exp
# ---------------------------------------------------------------------------

def iaf_psc_exp(params: dict, t_sim: float, arrivals_=(), h: float = 0.1) -> Solution:
    """Closed-form trajectory of one iaf_psc_exp neuron.

    ``arrivals_``: ``[(arrival_time_ms, weight_pA)]``; weight >= 0 goes to the
    excitatory, < 0 to the inhibitory synapse.
    """
    p = {**PSC_EXP_DEFAULTS, **params}
    C, tau_m, E_L = p["C_m"], p["tau_m"], p["E_L"]
    theta, V_reset, I_e = p["V_th"] - E_L, p["V_reset"] - E_L, p["I_e"]
    n_ref = _steps(p["t_ref"], h)
    N = _steps(t_sim, h)
    k = np.arange(1, N + 1)

    channels = []
    for sign_ex, tau_s in ((True, p["tau_syn_ex"]), (False, p["tau_syn_in"])):
        ins = [(_steps(t, h), w) for (t, w) in arrivals_ if (w >= 0) == sign_ex]
        channels.append((tau_s, ins))

    def current(tau_s, ins, kk):
        """I_syn at grid index kk (array) including jumps arriving at kk."""
        kk = np.asarray(kk)
        out = np.zeros(kk.shape)
        for a, w in ins:
            out = out + np.where(kk >= a, w * np.exp(-(kk - a) * h / tau_s), 0.0)
        return out

    V = np.empty(N)
    spikes = []
    margin = math.inf
    k0, V0 = 0, p["V_m"] - E_L          # segment start (grid index) and V there
    while k0 < N:
        kk = k[k0:]                     # grid indices k0+1 .. N
        u = (kk - k0) * h
        seg = V0 * np.exp(-u / tau_m) + dc_response(u, I_e, tau_m, C)
        for tau_s, ins in channels:
            I0 = float(current(tau_s, ins, np.array(k0)))          # still-decaying current at k0
            seg = seg + I0 * psc_exp_kernel(u, tau_m, tau_s, C)
            for a, w in ins:
                if a > k0:
                    seg = seg + w * psc_exp_kernel((kk - a) * h, tau_m, tau_s, C)
        above = np.nonzero(seg >= theta)[0]
        if above.size == 0:
            V[k0:] = seg
            margin = min(margin, float(np.min(theta - seg)))
            break
        i = int(above[0])
        ks = k0 + 1 + i                 # grid index of the spike
        V[k0:ks - 1] = seg[:i]
        if i:
            margin = min(margin, float(np.min(theta - seg[:i])))
        margin = min(margin, float(seg[i] - theta))
        spikes.append(ks * h)
        V[ks - 1:min(ks + n_ref, N)] = V_reset     # samples t_ks .. t_ks + t_ref
        k0, V0 = ks + n_ref, V_reset

    (tau_ex, ins_ex), (tau_in, ins_in) = channels
    return Solution(times=k * h, V_m=V + E_L, spike_times=np.array(spikes, dtype=float),
                    I_syn_ex=current(tau_ex, ins_ex, k), I_syn_in=current(tau_in, ins_in, k),
                    threshold_margin=margin)


# ---------------------------------------------------------------------------
# iaf_psc_delta
# ---------------------------------------------------------------------------

def iaf_psc_delta(params: dict, t_sim: float, arrivals_=(), h: float = 0.1) -> Solution:
    """Closed-form trajectory of one iaf_psc_delta neuron (weights in mV)."""
    p = {**PSC_DELTA_DEFAULTS, **params}
    C, tau_m, E_L = p["C_m"], p["tau_m"], p["E_L"]
    theta, V_reset, I_e = p["V_th"] - E_L, p["V_reset"] - E_L, p["I_e"]
    V_min = p["V_min"] - E_L
    n_ref = _steps(p["t_ref"], h)
    N = _steps(t_sim, h)
    k = np.arange(1, N + 1)
    ins = [(_steps(t, h), w) for (t, w) in arrivals_]

    V = np.empty(N)
    spikes = []
    margin = math.inf
    k0, V0 = 0, p["V_m"] - E_L
    while k0 < N:
        kk = k[k0:]
        u = (kk - k0) * h
        seg = V0 * np.exp(-u / tau_m) + dc_response(u, I_e, tau_m, C)
        for a, w in ins:
            if a > k0:                  # inputs at or before k0 are in V0 or were lost
                seg = seg + np.where(kk >= a, w * np.exp(-(kk - a) * h / tau_m), 0.0)
        events = np.nonzero((seg >= theta) | (seg < V_min))[0]
        if events.size == 0:
            V[k0:] = seg
            margin = min(margin, float(np.min(theta - seg)))
            break
        i = int(events[0])
        ke = k0 + 1 + i
        V[k0:ke - 1] = seg[:i]
        if i:
            margin = min(margin, float(np.min(theta - seg[:i])))
        if seg[i] < V_min:              # lower bound: restart from V_min, not refractory
            V[ke - 1] = V_min
            k0, V0 = ke, V_min
            continue
        margin = min(margin, float(seg[i] - theta))
        spikes.append(ke * h)
        V[ke - 1:min(ke + n_ref, N)] = V_reset
        k0, V0 = ke + n_ref, V_reset

    return Solution(times=k * h, V_m=V + E_L, spike_times=np.array(spikes, dtype=float),
                    threshold_margin=margin)
