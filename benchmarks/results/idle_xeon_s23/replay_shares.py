"""PD14 (DC, seed 55) on 1 rank with K thread shares (argv: K [n_scaling]), 600 ms, spikes kept from 100 ms:
the events each share delivers in every step (benchmarks/layout_replay.py's per_step_events), saved to
/work/s23tmp/shares_K{K}_n{scaling}.npz for replay_shares_schedule.py / replay_shares_groupings.py (session 23)."""
import sys, json, numpy as np
sys.path.insert(0, "benchmarks")
from layout_replay import recorded_spikes, step_pointers, per_step_events
from parsnn.engine import Simulation
from parsnn.models import pd14
K = int(sys.argv[1]); ns_ = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25
net = pd14.build_network(n_scaling=ns_, k_scaling=1.0, bg="dc", record=True)
sim = Simulation(net, seed=55, comm=None, partition="round_robin", out=None, keep_spikes=True, progress=False, threads=K)
sim.run(600.0)
ids, steps = recorded_spikes(sim, 100.0)
s0, nst, ptr = step_pointers(steps)
ev = per_step_events(sim.st, ids, ptr, K)
nspk = np.diff(ptr)
toff = np.asarray(sim.st.toff)
np.savez(f"/work/s23tmp/shares_K{K}_n{ns_}.npz", ev=ev, nspk=nspk, toff=toff)
print(K, ev.sum(axis=1), toff)
