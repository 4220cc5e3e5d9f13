"""Peak RSS of a real multi-rank run of the multicolumn sheet (K x K columns of n_scaling S, k_scaling KS, DC drive,
block placement: each rank a band of columns) on T threads per rank, simulated T_SIM ms; rank 0 prints one JSON
line with every rank's local neurons, sub-row blocks, static pointer bytes (sub-row + delay-run pointers, and the
gid -> row index where there is one), synapses, build peak RSS and peak RSS after the run (ru_maxrss). Run it with
PYTHONPATH pointing at the tree to measure.

    PYTHONPATH=TREE mpiexec -n 2 python rss_run.py K S KS T T_SIM
"""
import json, resource, sys
import numpy as np
from mpi4py import MPI
from parsnn.engine import Simulation
from models import multicolumn

K, S, KS, T, t_sim = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
net = multicolumn.build_network(grid=K, n_scaling=S, k_scaling=KS, bg="dc", record=False)
sim = Simulation(net, seed=55, threads=T, partition="block")
sim.build()
st = sim.st
sim.run(t_sim)
ptr = sum(np.asarray(getattr(st, a)).nbytes for a in ("syn_ptr", "run_ptr", "syn_row") if hasattr(st, a))
me = {"rank": sim.rank, "local": int(st.n_loc), "B": int(st.T) * int(st.syn_W), "pointer_MB": round(ptr / 1e6, 2),
      "synapses": int(sim.num_local_synapses), "build_peak_rss_MB": round(sim.build_peak_rss / 1e6, 1),
      "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1),
      "events": int(st.n_events)}
ranks = MPI.COMM_WORLD.gather(me)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"args": sys.argv[1:], "num_nodes": net.num_nodes, "ranks": ranks}))
