"""Issue 18: what goes with a slow launch of the micro-benchmark? (reads launch18_membench_*.json)

Per result file and mode: correlation over launches of the launch's median chase latency with its
fault-in time, the 1-min load, the MiB the guest reported to the host during it, and the median for
launches that got back mostly (> 50 %) the frames the previous launch freed vs the others; and the
correlation between the launch medians of different modes run next to each other (a factor shared by
neighbouring launches of any mode is the machine, not the process's memory); and the fault-in seconds of
launches that got back the previous launch's frames vs the others (fresh frames come from the host again).
    python analysis/launch18_correlations.py analysis/results/launch18_membench_base.json ...
"""
import json
import statistics as st
import sys

import numpy as np


def med(r):
    """A launch's median chase latency (first repetition dropped)."""
    return st.median(r["chase_ns"][1:])


def report(path):
    """Markdown lines for one result file."""
    d = json.load(open(path))
    L = d["launches"]
    out = [f"## {path.split('/')[-1]} (page_reporting {d['page_reporting']})", "",
           "| mode | corr(chase, fault s) | corr(chase, load1) | corr(chase, reported MiB during) | "
           "chase median: frames reused > 50 % (n) | chase median: not (n) | fault-in s: reused (sorted) | fault-in s: not |",
           "|---|---|---|---|---|---|---|---|"]
    modes = sorted({r["mode"] for r in L})
    for mode in modes:
        rs = [r for r in L if r["mode"] == mode]
        m = np.array([med(r) for r in rs])
        c = [np.corrcoef(m, [r[k] for r in rs])[0, 1] for k in ("fault_s", "load1")]
        c.append(np.corrcoef(m, [r["reported_kib_after"] - r["reported_kib_before"] for r in rs])[0, 1])
        hi = [med(r) for r in rs if (r["pfn_reused_from_prev"] or 0) > 0.5]
        lo = [med(r) for r in rs if r["pfn_reused_from_prev"] is not None and r["pfn_reused_from_prev"] <= 0.5]
        fh = sorted(r["fault_s"] for r in rs if (r["pfn_reused_from_prev"] or 0) > 0.5)
        fl = sorted(r["fault_s"] for r in rs
                    if r["pfn_reused_from_prev"] is not None and r["pfn_reused_from_prev"] <= 0.5)
        out.append("| %s | %.2f | %.2f | %.2f | %s (%d) | %s (%d) | %s | %s |" % (
            mode, *c, "%.0f" % st.median(hi) if hi else "-", len(hi), "%.0f" % st.median(lo) if lo else "-", len(lo),
            " ".join("%.2f" % x for x in fh) or "-", " ".join("%.2f" % x for x in fl) or "-"))
    per = {m: [med(r) for r in L if r["mode"] == m] for m in modes}
    pairs = [(a, b) for i, a in enumerate(modes) for b in modes[i + 1:]]
    out += ["", "Correlation of neighbouring launches' medians between modes: " + ", ".join(
        "%s/%s %.2f" % (a, b, np.corrcoef(per[a], per[b])[0, 1]) for a, b in pairs), ""]
    return out


if __name__ == "__main__":
    print("\n".join(line for p in sys.argv[1:] for line in report(p)))
