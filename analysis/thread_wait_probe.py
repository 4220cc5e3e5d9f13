#!/usr/bin/env python
"""Per-thread timers of one PD14 run on 1 rank x T threads (the engine's st.t_thread, which the run file does
not hold): each thread's deliver, update and wait at the team's meeting, thread 0's serial part, per min-delay
interval, beside the phase timers and the wall time outside them.

    python analysis/thread_wait_probe.py --n-scaling 0.1 --threads 2 [--t-sim 1000] [--out RUN.h5]

Prints one JSON line. Every number is from this run (machine and load as they were).
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, kind, default in (("--n-scaling", float, 0.1), ("--threads", int, 2), ("--t-sim", float, 1000.0),
                                ("--out", str, None)):
        ap.add_argument(flag, type=kind, default=default)
    a = ap.parse_args(argv)
    import numpy as np
    from mpi4py import MPI
    from parsnn.cli import build_parser
    from parsnn.cli.run import build_simulation, finish
    from parsnn.mapping.cluster.measure import busy_cores
    argv_run = ["run", "pd14", "--n-scaling", str(a.n_scaling), "--t-sim", str(a.t_sim), "--no-progress",
                "--threads", str(a.threads)] + (["--out", a.out, "--overwrite"] if a.out else [])
    args = build_parser().parse_args(argv_run)
    sim = build_simulation(args, MPI.COMM_WORLD)
    busy = busy_cores(1.0)
    sim.run(a.t_sim)
    st = sim.st
    n = a.t_sim / (sim.min_delay_steps * sim.h)
    tt = np.asarray(st.t_thread) / n * 1e6
    timed = (st.t_update + st.t_deliver + st.t_exchange) / n * 1e6
    out = {"n_scaling": a.n_scaling, "threads": a.threads, "busy_cores_before": busy,
           "wall_us": sim.simulate_seconds / n * 1e6, "other_us": sim.simulate_seconds / n * 1e6 - timed,
           "record_us": sim.timers.get("record", 0.0) / n * 1e6,
           "update_us": st.t_update / n * 1e6, "deliver_us": st.t_deliver / n * 1e6,
           "exchange_us": st.t_exchange / n * 1e6,
           "thread_deliver_us": tt[:, 0].tolist(), "thread_update_us": tt[:, 1].tolist(),
           "thread_wait_us": tt[:, 2].tolist(), "serial_us": float(tt[0, 3]),
           "thread_nodes": np.bincount(np.asarray(st.owner), minlength=a.threads).tolist()}
    if a.out:
        finish(sim, args)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
