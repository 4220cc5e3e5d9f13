"""Session 24: what a history window (a facilitation window that searches the target's post-spike history) costs, across
hpc_benchmark's scales (1 rank; windows of 50 ms from ../plastic_ws23/history_windows.py: scale 1 of session 23, scales
0.1, 0.2, 0.5 here). Per window: plastic events (pev), facilitations per plastic event (f), history windows per plastic
event (h) and the plastic extra per plastic event (deliver time above the static run's cost per event, ns).

Models of the extra per plastic event (a, b: per plastic event and per facilitation):
  two terms:          a + b f
  constant:           a + b f + c h
  reuse (this file):  a + b f + h M exp(-K h / n)      n: plastic targets on the rank (N_E)
  reuse_b:            a + b f + h (b + M exp(-K h / n)) (a history window also costs what a facilitation does)
The reuse model: a target's history lines stay cached between two of its history windows unless the events processed in
between (n / h plastic events on average, exponentially distributed for Poisson arrivals) pushed more than the cache holds
through it: miss probability exp(-K h / n), K the cache in plastic events; M the cost of a miss.

    python analysis/results/history24/model_fit.py
"""
import json
import os

import numpy as np
from scipy.optimize import least_squares

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {1.0: os.path.join(HERE, "..", "plastic_ws23", "history_windows_s1_xeon_m167_s23.jsonl"),
         0.5: os.path.join(HERE, "history_windows_s0.5_xeon_m167_s24.jsonl"),
         0.2: os.path.join(HERE, "history_windows_s0.2_xeon_m167_s24.jsonl"),
         0.1: os.path.join(HERE, "history_windows_s0.1_xeon_m167_s24.jsonl")}
N_E = {1.0: 9000, 0.5: 4500, 0.2: 1800, 0.1: 900}


def load():
    rows = []
    for s, path in FILES.items():
        for line in open(path):
            r = json.loads(line)
            if r["plastic_events"] < 1e6:
                continue
            p = r["plastic_events"]
            rows.append({"scale": s, "t0": r["t0"], "pev": p, "f": r["facilitations"] / p, "h": r["history_windows"] / p,
                         "y": r["extra_s"] / p * 1e9, "n": N_E[s], "w": p})
    return rows


def model(kind, x, r):
    a, b = x[0], x[1]
    base = a + b * r["f"]
    if kind == "two":
        return base
    if kind == "const":
        return base + x[2] * r["h"]
    M, K = x[2], x[3]
    c0 = x[1] if kind == "reuse_b" else 0.0
    return base + r["h"] * (c0 + M * np.exp(-K * r["h"] / r["n"]))


def fit(kind, rows, x0, fixed=None):
    fixed = fixed or {}
    free = [i for i in range(len(x0)) if i not in fixed]

    def full(z):
        x = list(x0)
        for i, v in fixed.items():
            x[i] = v
        for i, v in zip(free, z):
            x[i] = v
        return x

    def res(z):
        x = full(z)
        return np.array([(model(kind, x, r) - r["y"]) / r["y"] for r in rows])
    sol = least_squares(res, [x0[i] for i in free], bounds=(0, np.inf))
    return full(sol.x)


def show(name, kind, x, rows):
    print(f"## {name}: {kind} {np.round(x, 2).tolist()}")
    for r in rows:
        p = model(kind, x, r)
        print(f"  scale {r['scale']:4} {r['t0']:5.0f} ms  f {r['f']:.3f}  h {r['h']:.4f}  measured {r['y']:6.2f}  "
              f"model {p:6.2f}  {100 * (p / r['y'] - 1):+6.1f} %")


def main():
    rows = load()
    one = [r for r in rows if r["scale"] == 1.0]
    # the calibration's constants (analysis/results/calibration23/calibration_xeon_m167_s23.toml, fit on scale 0.05)
    a_cal, b_cal, m_np = 3.76343, 4.11806, 49.2988
    show("calibration's a, b (two terms), all scales", "two", [a_cal, b_cal], rows)
    x = fit("const", one, [2.8, 5.6, 30.0])
    show("constant cost per history window fitted on scale 1, applied to all", "const", x, rows)
    x = fit("reuse", one + [r for r in rows if r["scale"] == 0.5], [2.8, 5.6, 50.0, 5e4])
    show("reuse model, all four constants fitted on scales 1 and 0.5", "reuse", x, rows)
    x = fit("reuse", one, [a_cal, b_cal, m_np, 5e4], fixed={0: a_cal, 1: b_cal, 2: m_np})
    show("reuse model: calibration's a, b, M = its memory_no_prefetch; K fitted on scale 1", "reuse", x, rows)
    x = fit("reuse_b", one, [a_cal, b_cal, m_np, 5e4], fixed={0: a_cal, 1: b_cal, 2: m_np})
    show("reuse_b model: calibration's a, b, M = its memory_no_prefetch; K fitted on scale 1", "reuse_b", x, rows)
    x = fit("reuse", one, [a_cal, b_cal, m_np, 5e4], fixed={0: a_cal, 1: b_cal})
    show("reuse model: calibration's a, b; M and K fitted on scale 1", "reuse", x, rows)


if __name__ == "__main__":
    main()
