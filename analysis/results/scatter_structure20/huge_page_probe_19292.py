import sys, gc; import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import scatter_k, pd14
from mpi4py import MPI
from parsnn.engine import Simulation
def kib(key):
    for l in open("/proc/self/smaps_rollup"):
        if l.startswith(key): return int(l.split()[1])
for rep in range(2):
    for name, make in (("scatter", lambda: scatter_k(19292, 1)), ("pd14_0.25", lambda: pd14(0.25))):
        a0, h0 = kib("Anonymous:"), kib("AnonHugePages:")
        sim = Simulation(make(), seed=55, comm=MPI.COMM_WORLD, keep_spikes=False, prefetch=0)
        sim.build(); sim.run(100.0)
        d0, e0 = sim.timers["deliver"], sim.st.n_events
        sim.run(300.0)
        ns = (sim.timers["deliver"] - d0) / (sim.st.n_events - e0) * 1e9
        a1, h1 = kib("Anonymous:"), kib("AnonHugePages:")
        import numpy as np; rr = np.asarray(sim.st.ring_ex); ring = rr.nbytes
        print(rep, name, "ns/event %.3f" % ns, "anon +%d MiB, of it huge +%d MiB" % ((a1 - a0) // 1024, (h1 - h0) // 1024),
              "ring %.1f MiB" % (ring / 2**20), "ring start mod 2 MiB: %d" % (rr.ctypes.data % (2 << 20)), flush=True)
        del sim; gc.collect()
