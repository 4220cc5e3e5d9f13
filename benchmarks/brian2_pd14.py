#!/usr/bin/env python
"""Time PD14 in Brian2 (``cpp_standalone``, OpenMP): build, compile, warm-up, then a timed simulate phase.

    benchmarks/.venv-brian2/bin/python benchmarks/brian2_pd14.py [--n-scaling 1] [--k-scaling 1]
        [--t-sim 1000] [--warmup 500] [--seed 55] [--threads 2] [--build-dir DIR] [--json-out FILE]

Brian2 needs ``numpy<2.4``, so it runs in its own venv (``benchmarks/setup_peers.sh`` makes it). This
script imports neither parsnn nor NEST: it derives every number of the model itself from the published
parameters in ``models/pd14/parameters.toml`` (``tests/test_benchmarks.py`` checks them against
``parsnn.models.pd14``):

- ``iaf_psc_exp`` neurons (C_m 250 pF, tau_m 10 ms, E_L = V_reset -65 mV, V_th -50 mV, t_ref 2 ms),
  integrated with ``method='exact'``; excitatory and inhibitory input share one exponential current,
  since both time constants are 0.5 ms; V_m clamped during the refractory period while the current
  keeps decaying; initial V_m normal per population;
- DC drive ``K_ext * bg_rate * J * tau_syn * 1e-3`` pA per population (plus the in-degree
  compensation current when ``--k-scaling`` < 1, with weights scaled by 1/sqrt(k_scaling)), as
  ``parsnn run pd14 --bg dc`` with the same ``--n-scaling`` / ``--k-scaling``;
- the fixed-total-number rule (autapses and multapses allowed) with
  ``K_total = round(ln(1-p) / ln(1 - 1/(N_t N_s)) * n_scaling * k_scaling)`` from the full sizes;
  the pairs drawn with numpy (seeded by ``--seed``); weights normal(J, 0.1 |J|) of the source's sign,
  delays normal(d, 0.5 d) redrawn while below 0.05 ms, then rounded to whole 0.1 ms steps, both drawn
  inside Brian2 from string expressions (Brian2's generator, ``brian2.seed(--seed)``), so that no
  per-synapse weight or delay array is kept by Python or the compiled program; one ``Synapses`` object
  with per-synapse weight and delay (``on_pre: I_syn += w``).

No spike monitor: each neuron counts its own spikes (reset to 0 after the warm-up), which gives the
population rates of the timed phase and the exact number of synaptic events (spikes x out-degree).
Rank-free: one process, ``--threads`` OpenMP threads (``OMP_WAIT_POLICY=passive`` unless set).

The JSON printed (and written to ``--json-out``) has the shape of ``benchmarks/parsnn_pd14.py``'s:
``build_seconds`` (Python network construction + code generation + the binary's set-up before the
warm-up: loading the arrays, creating the synapses, initialising the spike queues), ``compile_seconds``
(``make``), ``warmup_seconds``, ``simulate_seconds`` (the timed run, measured inside the binary),
``rtf`` (timed phase), ``rtf_whole`` (warm-up + timed phase), ``peak_rss_bytes`` (``ru_maxrss`` of the
simulation binary; the Python process's own peak, while it draws the connectivity, is
``python_peak_rss_bytes``), ``population_rates_hz``, ``timers`` (the build's sub-phases).
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
import tomllib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PARAM_FILE = os.path.join(os.path.dirname(HERE), "models", "pd14", "parameters.toml")
STAMP_FILE = "bench_stamps.txt"
REDRAW_ROUNDS = 6      # rounds of redrawing delays below half a step (see run())


# ------------------------------------------------------------------ the model's numbers
def load_parameters(path: str = PARAM_FILE) -> dict:
    """PD14's published parameters (the TOML file)."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def _psc_per_mv(nrn: dict) -> float:
    """PSC amplitude (pA) of iaf_psc_exp whose PSP peaks at 1 mV."""
    tm, ts, cm = nrn["tau_m"], nrn["tau_syn_ex"], nrn["C_m"]
    t_peak = tm * ts / (tm - ts) * math.log(tm / ts)
    mv_per_pa = tm * ts / (tm - ts) / cm * (math.exp(-t_peak / tm) - math.exp(-t_peak / ts))
    return 1.0 / mv_per_pa


