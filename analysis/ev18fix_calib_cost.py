#!/usr/bin/env python
"""ev18fix: what the fit-version-6 scatter networks add to ``parsnn calibrate --quick``, in CPU seconds (not wall:
the machine may be loaded). One launch of a quick batch's interleaved group as before version 6 (PD14 0.1 and the
four scatter networks at distance 128, rows of 2,048) and one as now (PD14 0.1 and every scatter.specs() network),
alternating ``--rounds`` times; the launches' CPU time (user + sys of the mpiexec children, getrusage).

    python analysis/ev18fix_calib_cost.py [--rounds 2]
"""
import argparse
import json
import resource

from parsnn.mapping.cluster import calibrate, measure, scatter


def jobs(names):
    cfg = calibrate.MODES["quick"]
    specs = calibrate.SPECS_P1
    return [calibrate._timed(specs[n], cfg["t"][calibrate._t_key(n)], cfg, "sleep", True) for n in names]


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    before = ["pd14_P1", *(scatter.run_name(n) for n in scatter.SCATTER_TARGETS)]
    now = list(calibrate.INTERLEAVED)
    out = {"before": [], "now": []}
    for _ in range(a.rounds):
        for key, names in (("before", before), ("now", now)):
            c0 = cpu()
            measure.launch(jobs(names), 1)
            out[key].append(round(cpu() - c0, 2))
    out["launches_per_quick_calibration"] = "warm-up (one network per build) + 2 batches x 2 launches of the group"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
