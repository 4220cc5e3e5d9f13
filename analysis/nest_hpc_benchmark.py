"""hpc_benchmark in NEST and in parsnn at a small scale, several seeds each: population rates per
window, the distribution of the final E->E weights, build and simulation times and peak memory.

    # one run per simulator and seed (NEST must import in this Python: pip install nest-simulator)
    python analysis/nest_hpc_benchmark.py run --sim nest   --scale 0.1 --t-sim 300 --seed 1 --threads 2 \
        --out analysis/results/hpc_benchmark/nest_s0.1_T300_seed1.json
    python analysis/nest_hpc_benchmark.py run --sim parsnn --scale 0.1 --t-sim 300 --seed 1 \
        --out analysis/results/hpc_benchmark/parsnn_s0.1_T300_seed1.json
    # comparison: is parsnn within NEST's seed-to-seed spread?
    python analysis/nest_hpc_benchmark.py compare analysis/results/hpc_benchmark/*_s0.1_T300_seed*.json \
        --out analysis/results/hpc_benchmark/comparison_s0.1_T300.md

The NEST network is written here from the parameters of NEST's pynest/examples/hpc_benchmark.py
(the example itself is not installed with NEST's pip package, and at scale < 1 it aborts because it
records from 1000 E neurons): iaf_psc_alpha, one poisson_generator connected all-to-all (independent
trains per target), fixed in-degrees C_E = 9000, C_I = 2250 with multapses and without autapses,
static_synapse_hpc / stdp_pl_synapse_hom_hpc, delay 1.5 ms, V_m ~ Normal(5.7, 7.2) mV. Here every
neuron's spikes are recorded, and the simulation runs t-sim ms from 0 (NEST's 50 ms presimulation
plus its 250 ms make 300 ms). Below scale 1 the network is not asynchronous-irregular: population
bursts grow and E->E weights run away (the example warns); the outcome depends strongly on the rule.

At scale 1 (81M E->E synapses) the final E->E weights are read from a fixed random subsample of E
targets (``--sample-targets 200``: the same population-local target ids in both simulators, drawn
with numpy from ``--sample-seed``): every E->E synapse onto those targets. parsnn runs under
``mpiexec -n P`` (COMM_WORLD; each rank keeps its own targets' weights, gathered to rank 0):

    .venv/bin/mpiexec -n 2 .venv/bin/python analysis/nest_hpc_benchmark.py run --sim parsnn --scale 1 \
        --t-sim 300 --seed 1 --sample-targets 200 --out analysis/results/hpc_benchmark/parsnn_s1_T300_seed1.json
    benchmarks/.venv-nest/bin/python analysis/nest_hpc_benchmark.py run --sim nest --scale 1 \
        --t-sim 300 --seed 1 --threads 2 --sample-targets 200 --out analysis/results/hpc_benchmark/nest_s1_T300_seed1.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

Q = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
TAU_SYN = 0.32582722403722841


def nest_params(scale):
    """NEST's example's derived numbers, computed as the example does (scipy's Lambert W)."""
    import scipy.special as sp
    tau_m, c_m = 10.0, 250.0
    a, b = tau_m / TAU_SYN, 1.0 / TAU_SYN - 1.0 / tau_m
    x = -np.exp(-1.0 / a) / a
    t_rise = 1.0 / b * (-sp.lambertw(x, k=-1).real - 1.0 / a)
    v_max = (np.exp(1.0) / (TAU_SYN * c_m * b)
             * ((np.exp(-t_rise / tau_m) - np.exp(-t_rise / TAU_SYN)) / b - t_rise * np.exp(-t_rise / TAU_SYN)))
    je = 0.14 / v_max
    ne, ni = int(9000 * scale), int(2250 * scale)
    ce, ci = int(1.0 * ne / scale), int(1.0 * ni / scale)
    nu_th = 20.0 / (ce * tau_m / c_m * je * np.exp(1.0) * TAU_SYN)
    return {"NE": ne, "NI": ni, "CE": ce, "CI": ci, "JE_pA": float(je), "rate": float(nu_th * 1.685 * ce * 1000.0)}


def sample_targets(n_e, args):
    """Sorted population-local ids of the E targets whose E->E weights are read (all for --sample-targets 0)."""
    if not args.sample_targets or args.sample_targets >= n_e:
        return np.arange(n_e, dtype=np.int64)
    return np.sort(np.random.default_rng(args.sample_seed).choice(n_e, args.sample_targets, replace=False))


def run_nest(args):
    """Build and simulate NEST's hpc_benchmark; returns (spikes {pop: times}, sizes, E->E weights, timings)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    p = nest_params(args.scale)
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.local_num_threads = args.threads
    nest.resolution = 0.1
    nest.rng_seed = args.seed
    t0 = time.perf_counter()
    model = {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
             "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN, "tau_minus": 30.0, "V_m": 5.7}
    E = nest.Create("iaf_psc_alpha", p["NE"], params=model)
    I = nest.Create("iaf_psc_alpha", p["NI"], params=model)
    E.V_m = nest.random.normal(5.7, 7.2)
    I.V_m = nest.random.normal(5.7, 7.2)
    stim = nest.Create("poisson_generator", 1, {"rate": p["rate"]})
    recs = {"E": nest.Create("spike_recorder"), "I": nest.Create("spike_recorder")}
    nest.SetDefaults("static_synapse_hpc", {"delay": 1.5})
    nest.CopyModel("static_synapse_hpc", "syn_ex", {"weight": p["JE_pA"]})
    nest.CopyModel("static_synapse_hpc", "syn_in", {"weight": -5.0 * p["JE_pA"]})
    nest.SetDefaults("stdp_pl_synapse_hom_hpc", {"delay": 1.5, "alpha": 0.0513, "lambda": 0.1, "mu": 0.4,
                                                 "tau_plus": 15.0, "weight": p["JE_pA"]})
    nest.Connect(stim, E, {"rule": "all_to_all"}, {"synapse_model": "syn_ex"})
    nest.Connect(stim, I, {"rule": "all_to_all"}, {"synapse_model": "syn_ex"})
    for src, tgt, c, syn in ((E, E, p["CE"], "stdp_pl_synapse_hom_hpc"), (I, E, p["CI"], "syn_in"),
                             (E, I, p["CE"], "syn_ex"), (I, I, p["CI"], "syn_in")):
        nest.Connect(src, tgt, {"rule": "fixed_indegree", "indegree": c, "allow_autapses": False,
                                "allow_multapses": True}, {"synapse_model": syn})
    nest.Connect(E, recs["E"])
    nest.Connect(I, recs["I"])
    nest.Prepare()
    nest.Cleanup()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Simulate(args.t_sim)
    sim_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024     # before reading the weights
    spikes = {k: np.asarray(r.get("events")["times"], dtype=float) for k, r in recs.items()}
    print(f"NEST: built in {build_s:.1f} s, simulated in {sim_s:.1f} s; reading weights", file=sys.stderr, flush=True)
    # the E->E weights onto the sampled targets, 20 targets at a time: NEST's get() on millions of
    # connections at once needs ~2 kB per connection of transient memory (16 GB at scale 0.1)
    gids = np.asarray(E.tolist(), dtype=np.int64)[sample_targets(p["NE"], args)]
    t0 = time.perf_counter()
    w = np.concatenate([np.asarray(nest.GetConnections(E, nest.NodeCollection(gids[i:i + 20].tolist()),
                                                       synapse_model="stdp_pl_synapse_hom_hpc").get("weight"),
                                   dtype=float).ravel() for i in range(0, gids.size, 20)])
    print(f"NEST: read {w.size} weights in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    info = {"simulator": f"NEST {nest.__version__}", "threads": args.threads, "peak_rss_bytes": peak,
            "synapses": int(nest.num_connections), "JE_pA": p["JE_pA"]}
    return spikes, {"E": p["NE"], "I": p["NI"]}, w, build_s, sim_s, info


def run_parsnn(args):
    """The same with parsnn's models/hpc_benchmark (Python API, on the ranks of COMM_WORLD: run it
    under ``mpiexec -n P``); every rank returns the same spikes, the sampled weights only on rank 0."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    from parsnn.models import hpc_benchmark
    comm = MPI.COMM_WORLD
    net = hpc_benchmark.build_network(scale=args.scale)
    sim = Simulation(net, seed=args.seed, comm=comm, keep_spikes=True, realisation=args.realisation)
    t0 = time.perf_counter()
    sim.build()
    build_s = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    t0 = time.perf_counter()
    sim.run(args.t_sim)
    sim_s = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    peaks = comm.allgather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    spikes = {k: np.asarray(t, dtype=float) for k, (t, _) in sim.spikes().items()}
    w = _parsnn_sampled_weights(sim, sample_targets(net.populations["E"].size, args), comm)
    info = {"simulator": "parsnn", "ranks": comm.Get_size(), "realisation": args.realisation,
            "peak_rss_bytes": int(sum(peaks)), "peak_rss_bytes_per_rank": peaks,
            "synapses": int(sim.num_synapses), "JE_pA": hpc_benchmark.derived(args.scale)["J_E"]}
    return spikes, {k: p.size for k, p in net.populations.items()}, w, build_s, sim_s, info