def model_numbers(P: dict, n_scaling: float = 1.0, k_scaling: float = 1.0) -> dict:
    """Sizes, synapse totals, mean weights (pA), DC drive (pA) of PD14 with DC background at the given
    scalings, from the published formulas (weights x 1/sqrt(k), compensation current for k < 1)."""
    for name, v in (("n_scaling", n_scaling), ("k_scaling", k_scaling)):
        if not (isinstance(v, (int, float)) and 0.0 < v <= 1.0):
            raise ValueError(f"{name} must be a number in (0, 1], got {v!r}")
    pops = list(P["populations"])
    n_full = np.asarray(P["num_neurons"], float)
    sizes = np.round(n_full * n_scaling).astype(np.int64)
    if (sizes < 1).any():
        raise ValueError(f"n_scaling {n_scaling} leaves a population empty")
    prod = np.outer(n_full, n_full)                       # full sizes, target x source
    k_full = np.log(1.0 - np.asarray(P["conn_probs"], float)) / np.log((prod - 1.0) / prod)
    k_total = np.round(k_full * n_scaling * k_scaling).astype(np.int64)
    inh = np.array([p in P["inhibitory"] for p in pops])
    syn, nrn, bg = P["synapses"], P["neuron"], P["background"]
    j_exc = syn["PSP_exc_mean"] * _psc_per_mv(nrn)      # pA, unscaled
    j = np.where(inh[None, :], syn["g"] * j_exc, j_exc) * np.ones((len(pops), 1))
    j[pops.index("L23E"), pops.index("L4E")] *= syn["PSP_L4E_to_L23E_factor"]
    tau_syn = nrn["tau_syn_ex"]
    dc = np.asarray(bg["K_ext"], float) * bg["bg_rate"] * j_exc * tau_syn * 1e-3
    indeg_full = k_full / n_full[:, None]
    rates = np.asarray(P["scaling"]["full_mean_rates"], float)
    dc += 1e-3 * tau_syn * (1.0 - math.sqrt(k_scaling)) * (j * indeg_full * rates[None, :]).sum(axis=1)
    return {"populations": pops, "sizes": sizes, "k_total": k_total, "weight_mean": j / math.sqrt(k_scaling),
            "j_exc": j_exc / math.sqrt(k_scaling),
            "inhibitory": inh, "dc": dc, "v0_mean": np.asarray(nrn["V0_mean"], float),
            "v0_std": np.asarray(nrn["V0_std"], float)}


def _blocks(m: dict):
    """(target pop, source pop, synapse count) of every non-empty (target, source) pair, in a fixed order."""
    npop = len(m["sizes"])
    return [(t, s, int(m["k_total"][t, s])) for t in range(npop) for s in range(npop) if m["k_total"][t, s] > 0]


def draw_pairs(m: dict, seed: int):
    """Source and target node ids (int32) of all synapses: the fixed-total-number rule per (target, source)
    pair, uniform with replacement (autapses, multapses); grouped by pair in :func:`_blocks` order."""
    rng = np.random.default_rng([int(seed), 1])
    first = np.concatenate([[0], np.cumsum(m["sizes"])])
    total = int(m["k_total"].sum())
    src, tgt, at = np.empty(total, np.int32), np.empty(total, np.int32), 0
    for t, s, n in _blocks(m):
        src[at:at + n] = first[s] + rng.integers(0, m["sizes"][s], n)
        tgt[at:at + n] = first[t] + rng.integers(0, m["sizes"][t], n)
        at += n
    return src, tgt


