"""Potjans & Diesmann (2014) cortical microcircuit ("PD14").

Eight populations (excitatory/inhibitory in layers 2/3, 4, 5, 6) of
``iaf_psc_exp`` neurons, connected with the fixed-total-number rule (multapses
and autapses allowed), normally distributed weights and delays, driven by a
constant (DC) or Poisson background, optionally with a thalamic pulse.

The published parameters are in ``parameters.toml`` next to this file; this
module derives everything else from them. The derivations follow the reference
implementation (github.com/INM-6/microcircuit-PD14-model, PyNEST): where the
parameter file and that implementation could be read differently, the comments
below say which was followed.

Pure functions (used by the tests and by analysis code):

- :func:`num_neurons` -- population sizes at a given ``n_scaling``
- :func:`total_synapses` -- synapse numbers per (target, source) pair
- :func:`psc_from_psp` -- PSC amplitude (pA) giving a peak PSP (mV)
- :func:`weight_matrix` -- mean PSC per (target, source) pair
- :func:`dc_amplitudes` / :func:`compensation_current` -- DC drive per population
- :func:`rheobase_current`

and :func:`build_network`, which returns a :class:`parsnn.network.Network`.
"""
from __future__ import annotations

import math
import numbers
import tomllib
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from parsnn.errors import ParameterError
from parsnn.network import FixedTotalNumber, Network, Normal
from parsnn.registry import ModelSpec

__all__ = [
    "POPULATIONS", "PARAMETERS", "load_parameters", "num_neurons", "full_total_synapses", "total_synapses",
    "full_indegrees",
    "psc_from_psp", "psc_per_psp", "psp_matrix", "weight_matrix", "external_weight", "dc_amplitudes",
    "compensation_current", "rheobase_current", "subthreshold_populations", "thalamic_synapses",
    "build_network",
]

_PARAM_FILE = Path(__file__).with_name("parameters.toml")


@lru_cache(maxsize=1)
def _load() -> dict:
    with open(_PARAM_FILE, "rb") as f:
        return tomllib.load(f)


def load_parameters() -> dict:
    """The published parameters (a fresh copy of ``parameters.toml``)."""
    import copy
    return copy.deepcopy(_load())


PARAMETERS = load_parameters()
POPULATIONS: tuple[str, ...] = tuple(PARAMETERS["populations"])
NUM_POPS = len(POPULATIONS)
_INH = np.array([p in PARAMETERS["inhibitory"] for p in POPULATIONS])


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------

def _check_scaling(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 0.0 < float(value) <= 1.0:
        raise ParameterError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)


def _check_bg(bg) -> str:
    if bg not in ("dc", "poisson"):
        raise ParameterError(f"bg must be one of 'dc', 'poisson', got {bg!r}")
    return bg


# ---------------------------------------------------------------------------
# derived quantities (pure functions)
# ---------------------------------------------------------------------------

def num_neurons(n_scaling: float = 1.0) -> np.ndarray:
    """Population sizes: ``round(N_full * n_scaling)`` (int array, population order)."""
    n_scaling = _check_scaling(n_scaling, "n_scaling")
    return np.round(np.asarray(PARAMETERS["num_neurons"], float) * n_scaling).astype(np.int64)


def _k_total(conn_probs, n_target, n_source) -> np.ndarray:
    """Expected-overlap formula K = ln(1-p) / ln(1 - 1/(N_t N_s)), as floats.

    Evaluated exactly as the reference implementation does, ln(1-p) / ln((prod-1)/prod)
    with prod = N_t*N_s, so that the rounded synapse numbers are identical to
    NEST's. (The better-conditioned log1p(-1/prod) differs by up to 0.66
    synapses per pair at full scale, which changes 2 of the 64 rounded counts:
    298,880,970 instead of the reference's 298,880,968 synapses in total.)
    """
    p = np.asarray(conn_probs, float)
    prod = np.outer(np.asarray(n_target, float), np.asarray(n_source, float))
    return np.log(1.0 - p) / np.log((prod - 1.0) / prod)


def full_total_synapses() -> np.ndarray:
    """8x8 float matrix (target, source) of synapse numbers at full scale (unrounded)."""
    n = PARAMETERS["num_neurons"]
    return _k_total(PARAMETERS["conn_probs"], n, n)


