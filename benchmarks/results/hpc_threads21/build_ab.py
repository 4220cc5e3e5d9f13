import hashlib, json, sys, time
import numpy as np
from mpi4py import MPI
import parsnn
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
T = int(sys.argv[1])
sim = Simulation(build_network(scale=float(sys.argv[2]) if len(sys.argv) > 2 else 1.0, record=False), seed=1,
                 comm=MPI.COMM_WORLD, threads=T)
t0 = time.perf_counter(); sim.build(); b = time.perf_counter() - t0
h = hashlib.sha256()
for name in sorted(sim.plastic.arrays):
    a = np.asarray(sim.plastic.arrays[name]); h.update(name.encode()); h.update(np.ascontiguousarray(a).tobytes())
print(json.dumps({"path": parsnn.__file__, "threads": T, "build_s": b, "store_sha": h.hexdigest()[:16]}))
