"""scatter_structure20/huge_page_probe_19292.py at prefetch 128 with the r4096 network added (session 24): per network
(one process, built one after the other), ns per event after 100 ms, the process's Anonymous / AnonHugePages growth.
    python analysis/results/delivery_bias24/huge_page_now.py"""
import gc, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from scatter_structure_probe import scatter_k, pd14
from mpi4py import MPI
from parsnn.engine import Simulation
def kib(key):
    for l in open("/proc/self/smaps_rollup"):
        if l.startswith(key): return int(l.split()[1])
for rep in range(2):
    for name, make in (("scatter_r2048", lambda: scatter_k(19292, 1)), ("scatter_r4096", lambda: scatter_k(19292, 1, row=4096, n_s=1250)),
                       ("pd14_0.25", lambda: pd14(0.25))):
        a0, h0 = kib("Anonymous:"), kib("AnonHugePages:")
        sim = Simulation(make(), seed=55, comm=MPI.COMM_WORLD, keep_spikes=False, prefetch=128)
        sim.build(); sim.run(100.0)
        d0, e0 = sim.timers["deliver"], sim.st.n_events
        sim.run(300.0)
        ns = (sim.timers["deliver"] - d0) / (sim.st.n_events - e0) * 1e9
        a1, h1 = kib("Anonymous:"), kib("AnonHugePages:")
        print(rep, name, "ns/event %.3f" % ns, "anon +%d MiB, of it huge +%d MiB" % ((a1 - a0) // 1024, (h1 - h0) // 1024), flush=True)
        del sim; gc.collect()