def total_synapses(n_scaling: float = 1.0, k_scaling: float = 1.0) -> np.ndarray:
    """8x8 int matrix (target, source): ``round(K_total_full * n_scaling * k_scaling)``.

    As in the reference implementation, K_total is computed with the FULL
    population sizes and then scaled linearly (not recomputed from the scaled
    sizes), which keeps the mean in-degree K_total/N_target at its full-scale
    value times k_scaling.
    """
    n_scaling = _check_scaling(n_scaling, "n_scaling")
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    return np.round(full_total_synapses() * n_scaling * k_scaling).astype(np.int64)


def full_indegrees() -> np.ndarray:
    """Full-scale mean in-degree K_total[t,s] / N_target (8x8 floats)."""
    return full_total_synapses() / np.asarray(PARAMETERS["num_neurons"], float)[:, None]


def psc_per_psp(tau_m: float, tau_syn: float, C_m: float) -> float:
    """PSC amplitude (pA) of iaf_psc_exp per mV of peak PSP (needs tau_syn != tau_m)."""
    if tau_m <= 0 or tau_syn <= 0 or C_m <= 0:
        raise ParameterError(f"psc_per_psp needs tau_m, tau_syn, C_m > 0, got {tau_m}, {tau_syn}, {C_m}")
    if tau_m == tau_syn:
        raise ParameterError("psc_per_psp: tau_syn must differ from tau_m")
    a = tau_m * tau_syn / (tau_m - tau_syn)
    t_max = a * math.log(tau_m / tau_syn)
    psp_per_psc = a / C_m * (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_syn))
    return 1.0 / psp_per_psc


def psc_from_psp(psp, tau_m: float = 10.0, tau_syn: float = 0.5, C_m: float = 250.0):
    """PSC amplitude (pA) whose postsynaptic potential peaks at ``psp`` (mV)."""
    return np.asarray(psp, float) * psc_per_psp(tau_m, tau_syn, C_m) if np.ndim(psp) \
        else float(psp) * psc_per_psp(tau_m, tau_syn, C_m)


def _neuron_psc_per_psp() -> float:
    nrn = PARAMETERS["neuron"]
    # tau_syn_ex == tau_syn_in in PD14 (the reference has one tau_syn)
    return psc_per_psp(nrn["tau_m"], nrn["tau_syn_ex"], nrn["C_m"])


def psp_matrix() -> np.ndarray:
    """Mean peak PSP (mV) per (target, source): PSP_exc_mean, times g for inhibitory
    sources, times the L4E->L23E factor for that single pair."""
    syn = PARAMETERS["synapses"]
    m = np.full((NUM_POPS, NUM_POPS), syn["PSP_exc_mean"])
    m[:, _INH] *= syn["g"]
    m[POPULATIONS.index("L23E"), POPULATIONS.index("L4E")] *= syn["PSP_L4E_to_L23E_factor"]
    return m


def weight_matrix(k_scaling: float = 1.0) -> np.ndarray:
    """Mean PSC amplitude (pA) per (target, source), scaled by 1/sqrt(k_scaling)."""
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    return psp_matrix() * _neuron_psc_per_psp() / math.sqrt(k_scaling)


def external_weight(k_scaling: float = 1.0) -> float:
    """PSC amplitude (pA) of one external (background) synapse, scaled by 1/sqrt(k_scaling)."""
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    return PARAMETERS["synapses"]["PSP_exc_mean"] * _neuron_psc_per_psp() / math.sqrt(k_scaling)


