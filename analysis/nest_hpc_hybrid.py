"""Diagnostic for the hpc_benchmark comparison: NEST's hpc_benchmark dynamics (its own Poisson input)
on exactly parsnn's network (parsnn's E->E synapses read back after its build; the static
projections and the initial V_m drawn here with numpy and given to both as explicit lists/arrays).
If NEST then runs away as parsnn does, the difference lies in how the network is drawn; if not, in
the dynamics (input, update, plasticity).

    PYNEST_QUIET=1 python analysis/nest_hpc_hybrid.py --structure-seed 1 --seeds 1 2 3 --t-sim 200 \
        --out analysis/results/hpc_benchmark/hybrid_s0.1_T200.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nest_hpc_benchmark as hb  # noqa: E402

NEURON = {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
          "tau_syn_ex": hb.TAU_SYN, "tau_syn_in": hb.TAU_SYN, "tau_minus": 30.0}
STDP = {"alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}


def structure(seed, scale):
    """V_m arrays and static lists (pre, post) with fixed in-degrees, multapses, no autapses."""
    p = hb.nest_params(scale)
    rng = np.random.default_rng(1000 + seed)
    n = {"E": p["NE"], "I": p["NI"]}
    v = {k: rng.normal(5.7, 7.2, m) for k, m in n.items()}
    lists = {}
    for s, t, c in (("I", "E", p["CI"]), ("E", "I", p["CE"]), ("I", "I", p["CI"])):
        post = np.repeat(np.arange(n[t]), c)
        pre = rng.integers(0, n[s] - (s == t), post.size)
        if s == t:
            pre = pre + (pre >= post)
        lists[(s, t)] = (pre, post)
    return p, n, v, lists


def parsnn_run(p, n, v, lists, seed, t_sim, window):
    """parsnn on the structure; returns (rates per window, E->E weights, E->E (pre, post) as built)."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    net = pn.Network(0.1)
    for k in n:
        net.add_population(k, n[k], "iaf_psc_alpha", params={**NEURON, "V_m": v[k]})
        net.add_poisson(k, rate=p["rate"], weight=p["JE_pA"], delay=1.5, name=f"ext->{k}")
    net.connect("E", "E", pn.FixedIndegree(p["CE"], allow_autapses=False), weight=p["JE_pA"], delay=1.5,
                synapse_model="stdp_pl_synapse_hom", synapse_params=dict(STDP))
    for (s, t), (pre, post) in lists.items():
        w = p["JE_pA"] * (1.0 if s == "E" else -5.0)
        net.connect(s, t, pn.FromList(pre, post, np.full(pre.size, w), np.full(pre.size, 1.5)))
    net.record_spikes(["E", "I"])
    sim = Simulation(net, seed=seed, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.build()
    s0, t0, _ = (np.asarray(x).astype(np.int64) for x in sim.weights()["E-E"])
    sim.run(t_sim)
    edges = np.arange(0.0, t_sim + 1e-9, window)
    rates = {k: (np.histogram(np.asarray(tt, float), edges)[0] / (n[k] * window * 1e-3)).round(3).tolist()
             for k, (tt, _) in sim.spikes().items()}
    return rates, np.asarray(sim.weights()["E-E"][2], float), (s0, t0)


def nest_run(p, n, v, lists, ee, seed, t_sim, window, threads):
    """NEST (own Poisson input, rng_seed = seed) on the same structure."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    pops = {k: nest.Create("iaf_psc_alpha", n[k], params=dict(NEURON)) for k in n}
    ids = {k: np.asarray(pops[k].tolist(), dtype=np.int64) for k in n}
    stim = nest.Create("poisson_generator", 1, {"rate": p["rate"]})
    recs = {k: nest.Create("spike_recorder") for k in n}
    for k in n:
        pops[k].V_m = v[k].tolist()
        nest.Connect(stim, pops[k], "all_to_all", {"weight": p["JE_pA"], "delay": 1.5})
        nest.Connect(pops[k], recs[k])
    nest.SetDefaults("stdp_pl_synapse_hom", dict(STDP))
    nest.Connect(ids["E"][ee[0]], ids["E"][ee[1]], "one_to_one",
                 {"synapse_model": "stdp_pl_synapse_hom", "weight": np.full(ee[0].size, p["JE_pA"]),
                  "delay": np.full(ee[0].size, 1.5)})
    for (s, t), (pre, post) in lists.items():
        w = p["JE_pA"] * (1.0 if s == "E" else -5.0)
        nest.Connect(ids[s][pre], ids[t][post], "one_to_one",
                     {"weight": np.full(pre.size, w), "delay": np.full(pre.size, 1.5)})
    nest.Simulate(t_sim)
    edges = np.arange(0.0, t_sim + 1e-9, window)
    rates = {k: (np.histogram(np.asarray(recs[k].get("events")["times"], float), edges)[0]
                 / (n[k] * window * 1e-3)).round(3).tolist() for k in n}
    E = pops["E"]
    w = np.concatenate([np.asarray(nest.GetConnections(E, E[i:i + 20]).get("weight"), float)
                        for i in range(0, len(E), 20)])
    return rates, w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--structure-seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--t-sim", type=float, default=200.0)
    ap.add_argument("--window", type=float, default=25.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sims", nargs="+", default=["parsnn", "nest"])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    p, n, v, lists = structure(a.structure_seed, a.scale)
    res = {"command": " ".join(sys.argv), "structure_seed": a.structure_seed, "runs": []}
    r, w, ee = parsnn_run(p, n, v, lists, a.structure_seed, a.t_sim, a.window)
    res["runs"].append({"sim": "parsnn", "seed": a.structure_seed, "rates": r,
                        "w_quantiles": np.quantile(w, hb.Q).round(4).tolist()})
    print(res["runs"][-1], flush=True)
    for s in a.seeds:
        r, w = nest_run(p, n, v, lists, ee, s, a.t_sim, a.window, a.threads)
        res["runs"].append({"sim": "nest", "seed": s, "rates": r, "w_quantiles": np.quantile(w, hb.Q).round(4).tolist()})
        print(res["runs"][-1], flush=True)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
