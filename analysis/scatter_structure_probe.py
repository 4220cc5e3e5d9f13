"""Issue 18 probe (session 20): is a synaptic event of PD14 cheaper than one of the calibration's 'scatter'
network at the same ring working set, and is the row's structure why?

One rank, serial: for each network, build, run ``--warmup`` ms, then ``--t`` ms, and report the deliver timer
per synaptic event (ns), events per delivered spike, and the ring working set per interval the cost model
assigns (parsnn.mapping.cluster.workload), at prefetch distances 0 and 128. Networks:
  scatter_K   -- the calibration's scatter network (parsnn.mapping.cluster.measure._scatter: 2,500
                 spike_generator sources at 20 Hz, rows of 2,048 synapses, delays Normal(1.5, 0.75)) with its
                 targets split into K equal populations, each source's synapses spread over all K
                 (FixedTotalNumber per population): K = 1 is the calibration's network;
  pd14        -- PD14 at --n-scaling (DC drive), as `parsnn run pd14` builds it.
Usage: python analysis/scatter_structure_probe.py [--targets 7717] [--n-scaling 0.1] [--out FILE.json]
"""
import argparse
import json
import sys
import time


def scatter_k(n_t: int, K: int, row: int = 2048, n_s: int = 2500, rate: float = 20.0):
    from parsnn.mapping.cluster.measure import SCATTER_SPAN_MS, _poisson_times
    from parsnn.network import FixedTotalNumber, Network, Normal
    net = Network(0.1, name=f"scatter_{K}")
    times = _poisson_times(n_s, rate, SCATTER_SPAN_MS, 0.1, 7)
    net.add_population("S", n_s, "spike_generator", spike_times=times)
    sizes = [n_t // K + (1 if k < n_t % K else 0) for k in range(K)]
    for k, n in enumerate(sizes):
        net.add_population(f"T{k}", n, "iaf_psc_exp")
        net.connect("S", f"T{k}", FixedTotalNumber(int(round(n_s * row * n / n_t))), weight=1e-3,
                    delay=Normal(1.5, 0.75, 0.1))
    net.metadata = {"model": "scatter", "expected_rates": {"S": rate, **{f"T{k}": 0.0 for k in range(K)}}}
    return net


def pd14(n_scaling: float):
    from parsnn.mapping.cluster.measure import calibration_network
    return calibration_network({"model": "pd14", "n_scaling": n_scaling, "bg": "dc"})


def measure(net, distance: int, warmup: float, t: float) -> dict:
    from mpi4py import MPI
    from parsnn.engine import Simulation
    sim = Simulation(net, seed=55, comm=MPI.COMM_WORLD, keep_spikes=False, prefetch=distance)
    sim.build()
    sim.run(warmup)
    d0, e0, s0 = sim.timers["deliver"], sim.st.n_events, sim.st.n_delivered_spikes
    w0 = time.perf_counter()
    sim.run(t)
    wall = time.perf_counter() - w0
    dt, ev, sp = sim.timers["deliver"] - d0, sim.st.n_events - e0, sim.st.n_delivered_spikes - s0
    return {"distance": distance, "deliver_s": dt, "events": int(ev), "spikes": int(sp),
            "ns_per_event": dt / ev * 1e9 if ev else float("nan"), "events_per_spike": ev / sp if sp else float("nan"),
            "neurons": int(sum(p.size for p in net.populations.values())), "wall_s": wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=7717)
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--ks", default="1,8")
    ap.add_argument("--distances", default="0,128")
    ap.add_argument("--warmup", type=float, default=100.0)
    ap.add_argument("--t", type=float, default=500.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    rows = []
    for rep in range(a.repeats):
        for d in [int(x) for x in a.distances.split(",")]:
            nets = [(f"scatter_{K}", lambda K=K: scatter_k(a.targets, K)) for K in map(int, a.ks.split(","))]
            nets.append((f"pd14_{a.n_scaling}", lambda: pd14(a.n_scaling)))
            for name, make in nets:
                r = {"network": name, "repeat": rep, **measure(make(), d, a.warmup, a.t)}
                rows.append(r)
                print(json.dumps(r), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
