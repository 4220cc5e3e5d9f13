"""hpc_benchmark at scale S on 1 rank (seed 1), plastic and with E->E static: per window of WIN ms, the deliver timer,
synaptic events, facilitations (post spikes read by plastic synapses) and plastic events (E spikes emitted in the
window x C_E, the E->E out-degree = in-degree), as JSON lines, for fitting the plastic cost per plastic event and per
facilitation (session 22).

    OPENBLAS_NUM_THREADS=1 python analysis/results/plastic_cost22/windows.py SCALE WIN N >> OUT.jsonl
"""
import json
import sys

import numpy as np
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network, derived


def run(scale, win, n, plastic):
    net = build_network(scale=scale, record=True, plastic=plastic)
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    sim.build()
    rows = []
    for k in range(n):
        d0, e0, f0 = sim.timers["deliver"], sim.st.n_events, int(sim.plastic.facilitations) if plastic else 0
        sim.run(win)
        rows.append({"t0": k * win, "t1": (k + 1) * win, "deliver_s": sim.timers["deliver"] - d0,
                     "events": int(sim.st.n_events - e0),
                     "facilitations": (int(sim.plastic.facilitations) - f0) if plastic else 0})
    times, _ = sim.spikes()["E"]
    e_counts = np.histogram(times, bins=np.arange(n + 1) * win)[0]
    return rows, e_counts


def main():
    scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    c_e = derived(scale)["C_E"]
    pl, e_pl = run(scale, win, n, True)
    st, e_st = run(scale, win, n, False)
    for k in range(n):
        print(json.dumps({"scale": scale, "t0": pl[k]["t0"], "t1": pl[k]["t1"], "plastic": pl[k], "static": st[k],
                          "plastic_events": int(e_pl[k]) * c_e, "e_spikes": int(e_pl[k]), "e_spikes_static": int(e_st[k])}))


if __name__ == "__main__":
    main()
