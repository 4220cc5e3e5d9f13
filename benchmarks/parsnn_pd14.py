#!/usr/bin/env python
"""Time PD14 in parsnn: build, warm-up, then a separately timed simulate phase (run under mpiexec).

    mpiexec -n P python benchmarks/parsnn_pd14.py [--n-scaling 1] [--k-scaling 1] [--t-sim 1000]
                                                  [--warmup 500] [--seed 55] [--bg dc] [--threads T]
                                                  [--json-out FILE] [--cpu-timers]

``--t-sim`` is the model time of the *timed* phase, after ``--warmup`` ms. No spikes are recorded.
Rank 0 prints one JSON object (and writes it to ``--json-out``) with:

- ``build_seconds``: max over ranks of the build wall time (placement, neurons, synapses, routes);
- ``simulate_seconds``: wall time of the timed phase on rank 0, between two barriers; ``rtf`` =
  ``simulate_seconds`` / model time; ``warmup_seconds`` likewise for the warm-up;
- ``peak_rss_bytes``: per rank (``ru_maxrss``) and ``peak_rss_bytes_total`` (sum over ranks);
- ``synaptic_events``: events delivered during the timed phase, summed over ranks (exact count);
- ``timers``: the engine's per-rank phase timers (``timer_*``) for the timed phase only, and the
  build sub-phase timers (``build_*``), one value per rank;
- ``thread_timers``: per rank, per thread of the timed phase: seconds in delivery, update, waiting at
  the team's meetings, thread 0's serial part, the synaptic events it delivered, and with
  ``--cpu-timers`` its CPU seconds in delivery and update (not counting the time other processes
  hold the core).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _thread_figures(sim, before=None) -> list:
    """Per thread of this rank: seconds in delivery, update, waiting at the team's meetings, thread 0's
    serial part, and the synaptic events it delivered (EngineState.t_thread, t_events), minus ``before``."""
    import numpy as np
    st = sim.st
    tt = np.asarray(st.t_thread, dtype=float).copy()
    ev = np.asarray(getattr(st, "t_events", np.zeros(tt.shape[0])), dtype=float).copy()
    rows = [dict(deliver_s=float(r[0]), update_s=float(r[1]), wait_s=float(r[2]), serial_s=float(r[3]),
                 events=float(e)) for r, e in zip(tt, ev)]
    for key, arr in (("deliver_cpu_s", "t_deliver_cpu"), ("update_cpu_s", "t_update_cpu")):
        cpu = getattr(st, arr, None) if st.cpu_timers else None
        if cpu is not None and len(cpu) == len(rows):
            for r, c in zip(rows, np.asarray(cpu)):
                r[key] = float(c)
    if before:
        rows = [{k: v - b.get(k, 0.0) for k, v in r.items()} for r, b in zip(rows, before)]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="parsnn_pd14", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-scaling", type=float, default=1.0)
    ap.add_argument("--k-scaling", type=float, default=1.0)
    ap.add_argument("--t-sim", type=float, default=1000.0, help="timed model time in ms, after the warm-up")
    ap.add_argument("--warmup", type=float, default=500.0, help="untimed model time first (ms)")
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--bg", choices=["dc", "poisson"], default="dc")
    ap.add_argument("--partition", default="round_robin")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads per rank (default 1)")
    ap.add_argument("--prefetch", default=None, help="the delivery's prefetch distance: auto or N (default: the "
                    "engine's default; older parsnn: no such argument)")
    ap.add_argument("--mpi-wait", default=None, choices=["poll", "yield", "sleep"],
                    help="how a rank waits in the exchange (default: the engine's; older parsnn: no such argument)")
    ap.add_argument("--thread-owners", default=None, choices=("major", "split", "mixed"),
                    help="the owner rule of the threads (default: the engine's; older parsnn: no such argument)")
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--cpu-timers", action="store_true",
                    help="also each thread's CPU seconds in delivery and update (thread_timers; a few clock reads per interval)")
    args = ap.parse_args(argv)

    from mpi4py import MPI
    import parsnn
    from parsnn.models import pd14
    from parsnn.engine import Simulation

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    net = pd14.build_network(n_scaling=args.n_scaling, k_scaling=args.k_scaling, bg=args.bg, record=False)
    kw = {"threads": args.threads} if args.threads != 1 else {}      # older parsnn: no threads argument
    if args.prefetch is not None:                                     # older parsnn: no prefetch argument
        kw["prefetch"] = args.prefetch if args.prefetch == "auto" else int(args.prefetch)
    if args.mpi_wait is not None:
        kw["mpi_wait"] = args.mpi_wait
    if args.thread_owners is not None:
        kw["thread_owners"] = args.thread_owners
    sim = Simulation(net, seed=args.seed, comm=comm, partition=args.partition, out=None, keep_spikes=False,
                     progress=False, **kw)
    comm.Barrier()
    sim.build()
    sim.st.cpu_timers = bool(args.cpu_timers)
    comm.Barrier()
    if rank == 0:
        print(f"parsnn_pd14: {sim.num_synapses:,} synapses on {size} rank(s), build "
              f"{sim.build_seconds:.1f} s", file=sys.stderr, flush=True)
    perf_build = sim.performance()

    warm_s = 0.0
    if args.warmup > 0:
        w0 = time.perf_counter()
        sim.run(args.warmup)
        comm.Barrier()
        warm_s = time.perf_counter() - w0
    p0 = sim.performance()
    th0 = _thread_figures(sim)
    comm.Barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run(args.t_sim)
    cpu_s = comm.gather(time.process_time() - c0, root=0)     # this rank's CPU seconds (all its threads)
    comm.Barrier()
    sim_s = time.perf_counter() - t0
    p1 = sim.performance()
    threads_fig = comm.gather(_thread_figures(sim, th0), root=0)

    if rank == 0:
        def diff(key):
            return [b - a for a, b in zip(p0[key], p1[key])]
        timers = {k: diff(k) for k in p1 if k.startswith("timer_")}
        timers.update({k: p1[k] for k in p1 if k.startswith("build_") and k != "build_seconds"})
        events = sum(diff("synaptic_events"))
        out = {
            "simulator": "parsnn",
            "version": parsnn.__version__,
            "parsnn_path": os.path.dirname(os.path.abspath(parsnn.__file__)),
            "ranks": size,
            "threads": args.threads,
            "n_scaling": args.n_scaling, "k_scaling": args.k_scaling, "bg": args.bg, "seed": args.seed,
            "partition": sim.partition_name,
            "mpi_wait": getattr(sim, "mpi_wait", None),
            "thread_owners": getattr(sim, "thread_owners", None),
            "prefetch": getattr(sim, "prefetch_info", None),
            "num_neurons": p1["num_neurons"],
            "num_synapses": int(p1["num_synapses"]),
            "t_warmup_ms": args.warmup, "t_sim_ms": args.t_sim,
            "build_seconds": max(p1["build_seconds"]),
            "warmup_seconds": warm_s,
            "simulate_seconds": sim_s,
            "simulate_seconds_engine": max(diff("simulate_seconds")),
            "simulate_cpu_seconds": cpu_s,
            "rtf": sim_s / (args.t_sim * 1e-3),
            "peak_rss_bytes": [int(x) for x in p1["peak_rss_bytes"]],
            "peak_rss_bytes_total": int(sum(p1["peak_rss_bytes"])),
            "peak_rss_bytes_after_build": [int(x) for x in perf_build["peak_rss_bytes"]],
            "synaptic_events": int(events),
            "synaptic_events_method": "exact (engine counter, summed over ranks)",
            "remote_deliveries": int(sum(diff("remote_deliveries"))) if "remote_deliveries" in p1 else None,
            "min_delay_ms": p1.get("min_delay_ms"),
            "timers": timers,
            "thread_timers": threads_fig,
        }
        text = json.dumps(out, indent=1)
        if args.json_out:
            tmp = args.json_out + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, args.json_out)
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
