"""The CPU A/B pairs' ratios (subrow13 / base) of the delivery CPU per event and of the run's process CPU, per pair and
their median, with the load before each pair; run here: python ab_summary.py"""
import json
import statistics

for f in ("cpu_ab_300ms.jsonl", "cpu_ab_3000ms.jsonl"):
    rows = [json.loads(ln) for ln in open(f)]
    pairs = {}
    for r in rows:
        pairs.setdefault(r["pair"], {})[r["tree"]] = r["result"]
    deliver = [p["subrow13"]["deliver_cpu_ns_per_event"] / p["base"]["deliver_cpu_ns_per_event"] for p in pairs.values()]
    run = [p["subrow13"]["run_process_cpu_s"] / p["base"]["run_process_cpu_s"] for p in pairs.values()]
    print(f, "delivery CPU/event", [round(x, 3) for x in deliver], "median", round(statistics.median(deliver), 3),
          "| run CPU", [round(x, 3) for x in run], "median", round(statistics.median(run), 3),
          "| load1 before each pair", [r["load1_before"] for r in rows][::2],
          "| events", sorted({r["result"]["events"] for r in rows}), "spikes", sorted({r["result"]["spikes"] for r in rows}))
