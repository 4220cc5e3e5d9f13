"""Helpers for the STDP tests: one plastic synapse between forced pre and post spike trains, a
literal implementation of NEST's STDP rule for reference, and a small plastic network that can be
run as a script under mpiexec (``python plastic_scenarios.py OUT.npz PARTITION [MODE [CHECKPOINT]]
[threads=T]``) to compare spikes and weights across rank and thread counts and partitions.

Forcing the spike times: the presynaptic side is a spike_generator (a spike at t has the stamp t);
the postsynaptic neuron is an iaf_psc_delta neuron kicked over its threshold (1000 mV) by a 5000 mV input from a
second spike_generator, so it spikes exactly at the kick's arrival time; the plastic synapse's
weights (mV) are too small to make it fire.
"""
from __future__ import annotations

import math
import sys

import numpy as np

H = 0.1


def single_synapse(model, params, w0, delay, pre, post, tau_minus=20.0, t_sim=None, weights_at=()):
    """Run one plastic synapse of ``model`` (``params``) from spikes at ``pre`` onto a neuron forced
    to spike at ``post`` (ms); returns (post spike times, {t: weight after running to t} for t in
    ``weights_at`` and the end)."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    net = pn.Network(H)
    net.add_population("pre", 1, "spike_generator", spike_times=[list(pre)])
    net.add_population("kick", 1, "spike_generator", spike_times=[[round(t - H, 10) for t in post]])
    net.add_population("n", 1, "iaf_psc_delta", params=dict(tau_minus=tau_minus, t_ref=0.0, E_L=0.0,
                                                             V_reset=0.0, V_th=1000.0, V_m=0.0))
    net.connect("kick", "n", pn.AllToAll(), weight=5000.0, delay=H)
    net.connect("pre", "n", pn.AllToAll(), weight=w0, delay=delay, synapse_model=model, synapse_params=params)
    net.record_spikes(["n"])
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    t_end = t_sim if t_sim is not None else max(list(pre) + list(post)) + delay + 1.0
    out, t = {}, 0.0
    for ts in sorted(weights_at) + [t_end]:
        sim.run(round(ts - t, 10))
        t = ts
        out[ts] = float(sim.weights()["pre-n"][2][0])
    return np.asarray(sim.spikes()["n"][0]), out


def nest_single_synapse(model, params, w0, delay, pre, post, tau_minus=20.0, weights_at=()):
    """The scenario of :func:`single_synapse` in NEST (if installed; never imported otherwise): the
    presynaptic spikes come from a parrot_neuron (a spike_generator at t - h, delay h, so the
    parrot's spikes have the stamps ``pre``), the kicks as in parsnn. Returns (post spike times,
    [weight after running to t for t in ``weights_at``])."""
    import os
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    nest.ResetKernel()
    nest.resolution = H
    nest.local_num_threads = 1
    gen = nest.Create("spike_generator", params={"spike_times": [round(t - H, 10) for t in pre]})
    parrot = nest.Create("parrot_neuron")
    kick = nest.Create("spike_generator", params={"spike_times": [round(t - H, 10) for t in post]})
    n = nest.Create("iaf_psc_delta", params=dict(tau_minus=tau_minus, t_ref=0.0, E_L=0.0, V_reset=0.0,
                                                 V_th=1000.0, V_m=0.0))
    rec = nest.Create("spike_recorder")
    nest.Connect(gen, parrot, syn_spec={"weight": 1.0, "delay": H})
    nest.Connect(kick, n, syn_spec={"weight": 5000.0, "delay": H})
    nest.Connect(n, rec)
    if model == "stdp_pl_synapse_hom":
        nest.SetDefaults(model, dict(params))
        spec = {"synapse_model": model, "weight": w0, "delay": delay}
    else:
        spec = {"synapse_model": model, "weight": w0, "delay": delay, **params}
    nest.Connect(parrot, n, syn_spec=spec)
    conn = nest.GetConnections(parrot, n)
    out, t = [], 0.0
    for ts in sorted(weights_at):
        nest.Simulate(round(ts - t, 10))
        t = ts
        out.append(float(conn.get("weight")))
    return np.asarray(rec.get("events")["times"], dtype=float), out


def nest_rule(model, params, w0, delay, pre, post, tau_minus=20.0):
    """The weight after each presynaptic spike by NEST's algorithm (stdp_synapse::send,
    stdp_pl_synapse_hom::send, ArchivingNode), spike stamps in ms."""
    p = dict(params)
    tau_plus, lam, alpha = p.get("tau_plus", 20.0), p.get("lambda", 0.01 if model == "stdp_synapse" else 0.1), \
        p.get("alpha", 1.0)
    if model == "stdp_synapse":
        wmax, mu_p, mu_m = p.get("Wmax", 100.0), p.get("mu_plus", 1.0), p.get("mu_minus", 1.0)

        def facilitate(w, k):
            n = w / wmax + lam * (1.0 - w / wmax) ** mu_p * k
            return n * wmax if n < 1.0 else wmax

        def depress(w, k):
            n = w / wmax - alpha * lam * (w / wmax) ** mu_m * k
            return n * wmax if n > 0.0 else 0.0
    else:
        mu = p.get("mu", 0.4)

        def facilitate(w, k):
            return w + lam * w ** mu * k

        def depress(w, k):
            n = w - lam * alpha * w * k
            return n if n > 0.0 else 0.0
    archive, km, last = [], 0.0, None
    for t in post:
        km = (km * math.exp((last - t) / tau_minus) if last is not None else 0.0) + 1.0
        archive.append((t, km))
        last = t
    eps = 1e-6
    w, kplus, t_last, out = w0, 0.0, 0.0, []
    for t in pre:
        for tp, _ in archive:
            if t_last - delay + eps <= tp < t - delay + eps:
                w = facilitate(w, kplus * math.exp((t_last - (tp + delay)) / tau_plus))
        before = [(tp, k) for tp, k in archive if (t - delay) - tp > eps]
        kv = before[-1][1] * math.exp((before[-1][0] - (t - delay)) / tau_minus) if before else 0.0
        w = depress(w, kv)
        out.append(w)
        kplus = kplus * math.exp((t_last - t) / tau_plus) + 1.0
        t_last = t
    return out


def plastic_network():
    """A small recurrent network with both STDP rules, alpha and exp neurons, multapses,
    distributed initial weights and delays."""
    import parsnn.network as pn
    net = pn.Network(H, name="plastic")
    net.add_population("E", 120, "iaf_psc_alpha", params=dict(E_L=0.0, V_reset=0.0, V_th=20.0, V_m=pn.Normal(5.7, 7.2),
                                                              t_ref=0.5, tau_syn_ex=0.5, tau_syn_in=0.5, tau_minus=30.0))
    net.add_population("I", 40, "iaf_psc_exp", params=dict(tau_minus=25.0))
    net.add_population("G", 2, "spike_generator", spike_times=[[5.0, 50.0, 50.1], [20.0]])
    net.connect("E", "E", pn.FixedIndegree(30), weight=45.61, delay=1.5, synapse_model="stdp_pl_synapse_hom",
                synapse_params={"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0})
    net.connect("E", "I", pn.FixedIndegree(20), weight=pn.Uniform(20.0, 60.0), delay=pn.Uniform(0.5, 2.0),
                synapse_model="stdp_synapse", synapse_params={"lambda": 0.05, "Wmax": 80.0, "mu_plus": 0.5})
    net.connect("I", "E", pn.FixedIndegree(10), weight=-200.0, delay=0.8)
    net.connect("G", "E", pn.AllToAll(), weight=30.0, delay=1.0, synapse_model="stdp_synapse",
                synapse_params={"Wmax": 100.0, "lambda": 0.2})
    net.add_poisson("E", 16000.0, 45.61, 1.5)
    net.add_poisson("I", 9000.0, 30.0, 1.0)
    net.record_spikes()
    return net


def main(out, partition, mode="full", checkpoint=None, t_sim=200.0, threads=1):
    """Run :func:`plastic_network` on COMM_WORLD with ``partition`` and ``threads`` threads per rank
    (parallel regions even for this small network); rank 0 saves the spikes and the final weights
    to ``out``. ``mode``: "full" (two runs of t_sim/2), "save" (the first half, then a checkpoint to
    ``checkpoint``), "resume" (from ``checkpoint`` to t_sim)."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    sim = Simulation(plastic_network(), seed=7, partition=partition, keep_spikes=True, threads=int(threads))
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0
    if mode == "resume":
        sim.restore(checkpoint)
        sim.run(t_sim / 2)
    else:
        sim.run(t_sim / 2)
        if mode == "save":
            sim.checkpoint(checkpoint)
        else:
            sim.run(t_sim / 2)
    spikes, weights = sim.spikes(), sim.weights()
    if MPI.COMM_WORLD.Get_rank() == 0:
        arrays = {}
        for name, (t, i) in spikes.items():
            arrays[f"spikes/{name}/t"], arrays[f"spikes/{name}/i"] = t, i
        for key, (s, t, w) in weights.items():
            arrays[f"w/{key}/s"], arrays[f"w/{key}/t"], arrays[f"w/{key}/w"] = s, t, w
        np.savez(out, **arrays)


if __name__ == "__main__":
    args = sys.argv[1:]
    threads = int(args.pop()[len("threads="):]) if args and args[-1].startswith("threads=") else 1
    main(*args, threads=threads)
