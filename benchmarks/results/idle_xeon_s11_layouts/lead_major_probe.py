"""Lead probe (session 11): silent K-population update on 1 x 2 with THREAD-MAJOR ownership: thread 0 owns
the first K/2 populations whole, thread 1 the rest (one meeting place in all), against the engine's
split of every population. Usage: python major_probe.py K [split|major]"""
import json, sys
import numpy as np
from parsnn.engine import decomposition
K, mode = int(sys.argv[1]), sys.argv[2]
if mode == "major":
    def owners(pop_local, n, threads, items=16):
        owner = np.zeros(n, dtype=np.int32)
        bounds = sorted(b for a, b in pop_local.values() if b > a)
        cut = min(bounds, key=lambda b: abs(b - n / 2))
        owner[cut:] = 1
        toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)
        return owner, toff
    decomposition.thread_owners = owners
from parsnn.engine import Simulation
from parsnn.network import Network
net = Network(0.1, name="silent")
for k in range(K):
    net.add_population(f"P{k}", 19296 // K, "iaf_psc_exp", params={"I_e": 100.0})
net.metadata = {"model": "silent"}
sim = Simulation(net, seed=1, comm=None, out=None, keep_spikes=False, threads=2)
sim.build()
sim.run(50.0)
t0 = np.array(sim.st.t_thread)[:, 1].copy()
sim.run(1000.0)
per = (np.array(sim.st.t_thread)[:, 1] - t0) / 10000 * 1e6
print(json.dumps({"K": K, "mode": mode, "update_us_per_step": [round(x, 2) for x in per],
                  "owned": np.bincount(np.asarray(sim.st.owner), minlength=2).tolist()}))
