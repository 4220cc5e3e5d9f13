"""Issue 18: did session 11's slow PD14 ranks have less of their memory on guest huge pages?

Reads analysis/results/seed_order_xeon_s11*.json (per run and rank: delivery seconds, synaptic events, and
the share of the rank's anonymous memory on transparent huge pages recorded by analysis/rusage_run.py) and
prints per rank the range of the huge-page share, the delivery ns per event and their correlation.
    python analysis/launch18_s11_huge_share.py
"""
import glob
import json
import os

import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def main():
    """Print the table."""
    share, cost, rank = [], [], []
    for path in sorted(glob.glob(os.path.join(RESULTS, "seed_order_xeon_s11*.json"))):
        with open(path) as f:
            runs = json.load(f).get("rows", [])
        for r in runs:
            for k, c in enumerate(r.get("cpu", [])):
                if c.get("huge_share") is not None:
                    share.append(c["huge_share"])
                    cost.append(r["deliver_s"][k] / r["synaptic_events"][k] * 1e9)
                    rank.append(k)
    share, cost, rank = map(np.asarray, (share, cost, rank))
    print("| rank | runs | huge-page share (min-max) | delivery ns per event median (min-max) | correlation |")
    print("|---|---|---|---|---|")
    for k in np.unique(rank):
        m = rank == k
        print("| %d | %d | %.3f-%.3f | %.2f (%.2f-%.2f) | %.2f |" % (
            k, m.sum(), share[m].min(), share[m].max(), np.median(cost[m]), cost[m].min(), cost[m].max(),
            np.corrcoef(share[m], cost[m])[0, 1]))


if __name__ == "__main__":
    main()
