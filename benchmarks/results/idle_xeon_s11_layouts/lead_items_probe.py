"""Lead probe (session 11): the silent K-population update on 1 x 2 with the threads' split points at
multiples of ITEMS local indices (16 = the engine's default). Usage: python items_probe.py ITEMS K [T]"""
import json, sys
import numpy as np
from parsnn.engine import decomposition
items, K = int(sys.argv[1]), int(sys.argv[2])
T = int(sys.argv[3]) if len(sys.argv) > 3 else 2
decomposition.thread_owners.__defaults__ = (items,)
from parsnn.engine import Simulation
from parsnn.network import Network
net = Network(0.1, name="silent")
for k in range(K):
    net.add_population(f"P{k}", 19296 // K, "iaf_psc_exp", params={"I_e": 100.0})
net.metadata = {"model": "silent"}
sim = Simulation(net, seed=1, comm=None, out=None, keep_spikes=False, threads=T)
sim.build()
sim.st.cpu_timers = True
sim.run(50.0)
t0 = np.array(sim.st.t_thread)[:, 1].copy()
sim.run(1000.0)
per = (np.array(sim.st.t_thread)[:, 1] - t0) / 10000 * 1e6
own = np.bincount(np.asarray(sim.st.owner), minlength=T).tolist()
print(json.dumps({"items": items, "K": K, "T": T, "update_us_per_step": [round(x, 2) for x in per], "owned": own}))
