"""Pair ratios of an A/B file written by runs of benchmarks/hpc_phase_run.py.

    python benchmarks/ab_pairs_stat.py FILE

FILE has lines ``<pair> <A|B> <json of hpc_phase_run.py's ABRES line>``. Prints, per quantity, the
medians of both sides, every pair's ratio A / B (> 1: B faster) and the median ratio.
"""
import json
import statistics as st
import sys

KEYS = ("wall", "cpu_sum", "deliver", "update", "exchange")


def main(path: str):
    """Print the pair ratios of the A/B file ``path``."""
    runs = {}
    for line in open(path):
        if line.strip():
            pair, side, js = line.split(" ", 2)
            runs.setdefault(pair, {})[side] = json.loads(js)
    pairs = [v for v in runs.values() if "A" in v and "B" in v]
    print(f"{len(pairs)} pairs; ratio = A / B (> 1: B faster)")
    for k in KEYS:
        r = [p["A"][k] / p["B"][k] for p in pairs]
        print(f"{k:9s} A med {st.median(p['A'][k] for p in pairs):7.3f}  B med {st.median(p['B'][k] for p in pairs):7.3f}"
              f"  ratios {', '.join(f'{x:.3f}' for x in r)}  median {st.median(r):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
