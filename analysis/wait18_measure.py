#!/usr/bin/env python
"""Issue 18 (session 16): what the 2 x 1 exchange timer holds beyond the model, on 2-rank runs of several
sizes (PD14 0.1 / 0.25, the calibration's scatter networks, Brunel A 0.5), measured in one launch as
``parsnn calibrate`` runs them (warm-up, segments, --mpi-wait sleep). For each run: the ranks' busy time
(update + deliver + pack, the model's), the mean exchange timer measured (less rank 0's record timer) and
predicted with ``[noise] wait_us`` = 0 (MACHINE's constants), their difference w and the extra fluctuation it
implies (sigma_x, us: e(2) (sqrt(sigma^2 + x^2) - sigma) = w), and x / busy. Load logged.

    python analysis/wait18_measure.py MACHINE.toml OUT.json [quick|full] [sleep|poll|yield]

(the wait policy: 'sleep', the engine's default, as the calibration runs; 'poll' to see how much of the excess
is the sleeping rank's wake-up)
"""
import json
import os
import sys
import time

import numpy as np

from parsnn.machines import load_machine
from parsnn.mapping.cluster import measure, waitfit
from parsnn.mapping.cluster.calibrate import MODES, _timed

RUNS = {"pd14_0.1": ({"model": "pd14", "n_scaling": 0.1}, "pd14"),
        "pd14_0.25": ({"model": "pd14", "n_scaling": 0.25}, "pd14"),
        "scatter8k": ({"model": "scatter", "targets": 8000, "row": 2048, "sources": 2500, "prefetch": 128}, "scatter"),
        "scatter32k": ({"model": "scatter", "targets": 32000, "row": 2048, "sources": 2500, "prefetch": 128}, "scatter"),
        "scatter128k": ({"model": "scatter", "targets": 128000, "row": 2048, "sources": 2500, "prefetch": 128}, "scatter"),
        "brunel_A0.5": ({"model": "brunel", "regime": "A", "scale": 0.5}, "brunel")}


def main():
    mach, out = load_machine(sys.argv[1]), sys.argv[2]
    cfg = MODES[sys.argv[3] if len(sys.argv) > 3 else "quick"]
    wait = sys.argv[4] if len(sys.argv) > 4 else "sleep"
    names = list(RUNS)
    load0, t0, c0 = os.getloadavg()[0], time.time(), time.process_time()
    recs = measure.launch([_timed(RUNS[n][0], cfg["t"][RUNS[n][1]], cfg, wait) for n in names], 2)
    rows = {}
    for n, rec in zip(names, recs):
        rows[n] = {"residual": waitfit.wait_residual(rec, mach), "busy_cores_before": rec.get("busy_cores_before"),
                   "intervals": rec["intervals"]}
        print(n, json.dumps(rows[n]["residual"]))
    res = {"machine": sys.argv[1], "mpi_wait": wait, "load1_before": load0, "load1_after": os.getloadavg()[0],
           "wall_s": time.time() - t0, "runs": rows}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
