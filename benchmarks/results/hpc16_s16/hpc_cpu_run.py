"""hpc_benchmark as `parsnn run hpc_benchmark --scale S --t-sim T --seed 1 --no-record` (the CLI's own parser and
build), with the engine's CPU timers on; rank 0 prints one JSON line: the CPU seconds of the update and of the
delivery (each thread's CLOCK_THREAD_CPUTIME_ID inside the phase, summed over ranks and threads: no MPI waits in
them), their sum, the wall time of sim.run, the events and spikes, the tree it ran from (parsnn.__file__).

    cd TREE && .venv/bin/mpiexec -n 2 .venv/bin/python PATH/hpc_cpu_run.py S T_SIM
"""
import json, os, sys, time
import numpy as np
from mpi4py import MPI
import parsnn
from parsnn.cli import build_parser
from parsnn.cli.run import build_simulation

S, t_sim = sys.argv[1], sys.argv[2]
comm = MPI.COMM_WORLD
args = build_parser().parse_args(["run", "hpc_benchmark", "--scale", S, "--t-sim", t_sim, "--seed", "1",
                                  "--no-record", "--no-progress"])
sim = build_simulation(args, comm)
st = sim.st
st.cpu_timers = True
comm.Barrier()
w0 = time.perf_counter()
sim.run(float(t_sim))
wall = time.perf_counter() - w0
up = comm.reduce(float(np.sum(st.t_update_cpu)), op=MPI.SUM)
de = comm.reduce(float(np.sum(st.t_deliver_cpu)), op=MPI.SUM)
ev = comm.reduce(int(st.n_events), op=MPI.SUM)
sp = comm.reduce(int(np.sum(st.n_fired)), op=MPI.SUM)
if comm.Get_rank() == 0:
    print(json.dumps({"tree": os.path.dirname(os.path.dirname(parsnn.__file__)), "scale": float(S),
                      "t_sim": float(t_sim), "update_cpu_s": round(up, 4), "deliver_cpu_s": round(de, 4),
                      "phases_cpu_s": round(up + de, 4), "run_wall_s": round(wall, 4), "events": ev, "spikes": sp,
                      "load1": float(open("/proc/loadavg").read().split()[0])}))
