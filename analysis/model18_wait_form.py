#!/usr/bin/env python
"""Issue 18 (session 15): the form of the engine's own wait between ranks (``[noise] wait_us``, fit version 7),
absolute or relative to a rank's work, checked on the two idle Zen 5 calibration checks of session 14
(analysis/results/calibration_check_zen5_idle_2026_12_02_s14{,b}.md: 2 x 1 exchange 10.0 / 11.5 us and 7.6 / 10.1 us
per interval at PD14 0.1 / 0.25). Their run files are gone, so PD14 on 2 ranks x 1 thread is predicted with the model's
expected rates and each check's own machine file (fit version 6: no wait term) plus the extra fluctuation, added in
quadrature to noisebench's: absolute (``sigma_us`` -> hypot(sigma_us, a)) or relative (``wait_rel`` x busy). The value
that gives the measured exchange at 0.1 (as ``parsnn calibrate`` fits it on PD14 0.1) is then used at 0.25.

    python analysis/model18_wait_form.py
"""
import copy
import math

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster import predict
from parsnn.mapping.cluster.measure import calibration_network

CHECKS = {"s14": {0.1: 10.0, 0.25: 11.5}, "s14b": {0.1: 7.6, 0.25: 10.1}}   # measured us per interval, mean of 2 ranks
CONNS = {}


def exchange_us(path: str, n_scaling: float, form: str, x: float) -> float:
    """Mean predicted exchange timer (us per interval) of PD14 ``n_scaling`` on 2 ranks with the extra term."""
    data = copy.deepcopy(load_machine(path).data)
    if form == "relative":                      # sigma^2 += (x busy)^2, in place of the absolute term
        data["noise"]["sigma_rel"] = math.hypot(data["noise"]["sigma_rel"], x)
    else:                                       # sigma^2 += x^2 (us): [noise] wait_us
        data["noise"]["wait_us"] = x
    if n_scaling not in CONNS:
        CONNS[n_scaling] = Connectivity.from_network(calibration_network({"model": "pd14", "n_scaling": n_scaling}))
    p = predict(CONNS[n_scaling], 2, Machine(name="m", data=data), t_sim_ms=1000.0, with_range=False)
    return 1e6 * float(np.mean(p["per_rank"]["exchange"]))


def fit(path: str, form: str, target: float) -> float:
    """The extra term that gives ``target`` us at PD14 0.1 (bisection)."""
    lo, hi = 0.0, (3.0 if form == "relative" else 100.0)
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if exchange_us(path, 0.1, form, mid) < target else (lo, mid)
    return (lo + hi) / 2


def main():
    print("| check | form | fitted at PD14 0.1 | PD14 0.25 2 x 1 exchange: measured / without / with (error) |")
    print("|---|---|---|---|")
    for tag, meas in CHECKS.items():
        path = f"analysis/results/calibration_check_zen5_idle_2026_12_02_{tag}.toml"
        for form in ("absolute", "relative"):
            x = fit(path, form, meas[0.1])
            without, with_ = exchange_us(path, 0.25, form, 0.0), exchange_us(path, 0.25, form, x)
            unit = "us" if form == "absolute" else "x busy"
            print(f"| {tag} | {form} | {x:.3f} {unit} | {meas[0.25]} / {without:.1f} / {with_:.1f} "
                  f"({100 * (with_ / meas[0.25] - 1):+.0f} %) |")


if __name__ == "__main__":
    main()
