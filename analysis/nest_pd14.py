#!/usr/bin/env python
"""Run PD14 in NEST (3.8+; tested with 3.10) with parsnn's PD14 parameters; write NEST ASCII spikes.

    python analysis/nest_pd14.py --out-dir DIR [--n-scaling 0.1] [--k-scaling 1] [--t-sim 5500]
                                 [--seed 1] [--threads 2] [--bg dc|poisson] [--resolution 0.1]
                                 [--no-record] [--warmup MS]

The network is set up as in the reference implementation (github.com/INM-6/microcircuit-PD14-model,
PyNEST), but every number comes from ``parsnn.models.pd14`` (population sizes, synapse totals, weight
matrix, DC amplitudes, initial potentials), so NEST and parsnn simulate the same model:

- ``iaf_psc_exp`` neurons, ``V_m`` drawn from ``normal(V0_mean, V0_std)`` per population, the DC drive
  in ``I_e`` (no dc_generator, which would add a step of delay);
- ``fixed_total_number`` connections (autapses and multapses allowed), weights
  ``redraw(normal(J, 0.1 |J|))`` in ``[0, inf)`` / ``(-inf, 0]``, delays ``redraw(normal(d, 0.5 d))``
  with ``min = 0.5 * resolution`` (rounded by NEST to whole steps, so >= 1 step);
- with ``--bg poisson``: one ``poisson_generator`` per population (rate ``round(K_ext k) * 8`` spikes/s,
  weight J_ext / sqrt(k), delay 1.5 ms), all-to-all, i.e. independent trains per neuron;
- one ``spike_recorder`` per population, ``record_to="ascii"``, files
  ``DIR/spike_recorder-<recorder gid>-<vp>.dat``; recording starts at time 0 (warm-up included).

``DIR/nest_run.json`` (the sidecar read by ``parsnn.analysis.NestAsciiSource``) holds the population
gid ranges (``first_gid``, ``size``), the recorder ids, the parameters, NEST's version, the build and
simulate times, and ``complete`` (false until the simulation has finished).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time

try:
    from parsnn.models import pd14
except ImportError:  # parsnn not installed (e.g. benchmarks/.venv-nest): use the source checkout, whose
    # models/ folder is what an installation names parsnn.models
    import types
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, _root)
    import parsnn
    parsnn.models = sys.modules["parsnn.models"] = types.ModuleType("parsnn.models")
    parsnn.models.__path__ = [os.path.join(_root, "models")]
    from parsnn.models import pd14

SIDECAR = "nest_run.json"   # == parsnn.analysis.NEST_SIDECAR
LABEL = "spike_recorder"


def _write_sidecar(out_dir, info):
    tmp = os.path.join(out_dir, SIDECAR + ".tmp")
    with open(tmp, "w") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, SIDECAR))


def run(out_dir, n_scaling=0.1, k_scaling=1.0, t_sim=5500.0, seed=1, threads=2, bg="dc", resolution=0.1,
        record=True, verbose=True, t_warmup=0.0) -> dict:
    """Build and simulate PD14 in NEST; return the sidecar dict (also written to ``out_dir``).

    With ``t_warmup`` > 0 (ms, part of ``t_sim``), the first ``t_warmup`` ms are simulated as a separate
    ``nest.Run`` and the timing figures (``simulate_seconds``, ``rtf``, ``spikes_timed``) cover only the
    remaining ``t_sim - t_warmup`` ms (benchmarks/bench_pd14.py uses this)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    try:
        nest.verbosity = nest.VerbosityLevel.WARNING
    except AttributeError:  # older NEST
        nest.set_verbosity("M_WARNING")

    P = pd14.PARAMETERS
    nrn, syn, bgp = P["neuron"], P["synapses"], P["background"]
    pops = list(pd14.POPULATIONS)
    sizes = pd14.num_neurons(n_scaling)
    k_tot = pd14.total_synapses(n_scaling, k_scaling)
    w = pd14.weight_matrix(k_scaling)
    dc = pd14.dc_amplitudes(k_scaling, bg)
    j_ext = pd14.external_weight(k_scaling)
    inh = [p in P["inhibitory"] for p in pops]

    os.makedirs(out_dir, exist_ok=True)
    for fn in os.listdir(out_dir):  # stale files of an earlier run would be read as this run's
        if fn.startswith(LABEL + "-") and fn.endswith(".dat"):
            os.remove(os.path.join(out_dir, fn))

    t0 = time.perf_counter()
    nest.ResetKernel()
    nest.local_num_threads = int(threads)
    nest.resolution = float(resolution)
    nest.rng_seed = int(seed)
    nest.overwrite_files = True
    nest.data_path = os.path.abspath(out_dir)
    nest.print_time = False

    nodes = []
    for i, p in enumerate(pops):
        pop = nest.Create("iaf_psc_exp", int(sizes[i]))
        pop.set(C_m=float(nrn["C_m"]), tau_m=float(nrn["tau_m"]), tau_syn_ex=float(nrn["tau_syn_ex"]),
                tau_syn_in=float(nrn["tau_syn_in"]), t_ref=float(nrn["t_ref"]), E_L=float(nrn["E_L"]),
                V_th=float(nrn["V_th"]), V_reset=float(nrn["V_reset"]), I_e=float(dc[i]))
        pop.set(V_m=nest.random.normal(mean=float(nrn["V0_mean"][i]), std=float(nrn["V0_std"][i])))
        nodes.append(pop)

    recorders = []
    if record:
        recorders = [nest.Create("spike_recorder", params={"record_to": "ascii", "label": LABEL})
                     for _ in pops]

    d_min = 0.5 * float(resolution)
    for t, tgt in enumerate(nodes):
        for s, src in enumerate(nodes):
            n = int(k_tot[t, s])
            if n <= 0:
                continue
            mean = float(w[t, s])
            lo, hi = (-math.inf, 0.0) if inh[s] else (0.0, math.inf)
            d_mean = float(syn["delay_inh_mean"] if inh[s] else syn["delay_exc_mean"])
            syn_spec = {
                "synapse_model": "static_synapse",
                "weight": nest.math.redraw(nest.random.normal(mean=mean, std=abs(mean) * syn["weight_rel_std"]),
                                           min=lo, max=hi),
                "delay": nest.math.redraw(nest.random.normal(mean=d_mean, std=d_mean * syn["delay_rel_std"]),
                                          min=d_min, max=math.inf),
            }
            nest.Connect(src, tgt, {"rule": "fixed_total_number", "N": n, "allow_autapses": True,
                                    "allow_multapses": True}, syn_spec)

    if bg == "poisson":
        for i, tgt in enumerate(nodes):
            k_ext = int(round(bgp["K_ext"][i] * k_scaling))
            gen = nest.Create("poisson_generator", params={"rate": float(k_ext * bgp["bg_rate"])})
            nest.Connect(gen, tgt, "all_to_all", {"synapse_model": "static_synapse", "weight": float(j_ext),
                                                  "delay": float(bgp["delay_poisson"])})
    for pop, rec in zip(nodes, recorders):
        nest.Connect(pop, rec)
    nest.Prepare()   # finish the build (connection infrastructure) before timing the simulation
    build_s = time.perf_counter() - t0
    num_syn = int(nest.num_connections) - (sum(int(s) for s in sizes) if record else 0)

    info = {
        "format": "parsnn NEST PD14 run", "label": LABEL, "model": "pd14", "complete": False,
        "nest_version": getattr(nest, "__version__", "?"), "seed": int(seed), "threads": int(threads),
        "n_scaling": float(n_scaling), "k_scaling": float(k_scaling), "bg": bg,
        "resolution": float(resolution), "t_sim": float(t_sim),
        "populations": {p: {"first_gid": int(pop[0].global_id), "size": int(len(pop))}
                        for p, pop in zip(pops, nodes)},
        "recorders": {p: int(rec.global_id) for p, rec in zip(pops, recorders)},
        "num_synapses": num_syn, "dc_amplitude_pA": [float(x) for x in dc],
        "build_seconds": build_s,
    }
    _write_sidecar(out_dir, info)
    if verbose:
        print(f"nest_pd14: NEST {info['nest_version']}, {sum(sizes):,} neurons, {num_syn:,} synapses, "
              f"seed {seed}, {threads} threads; build {build_s:.1f} s", file=sys.stderr, flush=True)

    t_warmup = float(t_warmup)
    if not 0.0 <= t_warmup < float(t_sim):
        raise ValueError(f"t_warmup must be in [0, t_sim), got {t_warmup}")
    warm_s = 0.0
    if t_warmup > 0:
        tw = time.perf_counter()
        nest.Run(t_warmup)
        warm_s = time.perf_counter() - tw
    t1 = time.perf_counter()
    nest.Run(float(t_sim) - t_warmup)
    sim_s = time.perf_counter() - t1
    spikes_timed = int(nest.local_spike_counter)  # spikes of neurons during the last Run (one process)
    nest.Cleanup()
    n_spikes = {p: int(rec.n_events) for p, rec in zip(pops, recorders)}
    info.update(complete=True, simulate_seconds=sim_s, rtf=sim_s / ((float(t_sim) - t_warmup) * 1e-3),
                t_warmup=t_warmup, warmup_seconds=warm_s, spikes_timed=spikes_timed,
                n_spikes=n_spikes, peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    _write_sidecar(out_dir, info)
    if verbose:
        print(f"nest_pd14: simulated {float(t_sim) - t_warmup:g} ms (after {t_warmup:g} ms warm-up) in "
              f"{sim_s:.1f} s (RTF {info['rtf']:.2f}); "
              f"{sum(n_spikes.values()):,} spikes -> {out_dir}", file=sys.stderr, flush=True)
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nest_pd14", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", required=True, help="directory for the spike files and nest_run.json")
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--k-scaling", type=float, default=1.0)
    ap.add_argument("--t-sim", type=float, default=5500.0, help="model time in ms, warm-up included")
    ap.add_argument("--seed", type=int, default=1, help="NEST rng_seed")
    ap.add_argument("--threads", type=int, default=2, help="local_num_threads")
    ap.add_argument("--bg", choices=["dc", "poisson"], default="dc")
    ap.add_argument("--resolution", type=float, default=0.1)
    ap.add_argument("--no-record", action="store_true", help="no spike recorders (timing only)")
    ap.add_argument("--warmup", type=float, default=0.0,
                    help="ms of t_sim run first and left out of simulate_seconds/rtf (default 0)")
    args = ap.parse_args(argv)
    run(args.out_dir, args.n_scaling, args.k_scaling, args.t_sim, args.seed, args.threads, args.bg,
        args.resolution, record=not args.no_record, t_warmup=args.warmup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