def _parsnn_sampled_weights(sim, targets, comm):
    """The E->E weights onto the population-local E ``targets``, read on each rank from its own
    plastic store (no rank holds all of them) and gathered to rank 0 (None elsewhere)."""
    from parsnn.engine.plasticity import weight_key
    plastic = sim.plastic
    j = [weight_key(sim.net.projections[k]) for k in plastic.projections].index("E-E")
    a = plastic.arrays
    ptr = plastic.row_ptr(j)
    local_e = plastic.local - plastic.offsets["E"]                 # local index -> E-local id (or out of range)
    wanted = np.isin(local_e, targets)
    tgt = a["tgt"][int(ptr[0]):int(ptr[-1])]
    w = np.asarray(a["w"][int(ptr[0]):int(ptr[-1])][wanted[tgt]], dtype=float)
    parts = comm.gather(w, root=0)
    return np.concatenate(parts) if comm.Get_rank() == 0 else None


def cmd_run(args):
    """Run one simulator and seed, write the result JSON."""
    load0 = os.getloadavg()[0]
    spikes, sizes, w, build_s, sim_s, info = (run_nest if args.sim == "nest" else run_parsnn)(args)
    if w is None:                       # parsnn: not rank 0
        return
    edges = np.arange(0.0, args.t_sim + 1e-9, args.window)
    rates = {k: (np.histogram(spikes[k], bins=edges)[0] / (sizes[k] * args.window * 1e-3)).round(4).tolist()
             for k in ("E", "I")}
    hist = np.histogram(w, bins=np.linspace(0.0, 200.0, 81))[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    peak = info["peak_rss_bytes"]
    res = {"command": "python analysis/nest_hpc_benchmark.py run " + " ".join(
               f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("func", "cmd")),
           "git": commit, "machine": platform.node() + " (shared 2-core Xeon VM, loaded by other jobs)",
           "load_average_1min_start_end": [load0, os.getloadavg()[0]],
           "scale": args.scale, "t_sim_ms": args.t_sim, "seed": args.seed, **info, "sizes": sizes,
           "rate_window_edges_ms": edges.tolist(), "rates_per_window": rates,
           "mean_rates": {k: float(len(spikes[k]) / (sizes[k] * args.t_sim * 1e-3)) for k in ("E", "I")},
           "ee_weights": {"n": int(w.size), "targets": sample_targets(sizes["E"], args).size,
                          "sample_seed": args.sample_seed if args.sample_targets else None,
                          "mean": float(w.mean()), "std": float(w.std()),
                          "quantiles": dict(zip(map(str, Q), np.quantile(w, Q).round(6).tolist())),
                          "histogram_0_200pA_2.5pA_bins": hist.tolist()},
           "build_s": build_s, "simulate_s": sim_s, "rtf": sim_s / (args.t_sim * 1e-3),
           "peak_rss_bytes": peak, "peak_rss_bytes_per_synapse": peak / info["synapses"]}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: res[k] for k in ("simulator", "seed", "mean_rates", "rates_per_window", "build_s",
                                          "simulate_s", "peak_rss_bytes")}))
    print(json.dumps(res["ee_weights"]["quantiles"]))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--sim", choices=["nest", "parsnn"], required=True)
    r.add_argument("--scale", type=float, default=0.1)
    r.add_argument("--t-sim", type=float, default=300.0)
    r.add_argument("--window", type=float, default=25.0)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--out", required=True)
    r.add_argument("--sample-targets", type=int, default=0,
                   help="read the E->E weights onto this many random E targets (default 0: all)")
    r.add_argument("--sample-seed", type=int, default=12345, help="numpy seed of the target subsample")
    r.add_argument("--realisation", choices=["v1", "v2"], default="v2", help="parsnn's realisation scheme")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("compare")
    c.add_argument("files", nargs="+")
    c.add_argument("--out", required=True)
    c.set_defaults(func=None)
    a = ap.parse_args()
    if a.cmd == "compare":
        from nest_hpc_compare import main as compare_main
        compare_main(a)
    else:
        a.func(a)
