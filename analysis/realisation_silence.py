#!/usr/bin/env python
"""Is the silence of hpc_benchmark at scale 0.02 after 50 ms chance or a bias of realisation v2?

    python analysis/realisation_silence.py [--seeds 1 100] [--scale 0.02] [--t-sim 70] \\
        [--out analysis/results/realisation/hpc0.02_silence.json]

tests/test_cli_resume.py (test_resume_records_weights) pins ``--realisation v1`` for
``hpc_benchmark --scale 0.02 --seed 3``: under v1 that network is silent from 5 to 50 ms and bursts
at 55-60 ms, so the E->E weights move after 50 ms; under v2 it stays silent after 50 ms. This script
runs that network (one process, one rank, Python API) for every seed in ``--seeds`` under both
schemes and records per run: the E and I spike counts in 5 ms bins, whether there is any spike in
(50, t_sim] ms, whether the E->E weights change after 50 ms, the initial V_m statistics (mean, sd,
number at or above threshold), and the mean number of distinct sources per E target (multapses).
Then: the fraction of seeds that stay silent after 50 ms per scheme with a two-sided Fisher exact
test, and Mann-Whitney tests of the per-seed initial-state statistics between the schemes.

The per-node normal draws that give V_m are also checked directly over ``--n-draws`` node ids and
several seeds (mean, sd, KS against the normal, the mass above threshold), for both schemes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from scipy import stats

try:
    import parsnn  # noqa: F401
except ImportError:  # source checkout without installation
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = 5.0      # ms


def one_run(scale, seed, realisation, t_sim, t_split=50.0):
    """Build and run hpc_benchmark at ``scale``; the statistics of the run as a dict."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    from parsnn.engine.neurons import draw_parameter
    from parsnn.engine.streams import REALISATIONS
    from parsnn.models import hpc_benchmark
    net = hpc_benchmark.build_network(scale=scale)
    sim = Simulation(net, seed=seed, comm=MPI.COMM_SELF, keep_spikes=True, realisation=realisation)
    sim.build()
    w0 = sim.weights()["E-E"]
    sim.run(t_split)
    w_split = sim.weights()["E-E"][2].copy()
    sim.run(t_sim - t_split)
    w_end = sim.weights()["E-E"][2]
    spikes = sim.spikes()
    edges = np.arange(0.0, t_sim + 1e-9, BIN)
    out = {"seed": seed, "realisation": realisation}
    theta = hpc_benchmark.PARAMS["neuron"]["V_th"]
    for name, pop in net.populations.items():
        off = sim.offsets[name]
        t = np.asarray(spikes[name][0])
        out[f"counts_{name}"] = np.histogram(t, bins=edges)[0].tolist()
        out[f"after_{name}"] = int(np.sum(t > t_split))
        gids = np.arange(off, off + pop.size, dtype=np.int64)
        v = draw_parameter(pop, "V_m", gids, off, seed, REALISATIONS[realisation])
        out[f"V0_mean_{name}"], out[f"V0_sd_{name}"] = float(v.mean()), float(v.std())
        out[f"V0_above_theta_{name}"] = int(np.sum(v >= theta))
    src, tgt, _ = w0
    pairs = np.unique(src.astype(np.int64) * (1 << 32) + tgt.astype(np.int64)).size
    out["ee_distinct_sources_per_target"] = pairs / net.populations["E"].size
    out["silent_after"] = out["after_E"] + out["after_I"] == 0
    out["E_silent_after"] = out["after_E"] == 0
    out["spikes_E_0_5ms"] = out["counts_E"][0]
    out["E_burst_0_5ms"] = out["counts_E"][0] > net.populations["E"].size / 2
    out["spikes_5_50ms"] = int(sum(out["counts_E"][1:10]) + sum(out["counts_I"][1:10]))
    out["weights_move_after"] = bool(np.any(w_end != w_split))
    out["w_end_mean"] = float(np.mean(w_end))
    return out