def compensation_current(k_scaling: float = 1.0, bg: str = "dc") -> np.ndarray:
    """Extra DC (pA, per population) replacing the mean input lost by in-degree scaling.

    ``1e-3 tau_syn (1 - sqrt(k)) sum_s K_full[t,s] J[t,s] rate_full[s]`` with the
    unscaled weights J; with Poisson background, plus the same for the external
    input ``1e-3 tau_syn (1 - sqrt(k)) J_ext K_ext bg_rate``. Zero at k_scaling = 1.
    Usually negative for the recurrent part (inhibition dominates).
    """
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    bg = _check_bg(bg)
    tau_syn = PARAMETERS["neuron"]["tau_syn_ex"]
    factor = 1e-3 * tau_syn * (1.0 - math.sqrt(k_scaling))
    rates = np.asarray(PARAMETERS["scaling"]["full_mean_rates"], float)
    j = weight_matrix(1.0)
    comp = factor * np.sum(j * full_indegrees() * rates[None, :], axis=1)
    if bg == "poisson":
        b = PARAMETERS["background"]
        comp = comp + factor * external_weight(1.0) * np.asarray(b["K_ext"], float) * b["bg_rate"]
    return comp


def dc_amplitudes(k_scaling: float = 1.0, bg: str = "dc") -> np.ndarray:
    """Total DC (pA) per population added to I_e.

    ``bg="dc"``: ``K_ext * bg_rate * J * tau_syn * 1e-3`` with the full K_ext and
    unscaled J, plus :func:`compensation_current`. ``bg="poisson"``: only the
    compensation current (zero at k_scaling = 1).
    """
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    bg = _check_bg(bg)
    amp = compensation_current(k_scaling, bg)
    if bg == "dc":
        b = PARAMETERS["background"]
        tau_syn = PARAMETERS["neuron"]["tau_syn_ex"]
        amp = amp + np.asarray(b["K_ext"], float) * b["bg_rate"] * external_weight(1.0) * tau_syn * 1e-3
    return amp


def rheobase_current() -> float:
    """I_rh = C_m (V_th - E_L) / tau_m (pA): the smallest DC that makes a neuron fire."""
    nrn = PARAMETERS["neuron"]
    return nrn["C_m"] * (nrn["V_th"] - nrn["E_L"]) / nrn["tau_m"]


def subthreshold_populations(k_scaling: float = 1.0, bg: str = "dc") -> list[str]:
    """Populations whose DC drive is below the rheobase (reference's check, DC mode)."""
    amp = dc_amplitudes(k_scaling, bg)
    return [p for p, a in zip(POPULATIONS, amp) if a < rheobase_current()]


def thalamic_synapses(n_scaling: float = 1.0, k_scaling: float = 1.0) -> np.ndarray:
    """Synapse numbers thalamus -> each population (int, population order).

    Same formula as the recurrent ones: K_total with the full sizes (902 thalamic
    neurons, full population sizes), then ``round(K * n_scaling * k_scaling)``.
    NOTE (difference to the reference implementation): the reference neither
    scales the thalamic population nor multiplies these numbers by N_scaling
    (only by K_scaling), so there the thalamic in-degree grows as 1/N_scaling.
    Here the thalamus has round(902*n_scaling) neurons and the numbers scale
    like the recurrent ones, which keeps in- and out-degrees at full-scale
    values times k_scaling.
    """
    n_scaling = _check_scaling(n_scaling, "n_scaling")
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    th = PARAMETERS["thalamus"]
    k = _k_total(np.asarray(th["conn_probs_to_pops"])[:, None], PARAMETERS["num_neurons"], [th["num_neurons"]])
    return np.round(k[:, 0] * n_scaling * k_scaling).astype(np.int64)


# ---------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------

