"""Pair ratios A/B and their medians of the CPU A/B lines (cpu_ab.sh): python ab_summary.py FILE.jsonl"""
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
pairs = sorted({r["pair"] for r in rows})
for key in ("update_cpu_s", "deliver_cpu_s", "phases_cpu_s", "run_wall_s"):
    rat = []
    for p in pairs:
        a = [r[key] for r in rows if r["pair"] == p and r["label"] == "A"]
        b = [r[key] for r in rows if r["pair"] == p and r["label"] == "B"]
        if a and b:
            rat.append(a[0] / b[0])
    print(f"{key:14s} A/B per pair: {', '.join(f'{x:.3f}' for x in rat)}  median {statistics.median(rat):.3f}  (n={len(rat)})")
print("events equal in every run:", len({r['events'] for r in rows}) == 1, " spikes:", sorted({r['spikes'] for r in rows}))
print("load1 before runs:", [r["load1"] for r in rows])
