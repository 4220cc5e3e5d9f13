"""hpc_benchmark at scale S on 1 rank, plastic: per window, deliver ns per event, spikes, archive lengths, the share of
weights still at their initial value (the pow memo's fixed entry)."""
import sys
import numpy as np
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
net = build_network(scale=scale, record=False)
if len(sys.argv) > 4:          # E->E initial weights drawn: Normal(J, SPREAD x J) instead of all J
    from parsnn.network import Uniform
    q = [p for p in net.projections if p.name == "E->E"][0]
    J = float(q.weight)
    a = float(sys.argv[4]); q.weight = Uniform(J * (1 - a), J * (1 + a))
sim = Simulation(net, seed=1, comm=MPI.COMM_WORLD)
sim.build()
w = np.asarray(sim.plastic.state.arrays["w"])
w0 = w[0]
for k in range(n):
    d0, e0, s0 = sim.timers["deliver"], sim.st.n_events, int(sim.st.n_delivered_spikes)
    sim.run(win)
    counts = sim.plastic.state.history()[0]
    w = np.asarray(sim.plastic.state.arrays["w"])
    print(f"{k * win:.0f}-{(k + 1) * win:.0f} ms: {(sim.timers['deliver'] - d0) / max(sim.st.n_events - e0, 1) * 1e9:.2f} ns/event, "
          f"spikes {int(sim.st.n_delivered_spikes) - s0}, archive mean {counts[counts > 0].mean():.1f} max {counts.max()}, "
          f"weights at the initial value {np.mean(w == w0):.3f}", flush=True)