def build_network(n_scaling: float = 1.0, k_scaling: float = 1.0, bg: str = "dc", thalamus: bool = False,
                  record: bool = True, record_voltage: int = 0, resolution: float = 0.1) -> Network:
    """Describe the PD14 microcircuit.

    Parameters
    ----------
    n_scaling : float in (0, 1]
        Scales population sizes (and synapse numbers, keeping in-degrees).
    k_scaling : float in (0, 1]
        Scales in-degrees; weights grow by 1/sqrt(k_scaling) and a DC current
        compensates the lost mean input. With ``bg="dc"`` and k_scaling < 1 the
        network may fall silent (a UserWarning says so): prefer n_scaling.
    bg : "dc" | "poisson"
        Background drive: constant current (reference default) or independent
        Poisson trains.
    thalamus : bool
        Add the thalamic population "TC" (Poisson, 120 spikes/s in [700, 710) ms).
    record : bool
        Record the spikes of all 8 cortical populations.
    record_voltage : int >= 0
        Record V_m of the first ``record_voltage`` neurons of each population every 1 ms.
    resolution : float
        Time step (ms).
    """
    n_scaling = _check_scaling(n_scaling, "n_scaling")
    k_scaling = _check_scaling(k_scaling, "k_scaling")
    bg = _check_bg(bg)
    if isinstance(record_voltage, bool) or not isinstance(record_voltage, numbers.Integral) or record_voltage < 0:
        raise ParameterError(f"record_voltage must be an integer >= 0 (neurons per population), got {record_voltage!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Real) or not (
            math.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"resolution must be a number > 0 ms, got {resolution!r}")

    P = PARAMETERS
    nrn, syn, bgp = P["neuron"], P["synapses"], P["background"]
    sizes = num_neurons(n_scaling)
    if np.any(sizes < 1):
        empty = [p for p, s in zip(POPULATIONS, sizes) if s < 1]
        raise ParameterError(f"n_scaling = {n_scaling} leaves population(s) {', '.join(empty)} empty; "
                             f"n_scaling must be >= {0.5 / min(P['num_neurons']):.3g}")
    k_tot = total_synapses(n_scaling, k_scaling)
    w = weight_matrix(k_scaling)
    j_ext = external_weight(k_scaling)
    dc = dc_amplitudes(k_scaling, bg)
    h = float(resolution)

    if bg == "dc" and k_scaling < 1.0:
        silent = subthreshold_populations(k_scaling, bg)
        msg = (f"PD14 with k_scaling = {k_scaling} < 1 and DC background: the in-degree compensation "
               f"lowers the DC drive (local input is net inhibitory), so the network is likely "
               f"sub-threshold and populations may be silent")
        if silent:
            msg += (f"; the DC drive of {', '.join(silent)} is below the rheobase current "
                    f"{rheobase_current():.1f} pA")
        msg += ". Reduce the size with n_scaling and keep k_scaling = 1 instead."
        warnings.warn(msg, UserWarning, stacklevel=2)

    net = Network(resolution=h, name="pd14")
    neuron_params = {k: float(nrn[k]) for k in ("C_m", "tau_m", "tau_syn_ex", "tau_syn_in", "t_ref",
                                               "E_L", "V_th", "V_reset")}
    for i, pop in enumerate(POPULATIONS):
        params = dict(neuron_params)
        params["V_m"] = Normal(float(nrn["V0_mean"][i]), float(nrn["V0_std"][i]))
        net.add_population(pop, int(sizes[i]), model="iaf_psc_exp", params=params)

    # recurrent connections: row = target, column = source
    d_min = 0.5 * h
    for t, tgt in enumerate(POPULATIONS):
        for s, src in enumerate(POPULATIONS):
            n = int(k_tot[t, s])
            if n == 0:
                continue
            mean = float(w[t, s])
            if _INH[s]:
                weight = Normal(mean, syn["weight_rel_std"] * abs(mean), -math.inf, 0.0)
                d_mean = float(syn["delay_inh_mean"])
            else:
                weight = Normal(mean, syn["weight_rel_std"] * abs(mean), 0.0, math.inf)
                d_mean = float(syn["delay_exc_mean"])
            delay = Normal(d_mean, syn["delay_rel_std"] * d_mean, d_min, math.inf)
            net.connect(src, tgt, FixedTotalNumber(n), weight=weight, delay=delay, name=f"{src}->{tgt}")

    # background
    if bg == "poisson":
        k_ext = np.round(np.asarray(bgp["K_ext"], float) * k_scaling).astype(np.int64)
        for i, pop in enumerate(POPULATIONS):
            net.add_poisson(pop, rate=float(k_ext[i] * bgp["bg_rate"]), weight=float(j_ext),
                            delay=float(bgp["delay_poisson"]), name=f"bg->{pop}")
    else:
        k_ext = np.asarray(bgp["K_ext"], np.int64)
    for i, pop in enumerate(POPULATIONS):
        if dc[i] != 0.0:
            net.add_dc(pop, float(dc[i]))

    # thalamus
    th_meta = None
    if thalamus:
        th = P["thalamus"]
        n_th = int(round(th["num_neurons"] * n_scaling))
        if n_th < 1:
            raise ParameterError(f"n_scaling = {n_scaling} leaves the thalamic population empty; with "
                                 f"thalamus=True n_scaling must be >= {0.5 / th['num_neurons']:.3g}")
        start = float(th["th_start"])
        stop = start + float(th["th_duration"])
        net.add_population("TC", n_th, model="poisson_source",
                           params={"rate": float(th["rate"]), "start": start, "stop": stop})
        k_th = thalamic_synapses(n_scaling, k_scaling)
        w_th = psc_from_psp(th["PSP_th"], nrn["tau_m"], nrn["tau_syn_ex"], nrn["C_m"]) / math.sqrt(k_scaling)
        d_th = float(th["delay_th_mean"])
        for i, pop in enumerate(POPULATIONS):
            if k_th[i] == 0:
                continue
            net.connect("TC", pop, FixedTotalNumber(int(k_th[i])),
                        weight=Normal(w_th, syn["weight_rel_std"] * w_th, 0.0, math.inf),
                        delay=Normal(d_th, th["delay_th_rel_std"] * d_th, d_min, math.inf), name=f"TC->{pop}")
        th_meta = {"num_neurons": n_th, "K_total": k_th.tolist(), "weight": w_th, "rate": float(th["rate"]),
                   "start": start, "stop": stop}

    if record:
        net.record_spikes(list(POPULATIONS))
    if record_voltage:
        for i, pop in enumerate(POPULATIONS):
            net.record_voltage(pop, range(min(int(record_voltage), int(sizes[i]))), interval=1.0)

    net.metadata = {
        "model": "pd14",
        "n_scaling": n_scaling, "k_scaling": k_scaling, "bg": bg, "thalamus": bool(thalamus),
        "populations": list(POPULATIONS),
        "num_neurons": sizes.tolist(),
        "K_total": k_tot.tolist(),
        "weight_mean_pA": w.tolist(),
        "psc_per_psp_pA_per_mV": _neuron_psc_per_psp(),
        "external_weight_pA": float(j_ext),
        "K_ext": k_ext.tolist(),
        "bg_rate": float(bgp["bg_rate"]),
        "dc_amplitude_pA": dc.tolist(),
        "compensation_current_pA": compensation_current(k_scaling, bg).tolist(),
        "rheobase_pA": rheobase_current(),
        "thalamus_params": th_meta,
        "t_presim": float(P["simulation"]["t_presim"]),
        "reference_seed": int(P["simulation"]["seed"]),
    }
    return net


