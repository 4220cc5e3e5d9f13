"""Is PD14's event cheaper than the calibration's scatter network's at the same targets AND the same row length?

The model predicts c_d(ws) + R_d(ws) / row; with row ~ 4,000 (PD14) that is, by construction of the fit, about the raw
cost per event of the calibration's scatter network with rows of 4,096 (scatter.fit_curve: ns_i = raw(2048) - R / 2048,
R = (raw(2048) - raw(4096)) x 4096). So this probe measures, each network in its own process (as the calibration since
fit version 10), one rank, prefetch distance 128, 100 ms warm-up then 300 ms: the scatter network (2,500 sources x rows
of 2,048 at 20 Hz, delays Normal(1.5, 0.75)), the same with 1,250 sources x rows of 4,096 (the calibration's 'r4096'
networks), both into --targets neurons, and PD14 at --n-scaling; in turn, --repeats times. Per row: deliver ns per
event (the timer over the events; the per-spike and per-interval parts are < 0.5 % here), events per spike, and the
model's c_evt for it (machine file --machine, at the network's ring working set and row).

    python analysis/results/delivery_bias24/row_probe.py --machine FILE --targets 7717 --n-scaling 0.1 --repeats 3
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child(kind: str, targets: int, n_scaling: float, warmup: float, t: float, machine: str):
    sys.path.insert(0, os.path.join(HERE, "..", "..", ".."))
    sys.path.insert(0, os.path.join(HERE, "..", ".."))
    import numpy as np
    from scatter_structure_probe import measure, pd14, scatter_k
    from parsnn.connectivity import Connectivity
    from parsnn.machines import load_machine
    from parsnn.mapping.cluster import scatter
    from parsnn.mapping.cluster.workload import ring_working_set, workload
    if kind == "pd14":
        net = pd14(n_scaling)
    else:
        row = int(kind[1:])
        net = scatter_k(targets, 1, row=row, n_s=2500 * 2048 // row)
    r = measure(net, 128, warmup, t)
    conn = Connectivity.from_network(net)
    rates = None
    if kind == "pd14":   # the run's own population rates would need the spike counts; the model's expected ones suffice for ws
        pass
    wl = workload(conn, 1, "round_robin", rates=rates)
    ws = float(ring_working_set(wl).max())
    mach = load_machine(machine)
    c = float(scatter.event_cost(mach, ws, 0.0, 1.0, r["events_per_spike"], 128)[()]) * 1e9
    return {"network": kind, **r, "ring_ws_mib": ws / 2 ** 20, "model_c_evt_ns": c}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine", required=True)
    ap.add_argument("--targets", type=int, default=7717)
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--warmup", type=float, default=100.0)
    ap.add_argument("--t", type=float, default=300.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kinds", default="r2048,r4096,pd14")
    ap.add_argument("--out")
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.targets, a.n_scaling, a.warmup, a.t, a.machine)))
        return
    rows = []
    for rep in range(a.repeats):
        for kind in a.kinds.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--machine", a.machine, "--targets",
                                  str(a.targets), "--n-scaling", str(a.n_scaling), "--warmup", str(a.warmup), "--t",
                                  str(a.t)], check=True, capture_output=True, text=True).stdout
            r = {"repeat": rep, **json.loads(out.strip().splitlines()[-1])}
            rows.append(r)
            print(f"{rep} {kind:6s} ns/event {r['ns_per_event']:.3f} model {r['model_c_evt_ns']:.3f} "
                  f"events/spike {r['events_per_spike']:.0f} ws {r['ring_ws_mib']:.2f} MiB", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
