"""Lead's probe: update-only cost of a silent network of N iaf_psc_exp neurons in K populations (segments)."""
import sys, time
import numpy as np
from mpi4py import MPI
from parsnn.network import Network
from parsnn.engine import Simulation

T, K, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
tm = 1000.0
net = Network(0.1, name="silent")
for k in range(K):
    net.add_population(f"P{k}", N // K, "iaf_psc_exp", params={"I_e": 100.0})
net.metadata = {"model": "silent"}
sim = Simulation(net, seed=1, comm=MPI.COMM_WORLD, out=None, keep_spikes=False, threads=T)
sim.build()
sim.st.probe_split = int(__import__("os").environ.get("SPLIT", "0"))
sim.run(50.0)
tt0 = np.array(sim.st.t_thread).copy()
t = time.perf_counter()
sim.run(tm)
wall = time.perf_counter() - t
steps = tm / sim.h
tt = (np.array(sim.st.t_thread) - tt0) / steps * 1e6
if tt.shape[1] < 5:
    tt = np.c_[tt, np.zeros(len(tt))]
comm = MPI.COMM_WORLD
align = {k: np.asarray(getattr(sim.st, k)).ctypes.data % 64 for k in ("V", "i_ex", "r", "ring_ex")}
msg = (f"T={T} K={K} N={N} rank {comm.rank}/{comm.size}: n_loc {sim.st.n_loc} wall/step {wall/steps*1e6:.2f} us; upd wall(cpu) per thread "
       + " | ".join(f"{b:.2f}({d:.2f})" for a, b, c, _s, d in tt) + f" us/step; base mod 64 {align}")
for r in range(comm.size):
    if r == comm.rank:
        print(msg, flush=True)
    comm.Barrier()