# ---------------------------------------------------------------------------
# registry entry (parsnn.registry)
# ---------------------------------------------------------------------------

def _add_arguments(g):
    g.add_argument("--n-scaling", type=float, default=0.1, help="population size factor in (0, 1] (default 0.1)")
    g.add_argument("--k-scaling", type=float, default=1.0, help="in-degree factor in (0, 1] (default 1)")
    g.add_argument("--bg", choices=["dc", "poisson"], default="dc", help="background drive (default dc)")
    g.add_argument("--thalamus", action="store_true", help="add the thalamic pulse (700-710 ms)")


def _from_args(args) -> Network:
    return build_network(n_scaling=args.n_scaling, k_scaling=args.k_scaling, bg=args.bg, thalamus=args.thalamus,
                         record=not args.no_record, record_voltage=args.record_v, resolution=args.resolution)


def _size_value(size: float) -> str:
    """The sweep's size is n_scaling, at most 1."""
    if size > 1.0:
        raise ParameterError(f"weak scaling of pd14 needs n_scaling = size x ranks <= 1; got {size:g}")
    return f"{size:g}"


def _expected_rates(metadata: dict) -> dict:
    """PD14's full-scale mean rates (spikes/s) per population."""
    return dict(zip(POPULATIONS, PARAMETERS["scaling"]["full_mean_rates"]))



MODEL = ModelSpec(name="pd14", summary="Potjans & Diesmann (2014) cortical microcircuit",
                  add_arguments=_add_arguments, from_args=_from_args, size_option="--n-scaling",
                  default_size=0.05, size_value=_size_value, expected_rates=_expected_rates)
