"""Split a 1-rank PD14 run's delivery (measured) and the cost model's prediction of it into the model's parts
(parsnn.mapping.cluster.predict._delivery_time: overhead + spikes x (spike_ns + row_miss) + events x c_evt,
c_evt = c_d(ws) + R_d(ws) / max(row, ROW_MIN)), and say what each part would have to be to match.

    python analysis/results/delivery_bias24/decompose.py MACHINE.toml RUN.h5 [RUN.h5 ...] [--json OUT]

Per run: measured deliver us per interval, its events and spikes per interval (the run's own counters: synaptic_events,
spike counts), the measured cost per event after the model's per-interval and per-spike parts, and the model's
parts at the run's ring working set and row; the working set at which the curve c_d alone would give the measured
event cost; and the prediction with one part replaced (R = 0; the run's events instead of the model's)."""
from __future__ import annotations

import json
import sys

import numpy as np

from parsnn.engine.footprint import static_synapse_bytes
from parsnn.machines import load_machine
from parsnn.mapping import cluster
import importlib
pr = importlib.import_module("parsnn.mapping.cluster.predict")
from parsnn.mapping.cluster import scatter
from parsnn.mapping.cluster.workload import ring_working_set, workload
from parsnn.runfile import RunFile


def parts(machine_file: str, path: str) -> dict:
    mach = load_machine(machine_file)
    inp = cluster.run_inputs(path)
    with RunFile(path) as run:
        perf, t_sim = run.performance, run.t_sim
        counts = np.asarray(perf["spike_counts"], dtype=float)
        n_scaling = run.run_info.get("n_scaling")
        seed = run.seed
    assert int(inp["ranks"]) == 1, "1-rank runs only"
    n_int = round(t_sim / float(np.ravel(perf["min_delay_ms"])[0]))
    D = float(np.ravel(perf["timer_deliver"])[0]) / n_int
    E = float(np.ravel(perf["synaptic_events"])[0]) / n_int
    S = counts.sum() / n_int                       # 1 rank: every spike is delivered here (own rank)
    p = cluster.predict(inp["connectivity"], 1, mach, inp["rank_of"], rates=inp["rates"], t_sim_ms=t_sim,
                        prefetch_distance=inp["prefetch_distance"], with_range=False)
    wl = workload(inp["connectivity"], 1, inp["rank_of"], rates=inp["rates"])
    m = int(wl["min_delay_steps"])
    T = m * wl["resolution"] * 1e-3
    dist = p["prefetch"]["distance"]
    d = pr._delivery_time(wl, mach, 1, m, T, 1.0, 1.0, 1, dist)
    ws = float(d["ring_ws"][0])
    row = float(d["row"][0])
    cur = scatter.curve(mach)
    ns, row_ns = scatter._at_distance(cur, dist)
    c_ws = float(scatter._interp_log(ws, np.array(cur["mib"]) * 2 ** 20, ns))
    R_ws = float(scatter._interp_log(ws, np.array(cur["row_mib"]) * 2 ** 20, row_ns))
    o = mach.us("overhead", "deliver_us") * 1e6
    local = sum(np.asarray(v, dtype=float) for v in wl["neurons"].values())
    syn_bytes = float(static_synapse_bytes(local)[0] if np.ndim(static_synapse_bytes(local)) else
                      static_synapse_bytes(local)) * float(wl["synapses"][0])
    l23 = mach.cache_levels()[1]
    row_miss = mach.ns("row_miss_ns", default=0.0) * 1e9 * (1 - min(1.0, l23 / syn_bytes))
    spike_ns = mach.ns("spike_ns") * 1e9
    ev_model, sp_model = float(d["ev"][0]), float(d["sp"][0])
    pred_us = float(d["deliver"][0]) * 1e6
    spikes_meas_us = S * (spike_ns + row_miss) * 1e-3
    c_meas = (D * 1e6 - o - spikes_meas_us) * 1e3 / E            # ns per event, measured, after the model's other parts
    # the working set at which the curve alone (no R/row) gives c_meas, and with the model's R/row
    axis = np.log(np.array(cur["mib"]) * 2 ** 20)
    def ws_for(c):
        grid = np.exp(np.linspace(axis[0], axis[-1], 4000))
        y = scatter._interp_log(grid, np.array(cur["mib"]) * 2 ** 20, ns)
        ok = np.where(np.diff(np.concatenate([[-1], y])) >= 0)[0]
        return float(np.interp(c, y[ok], grid[ok]) / 2 ** 20)
    R_row = R_ws / max(row, scatter.ROW_MIN)
    return {
        "run": path, "n_scaling": n_scaling, "seed": seed, "intervals": n_int, "prefetch_distance": dist,
        "measured": {"deliver_us": D * 1e6, "events_per_interval": E, "spikes_per_interval": S,
                     "ns_per_event_raw": D * 1e9 / E, "ns_per_event_after_model_parts": c_meas,
                     "row_events_per_spike": E / S},
        "model": {"deliver_us": pred_us, "events_per_interval": ev_model, "spikes_per_interval": sp_model,
                  "overhead_us": o, "spikes_part_us": float(d["spikes_part"][0]) * 1e6,
                  "spike_ns": spike_ns, "row_miss_ns": row_miss, "events_part_us": ev_model * float(d["c_evt"][0]) * 1e6,
                  "ring_ws_mib": ws / 2 ** 20, "row": row, "c_evt_ns": float(d["c_evt"][0]) * 1e9,
                  "c_d_ws_ns": c_ws, "R_d_ws_ns": R_ws, "R_over_row_ns": R_row},
        "error": {"deliver": pred_us / (D * 1e6) - 1, "c_evt": float(d["c_evt"][0]) * 1e9 / c_meas - 1,
                  "events": ev_model / E - 1, "spikes": sp_model / S - 1},
        "what_if": {
            "pred_us_with_measured_events": o + float(d["spikes_part"][0]) * 1e6 + E * float(d["c_evt"][0]) * 1e6,
            "pred_us_R0": o + float(d["spikes_part"][0]) * 1e6 + ev_model * c_ws * 1e-3,
            "pred_us_no_spike_part": o + ev_model * float(d["c_evt"][0]) * 1e6,
            "curve_c_needed_with_R_ns": c_meas - R_row, "R_needed_with_curve_ns": (c_meas - c_ws) * max(row, scatter.ROW_MIN),
            "ws_mib_for_c_meas_minus_R": ws_for(c_meas - R_row), "ws_mib_for_c_meas_R0": ws_for(c_meas)},
    }


