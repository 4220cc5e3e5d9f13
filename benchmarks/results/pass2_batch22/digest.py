import sys, hashlib, numpy as np
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, t = float(sys.argv[1]), float(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
sim = Simulation(build_network(scale=scale, record=True), seed=3, threads=threads, comm=MPI.COMM_WORLD); sim.build(); sim.run(t)
W = sim.weights(); S = sim.spikes(); P = sim.performance()
if MPI.COMM_WORLD.rank == 0:
    h = hashlib.sha256()
    for k in sorted(W):
        for a in W[k]: h.update(np.ascontiguousarray(a).tobytes())
    hs = hashlib.sha256()
    nsp = 0
    for k in sorted(S):
        for a in S[k]: hs.update(np.ascontiguousarray(a).tobytes())
        nsp += len(S[k][0])
    print("W", h.hexdigest()[:16], "S", hs.hexdigest()[:16], "spikes", nsp, "fac", P.get("plastic_facilitations") if isinstance(P, dict) else None)
