"""A deterministic network-level comparison of parsnn with NEST (installed in the same Python): a small
recurrent iaf_psc_alpha network with hpc_benchmark's neurons and power-law STDP on E->E, but with
all randomness frozen on the Python side (explicit connection lists with multapses and per-synapse
delays, per-neuron initial V_m and DC drive I_e instead of Poisson input). Both simulators get the
same lists, so spike trains and final E->E weights must agree, not only statistically. (parsnn does
not take explicit lists for plastic projections yet: its E->E is FixedIndegree(40) with delay 1.5 ms,
drawn by parsnn, and NEST gets exactly those synapses, read back from parsnn before the run.)

    PYNEST_QUIET=1 python analysis/nest_frozen_network.py --t-sim 1000 --seed 1 \
        > analysis/results/nest_comparison/frozen_network_seed1.txt
    # bursting variant: hpc_benchmark's J, 200 E + 50 I, in-degrees 900 + 225
    PYNEST_QUIET=1 python analysis/nest_frozen_network.py --t-sim 400 --seed 5 --n-e 200 --c-e 900 --j-factor 1 \
        > analysis/results/nest_comparison/frozen_network_bursting_seed5.txt
"""
from __future__ import annotations

import argparse
import os

import numpy as np

NEURON = {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
          "tau_syn_ex": 0.32582722403722841, "tau_syn_in": 0.32582722403722841, "tau_minus": 30.0}
