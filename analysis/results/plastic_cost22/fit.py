"""Fit the plastic run's deliver time above its events at the static run's cost per event as
a * plastic events + b * facilitations over the windows of windows.py (session 22), and print each window's residual.

    python analysis/results/plastic_cost22/fit.py FILE.jsonl [FILE.jsonl ...] [--fit-on FILE]
"""
import json
import sys

import numpy as np


def load(path):
    return [json.loads(l) for l in open(path)]


def table(rows):
    """Per window: (scale, t0, t1, plastic events, facilitations, extra seconds, static s/event, deliver s, events);
    the static cost per event is the median over the static run's windows with at least 1e6 events (the static run's
    activity differs window by window from the plastic run's: a window's own ratio is noisy where it is quiet)."""
    out = []
    c_static = float(np.median([r["static"]["deliver_s"] / r["static"]["events"] for r in rows
                                if r["static"]["events"] >= 1e6]))
    for r in rows:
        p = r["plastic"]
        extra = p["deliver_s"] - c_static * p["events"]
        out.append((r["scale"], r["t0"], r["t1"], r["plastic_events"], p["facilitations"], extra, c_static, p["deliver_s"],
                    p["events"]))
    return out


def main():
    args = sys.argv[1:]
    fit_on = None
    if "--fit-on" in args:
        i = args.index("--fit-on")
        fit_on = args[i + 1]
        del args[i:i + 2]
    rows = {f: table(load(f)) for f in args}
    train = rows[fit_on] if fit_on else [x for v in rows.values() for x in v]
    train = [x for x in train if x[3] > 0]
    A = np.array([[x[3], x[4]] for x in train], dtype=float)
    y = np.array([x[5] for x in train])
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    print(f"fit on {fit_on or 'all'}: plastic_event_ns {a * 1e9:.2f}, facilitation_ns {b * 1e9:.2f}")
    print("scale window(ms) plastic_events facilitations fac/pev static_ns/event extra_ns/pev measured_deliver_s "
          "predicted_deliver_s error")
    for f, v in rows.items():
        for sc, t0, t1, pev, fac, extra, cs, dl, ev in v:
            pred = cs * ev + a * pev + b * fac
            if pev <= 0:
                continue
            print(f"{sc:5.2f} {t0:5.0f}-{t1:<5.0f} {pev:12.0f} {fac:12.0f} {fac / max(pev, 1):6.3f} {cs * 1e9:6.2f} "
                  f"{extra / max(pev, 1) * 1e9:7.2f} {dl:8.3f} {pred:8.3f} {100 * (pred / dl - 1):+6.1f} %")


if __name__ == "__main__":
    main()
