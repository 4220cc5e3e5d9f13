"""Probe (worktree with counters_probe.patch): hpc_benchmark at scale S on 1 rank, plastic and static twins, per window:
deliver ns per event, plastic events, facilitations, pow computations, slow-path synapses and entries, Kminus searches."""
import json, sys
from mpi4py import MPI
from parsnn import _engine
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
static = []
sim = Simulation(build_network(scale=scale, record=False, plastic=False), seed=1, comm=MPI.COMM_WORLD)
sim.build()
for k in range(n):
    d0, e0 = sim.timers["deliver"], sim.st.n_events
    sim.run(win)
    static.append((sim.timers["deliver"] - d0) / (sim.st.n_events - e0))
del sim
sim = Simulation(build_network(scale=scale, record=False), seed=1, comm=MPI.COMM_WORLD)
sim.build()
desc_share = None
for k in range(n):
    d0, e0, f0, c0 = sim.timers["deliver"], sim.st.n_events, sim.plastic.facilitations, _engine.probe_counters()
    sim.run(win)
    ev = sim.st.n_events - e0
    c1 = _engine.probe_counters()
    pw, slow, sent, ks = (b - a for a, b in zip(c0, c1))
    rec = {"scale": scale, "t0": k * win, "t1": (k + 1) * win, "deliver_s": sim.timers["deliver"] - d0, "events": ev,
           "plastic_events": 0.64 * ev, "static_ns": static[k] * 1e9, "facilitations": sim.plastic.facilitations - f0,
           "pow": pw, "slow": slow, "slow_entries": sent, "kminus_search": ks}
    print(json.dumps(rec), flush=True)
