"""Fit a plastic event's extra cost (ns per plastic event above a static one, 0.64 of the events plastic) to counted
quantities per plastic event over the windows of count_windows_xeon_m167_s21.jsonl (count_windows.py against a worktree
with counters_probe.patch): facilitations, pow computations (the memo missed), history entries scanned on the archive
search. Prints each model's coefficients (ns) and errors, and the scale-1 windows predicted from a fit on scales
0.05 and 0.25 only."""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rows = [json.loads(line) for line in open(os.path.join(HERE, "count_windows_xeon_m167_s21.jsonl"))]
X, y, scale = [], [], []
for d in rows:
    pe = d["plastic_events"]
    y.append((d["deliver_s"] / d["events"] * 1e9 - d["static_ns"]) / 0.64)
    X.append([1.0, d["facilitations"] / pe, d["pow"] / pe, d["slow_entries"] / pe])
    scale.append(d["scale"])
X, y, scale = np.array(X), np.array(y), np.array(scale)
models = {"a + b fac": [0, 1], "a + b fac + c pow": [0, 1, 2], "a + b fac + c pow + d entries": [0, 1, 2, 3]}
for name, cols in models.items():
    coef = np.linalg.lstsq(X[:, cols], y, rcond=None)[0]
    pred = X[:, cols] @ coef
    print(f"all windows, {name}: coefficients {np.round(coef, 2).tolist()} ns, rms {np.sqrt(np.mean((pred - y) ** 2)):.2f} ns, "
          f"max relative error {100 * np.max(np.abs(pred - y) / y):.0f} %")
small, big = scale != 1.0, scale == 1.0
for name in ("a + b fac + c pow", "a + b fac + c pow + d entries"):
    cols = models[name]
    coef = np.linalg.lstsq(X[small][:, cols], y[small], rcond=None)[0]
    err = 100 * (X[big][:, cols] @ coef - y[big]) / y[big]
    print(f"fit on scales 0.05 and 0.25, {name}: {np.round(coef, 2).tolist()} ns; scale 1's eight 50-ms windows: "
          f"{np.round(err, 0).tolist()} %")
