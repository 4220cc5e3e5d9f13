"""Where the memory of the first run() goes (issue 13, part b): multicolumn K x K sheet (n_scaling S, k_scaling
KS, DC, block placement) on T threads, 1 rank (or mpiexec -n R); prints per rank VmRSS / VmHWM (MB) after build,
after run(T_SIM) and the top Python allocations (tracemalloc, numpy buffers included) made during run()
that are still alive, and tracemalloc's peak during run().

    .venv/bin/python benchmarks/results/mem13_s16/run_probe.py K S KS T T_SIM [PREFETCH]

PREFETCH: "auto" (default: the cache, else tuned on the first run()) or a distance (no tuning); PARSNN cache
location as the engine's (parsnn.engine.prefetch.cache_path; with PARSNN_PREFETCH_CACHE unset the user's).
"""
import json
import sys
import tracemalloc
import warnings

warnings.simplefilter("ignore")
sys.path.insert(0, ".")
from mpi4py import MPI  # noqa: E402

from models import multicolumn  # noqa: E402
from parsnn.engine import Simulation  # noqa: E402


def status():
    d = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            d[k] = round(int(v.split()[0]) / 1024, 1)
    return d


K, S, KS, T, t_sim = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
net = multicolumn.build_network(grid=K, n_scaling=S, k_scaling=KS, bg="dc", record=False)
pf = sys.argv[6] if len(sys.argv) > 6 else "auto"
sim = Simulation(net, seed=55, threads=T, partition="block", prefetch=pf if pf == "auto" else int(pf))
sim.build()
after_build = status()
tracemalloc.start(25)
snap0 = tracemalloc.take_snapshot()
sim.run(t_sim)
_, peak = tracemalloc.get_traced_memory()
snap1 = tracemalloc.take_snapshot()
after_run = status()
top = [dict(where=str(s.traceback[-1]) + " <- " + " <- ".join(str(f) for f in list(s.traceback)[-4:-1]),
            MB=round(s.size_diff / 1e6, 2)) for s in snap1.compare_to(snap0, "traceback")[:6]]
sim.run(t_sim)
after_run2 = status()
me = dict(rank=MPI.COMM_WORLD.rank, after_build=after_build, after_run=after_run, after_second_run=after_run2,
          traced_peak_during_run_MB=round(peak / 1e6, 2), top_alive=top[:2], prefetch=sim.prefetch_info,
          rings_MB=round(int(sim.st.D) * int(sim.st.ring_n) * 8 * (1 if sim.st.one_ring else 2) / 1e6, 2))
out = MPI.COMM_WORLD.gather(me)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"args": sys.argv[1:], "num_nodes": net.num_nodes, "ranks": out}))