STDP = {"alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}
J = 4 * 45.609600316540956


def frozen(seed, n_e=160, n_i=40, c_e=40, c_i=10):
    """Initial V_m, I_e and the four connection lists (pre, post, weight, delay), population-local."""
    rng = np.random.default_rng(seed)
    n = {"E": n_e, "I": n_i}
    init = {k: (rng.uniform(0.0, 20.0, m), rng.uniform(470.0, 540.0, m)) for k, m in n.items()}
    conns = {}
    for src, c, w in (("E", c_e, J), ("I", c_i, -5.0 * J)):
        for tgt in ("E", "I"):
            post = np.repeat(np.arange(n[tgt]), c)
            pre = rng.integers(0, n[src] - (src == tgt), post.size)
            if src == tgt:
                pre = pre + (pre >= post)             # no autapses
            delay = rng.integers(10, 21, post.size) * 0.1
            conns[(src, tgt)] = (pre, post, np.full(post.size, w), np.round(delay, 10))
    return n, init, conns


def run_parsnn(n, init, conns, t_sim):
    """Spikes {pop: (times, ids)} and E->E (pre, post, w) from parsnn."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    net = pn.Network(0.1)
    for k in n:
        net.add_population(k, n[k], "iaf_psc_alpha", params={**NEURON, "V_m": init[k][0], "I_e": init[k][1]})
    for (s, t), (pre, post, w, d) in conns.items():
        if (s, t) == ("E", "E"):
            net.connect(s, t, pn.FixedIndegree(int(np.bincount(post).max()), allow_autapses=False), weight=J,
                        delay=1.5, synapse_model="stdp_pl_synapse_hom", synapse_params=dict(STDP))
        else:
            net.connect(s, t, pn.FromList(pre, post, w, d))
    net.record_spikes(["E", "I"])
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, keep_spikes=True)
    sim.build()
    s0, t0, w0 = (np.asarray(x) for x in sim.weights()["E-E"])
    conns[("E", "E")] = (s0.astype(int), t0.astype(int), w0.copy(), np.full(s0.size, 1.5))
    sim.run(t_sim)
    sp = {k: (np.asarray(v[0], float), np.asarray(v[1], int)) for k, v in sim.spikes().items()}
    s, t, w = sim.weights()["E-E"]
    return sp, (np.asarray(s), np.asarray(t), np.asarray(w))


def run_nest(n, init, conns, t_sim):
    """The same in NEST (one thread)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = 0.1
    nest.local_num_threads = 1
    pops = {k: nest.Create("iaf_psc_alpha", n[k], params=dict(NEURON)) for k in n}
    for k in n:
        pops[k].V_m = init[k][0].tolist()
        pops[k].I_e = init[k][1].tolist()
    nest.SetDefaults("stdp_pl_synapse_hom", dict(STDP))
    for (s, t), (pre, post, w, d) in conns.items():
        model = "stdp_pl_synapse_hom" if (s, t) == ("E", "E") else "static_synapse"
        nest.Connect(np.asarray(pops[s].tolist())[pre], np.asarray(pops[t].tolist())[post], "one_to_one",
                     {"synapse_model": model, "weight": w, "delay": d})
    recs = {k: nest.Create("spike_recorder") for k in n}
    for k in n:
        nest.Connect(pops[k], recs[k])
    nest.Simulate(t_sim)
    sp = {}
    for k in n:
        ev = recs[k].get("events")
        sp[k] = (np.asarray(ev["times"], float), np.asarray(ev["senders"], int) - pops[k][0].global_id)
    c = nest.GetConnections(pops["E"], pops["E"]).get(["source", "target", "weight"])
    e0 = pops["E"][0].global_id
    return sp, (np.asarray(c["source"]) - e0, np.asarray(c["target"]) - e0, np.asarray(c["weight"], float))


def canonical(sp):
    """Spikes sorted by (time, id)."""
    t, i = sp
    o = np.lexsort((i, np.round(t, 6)))
    return np.round(t[o], 6), i[o]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-e", type=int, default=160)
    ap.add_argument("--c-e", type=int, default=40, help="E in-degree (the I in-degree is a quarter)")
    ap.add_argument("--j-factor", type=float, default=4.0, help="J = j_factor x hpc_benchmark's 45.61 pA")
    a = ap.parse_args()
    global J
    J = a.j_factor * 45.609600316540956
    n, init, conns = frozen(a.seed, n_e=a.n_e, n_i=a.n_e // 4, c_e=a.c_e, c_i=a.c_e // 4)
    sp_p, w_p = run_parsnn(n, init, conns, a.t_sim)       # replaces conns["E", "E"] by parsnn's
    sp_n, w_n = run_nest(n, init, conns, a.t_sim)
    import nest
    print(f"NEST {nest.__version__} vs parsnn {os.popen('git rev-parse --short HEAD').read().strip()}, "
          f"frozen network seed {a.seed}, {a.t_sim:g} ms: E {n['E']}, I {n['I']}, "
          f"{sum(c[0].size for c in conns.values())} synapses ({conns[('E', 'E')][0].size} plastic E->E)")
    for k in n:
        (tp, ip), (tn, i_n) = canonical(sp_p[k]), canonical(sp_n[k])
        same = tp.size == tn.size and np.array_equal(ip, i_n) and np.abs(tp - tn).max(initial=0) < 1e-9
        first = "" if same else f"; first difference at index {int(np.argmax((tp[:min(tp.size, tn.size)] != tn[:min(tp.size, tn.size)]) | (ip[:min(tp.size, tn.size)] != i_n[:min(tp.size, tn.size)])))}"
        print(f"spikes {k}: parsnn {tp.size}, NEST {tn.size}, identical: {same}{first}")
    op, on = np.lexsort((w_p[2], w_p[1], w_p[0])), np.lexsort((w_n[2], w_n[1], w_n[0]))
    ok = np.array_equal(w_p[0][op], w_n[0][on]) and np.array_equal(w_p[1][op], w_n[1][on])
    dw = np.abs(w_p[2][op] - w_n[2][on])
    # a spike emitted in NEST's last min_delay slice is delivered (and its weights updated) only at the
    # start of the next slice, i.e. not before the run ends; parsnn delivers it already
    t_e, i_e = sp_n["E"]
    late = np.isin(w_n[0][on], i_e[t_e > a.t_sim - 1.0 - 1e-9])
    print(f"E->E weights: {dw.size} synapses, same (pre, post) pairs: {ok}, moved from {J:.4f}: "
          f"{int((np.abs(w_n[2] - J) > 1e-9).sum())}, range NEST [{w_n[2].min():.4f}, {w_n[2].max():.4f}]; "
          f"max |dw| = {dw[~late].max():.2e} pA over the {int((~late).sum())} synapses whose source did not spike "
          f"in the last 1 ms (min delay) of the run; {dw[late].max(initial=0):.2e} pA over the other {int(late.sum())}")


if __name__ == "__main__":
    main()