def normal_draw_check(n, seeds, mean, sd, theta):
    """The per-node normal draws (first draw of each node's stream, as V_m is drawn) of both schemes."""
    from parsnn import _rng as rng_kernels
    from parsnn.engine.streams import REALISATIONS, purpose
    from parsnn.network import Normal, dist_spec
    ids = np.arange(n, dtype=np.int64)
    p_above = stats.norm.sf((theta - mean) / sd)
    res = {}
    for name, code in REALISATIONS.items():
        rows = []
        for s in seeds:
            v = rng_kernels.draw_per_node(ids, dist_spec(Normal(mean, sd)), s, purpose("param", "E", "V_m"), code)
            rows.append({"seed": s, "mean": float(v.mean()), "sd": float(v.std()),
                         "ks_p": float(stats.kstest(v, stats.norm(mean, sd).cdf).pvalue),
                         "frac_above_theta": float(np.mean(v >= theta)),
                         "z_above_theta": float((np.mean(v >= theta) - p_above) / math.sqrt(p_above * (1 - p_above) / n))})
        res[name] = rows
    return {"n": n, "mean": mean, "sd": sd, "theta": theta, "expected_frac_above_theta": float(p_above),
            "schemes": res}


#: the per-run properties compared between the schemes (fractions of seeds, Fisher's exact test)
PROPERTIES = {
    "weights_move_after": "the E->E weights change after 50 ms (what the resume test needs)",
    "E_silent_after": "no E spike after 50 ms",
    "silent_after": "no spike at all after 50 ms",
    "E_burst_0_5ms": "more than half of the E neurons spike in 0-5 ms",
}


def summarise(runs, t_split):
    """Fractions, Fisher's tests and Mann-Whitney tests between the schemes."""
    by = {r: [x for x in runs if x["realisation"] == r] for r in ("v1", "v2")}
    n = {r: len(v) for r, v in by.items()}
    out = {"n_seeds": n, "split_ms": t_split, "properties": {}, "mann_whitney": {}}
    for prop, text in PROPERTIES.items():
        k = {r: sum(bool(x[prop]) for x in v) for r, v in by.items()}
        odds, p = stats.fisher_exact([[k["v1"], n["v1"] - k["v1"]], [k["v2"], n["v2"] - k["v2"]]])
        out["properties"][prop] = {"meaning": text, "count": k, "fraction": {r: k[r] / n[r] for r in n},
                                   "fisher_odds_ratio": float(odds) if math.isfinite(odds) else None, "fisher_p_two_sided": float(p),
                                   "seeds_where_schemes_differ": sum(1 for a, b in zip(by["v1"], by["v2"])
                                                                     if bool(a[prop]) != bool(b[prop]))}
    for key in ("V0_mean_E", "V0_sd_E", "V0_above_theta_E", "V0_above_theta_I", "ee_distinct_sources_per_target",
                "after_E", "spikes_E_0_5ms", "spikes_5_50ms"):
        a, b = [x[key] for x in by["v1"]], [x[key] for x in by["v2"]]
        out["mann_whitney"][key] = {"v1_mean": float(np.mean(a)), "v2_mean": float(np.mean(b)),
                                    "p": float(stats.mannwhitneyu(a, b).pvalue) if len(set(a + b)) > 1 else None}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs=2, default=[1, 100], metavar=("FIRST", "LAST"))
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--t-sim", type=float, default=70.0)
    ap.add_argument("--n-draws", type=int, default=1_000_000)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "realisation", "hpc0.02_silence.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    runs = []
    for seed in range(args.seeds[0], args.seeds[1] + 1):
        for r in ("v1", "v2"):
            runs.append(one_run(args.scale, seed, r, args.t_sim))
        print(f"seed {seed}: weights move after 50 ms: v1 {runs[-2]['weights_move_after']}, "
              f"v2 {runs[-1]['weights_move_after']}",
              file=sys.stderr, flush=True)
    from parsnn.models import hpc_benchmark
    P = hpc_benchmark.PARAMS
    doc = {"command": "python analysis/realisation_silence.py " + " ".join(sys.argv[1:]),
           "network": f"hpc_benchmark --scale {args.scale:g}", "t_sim_ms": args.t_sim, "bin_ms": BIN,
           "summary": summarise(runs, 50.0),
           "normal_draws": normal_draw_check(args.n_draws, [1, 2, 3, 4, 5], P["mean_potential"],
                                             P["sigma_potential"], P["neuron"]["V_th"]),
           "seconds": time.perf_counter() - t0, "runs": runs}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc["summary"], indent=1))
    print(json.dumps({k: v for k, v in doc["normal_draws"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
