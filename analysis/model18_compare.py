#!/usr/bin/env python
"""Issue 18 (session 15): per-phase errors of main's model (fit version 6 code) and of fit version 7 on the same
runs and machine file: analysis/results/model18_s15/calibration_check_<NAME>.json (this branch's model) against
calibration_check_<NAME>_main_model.json (main at 9886116, `analysis/calibration_check.py --runs` with the same
machine file). Prints a markdown table of the record and exchange phases (us per interval, mean over ranks).

    python analysis/model18_compare.py NAME [NAME ...]
"""
import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "model18_s15")


def rows(name: str):
    """(case, measured, main's prediction, v7's prediction) per run and phase."""
    new = json.load(open(os.path.join(HERE, f"calibration_check_{name}.json")))
    old = json.load(open(os.path.join(HERE, f"calibration_check_{name}_main_model.json")))
    for a, b in zip(new["rows"], old["rows"]):
        assert a["run_file"] == b["run_file"]
        case = f"{a['n_scaling']} {a['ranks']} x {a['threads']}"
        for ph in ("record", "exchange"):
            yield name, new["label"].get("load", new.get("load")), case, ph, a["phases_measured_us"][ph], \
                b["phases_predicted_us"][ph], a["phases_predicted_us"][ph]


def main(names):
    print("| check | PD14 n_scaling, ranks x threads | phase | measured us | main's model us (error) | fit version 7 us (error) |")
    print("|---|---|---|---|---|---|")
    err = lambda p, m: f"{100 * (p / m - 1):+.0f} %" if m > 0 else "-"          # noqa: E731
    tot = {}
    for name in names:
        for n, _load, case, ph, m, old, new in rows(name):
            print(f"| {n} | {case} | {ph} | {m:.1f} | {old:.1f} ({err(old, m)}) | {new:.1f} ({err(new, m)}) |")
            t = tot.setdefault((n, ph), [0, 0.0, 0.0])
            t[0] += 1
            t[1] += abs(old / m - 1) if m > 0 else 0.0
            t[2] += abs(new / m - 1) if m > 0 else 0.0
    print()
    for (n, ph), (k, a, b) in tot.items():
        print(f"- {n}, {ph}: mean |error| main's model {100 * a / k:.0f} %, fit version 7 {100 * b / k:.0f} % ({k} runs)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["model18_b", "model18_loaded"])