def neuron_factors(P: dict, m: dict) -> dict:
    """Per-neuron constants from which the synapses' weights and delays are drawn inside Brian2 (as string
    expressions: no per-synapse arrays pass through Python or disk):
    ``w = J_exc (1 + 0.1 randn()) (1 + (g - 1) inh_pre) (1 + l4e_pre l23e_post)`` gives mean J[t, s]
    (``J_exc`` scaled by 1/sqrt(k_scaling)); ``delay = d_mean_pre (1 + 0.5 randn())`` (ms)."""
    pops, syn = m["populations"], P["synapses"]
    per_pop = lambda v: np.repeat(np.asarray(v, float), m["sizes"])  # noqa: E731
    is_pop = lambda name: per_pop([p == name for p in pops])  # noqa: E731
    return {"inh": per_pop(m["inhibitory"]), "l4e": is_pop("L4E") * (syn["PSP_L4E_to_L23E_factor"] - 1.0),
            "l23e": is_pop("L23E"),
            "d_mean": per_pop(np.where(m["inhibitory"], syn["delay_inh_mean"], syn["delay_exc_mean"])),
            "J_exc": float(m["j_exc"]), "g": float(syn["g"]),
            "w_rel_sd": float(syn["weight_rel_std"]), "d_rel_sd": float(syn["delay_rel_std"])}


def initial_potentials(m: dict, seed: int) -> np.ndarray:
    """V_m at t = 0 (mV): normal(V0_mean, V0_std) per population."""
    rng = np.random.default_rng([int(seed), 0x5EED])
    return np.concatenate([rng.normal(mu, sd, n) for mu, sd, n in zip(m["v0_mean"], m["v0_std"], m["sizes"])])


# ------------------------------------------------------------------ Brian2
def _stamp(device, label: str):
    """C++ that appends '<label> <steady_clock seconds>' to the results directory's stamp file."""
    device.insert_code("main", (
        f'{{ std::ofstream _f(brian::results_dir + "{STAMP_FILE}", std::ios::app); _f << "{label} " '
        '<< std::setprecision(17) << std::chrono::duration<double>(std::chrono::steady_clock::now()'
        '.time_since_epoch()).count() << std::endl; }'))


def _vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), 0 where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _read_stamps(results_dir: str) -> dict:
    out = {}
    with open(os.path.join(results_dir, STAMP_FILE)) as f:
        for line in f:
            parts = line.split()        # "<label> <seconds>" or "vmhwm_kib <n> kB"
            out[parts[0]] = float(parts[1])
    return out


