"""Brunel (2000) sparsely connected network of excitatory and inhibitory LIF neurons.

Conventions follow NEST's ``brunel_delta_nest`` example: ``iaf_psc_delta``
neurons (weights are PSP jumps in mV), N_E = 4 N_I, fixed in-degrees
C_E = epsilon N_E and C_I = epsilon N_I drawn with replacement (multapses and
autapses allowed) onto every neuron, J = 0.1 mV, J_I = -g J, one delay D = 1.5 ms,
and an independent external Poisson train per neuron with rate
``eta * nu_thr * C_E`` where ``nu_thr = V_th / (J C_E tau_m)`` is the external
rate that alone brings the mean membrane potential to threshold.

Regimes (Brunel 2000, Fig. 8): A synchronous regular (g=3, eta=2),
B synchronous irregular fast (g=6, eta=4), C asynchronous irregular (g=5, eta=2),
D synchronous irregular slow (g=4.5, eta=0.9).

Initial membrane potentials: the NEST example starts every neuron at V_m = 0,
which synchronises the first volley. Here V_m is drawn from Uniform(0, V_th)
(``v0="uniform"``, default) so the network starts desynchronised; ``v0="zero"``
reproduces the NEST example.
"""
from __future__ import annotations

import math
import numbers

from parsnn.errors import ParameterError
from parsnn.network import FixedIndegree, Network, Uniform
from parsnn.registry import ModelSpec

__all__ = ["REGIMES", "PARAMS", "derived", "mean_field_rate", "build_network"]

#: regime -> (g, eta = nu_ext / nu_thr)
REGIMES: dict[str, dict[str, float]] = {
    "A": {"g": 3.0, "eta": 2.0},    # synchronous regular
    "B": {"g": 6.0, "eta": 4.0},    # synchronous irregular, fast oscillation
    "C": {"g": 5.0, "eta": 2.0},    # asynchronous irregular
    "D": {"g": 4.5, "eta": 0.9},    # synchronous irregular, slow oscillation
}

#: fixed model parameters (ms, mV, pF)
PARAMS: dict[str, float] = {
    "N_E": 10000, "N_I": 2500,       # full-scale sizes (NEST example: order 2500)
    "epsilon": 0.1,                  # connection probability (in-degree / full source size)
    "J": 0.1,                        # mV, excitatory PSP jump
    "delay": 1.5,                    # ms, all recurrent and external connections
    "tau_m": 20.0, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0, "t_ref": 2.0,
    "C_m": 250.0,                    # pF; irrelevant for mV weights (the NEST example uses 1.0)
}


def _check(regime, scale, keep_indegree):
    if not isinstance(regime, str) or regime.upper() not in REGIMES:
        raise ParameterError(f"regime must be one of {', '.join(REGIMES)}, got {regime!r}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (math.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale must be a finite number > 0, got {scale!r}")
    n_i = round(PARAMS["N_I"] * scale)
    if n_i < 1:
        raise ParameterError(f"scale = {scale} leaves the inhibitory population empty; "
                             f"scale must be >= {0.5 / PARAMS['N_I']:.3g}")
    c_i = round(PARAMS["epsilon"] * (PARAMS["N_I"] if keep_indegree else n_i))
    if c_i < 1:
        raise ParameterError(f"scale = {scale} gives an inhibitory in-degree of 0; scale must be >= "
                             f"{0.5 / (PARAMS['epsilon'] * PARAMS['N_I']):.3g} (or keep_indegree=True)")
    return regime.upper(), float(scale)


def derived(regime: str = "A", scale: float = 1.0, keep_indegree: bool = False) -> dict:
    """All derived quantities: sizes, in-degrees, weights, threshold and Poisson rates.

    ``keep_indegree=False`` (default): C_E = epsilon*N_E and C_I = epsilon*N_I of
    the SCALED sizes, as when changing ``order`` in the NEST example.
    ``keep_indegree=True``: the full-scale in-degrees (1000, 250) at any scale.
    The Poisson rate per neuron, eta * nu_thr * C_E = eta * V_th / (J tau_m),
    does not depend on C_E.
    """
    regime, scale = _check(regime, scale, keep_indegree)
    g, eta = REGIMES[regime]["g"], REGIMES[regime]["eta"]
    p = PARAMS
    n_e, n_i = round(p["N_E"] * scale), round(p["N_I"] * scale)
    src_e, src_i = (p["N_E"], p["N_I"]) if keep_indegree else (n_e, n_i)
    c_e, c_i = round(p["epsilon"] * src_e), round(p["epsilon"] * src_i)
    j = p["J"]
    nu_thr = p["V_th"] / (j * c_e * p["tau_m"]) * 1000.0     # spikes/s per external synapse
    nu_ext = eta * nu_thr
    return {
        "regime": regime, "scale": scale, "keep_indegree": bool(keep_indegree),
        "g": g, "eta": eta, "N_E": n_e, "N_I": n_i, "C_E": c_e, "C_I": c_i,
        "J_E": j, "J_I": -g * j, "delay": p["delay"],
        "nu_thr": nu_thr, "nu_ext": nu_ext, "poisson_rate": nu_ext * c_e,
    }


