"""Pair ratios A/B and their medians from the .tsv files of abp.sh (alternating A/B pairs under perf).

Columns of a row: label (A: this branch, B: main), pair, RTF, simulate s, deliver timer s, then CPU
seconds summed over both ranks (perf samples / 2000 Hz) of parsnn_plastic_deliver, pow, exp,
parsnn_pchunk_fill, all samples (build included), and the 1-minute load average after the run.

    python pair_ratios.py FILE.tsv [...] [--json OUT]
"""
import json
import statistics
import sys

COLS = ("rtf", "sim_s", "deliver_s", "cpu_plastic_rows", "cpu_pow", "cpu_exp", "cpu_poisson", "cpu_all")


def ratios(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
    runs = {}
    for r in rows:
        runs[(r[0], int(r[1]))] = dict(zip(COLS, map(float, r[2:10])), load=float(r[10]))
    pairs = sorted({p for _, p in runs if ("A", p) in runs and ("B", p) in runs})
    out = {"file": path.split("/")[-1], "pairs": len(pairs),
           "load_range": [min(v["load"] for v in runs.values()), max(v["load"] for v in runs.values())]}
    for c in COLS:
        rs = [runs[("A", p)][c] / runs[("B", p)][c] for p in pairs]
        out[c] = {"pair_ratios": [round(x, 3) for x in rs], "median": round(statistics.median(rs), 3),
                  "median_A": statistics.median(runs[("A", p)][c] for p in pairs),
                  "median_B": statistics.median(runs[("B", p)][c] for p in pairs)}
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    js = None
    if "--json" in args:
        js = args[args.index("--json") + 1]
        args = args[:args.index("--json")]
    res = [ratios(a) for a in args]
    for r in res:
        print(r["file"], "pairs", r["pairs"], "load", r["load_range"])
        for c in COLS:
            print(f"  {c:18s} ratios {r[c]['pair_ratios']} median {r[c]['median']}")
    if js:
        json.dump(res, open(js, "w"), indent=1)
