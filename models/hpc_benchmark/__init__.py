"""NEST's ``hpc_benchmark`` (pynest/examples/hpc_benchmark.py; Kunkel et al. 2014, Jordan et al.
2018): a balanced random network of ``iaf_psc_alpha`` neurons with power-law STDP
(``stdp_pl_synapse_hom``) on the excitatory-to-excitatory synapses, the reference network of
NEST's weak-scaling benchmarks.

Parameters as in NEST's example: N_E = 9000 scale, N_I = 2250 scale; fixed in-degrees
C_E = N_E / scale = 9000 and C_I = 2250 at every scale (multapses allowed, no autapses);
E_L = V_reset = 0 mV, V_th = 20 mV, C_m = 250 pF, tau_m = 10 ms, t_ref = 0.5 ms,
tau_syn = 0.32582722403722841 ms, tau_minus = 30 ms, V_m(0) ~ Normal(5.7, 7.2) mV; J = 0.14 mV PSP
peak, converted to the alpha current's amplitude (~45.61 pA) by NEST's formula; inhibitory weight
g J with g = -5; one delay of 1.5 ms; an independent Poisson input per neuron at
eta nu_th C_E (eta = 1.685, nu_th the rate that alone brings the mean potential to threshold)
with weight J; E->E stdp_pl_synapse_hom with lambda 0.1, alpha 0.0513, mu 0.4, tau_plus 15 ms,
initial weight J; the other projections static. NEST presimulates 50 ms before its measured
250 ms; here --t-sim counts from 0.

Below scale 1 the network is not asynchronous-irregular (the in-degrees stay 11,250 while the
populations shrink, so inputs are strongly correlated; NEST's example warns): population bursts
grow and E->E weights run away.
"""
from __future__ import annotations

import argparse
import math
import numbers

from parsnn.errors import ParameterError
from parsnn.network import FixedIndegree, Network, Normal
from parsnn.registry import ModelSpec

__all__ = ["PARAMS", "STDP", "derived", "build_network", "psp_to_psc"]

TAU_SYN = 0.32582722403722841

