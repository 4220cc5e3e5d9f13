"""Probe (worktree with pass_cycles_probe.patch): hpc_benchmark at scale S on 1 rank, per window: the deliver timer per
plastic event and the TSC cycles per plastic event in parsnn_row's passes 1-3 (the TSC ticks at the nominal 2.6 GHz here)."""
import json, sys, time
from mpi4py import MPI
from parsnn import _engine
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
sim = Simulation(build_network(scale=scale, record=False), seed=1, comm=MPI.COMM_WORLD)
sim.build()
for k in range(n):
    d0, e0, f0, p0, w0 = sim.timers["deliver"], sim.st.n_events, sim.plastic.facilitations, _engine.probe_cycles(), time.perf_counter()
    sim.run(win)
    w1, p1 = time.perf_counter(), _engine.probe_cycles()
    pe = 0.64 * (sim.st.n_events - e0)
    cyc = [(b - a) / pe for a, b in zip(p0, p1)]
    print(json.dumps({"scale": scale, "t0": k * win, "deliver_ns_per_plastic_event": (sim.timers["deliver"] - d0) / pe * 1e9,
                      "facilitations_per_plastic_event": (sim.plastic.facilitations - f0) / pe,
                      "cycles_per_plastic_event_pass1_2_3": cyc, "wall_s": w1 - w0}), flush=True)
