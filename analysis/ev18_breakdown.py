#!/usr/bin/env python
"""ev18: the delivery term of the s13 calibration check's six PD14 runs, split as the cost model computes it
(parsnn.mapping.cluster.predict._delivery_time), and the prefetch distance each run and each scatter calibration
run used (the size class of its whole ring, parsnn.engine.prefetch.size_class, looked up in this user's cache).

    python analysis/ev18_breakdown.py
"""
import json
import math

import numpy as np

from parsnn.engine import prefetch
from parsnn.machines import load_machine
from parsnn.machines.fingerprint import machine_hash
from parsnn.mapping.cluster import scatter

NAME = "calibration_check_xeon_m167_idle_2026_12_02_s13"
check = json.load(open(f"analysis/results/{NAME}.json"))
mach = load_machine(f"analysis/results/{NAME}.toml")
cur = scatter.curve(mach)
cache = prefetch._read_cache(prefetch.cache_path())
host = machine_hash()


def distance(ring_bytes, procs):
    key = prefetch.cache_key(host, prefetch.size_class(ring_bytes, True, 1, procs))
    e = cache.get(key)
    return key.split("/")[-1], (e or {}).get("distance"), (e or {}).get("date")


o_del, spk = mach.us("overhead", "deliver_us"), mach.ns("spike_ns")
print("| PD14 | R x T | events / interval | ring MiB (thread) | sharing | c(ws) ns | unprefetched extra ns | "
      "predicted c_evt ns | implied measured c_evt ns | measured / predicted | prefetch size class | distance |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
D = 57                                              # PD14's ring slots (its ring working set / 8 B / neurons)
for r in check["rows"]:
    w, P, T = r["workload"], r["ranks"], r["threads"]
    ws = w["ring_bytes_per_interval_max"]
    share = min(P * T, mach.data["machine"]["cores_per_l3"])
    x = float(scatter.shared_working_set(mach, ws, share))
    c = float(np.interp(math.log(x), np.log(np.array(cur["mib"]) * 2**20), cur["ns"]))
    full = float(scatter.event_cost(mach, ws, w["unprefetched_event_fraction"], share)) * 1e9
    sp = w["spikes_in_per_interval_mean"]
    fixed = o_del + sp * spk
    mdel, pdel = r["phases_measured_us"]["deliver"], r["phases_predicted_us"]["deliver"]
    implied = full * (mdel - fixed * 1e6) / (pdel - fixed * 1e6)
    ring_all = D * 8 * (w["neurons_per_rank_max"] + 3)          # the engine's whole ring of a rank
    size, dist, _ = distance(ring_all, P * T)
    print(f"| {r['n_scaling']} | {P} x {T} | {w['events_per_interval_mean']:.0f} | {ws / 2**20:.2f} | {share} | {c:.3f} | "
          f"{full - c:.3f} | {full:.3f} | {implied:.3f} | {implied / full:.2f} | {size} | {dist} |")
print()
print("| scatter run (calibration, 1 rank) | targets + sources | model ring MiB | whole ring MiB | size class | distance |")
print("|---|---|---|---|---|---|")
for n in scatter.SCATTER_TARGETS:
    ring_all = 54 * 8 * (n + 2500 + 4)
    size, dist, _ = distance(ring_all, 1)
    print(f"| {scatter.run_name(n)} | {n} + 2500 | {n * 57 * 8 / 2**20:.2f} | {ring_all / 2**20:.2f} | {size} | {dist} |")