def run(n_scaling=1.0, k_scaling=1.0, t_sim=1000.0, warmup=500.0, seed=55, threads=2, build_dir=None,
        log=print) -> dict:
    """Build, compile and run PD14 in Brian2's cpp_standalone mode; return the benchmark record."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import brian2 as b2
    t0 = time.perf_counter()
    P = load_parameters()
    nrn = P["neuron"]
    m = model_numbers(P, n_scaling, k_scaling)
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = int(threads)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{max(1, int(threads))}"]
    b2.prefs.devices.cpp_standalone.run_environment_variables = {"OMP_WAIT_POLICY": os.environ["OMP_WAIT_POLICY"]}
    b2.prefs.codegen.cpp.headers = ["<chrono>", "<iomanip>"]
    b2.defaultclock.dt = 0.1 * b2.ms
    device = b2.get_device()
    _stamp(device, "start")

    f = neuron_factors(P, m)
    ns = {"tau_m": nrn["tau_m"] * b2.ms, "tau_syn": nrn["tau_syn_ex"] * b2.ms, "C_m": nrn["C_m"] * b2.pF,
          "E_L": nrn["E_L"] * b2.mV, "V_th": nrn["V_th"] * b2.mV, "V_reset": nrn["V_reset"] * b2.mV,
          "J_exc": f["J_exc"] * b2.pA, "g": f["g"], "w_rel_sd": f["w_rel_sd"], "d_rel_sd": f["d_rel_sd"],
          "d_min": 0.05 * b2.ms, "dt_step": 0.1 * b2.ms}
    eqs = """dV_m/dt = (E_L - V_m) / tau_m + (I_syn + I_e) / C_m : volt (unless refractory)
             dI_syn/dt = -I_syn / tau_syn : amp
             I_e : amp (constant)
             n_spikes : integer
             inh : 1 (constant)
             l4e : 1 (constant)
             l23e : 1 (constant)
             d_mean : second (constant)"""
    n_total = int(m["sizes"].sum())
    G = b2.NeuronGroup(n_total, eqs, threshold="V_m >= V_th", reset="V_m = V_reset\nn_spikes += 1",
                       refractory=nrn["t_ref"] * b2.ms, method="exact", namespace=ns, name="pd14")
    G.I_e = np.repeat(m["dc"], m["sizes"]) * b2.pA
    G.V_m = initial_potentials(m, seed) * b2.mV
    G.inh, G.l4e, G.l23e, G.d_mean = f["inh"], f["l4e"], f["l23e"], f["d_mean"] * b2.ms
    b2.seed(seed)    # Brian2's generator, for the weights and delays
    t1 = time.perf_counter()
    S = b2.Synapses(G, G, "w : amp", on_pre="I_syn_post += w", name="recurrent", namespace=ns)
    src, tgt = draw_pairs(m, seed)
    outdeg = np.bincount(src, minlength=n_total).astype(np.int64)
    n_syn = len(src)
    S.connect(i=src, j=tgt)
    del src, tgt
    # weights: normal(J, 0.1 |J|) of the source's sign. The rule redraws a weight of the wrong sign; with a
    # relative sd of 0.1 that takes a 10-sigma draw (p ~ 1e-23 per synapse), so no redraw is coded.
    S.w = "J_exc * (1 + w_rel_sd * randn()) * (1 + (g - 1) * inh_pre) * (1 + l4e_pre * l23e_post)"
    # delays: normal(d, 0.5 d) redrawn while below half a step (6 rounds leave ~1e-9 of the inhibitory
    # ones, at full scale ~0.1 synapse, which the last line sets to one step), then Brian2 rounds to
    # whole steps, halves up; delays in [0.05, 0.1) ms are set to 0.1 ms (one step, as rounding would give)
    S.delay = "d_mean_pre * (1 + d_rel_sd * randn())"
    for _ in range(REDRAW_ROUNDS):
        S.delay["delay < d_min"] = "d_mean_pre * (1 + d_rel_sd * randn())"
    S.delay["delay < dt_step"] = "dt_step"
    t2 = time.perf_counter()
    net = b2.Network(G, S)
    net.run(0 * b2.ms)   # spike queues set up here, so that they count as build, not as warm-up
    _stamp(device, "built")
    if warmup > 0:
        net.run(warmup * b2.ms)
    _stamp(device, "warm")
    G.n_spikes = 0
    _stamp(device, "timed_start")
    net.run(t_sim * b2.ms)
    _stamp(device, "timed_end")
    # the binary's peak RSS: VmHWM (ru_maxrss would include the forking Python process's peak)
    device.insert_code("before_end", (
        '{ std::ifstream _s("/proc/self/status"); std::string _l; std::ofstream _f(brian::results_dir + "'
        + STAMP_FILE + '", std::ios::app); while (std::getline(_s, _l)) if (_l.rfind("VmHWM:", 0) == 0) '
        '_f << "vmhwm_kib " << _l.substr(6) << std::endl; }'))
    t3 = time.perf_counter()
    owned = build_dir is None
    directory = build_dir or tempfile.mkdtemp(prefix="brian2_pd14_")
    try:
        device.build(directory=directory, compile=True, run=False, with_output=False)
        t4 = time.perf_counter()
        make_s = float(device.timers["compile"]["make"])
        device.static_arrays.clear()       # the connectivity is on disk now: free it before the run
        device.array_cache.clear()
        gc.collect()
        python_rss_at_run = _vm_kib("VmRSS") * 1024
        log(f"brian2_pd14: {n_total:,} neurons, {n_syn:,} synapses, {threads} OpenMP thread(s); model "
            f"{t3 - t0:.1f} s, code generation {t4 - t3 - make_s:.1f} s, compile {make_s:.1f} s")
        device.run(directory=directory, with_output=False)
        stamps = _read_stamps(device.results_dir)
        counts = np.asarray(G.n_spikes[:], dtype=np.int64)
    finally:
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
    binary_setup = stamps["built"] - stamps["start"]
    build_s = (t3 - t0) + (t4 - t3 - make_s) + binary_setup
    sim_s = stamps["timed_end"] - stamps["timed_start"]
    warm_s = stamps["warm"] - stamps["built"]
    T = t_sim * 1e-3
    first = np.concatenate([[0], np.cumsum(m["sizes"])])
    rates = {p: float(counts[first[k]:first[k + 1]].sum() / (m["sizes"][k] * T)) for k, p in enumerate(m["populations"])}
    rss = int(stamps["vmhwm_kib"]) * 1024
    return {
        "simulator": "brian2", "version": b2.__version__, "ranks": 1, "processes": 1, "threads": int(threads),
        "n_scaling": n_scaling, "k_scaling": k_scaling, "bg": "dc", "seed": seed,
        "num_neurons": n_total, "num_synapses": n_syn, "t_warmup_ms": warmup, "t_sim_ms": t_sim,
        "build_seconds": build_s, "compile_seconds": make_s, "warmup_seconds": warm_s,
        "simulate_seconds": sim_s, "rtf": sim_s / T, "rtf_whole": (warm_s + sim_s) / ((warmup + t_sim) * 1e-3),
        "peak_rss_bytes": [rss], "peak_rss_bytes_total": rss,
        "python_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "python_rss_during_run_bytes": python_rss_at_run,
        "spikes_timed": int(counts.sum()),
        "synaptic_events": int((counts * outdeg).sum()),
        "synaptic_events_method": "exact: spikes of the timed phase x out-degree, per neuron",
        "population_rates_hz": rates,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "timers": {"build_model": t1 - t0, "build_synapses": t2 - t1, "build_network": t3 - t2,
                   "build_codegen": t4 - t3 - make_s, "build_binary_setup": binary_setup,
                   "binary_wall": float(device.timers["run_binary"])},
    }


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (the same names as benchmarks/parsnn_pd14.py, plus --threads, --build-dir)."""
    ap = argparse.ArgumentParser(prog="brian2_pd14", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-scaling", type=float, default=1.0)
    ap.add_argument("--k-scaling", type=float, default=1.0)
    ap.add_argument("--t-sim", type=float, default=1000.0, help="timed model time in ms, after the warm-up")
    ap.add_argument("--warmup", type=float, default=500.0, help="untimed model time first (ms)")
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--threads", type=int, default=2, help="OpenMP threads (default 2)")
    ap.add_argument("--bg", choices=["dc"], default="dc", help="background drive (only dc)")
    ap.add_argument("--build-dir", default=None, help="keep the generated C++ project here (default: a temp dir, removed)")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args(argv)
    for name in ("n_scaling", "k_scaling"):
        v = getattr(args, name)
        if not 0.0 < v <= 1.0:
            ap.error(f"--{name.replace('_', '-')} must be in (0, 1], got {v}")
    if args.t_sim <= 0 or args.warmup < 0:
        ap.error("--t-sim must be > 0 and --warmup >= 0 (ms)")
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv=None) -> int:
    """Run the benchmark; print the JSON record (and write it to --json-out)."""
    args = parse_args(argv)
    r = run(args.n_scaling, args.k_scaling, args.t_sim, args.warmup, args.seed, args.threads, args.build_dir,
            log=lambda s: print(s, file=sys.stderr, flush=True))
    text = json.dumps(r, indent=1)
    if args.json_out:
        tmp = args.json_out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.json_out)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
