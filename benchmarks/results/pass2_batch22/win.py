import sys, time, json
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, pre, win = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
comm = MPI.COMM_WORLD
sim = Simulation(build_network(scale=scale, record=False), seed=1, threads=threads, comm=comm); sim.build()
sim.run(pre); comm.Barrier()
d0 = sim.timers["deliver"]; t = time.perf_counter(); sim.run(win); comm.Barrier(); w = time.perf_counter() - t
r = comm.gather((w, sim.timers["deliver"] - d0), root=0)
if comm.rank == 0: print("WIN", json.dumps({"wall": max(x[0] for x in r), "deliver": max(x[1] for x in r)}))
