#!/usr/bin/env python
"""Issue 18 (session 16): the committed Zen 5 calibration checks' 2-rank runs re-predicted with fit version 8's
engine wait (x^2 = wait_us^2 + (wait_rel busy)^2, ``[noise] wait_rel``) against fit version 7's (wait_us alone).
The checks' run files are gone, so PD14 on 2 ranks x 1 thread is predicted with the model's expected rates (as
analysis/model18_wait_form.py) and each check's own machine file: 'before' as committed (fit version 7, or 6
without a wait term), 'after' the same file with its wait_us / wait_rel replaced by a version-8 fit on the 2-rank
scatter networks (scatter8k, scatter32k, scatter128k: the calibration networks of ``parsnn calibrate``, not PD14) from a
residual file of analysis/wait18_measure.py measured on this machine. Only the 2-rank rows change (1-rank rows
have no wait between ranks: e(1) = 0). The committed prediction (measured rates) is shown beside.

    python analysis/wait18_repredict.py RESIDUALS.json [RESIDUALS.json ...] > OUT.md
    python analysis/wait18_repredict.py VERSION8_MACHINE.toml > OUT.md
"""
import copy
import json
import sys

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.machines import Machine, load_machine
from parsnn.mapping.cluster import waitfit
from parsnn.mapping.cluster.measure import calibration_network
from parsnn.mapping.cluster.predict import predict

CHECKS = ["analysis/results/calibration_check_zen5_idle_2026_12_02_s14",
          "analysis/results/calibration_check_zen5_idle_2026_12_02_s14b",
          "analysis/results/calibration_check_zen5_idle_2026_12_02_s15",
          "analysis/results/model18_s15/calibration_check_model18_b"]
FIT_ON = ("scatter8k", "scatter32k", "scatter128k")     # (those a residual file has)
CONNS = {}


def fit(paths):
    """Version 8's (wait_us, wait_rel) from the residual files' scatter points (all files pooled), or as a version-8
    machine file (one path ending in .toml) has them (``[noise] wait_us``, ``wait_rel``: what `parsnn calibrate` fitted)."""
    if len(paths) == 1 and paths[0].endswith(".toml"):
        noise = load_machine(paths[0]).data["noise"]
        return {"wait_us": float(noise["wait_us"]), "wait_rel": float(noise["wait_rel"])}, []
    pts = []
    for p in paths:
        runs = json.load(open(p))["runs"]
        pts += [(runs[n]["residual"]["busy_us"], runs[n]["residual"]["x_us"]) for n in FIT_ON if n in runs]
    return waitfit.wait_constants(pts), pts


def prediction(mach, n_scaling):
    if n_scaling not in CONNS:
        CONNS[n_scaling] = Connectivity.from_network(calibration_network({"model": "pd14", "n_scaling": n_scaling}))
    p = predict(CONNS[n_scaling], 2, mach, t_sim_ms=1000.0, with_range=False)
    return 1e6 * float(np.mean(p["per_rank"]["exchange"])), float(p["rtf"])


def main():
    w, pts = fit(sys.argv[1:])
    print(f"Version-8 wait fitted on {', '.join(FIT_ON)} on 2 ranks ({', '.join(sys.argv[1:])}): points (busy us, x us) "
          f"{', '.join(f'({b:.1f}, {x:.2f})' for b, x in pts)} -> wait_us {w['wait_us']:.3f} us, wait_rel {w['wait_rel']:.4f}.\n")
    print("'before' / 'after': model rates, the check's machine file without / with version 8's wait; 'committed + d': "
          "the check's committed prediction (its runs' measured rates) plus (after - before).\n")
    print("| check | PD14 n_scaling | exchange us: measured / committed pred. / before / after / committed + d | "
          "RTF: measured / committed pred. / before / after / committed + d | exchange error: committed -> committed + d "
          "(model rates: before -> after) | RTF error: committed -> committed + d |")
    print("|---|---|---|---|---|---|")
    for base in CHECKS:
        d = json.load(open(base + ".json"))
        old = load_machine(base + ".toml")
        data = copy.deepcopy(old.data)
        data.setdefault("noise", {}).update(wait_us=w["wait_us"], wait_rel=w["wait_rel"])
        new = Machine(name=old.name + " v8 wait", data=data)
        for r in d["rows"]:
            if r["ranks"] != 2 or r["threads"] != 1:
                continue
            n = r["n_scaling"]
            (xb, fb), (xa, fa) = prediction(old, n), prediction(new, n)
            xm, fm = r["phases_measured_us"]["exchange"], r["rtf_measured"]
            xc, fc = r["phases_predicted_us"]["exchange"], r["rtf_predicted"]
            xd, fd = xc + xa - xb, fc + fa - fb
            print(f"| {base.split('/')[-1]} | {n} | {xm:.1f} / {xc:.1f} / {xb:.1f} / {xa:.1f} / {xd:.1f} | "
                  f"{fm:.3f} / {fc:.3f} / {fb:.3f} / {fa:.3f} / {fd:.3f} | {100 * (xc / xm - 1):+.0f} % -> "
                  f"{100 * (xd / xm - 1):+.0f} % ({100 * (xb / xm - 1):+.0f} % -> {100 * (xa / xm - 1):+.0f} %) | "
                  f"{100 * (fc / fm - 1):+.0f} % -> {100 * (fd / fm - 1):+.0f} % |")


if __name__ == "__main__":
    main()