def mean_field_rate(regime: str = "A", scale: float = 1.0, keep_indegree: bool = False) -> float:
    """Stationary rate (spikes/s) of the network's neurons from Brunel's (2000) mean-field theory.

    Diffusion approximation: with in-degrees C_E, C_I, PSP jump J, rate nu of every
    recurrent neuron and the external Poisson rate nu_x per neuron,
    mu = J tau_m (C_E nu - g C_I nu + nu_x) and sigma^2 = J^2 tau_m (C_E nu + g^2 C_I nu + nu_x);
    nu solves nu = 1 / (t_ref + tau_m sqrt(pi) int_{(V_r-mu)/sigma}^{(V_th-mu)/sigma} e^{u^2}(1 + erf u) du)
    (Siegert's first-passage rate; Brunel 2000, eq. 21). The lowest solution in (0, 1/t_ref)
    is returned. It is the rate of the asynchronous state: in the synchronous regimes it is
    an estimate of the mean rate, not a prediction of the oscillation. Simulated rates after 200 ms
    (measured / mean-field, spikes/s): scale 0.1: A 117 / 118, B 166 / 164, C 86 / 86, D 3.9 / 4.0;
    scale 0.5: A 220 / 225, B 92 / 90, C 55 / 55, D 5.2 / 6.1; scale 1: A 333 / 327, B 57 / 56,
    C 38 / 38, D 6.2 / 6.5."""
    from scipy import integrate, optimize, special

    d = derived(regime, scale, keep_indegree)
    p = PARAMS
    tau, tref, th, vr = p["tau_m"], p["t_ref"], p["V_th"], p["V_reset"]
    j, g, ce, ci = d["J_E"], d["g"], d["C_E"], d["C_I"]
    nu_x = d["poisson_rate"] * 1e-3                               # per ms

    def excess(nu):                                                # model rate minus nu, per ms
        mu = j * tau * (ce * nu - g * ci * nu + nu_x)
        sigma = j * math.sqrt(tau * (ce * nu + g * g * ci * nu + nu_x))
        # e^{u^2} (1 + erf u) = erfcx(-u), finite for large |u|
        val, _ = integrate.quad(lambda u: special.erfcx(-u), (vr - mu) / sigma, (th - mu) / sigma, limit=200)
        return 1.0 / (tref + tau * math.sqrt(math.pi) * val) - nu

    grid = [1.0 / tref * x for x in (1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3,
                                      0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999999)]
    vals = [excess(x) for x in grid]
    for a, b, fa, fb in zip(grid, grid[1:], vals, vals[1:]):
        if fa == 0.0:
            return a * 1e3
        if (fa > 0) != (fb > 0):
            return optimize.brentq(excess, a, b, xtol=1e-12) * 1e3
    raise ParameterError(f"no stationary mean-field rate for regime {d['regime']} at scale {d['scale']}")


def build_network(regime: str = "A", scale: float = 1.0, record: bool = True, resolution: float = 0.1,
                  keep_indegree: bool = False, v0: str = "uniform") -> Network:
    """Describe the Brunel (2000) network in ``regime`` ("A"-"D") at size ``scale``.

    Populations "E" and "I" (iaf_psc_delta); every neuron gets C_E excitatory and
    C_I inhibitory inputs (FixedIndegree, multapses and autapses allowed) and an
    independent Poisson input of rate eta*nu_thr*C_E with weight J.
    """
    if v0 not in ("uniform", "zero"):
        raise ParameterError(f"v0 must be 'uniform' or 'zero', got {v0!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Real) or not (
            math.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"resolution must be a number > 0 ms, got {resolution!r}")
    d = derived(regime, scale, keep_indegree)
    p = PARAMS
    params = {k: float(p[k]) for k in ("C_m", "tau_m", "t_ref", "E_L", "V_th", "V_reset")}
    params["V_m"] = Uniform(0.0, p["V_th"]) if v0 == "uniform" else 0.0

    net = Network(resolution=float(resolution), name=f"brunel_{d['regime']}")
    net.add_population("E", d["N_E"], model="iaf_psc_delta", params=dict(params))
    net.add_population("I", d["N_I"], model="iaf_psc_delta", params=dict(params))
    for tgt in ("E", "I"):
        net.connect("E", tgt, FixedIndegree(d["C_E"]), weight=d["J_E"], delay=d["delay"], name=f"E->{tgt}")
        net.connect("I", tgt, FixedIndegree(d["C_I"]), weight=d["J_I"], delay=d["delay"], name=f"I->{tgt}")
        net.add_poisson(tgt, rate=d["poisson_rate"], weight=d["J_E"], delay=d["delay"], name=f"ext->{tgt}")
    if record:
        net.record_spikes(["E", "I"])
    # the expected rate (parsnn.partition.rates.population_rates) is mean_field_rate(regime, scale,
    # keep_indegree), computed when asked for: it needs scipy, which a run does not
    net.metadata = {"model": "brunel", "v0": v0, **d}
    return net


# ---------------------------------------------------------------------------
# registry entry (parsnn.registry)
# ---------------------------------------------------------------------------

def _add_arguments(g):
    g.add_argument("--regime", choices=["A", "B", "C", "D"], default="A", help="Brunel (2000) regime (default A)")
    g.add_argument("--scale", type=float, default=0.1, help="network size factor (default 0.1 of 12,500 neurons)")


def _from_args(args) -> Network:
    net = build_network(regime=args.regime, scale=args.scale, record=not args.no_record, resolution=args.resolution)
    if args.record_v:
        for name, pop in net.populations.items():
            if pop.model.startswith("iaf"):
                net.record_voltage(name, range(min(args.record_v, pop.size)), 1.0)
    return net


def _expected_rates(metadata: dict) -> dict | None:
    """The mean-field rate (:func:`mean_field_rate`) of both populations."""
    if "regime" not in metadata:
        return None
    rate = mean_field_rate(metadata["regime"], metadata["scale"], bool(metadata.get("keep_indegree", False)))
    return {"E": rate, "I": rate}



MODEL = ModelSpec(name="brunel", summary="Brunel (2000) sparsely connected E/I network, regimes A-D",
                  add_arguments=_add_arguments, from_args=_from_args, size_option="--scale", default_size=0.1,
                  expected_rates=_expected_rates)
