#!/usr/bin/env python
"""Issue 18 (session 16): PD14 0.1 / 0.25 on 2 ranks x 1 thread, mean predicted exchange timer (us per interval, model
rates, 1 s of model time) with a version-8 machine file's wait terms and with wait_us = wait_rel = 0.

    python analysis/wait18_nowait.py [MACHINE.toml]   (default analysis/results/wait18_s16/calib_quick_loaded2.toml)
"""
import copy
import sys

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster.measure import calibration_network
from parsnn.mapping.cluster.predict import predict

m = load_machine(sys.argv[1] if len(sys.argv) > 1 else "analysis/results/wait18_s16/calib_quick_loaded2.toml")
d = copy.deepcopy(m.data)
d["noise"]["wait_us"] = 0.0
d["noise"]["wait_rel"] = 0.0
m0 = Machine(name="no wait", data=d)
for n in (0.1, 0.25):
    c = Connectivity.from_network(calibration_network({"model": "pd14", "n_scaling": n}))
    w, w0 = (1e6 * float(np.mean(predict(c, 2, mm, t_sim_ms=1000.0, with_range=False)["per_rank"]["exchange"]))
             for mm in (m, m0))
    print(f"PD14 {n}: exchange {w:.2f} us with the wait terms, {w0:.2f} us without")
