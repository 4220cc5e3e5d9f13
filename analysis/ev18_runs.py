#!/usr/bin/env python
"""ev18: the calibration's interleaved 1-rank runs (PD14 0.1 and the scatter networks, quick mode: warm-up 0.15,
4 segments, re-warm 0.03, PD14 400 ms, scatter 120 ms, as `parsnn calibrate --quick` runs them), and the deliver
cost per event of each segment: (deliver timer - overhead.deliver_us x intervals - spike_ns x spikes) / events,
with the constants of the s13 machine file.

    python analysis/ev18_runs.py --out analysis/results/ev18_runs_m167_s13.json [--extra-spec JSON]
"""
import argparse
import json
import sys

import numpy as np

from parsnn.machines import Machine
from parsnn.mapping.cluster import measure, scatter
from parsnn.mapping.cluster.calibrate import MODES

TOML = "analysis/results/calibration_check_xeon_m167_idle_2026_12_02_s13.toml"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--targets", default="2000,8000,32000")
    a = ap.parse_args()
    cfg = MODES["quick"]
    mach = Machine.load(TOML) if hasattr(Machine, "load") else None
    specs = [("pd14_0.1", {"model": "pd14", "n_scaling": 0.1}, cfg["t"]["pd14"])]
    specs += [(f"scatter{int(n) // 1000}k", {"model": "scatter", "targets": int(n)}, cfg["t"]["scatter"])
              for n in a.targets.split(",")]
    jobs = [[{**s, "warmup_ms": cfg["warmup"] * t, "segments": cfg["segments"], "mpi_wait": "sleep",
              "group": "interleaved", "rewarm_ms": cfg["rewarm"] * t}, t] for _n, s, t in specs]
    recs = measure.launch(jobs, 1)
    o_del, c_spk = 0.0217075e-6, 8.59646e-9          # [overhead] deliver_us, [compute] spike_ns of the s13 file
    out = {"o_del_s": o_del, "c_spk_s": c_spk, "runs": {}}
    for (name, _s, _t), r in zip(specs, recs):
        ns = []
        for seg in r["segments"]:
            E = float(np.sum(seg["perf"]["synaptic_events"]))
            S = float(np.sum(seg["delivered_spikes"]))
            base = seg["perf"]["timer_deliver"][0] - o_del * seg["intervals"] - c_spk * S
            ns.append(base / E * 1e9)
        ws, wl = scatter.record_workload(r)
        ev = float(wl["events_per_s"][0])
        out["runs"][name] = {"ns_per_event_segments": ns, "ns_per_event_median": float(np.median(ns)),
                             "model_ring_mib": ws / 2**20,
                             "unprefetched_share": float(wl["events_unprefetched_per_s"][0] / ev),
                             "events_per_interval": float(np.sum(r["perf"]["synaptic_events"]) / r["intervals"]),
                             "spikes_per_interval": float(np.sum(r["delivered_spikes"]) / r["intervals"]),
                             "busy_cores_before": r.get("busy_cores_before")}
        print(name, json.dumps(out["runs"][name]), flush=True)
    json.dump(out, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