def main(argv):
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    res = [parts(argv[0], f) for f in argv[1:]]
    for r in res:
        m, p, e, w = r["measured"], r["model"], r["error"], r["what_if"]
        print(f"== {r['run']} (n_scaling {r['n_scaling']}, seed {r['seed']}, distance {r['prefetch_distance']})")
        print(f"  deliver us/interval: measured {m['deliver_us']:.2f}, predicted {p['deliver_us']:.2f} ({e['deliver']:+.1%})")
        print(f"  events/interval: measured {m['events_per_interval']:.0f}, model {p['events_per_interval']:.0f} "
              f"({e['events']:+.1%}); spikes/interval measured {m['spikes_per_interval']:.2f}, model "
              f"{p['spikes_per_interval']:.2f}; row (events/spike) measured {m['row_events_per_spike']:.0f}, model {p['row']:.0f}")
        print(f"  model parts (us): overhead {p['overhead_us']:.3f}, spikes {p['spikes_part_us']:.3f} "
              f"(spike_ns {p['spike_ns']:.2f} + row_miss {p['row_miss_ns']:.1f}), events {p['events_part_us']:.2f}")
        print(f"  ns/event: measured raw {m['ns_per_event_raw']:.3f}, after the model's other parts {m['ns_per_event_after_model_parts']:.3f}; "
              f"model c_evt {p['c_evt_ns']:.3f} = c_d(ws {p['ring_ws_mib']:.2f} MiB) {p['c_d_ws_ns']:.3f} + "
              f"R {p['R_d_ws_ns']:.0f} / row {p['row']:.0f} = {p['R_over_row_ns']:.3f}  ({e['c_evt']:+.1%})")
        print(f"  what if: measured events -> {w['pred_us_with_measured_events']:.2f} us; R = 0 -> {w['pred_us_R0']:.2f} us; "
              f"no spike part -> {w['pred_us_no_spike_part']:.2f} us")
        print(f"  the curve would need c_d = {w['curve_c_needed_with_R_ns']:.3f} ns (with R/row), at ws "
              f"{w['ws_mib_for_c_meas_minus_R']:.2f} MiB on the curve ({w['ws_mib_for_c_meas_R0']:.2f} MiB with R = 0); "
              f"or R = {w['R_needed_with_curve_ns']:.0f} ns with the curve")
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
