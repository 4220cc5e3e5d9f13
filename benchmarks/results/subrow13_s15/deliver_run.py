"""PD14 at n_scaling S (seed 55, 1 rank, T threads): build, then simulate T_SIM ms with the engine's CPU timers on;
prints one JSON line: the synaptic events, the spikes, every thread's delivery CPU seconds (st.t_deliver_cpu) and their sum per event, the static
table's pointer bytes. For callgrind (instruction counts of _deliver_thread / _prepare_delivery) and CPU A/B pairs
of two trees (PYTHONPATH=TREE).

    PYTHONPATH=TREE OMP_NUM_THREADS=T python deliver_run.py S T T_SIM
"""
import json, resource, sys, time
import numpy as np
from mpi4py import MPI
from parsnn.engine import Simulation
from models import pd14

S, T, t_sim = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sim = Simulation(pd14.build_network(n_scaling=S, record=True), seed=55, threads=T, comm=MPI.COMM_SELF)
sim.build()
st = sim.st
st.cpu_timers = True
c0 = time.process_time()
sim.run(t_sim)
run_cpu = time.process_time() - c0
spk = sim.spikes()
n = int(sum(t.size for t, _ in spk.values()))
ptr_bytes = sum(np.asarray(getattr(st, a)).nbytes for a in ("syn_ptr", "run_ptr", "syn_row") if hasattr(st, a))
print(json.dumps({"n_scaling": S, "threads": T, "t_sim": t_sim, "events": int(st.n_events), "spikes": n,
                  "deliver_cpu_s_threads": [round(float(x), 4) for x in np.asarray(st.t_deliver_cpu)],
                  "deliver_cpu_ns_per_event": round(float(np.sum(st.t_deliver_cpu)) * 1e9 / max(int(st.n_events), 1), 3),
                  "run_process_cpu_s": round(run_cpu, 3), "pointer_bytes": int(ptr_bytes),
                  "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