PARAMS = {
    "N_E": 9000, "N_I": 2250,
    "neuron": {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
               "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN, "tau_minus": 30.0},
    "mean_potential": 5.7, "sigma_potential": 7.2,
    "delay": 1.5, "JE": 0.14, "g": -5.0, "eta": 1.685,
}
#: stdp_pl_synapse_hom parameters of the E->E synapses
STDP = {"alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}


def _lambertw_m1(x: float) -> float:
    """The lower real branch W_{-1}(x) of Lambert's W for -1/e < x < 0 (Newton's method from
    the asymptotic start; converges to full double precision)."""
    w = math.log(-x) - math.log(-math.log(-x))
    for _ in range(100):
        ew = math.exp(w)
        step = (w * ew - x) / (ew * (w + 1.0))
        w -= step
        if abs(step) <= 1e-16 * abs(w):
            break
    return w


def psp_to_psc(tau_m: float, tau_syn: float, c_m: float) -> float:
    """pA of alpha-current amplitude per mV of PSP peak for iaf_psc_alpha (NEST's
    ``convert_synapse_weight``: the peak time from Lambert's W_{-1}, the peak of the PSP)."""
    a = tau_m / tau_syn
    b = 1.0 / tau_syn - 1.0 / tau_m
    t_rise = 1.0 / b * (-_lambertw_m1(-math.exp(-1.0 / a) / a) - 1.0 / a)
    v_max = (math.exp(1.0) / (tau_syn * c_m * b)
             * ((math.exp(-t_rise / tau_m) - math.exp(-t_rise / tau_syn)) / b - t_rise * math.exp(-t_rise / tau_syn)))
    return 1.0 / v_max


def derived(scale: float = 1.0) -> dict:
    """Sizes, in-degrees, weights (pA) and the Poisson rate per neuron (spikes/s) at ``scale``."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (math.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale must be a finite number > 0, got {scale!r}")
    n_e, n_i = int(PARAMS["N_E"] * scale), int(PARAMS["N_I"] * scale)
    if n_i < 1:
        raise ParameterError(f"scale = {scale} leaves the inhibitory population empty; "
                             f"scale must be >= {1 / PARAMS['N_I']:.3g}")
    c_e, c_i = int(1.0 * n_e / scale), int(1.0 * n_i / scale)
    nrn = PARAMS["neuron"]
    je_pa = psp_to_psc(nrn["tau_m"], nrn["tau_syn_ex"], nrn["C_m"]) * PARAMS["JE"]
    nu_th = nrn["V_th"] / (c_e * nrn["tau_m"] / nrn["C_m"] * je_pa * math.exp(1.0) * TAU_SYN)
    nu_ext = nu_th * PARAMS["eta"]
    return {"scale": float(scale), "N_E": n_e, "N_I": n_i, "C_E": c_e, "C_I": c_i, "J_E": je_pa,
            "J_I": PARAMS["g"] * je_pa, "delay": PARAMS["delay"], "nu_th": nu_th, "nu_ext": nu_ext,
            "poisson_rate": nu_ext * c_e * 1000.0}


def build_network(scale: float = 1.0, record: bool = True, resolution: float = 0.1, plastic: bool = True) -> Network:
    """Describe NEST's hpc_benchmark at ``scale`` (populations "E" and "I"); ``plastic=False``
    makes E->E static (same weights and connectivity)."""
    d = derived(scale)
    params = {**PARAMS["neuron"], "V_m": Normal(PARAMS["mean_potential"], PARAMS["sigma_potential"])}
    net = Network(resolution=float(resolution), name="hpc_benchmark")
    net.add_population("E", d["N_E"], "iaf_psc_alpha", params=dict(params))
    net.add_population("I", d["N_I"], "iaf_psc_alpha", params=dict(params))
    for tgt in ("E", "I"):
        net.add_poisson(tgt, rate=d["poisson_rate"], weight=d["J_E"], delay=d["delay"], name=f"ext->{tgt}")
    syn = {"synapse_model": "stdp_pl_synapse_hom", "synapse_params": dict(STDP)} if plastic else {}
    net.connect("E", "E", FixedIndegree(d["C_E"], allow_autapses=False), weight=d["J_E"], delay=d["delay"],
                name="E->E", **syn)
    net.connect("I", "E", FixedIndegree(d["C_I"], allow_autapses=False), weight=d["J_I"], delay=d["delay"],
                name="I->E")
    net.connect("E", "I", FixedIndegree(d["C_E"], allow_autapses=False), weight=d["J_E"], delay=d["delay"],
                name="E->I")
    net.connect("I", "I", FixedIndegree(d["C_I"], allow_autapses=False), weight=d["J_I"], delay=d["delay"],
                name="I->I")
    if record:
        net.record_spikes(["E", "I"])
    net.metadata = {"model": "hpc_benchmark", "plastic": bool(plastic), **d}
    return net


# ---------------------------------------------------------------------------
# registry entry (parsnn.registry)
# ---------------------------------------------------------------------------

def _add_arguments(g):
    try:
        g.add_argument("--scale", type=float, default=0.1, help="network size factor (default 0.1; "
                                                                "hpc_benchmark: of 11,250 neurons)")
    except argparse.ArgumentError:
        pass     # another model (brunel) has --scale with the same meaning and default: share it
    g.add_argument("--static", action="store_true", help="static E->E synapses (no STDP)")


def _from_args(args) -> Network:
    net = build_network(scale=args.scale, record=not args.no_record, resolution=args.resolution,
                        plastic=not args.static)
    if args.record_v:
        for name, pop in net.populations.items():
            net.record_voltage(name, range(min(args.record_v, pop.size)), 1.0)
    return net


MODEL = ModelSpec(name="hpc_benchmark", summary="NEST's hpc_benchmark: iaf_psc_alpha E/I network with power-law "
                                                "STDP on E->E (scale x 11,250 neurons, in-degree 11,250)",
                  add_arguments=_add_arguments, from_args=_from_args, size_option="--scale", default_size=0.1)
