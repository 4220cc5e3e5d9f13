"""hpc_benchmark at scale S, seed 1, no recording: per rank and thread, the delivery, update, wait and serial seconds
and the synaptic events of run(T) after a 50 ms warm-up (with the engine's CPU timers), as one JSON line.

    mpiexec -n R python thread_probe.py S T THREADS [split | major | cut=FRACTION]

``cut=F`` (2 threads): the owner blocks cut at the multiple of 16 nearest F x n (benchmarks/thread_balance_probe.py's
_fixed_cut), in place of the engine's rule; ``split`` / ``major``: that owner rule."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
from parsnn_pd14 import _thread_figures
scale, tsim, threads = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
kw = {"threads": threads}
if len(sys.argv) > 4:
    if sys.argv[4].startswith("cut="):
        from thread_balance_probe import _fixed_cut
        from parsnn.engine import decomposition
        from parsnn.engine import synapses as engine_synapses
        decomposition.thread_owners = engine_synapses.thread_owners = _fixed_cut(float(sys.argv[4][4:]))
    else:
        kw["thread_owners"] = sys.argv[4]
sim = Simulation(build_network(scale=scale, record=False), seed=1, comm=MPI.COMM_WORLD, **kw)
sim.build()
sim.st.cpu_timers = True
sim.run(50.0)
th0 = _thread_figures(sim)
MPI.COMM_WORLD.Barrier()
w0 = time.perf_counter()
sim.run(tsim)
wall = time.perf_counter() - w0
fig = MPI.COMM_WORLD.gather(_thread_figures(sim, th0), root=0)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"ranks": MPI.COMM_WORLD.size, "threads": threads, "wall": wall, "rtf": wall / tsim * 1e3,
                      "per_rank_threads": fig}))
