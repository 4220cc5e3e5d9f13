"""Probe (worktree fac21): per window, ns per event, plastic events, facilitations, synapses with post spikes in window."""
import sys
import numpy as np
from mpi4py import MPI
from parsnn import _engine
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
net = build_network(scale=scale, record=False)
sim = Simulation(net, seed=1, comm=MPI.COMM_WORLD)
sim.build()
for k in range(n):
    d0, e0 = sim.timers["deliver"], sim.st.n_events
    c0 = _engine.probe_counters()
    sim.run(win)
    c1 = _engine.probe_counters()
    ev = sim.st.n_events - e0
    pl = 0.64 * ev
    nf, fac, slow = (b - a for a, b in zip(c0, c1))
    print(f"{k * win:.0f}-{(k + 1) * win:.0f} ms: {(sim.timers['deliver'] - d0) / ev * 1e9:.2f} ns/event, events {ev / 1e6:.1f}M, "
          f"synapses in window / plastic event {nf / pl:.3f}, facilitations / plastic event {fac / pl:.3f}, slow path {slow / pl:.4f}", flush=True)
