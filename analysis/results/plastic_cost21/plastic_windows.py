"""hpc_benchmark at scale S on 1 rank: deliver ns per event in consecutive windows, plastic and static E->E."""
import json, sys
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
out = {}
for static in (False, True):
    sim = Simulation(build_network(scale=scale, record=False, plastic=not static), seed=1, comm=MPI.COMM_WORLD)
    sim.build()
    rows = []
    for k in range(n):
        d0, e0, s0 = sim.timers["deliver"], sim.st.n_events, int(sim.st.n_delivered_spikes)
        sim.run(win)
        rows.append(((sim.timers["deliver"] - d0) / max(sim.st.n_events - e0, 1) * 1e9, int(sim.st.n_delivered_spikes) - s0))
    out["static" if static else "plastic"] = rows
    del sim
for k in range(n):
    p, s = out["plastic"][k][0], out["static"][k][0]
    print(f"scale {scale} window {k * win:.0f}-{(k + 1) * win:.0f} ms: plastic run {p:.2f} ns/event, static run {s:.2f}, "
          f"extra per plastic event (0.64 share) {(p - s) / 0.64:.2f} ns; spikes {out['plastic'][k][1]} / {out['static'][k][1]}")
