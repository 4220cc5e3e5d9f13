"""One side of an A/B comparison of hpc_benchmark's simulation phase (issue 15).

    mpiexec -n P python benchmarks/hpc_phase_run.py SCALE T_SIM_MS

Builds hpc_benchmark (seed 1, no recording), then times ``run(T_SIM_MS)`` only. Rank 0 prints one line
``ABRES {json}``: wall and process CPU seconds of the run (max over ranks), ``cpu_sum`` (CPU summed over
ranks) and the engine's phase timers (update, exchange, deliver; max over ranks). Run it from two
checkouts (each with its own venv) alternately or side by side, and compare pair by pair.
"""
import json
import sys
import time

from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network


def main():
    """Build, time the run, print the ABRES line on rank 0."""
    scale, tsim = float(sys.argv[1]), float(sys.argv[2])
    sim = Simulation(build_network(scale=scale, record=False), seed=1, comm=MPI.COMM_WORLD)
    sim.build()
    MPI.COMM_WORLD.Barrier()
    w0, c0 = time.perf_counter(), time.process_time()
    sim.run(tsim)
    w1, c1 = time.perf_counter(), time.process_time()
    rec = {"wall": w1 - w0, "cpu": c1 - c0, **{k: sim.timers[k] for k in ("update", "exchange", "deliver")}}
    allr = MPI.COMM_WORLD.gather(rec, root=0)
    if MPI.COMM_WORLD.rank == 0:
        out = {k: max(r[k] for r in allr) for k in rec}
        out["cpu_sum"] = sum(r["cpu"] for r in allr)
        print("ABRES " + json.dumps(out))


if __name__ == "__main__":
    main()
