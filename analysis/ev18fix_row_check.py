#!/usr/bin/env python
"""ev18fix: does the new calibration network (spike_generator sources) with the per-row term predict PD14's
deliver cost per event at equal ring size class and prefetch distance? From analysis/ev18_cpu_runs.py results
(CPU time per event, pairs in alternation in one process):

    python analysis/ev18fix_row_check.py RESULT.json [RESULT.json ...]

For every distance D and scatter size N in a file with ``scatterNk:D``, ``scatterNk_r4096:D`` and a PD14 pair
``pd14_S:D``: R = (c_2048 - c_4096) / (1/row_2048 - 1/row_4096), c_inf = c_4096 - R / row_4096, the per-event
cost the fit-version-6 model takes for PD14's rows, c_inf + R / row_pd14, against PD14's measured; and, as the
model before it did (without its unprefetched term), the 2,048-row scatter's cost itself. The working sets differ
(scatter8k 3.48 MiB vs PD14 0.1 3.36; scatter32k 13.9 vs PD14 0.25 8.54): the curve would interpolate; the
comparison here is at the scatter network's own working set, so it is not the model's prediction.
"""
import json
import sys


def rows(path: str) -> list[dict]:
    d = json.load(open(path))
    out = []
    for pair, v in d.items():
        name, dist = pair.split(":")
        if not name.startswith("scatter") or "_r" in name:
            continue
        long_ = d.get(f"{name}_r4096:{dist}")
        pd = [(k, w) for k, w in d.items() if k.startswith("pd14_") and k.endswith(f":{dist}")]
        if long_ is None or not pd:
            continue
        c1, r1 = v["ns_per_event_median"], v["events_per_spike"]
        c2, r2 = long_["ns_per_event_median"], long_["events_per_spike"]
        R = (c1 - c2) / (1.0 / r1 - 1.0 / r2)
        c_inf = c2 - R / r2
        for k, w in pd:
            pred = c_inf + R / w["events_per_spike"]
            out.append({"file": path, "distance": int(dist), "scatter": name, "R_ns": R, "c_inf_ns": c_inf,
                        "pd14": k.split(":")[0], "pd14_row": w["events_per_spike"], "pd14_ns": w["ns_per_event_median"],
                        "new_ns": pred, "new_over_pd14": pred / w["ns_per_event_median"],
                        "old_ns": c1, "old_over_pd14": c1 / w["ns_per_event_median"]})
    return out


def main(argv):
    print("| file | distance | scatter | R ns / row | c_inf ns | PD14 | PD14 row | PD14 ns / event | new: c_inf + R/row | "
          "new / PD14 | scatter rows 2048 | that / PD14 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in argv:
        for r in rows(p):
            print(f"| {r['file'].split('/')[-1]} | {r['distance']} | {r['scatter']} | {r['R_ns']:.0f} | {r['c_inf_ns']:.3f} | "
                  f"{r['pd14']} | {r['pd14_row']:.0f} | {r['pd14_ns']:.3f} | {r['new_ns']:.3f} | {r['new_over_pd14']:.2f} | "
                  f"{r['old_ns']:.3f} | {r['old_over_pd14']:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
