"""hpc_benchmark at scale S on 1 rank (seed 1, plastic): per window of WIN ms the deliver time, synaptic events,
plastic events (E spikes x C_E), facilitations and history windows (facilitation windows that searched the target's
post-spike history: ``Simulation.plastic.history_windows``, session 23), as JSON lines; then, with the static cost
per event of session 22's static run of the same scale (``--static FILE``: a windows.py file), the plastic extra
fitted with two terms (per plastic event, per facilitation) and with three (+ per history window).

    OPENBLAS_NUM_THREADS=1 python analysis/results/plastic_ws23/history_windows.py SCALE WIN N --static FILE > OUT.jsonl
"""
import argparse
import json
import sys

import numpy as np
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network, derived


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scale", type=float)
    ap.add_argument("win", type=float)
    ap.add_argument("n", type=int)
    ap.add_argument("--static", required=True)
    a = ap.parse_args()
    sim = Simulation(build_network(scale=a.scale, record=True, plastic=True), seed=1, comm=MPI.COMM_SELF)
    sim.build()
    rows = []
    for k in range(a.n):
        d0, e0 = sim.timers["deliver"], sim.st.n_events
        f0, h0 = sim.plastic.facilitations, sim.plastic.history_windows
        sim.run(a.win)
        rows.append({"scale": a.scale, "t0": k * a.win, "t1": (k + 1) * a.win, "deliver_s": sim.timers["deliver"] - d0,
                     "events": int(sim.st.n_events - e0), "facilitations": sim.plastic.facilitations - f0,
                     "history_windows": sim.plastic.history_windows - h0})
    times, _ = sim.spikes()["E"]
    e = np.histogram(times, bins=np.arange(a.n + 1) * a.win)[0]
    static = [json.loads(line) for line in open(a.static)]
    c_static = float(np.median([r["static"]["deliver_s"] / r["static"]["events"] for r in static
                                if r["static"]["events"] >= 1e5]))
    for k, r in enumerate(rows):
        r["plastic_events"] = int(e[k]) * derived(a.scale)["C_E"]
        r["extra_s"] = r["deliver_s"] - c_static * r["events"]
        print(json.dumps(r))
    use = [r for r in rows if r["plastic_events"] > 0]
    y = np.array([r["extra_s"] for r in use])
    for cols in (("plastic_events", "facilitations"), ("plastic_events", "facilitations", "history_windows")):
        A = np.array([[r[c] for c in cols] for r in use], dtype=float)
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        resid = np.round(100 * (A @ coef / y - 1), 1).tolist()
        print(json.dumps({"fit": list(cols), "ns": np.round(coef * 1e9, 2).tolist(), "static_ns": round(c_static * 1e9, 3),
                          "residual_percent": resid}), file=sys.stderr)


if __name__ == "__main__":
    main()
