#!/usr/bin/env python
"""Where the time of 1 rank x T threads goes, per thread, on PD14 (DC drive, no recording).

    python benchmarks/thread_balance_probe.py [--n-scaling 0.25] [--t-sim 2000] [--warmup 200]
                                              [--threads 2] [--cut FRACTION] [--seed 55]

One rank (no mpiexec needed). After the warm-up, the timed run reports per thread: wall seconds in
delivery, update and waiting at the team's meetings (``EngineState.t_thread``), CPU seconds in
delivery and update (``cpu_timers``: the time other processes hold the core left out, so the
balance can be read on a loaded machine), and the synaptic events it delivered (``t_events``:
exact counts). Also the cut points the engine chose (``decomposition.thread_owners``: expected work
from the model's expected rates) and the cut it would choose with the rates measured in the timed
run (a diagnostic: what a rebalance from measured rates would do). ``--cut F`` (2 threads only)
replaces the engine's cut by the multiple of 16 nearest F x n: a probe of the balance point (the
owners never change a result, only the time). Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _fixed_cut(fraction: float):
    """A thread_owners replacement: two blocks cut at the multiple of 16 nearest ``fraction`` x n."""
    def owners(pop_local, n, threads, items=16):
        cut = min(n, int(round(fraction * n / items)) * items)
        toff = np.array([0, cut, n], dtype=np.int64)
        return np.repeat(np.arange(2, dtype=np.int32), np.diff(toff)), toff
    return owners


def _measured_cut(sim, fired: np.ndarray, seconds: float, thread_owners) -> list:
    """The engine's cut points (``thread_owners``: the engine's rule) with every population's measured
    mean rate in place of the expected."""
    from parsnn.engine import decomposition
    from parsnn.partition.rates import population_costs
    rates = {name: fired[a:b].sum() / max(b - a, 1) / seconds for name, (a, b) in sim.pop_local.items()}
    cost = population_costs(sim.conn, rates)
    weight = {n: float(c) for n, c, v in zip(sim.conn.names, cost, sim.conn.virtual) if not v}
    pl = decomposition.PopulationRanges(dict(sim.pop_local), weight)
    return thread_owners(pl, int(sim.st.n_loc), sim.threads)[1].tolist()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--warmup", type=float, default=200.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cut", type=float, default=None, help="2 threads: cut at this fraction of the nodes")
    ap.add_argument("--seed", type=int, default=55)
    args = ap.parse_args(argv)
    from mpi4py import MPI
    from parsnn.engine import Simulation, decomposition
    from parsnn.engine import synapses as engine_synapses
    from parsnn.models import pd14
    engine_rule = decomposition.thread_owners
    if args.cut is not None:
        if args.threads != 2:
            ap.error("--cut needs --threads 2")
        decomposition.thread_owners = engine_synapses.thread_owners = _fixed_cut(args.cut)
    net = pd14.build_network(n_scaling=args.n_scaling, bg="dc", record=False)
    sim = Simulation(net, seed=args.seed, comm=MPI.COMM_SELF, out=None, keep_spikes=False, progress=False,
                     threads=args.threads)
    sim.build()
    st = sim.st
    st.cpu_timers = True
    sim.run(args.warmup)
    T = args.threads
    st.t_update_cpu, st.t_deliver_cpu = np.zeros(T), np.zeros(T)
    tt0, ev0, f0 = np.asarray(st.t_thread).copy(), np.asarray(st.t_events).copy(), np.asarray(st.n_fired).copy()
    w0, c0 = time.perf_counter(), time.process_time()
    sim.run(args.t_sim)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    tt, ev = np.asarray(st.t_thread) - tt0, np.asarray(st.t_events) - ev0
    out = {"n_scaling": args.n_scaling, "t_sim_ms": args.t_sim, "threads": T, "cut": args.cut,
           "toff": np.asarray(st.toff).tolist(), "toff_with_measured_rates":
               _measured_cut(sim, np.asarray(st.n_fired) - f0, args.t_sim * 1e-3,
                                                          engine_rule),
           "wall_s": wall, "process_cpu_s": cpu, "prefetch": getattr(sim, "prefetch_info", None),
           "deliver_s": tt[:, 0].tolist(), "update_s": tt[:, 1].tolist(), "wait_s": tt[:, 2].tolist(),
           "serial_s": tt[:, 3].tolist(), "deliver_cpu_s": np.asarray(st.t_deliver_cpu).tolist(),
           "update_cpu_s": np.asarray(st.t_update_cpu).tolist(), "events": ev.tolist()}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
