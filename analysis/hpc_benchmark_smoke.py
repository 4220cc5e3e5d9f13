"""Small-scale smoke run of models/hpc_benchmark (NEST's hpc_benchmark with power-law STDP on E->E):
population rates per window, the final E->E weight distribution and the memory of the plastic
synapse store per synapse. One rank, through the Python API (the store's arrays are read directly).

    python analysis/hpc_benchmark_smoke.py --scale 0.1 --t-sim 200 --seed 1 \
        --out analysis/results/hpc_benchmark_smoke_s0.1_T200.json

Below scale 1 the network is not asynchronous-irregular (NEST's example warns): in-degrees stay
11,250 while the populations shrink, so the inputs are strongly correlated and the E->E weights
can run away. No comparison with NEST here (NEST is not installed on this machine).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time

import numpy as np
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models import hpc_benchmark


def plastic_bytes(sim) -> dict:
    """Bytes of the plastic store: per synapse (weight, target, delay), per (projection, source) rows
    and traces, per neuron (traces, counts, archive entries), and the total per plastic synapse."""
    a = sim.plastic.arrays
    n_syn = int(a["tgt"].size)
    per_syn = a["w"].nbytes + a["tgt"].nbytes + a["d"].nbytes
    per_src = a["ptr"].nbytes + a["kplus"].nbytes + a["tlast"].nbytes
    per_neuron = sum(a[k].nbytes for k in ("kminus", "last_t", "tau_minus_inv", "n_incoming", "max_delay"))
    counts, t, k, cnt = sim.plastic.state.history()
    archive = t.nbytes + k.nbytes + cnt.nbytes       # live entries (capacity may be up to 2x)
    total = per_syn + per_src + per_neuron + archive
    return {"plastic_synapses": n_syn, "synapse_arrays_bytes_per_synapse": per_syn / max(n_syn, 1),
            "rows_and_source_traces_bytes": int(per_src), "neuron_traces_bytes": int(per_neuron),
            "archive_live_entries": int(t.size), "archive_bytes": int(archive),
            "total_bytes_per_plastic_synapse": total / max(n_syn, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--t-sim", type=float, default=200.0)
    ap.add_argument("--window", type=float, default=50.0, help="rate window (ms)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    net = hpc_benchmark.build_network(scale=args.scale)
    sim = Simulation(net, seed=args.seed, comm=MPI.COMM_SELF, keep_spikes=True)
    t0 = time.perf_counter()
    sim.build()
    build_s = time.perf_counter() - t0
    w_initial = sim.weights()["E-E"][2].copy()
    t0 = time.perf_counter()
    sim.run(args.t_sim)
    sim_s = time.perf_counter() - t0
    spikes = sim.spikes()
    edges = np.arange(0.0, args.t_sim + 1e-9, args.window)
    rates = {}
    for name, (times, _) in spikes.items():
        counts, _ = np.histogram(times, bins=edges)
        rates[name] = (counts / (net.populations[name].size * args.window * 1e-3)).round(3).tolist()
    w = sim.weights()["E-E"][2]
    q = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
    hist, hedges = np.histogram(w, bins=40)
    perf = sim.performance()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {
        "command": f"python analysis/hpc_benchmark_smoke.py --scale {args.scale} --t-sim {args.t_sim} "
                   f"--seed {args.seed} --out {args.out}",
        "git": commit, "machine": platform.node() + " (shared 2-core VM, loaded by other jobs)",
        "scale": args.scale, "t_sim_ms": args.t_sim, "seed": args.seed, "ranks": 1,
        "neurons": net.num_nodes, "synapses": int(sim.num_synapses),
        "J_E_pA": hpc_benchmark.derived(args.scale)["J_E"],
        "rate_windows_ms": edges.tolist(), "rates_per_window_spikes_per_s": rates,
        "mean_rates_spikes_per_s": {k: float(np.mean(v)) for k, v in rates.items()},
        "ee_weights_initial": {"mean": float(w_initial.mean()), "min": float(w_initial.min()),
                               "max": float(w_initial.max())},
        "ee_weights_final": {"mean": float(w.mean()), "std": float(w.std()),
                             "quantiles": dict(zip(map(str, q), np.quantile(w, q).round(6).tolist())),
                             "histogram_counts": hist.tolist(), "histogram_edges_pA": hedges.round(6).tolist()},
        "memory": {**plastic_bytes(sim), "peak_rss_bytes": int(max(perf["peak_rss_bytes"]))},
        "build_seconds": build_s, "simulate_seconds": sim_s,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("mean_rates_spikes_per_s", "ee_weights_final", "memory")}, indent=1))


if __name__ == "__main__":
    main()
