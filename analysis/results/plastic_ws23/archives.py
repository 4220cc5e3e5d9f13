"""hpc_benchmark at scale S on 1 rank (seed 1, plastic): after every window of WIN ms, the postsynaptic archives'
entries per E neuron (mean, 90th percentile, max) and their bytes (24 per entry: stamp + counter + Kminus), with the
window's deliver time and facilitations (session 23: does a facilitation's cost follow the archives' size?).

    OPENBLAS_NUM_THREADS=1 python analysis/results/plastic_ws23/archives.py SCALE WIN N >> OUT.jsonl
"""
import json
import sys

import numpy as np
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network


def main():
    scale, win, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    net = build_network(scale=scale, record=False, plastic=True)
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    sim.build()
    n_e = net.populations["E"].size
    for k in range(n):
        d0, e0, f0 = sim.timers["deliver"], sim.st.n_events, int(sim.plastic.facilitations)
        sim.run(win)
        counts = np.asarray(sim.plastic.state.history()[0])[:n_e]
        print(json.dumps({"scale": scale, "t0": k * win, "t1": (k + 1) * win, "deliver_s": sim.timers["deliver"] - d0,
                          "events": int(sim.st.n_events - e0), "facilitations": int(sim.plastic.facilitations) - f0,
                          "entries_mean": float(counts.mean()), "entries_p90": float(np.percentile(counts, 90)),
                          "entries_max": int(counts.max()), "archive_mib": float(counts.sum() * 24 / 2 ** 20)}), flush=True)


if __name__ == "__main__":
    main()
