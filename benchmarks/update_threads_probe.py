#!/usr/bin/env python
"""Does the update phase speed up with 2 threads? PD14 (DC drive) on one rank: the engine's update and
delivery timers (thread 0's own work) per 0.1 ms step over 2 s, after 200 ms.

    python benchmarks/update_threads_probe.py t1    # 1 thread
    python benchmarks/update_threads_probe.py par   # 2 threads, in parallel
    python benchmarks/update_threads_probe.py seq   # 2 threads' shares run in turn on one thread

``seq`` raises the engine's smallest parallel work (``par_min_updates``/``par_min_events``) so that the
two shares run one after the other: its update time is the whole update on thread 0. With ``par`` thread 0
updates half the neurons; on the idle session-8 Xeon VM that half took about as long as the whole.
"""
import sys
import time

from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.mapping.cluster.measure import calibration_network


def main(mode: str, n_scaling: float = 0.1) -> None:
    """Build PD14 at ``n_scaling``, run 200 ms, then time 2 s; print the per-step phase timers."""
    if mode not in ("t1", "par", "seq"):
        raise SystemExit("mode must be t1, par or seq")
    net = calibration_network({"model": "pd14", "n_scaling": n_scaling})
    sim = Simulation(net, seed=55, comm=MPI.COMM_WORLD, out=None, keep_spikes=False,
                     threads=1 if mode == "t1" else 2)
    sim.build()
    if mode == "seq":
        sim.st.par_min_updates = sim.st.par_min_events = 10**15
    sim.run(200.0)
    u0, d0 = sim.st.t_update, sim.st.t_deliver
    t = time.perf_counter()
    sim.run(2000.0)
    wall = time.perf_counter() - t
    steps = 2000.0 / sim.h
    print(f"{mode}: wall {wall:.3f} s, update {(sim.st.t_update - u0) / steps * 1e6:.2f} us/step, "
          f"deliver {(sim.st.t_deliver - d0) / steps * 1e6:.2f} us/step (thread 0)")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.1)
