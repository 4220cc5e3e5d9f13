#!/usr/bin/env python
"""Issue 18: is the quick check's slow seed-1 run the seed or its place in the order (first, right after
the calibration)? Runs PD14 seeds in several orders and compares, per run, the phase times and CPU time per
rank with the run's spike statistics and the model's prediction with one fixed machine file.

    python analysis/seed_order_check.py --name NAME [--orders 1,2,3 3,2,1 1,1,1] [--calibrate-first]
                                        [--machine FILE] [--n-scaling 0.25] [--ranks 2] [--t-sim 2000]

Every run is ``mpiexec -n RANKS python analysis/rusage_run.py run pd14 ...`` (the same run as ``parsnn run``,
plus each rank's CPU seconds and context switches in its simulation: analysis/rusage_run.py). Per run:
the RTF, per rank the engine's update / deliver / exchange timers and CPU seconds, the synaptic events,
the spikes per rank (partition map) and the spike statistics (per-step counts: mean, CV, largest; 1 ms
bins: Fano factor), the per-step delivery imbalance between ranks (each rank's expected events in every
step from the step's spikes and the mean out-degrees onto that rank; the exchange waits for the slowest,
so the sum over steps of the largest over ranks divided by the sum of the mean) and the model's prediction
with ``--machine`` (one file for every run: differences between runs are the runs'). ``--calibrate-first``
runs ``parsnn calibrate --quick`` (to a temporary file) before the first order, as the quick check does.
The machine's load (other processes' busy cores) is recorded before every run: on a shared machine
compare CPU seconds and phase times, not only the RTF. Writes analysis/results/seed_order_<NAME>.{json,md}.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration_check as cc  # noqa: E402  (paths, prediction and save helpers)
import rusage_run  # noqa: E402  (the launch with every rank's CPU time)

DEFAULT_MACHINE = os.path.join(cc.RESULTS, "calibration_quick_xeon_idle_s10_0.toml")


def step_statistics(path: str) -> dict:
    """The run's spike statistics and per-step delivery imbalance between ranks (see the module docstring)."""
    from parsnn.mapping import cluster
    from parsnn.runfile import RunFile
    inp = cluster.run_inputs(path)
    conn, rank_of, P = inp["connectivity"], np.asarray(inp["rank_of"]), int(inp["ranks"])
    with RunFile(path) as run:
        h, t_sim, spikes = run.resolution, run.t_sim, run.spikes()
    n_steps = int(round(t_sim / h))
    S = len(conn.names)
    per_pop = np.zeros((S, n_steps))                       # spikes of each population in each step
    per_rank = np.zeros((P, n_steps))                      # spikes of each rank's neurons in each step
    for name, (t, ids) in spikes.items():
        s = conn.index(name)
        k = np.minimum((np.asarray(t) / h).astype(np.int64), n_steps - 1)
        per_pop[s] = np.bincount(k, minlength=n_steps)
        r = rank_of[conn.offsets[s] + np.asarray(ids, dtype=np.int64)]
        np.add.at(per_rank, (r, k), 1.0)
    # mean out-degree of population s onto rank r's neurons: expected synapses x the target's share on r
    E = conn.expected_synapses()
    share = np.zeros((S, P))
    for s in range(S):
        sl = rank_of[conn.offsets[s]:conn.offsets[s] + conn.sizes[s]]
        if conn.sizes[s] > 0 and not conn.virtual[s]:
            share[s] = np.bincount(sl, minlength=P) / conn.sizes[s]
    out_deg = np.zeros((S, P))
    for j in range(len(E)):
        out_deg[conn.src[j]] += E[j] / max(1, conn.sizes[conn.src[j]]) * share[conn.tgt[j]]
    events = out_deg.T @ per_pop                            # [P, n_steps]
    tot = per_pop.sum(axis=0)
    bins = tot[: n_steps // 10 * 10].reshape(-1, 10).sum(axis=1)     # 1 ms bins
    return {"spikes": float(tot.sum()), "spikes_per_rank": per_rank.sum(axis=1).tolist(),
            "step_mean": float(tot.mean()), "step_cv": float(tot.std() / tot.mean()), "step_max": float(tot.max()),
            "fano_1ms": float(bins.var() / bins.mean()),
            "rank_step_max_over_mean": float(per_rank.max(axis=0).sum() / per_rank.mean(axis=0).sum()),
            "events_step_max_over_mean": float(events.max(axis=0).sum() / events.mean(axis=0).sum()),
            "events_expected": float(events.sum())}


def wait_until_quiet(stop: float) -> bool:
    """Wait until other processes keep fewer than ``cc.LOADED_CORES`` cores busy (over 1 s); False when the time
    ``stop`` passes first."""
    from parsnn.mapping.cluster.measure import busy_cores
    while time.time() < stop:
        if busy_cores(1.0) < cc.LOADED_CORES:
            return True
        time.sleep(2.0)
    return False


def one_run(args, seed: int, workdir: str, tag: str) -> dict:
    """One PD14 run (seed ``seed``), its figures and prediction."""
    from parsnn.mapping.cluster.measure import busy_cores
    out = os.path.join(workdir, f"pd14_{tag}.h5")
    ru = os.path.join(workdir, f"rusage_{tag}")
    load = busy_cores(1.0)
    wall, perf, cpu = rusage_run.launch_pd14(cc.BIN, args.ranks, args.n_scaling, args.t_sim, seed, out, ru)
    p = cc.predict(out, args.machine)
    row = {"tag": tag, "seed": seed, "busy_cores_before": load, "launch_wall_s": wall,
           "rtf": float(perf["rtf"]), "simulate_s": perf["simulate_seconds"].tolist(),
           "update_s": perf["timer_update"].tolist(), "deliver_s": perf["timer_deliver"].tolist(),
           "exchange_s": perf["timer_exchange"].tolist(), "record_s": perf["timer_record"].tolist(),
           "synaptic_events": perf["synaptic_events"].tolist(), "cpu": cpu,
           "rtf_predicted": float(p["rtf"]) if p else None,
           "predicted_per_rank_s": {k: (np.asarray(p["per_rank"][k]) * p["intervals_per_model_s"]
                                        * args.t_sim * 1e-3).tolist() for k in ("update", "deliver", "exchange")}
           if p else None, **step_statistics(out)}
    os.remove(out)
    return row


#: a rank switched out involuntarily more often than this per second of its simulation shared its core with other
#: processes (as analysis/quick_predict_check.py's DISTURBED_SWITCHES)
DISTURBED_SWITCHES = 50


def disturbed(r: dict) -> bool:
    """Whether a run's rank was switched out more than :data:`DISTURBED_SWITCHES` times per second."""
    return max(c["nivcsw"] / max(c["wall_s"], 1e-9) for c in r["cpu"]) > DISTURBED_SWITCHES


def deliver_ns(r: dict) -> float:
    """The delivery's ns per synaptic event, mean over ranks (deliver timer / the rank's events)."""
    return float(np.mean([1e9 * d / max(1, e) for d, e in zip(r["deliver_s"], r["synaptic_events"])]))


def _fmt(v) -> str:
    """``v`` with 2 decimals, or '-' when None."""
    return "-" if v is None else f"{v:.2f}"


def markdown(res: dict) -> str:
    """The report."""
    lines = [f"# Seed or order? PD14 n_scaling {res['n_scaling']:g}, {res['ranks']} ranks, {res['t_sim']:g} ms: "
             f"{res['name']}", "",
             f"Generated by `{res['command']}` on {res['date']}. Machine: {res['machine']}. Predictions: the cost "
             f"model with `{res['machine_file']}` (one file for every run). Calibration before the first order: "
             f"{res['calibration']}. Busy cores of other processes before each run in the table (the machine is "
             "shared: the CPU seconds and the update / deliver timers are the comparable figures, the RTF and "
             "the exchange timer (which holds the wait for the other rank) move with the load).", "",
             "| # | seed | busy | RTF | pred. RTF | update s (r0, r1) | deliver s | exchange s | CPU s (user+sys) "
             "| invol. ctx sw. | huge-page share | syn. events (1e6) | spikes | step CV | Fano 1 ms "
             "| events max/mean per step |", "|---|" * 16 + "", ]
    lines[-1] = "|" + "---|" * 16
    f2 = lambda v: ", ".join(f"{x:.3f}" for x in v)   # noqa: E731
    for i, r in enumerate(res["rows"]):
        cpu = [c["user_s"] + c["sys_s"] for c in r["cpu"]]
        lines.append(
            f"| {i} | {r['seed']} | {r['busy_cores_before']:.2f} | {r['rtf']:.3f} | "
            f"{r['rtf_predicted']:.3f} | {f2(r['update_s'])} | {f2(r['deliver_s'])} | {f2(r['exchange_s'])} | "
            f"{f2(cpu)} | {', '.join(str(c['nivcsw']) for c in r['cpu'])} | "
            f"{', '.join(_fmt(c['huge_share']) for c in r['cpu'])} | "
            f"{sum(r['synaptic_events']) / 1e6:.1f} | {r['spikes']:.0f} | {r['step_cv']:.3f} | {r['fano_1ms']:.2f} | "
            f"{r['events_step_max_over_mean']:.4f} |")
    for title, rows in (("every run", res["rows"]),
                        (f"undisturbed runs (every rank switched out involuntarily at most {DISTURBED_SWITCHES} times per "
                         "second of its simulation)", [r for r in res["rows"] if not disturbed(r)])):
        if not rows:
            lines += ["", f"No {title.split(' (')[0]}."]
            continue
        lines += ["", f"Per seed, median over its {title}:", "",
                  "| seed | runs | RTF | CPU s (sum of ranks) | update s (sum) | deliver ns per event | exchange s (sum) "
                  "| pred. RTF |", "|---|---|---|---|---|---|---|---|"]
        for seed in sorted({r["seed"] for r in rows}):
            rs = [r for r in rows if r["seed"] == seed]
            med = lambda f: float(np.median([f(r) for r in rs]))   # noqa: E731
            lines.append(f"| {seed} | {len(rs)} | {med(lambda r: r['rtf']):.3f} | "
                         f"{med(lambda r: sum(c['user_s'] + c['sys_s'] for c in r['cpu'])):.2f} | "
                         f"{med(lambda r: sum(r['update_s'])):.3f} | {med(deliver_ns):.2f} | "
                         f"{med(lambda r: sum(r['exchange_s'])):.2f} | {med(lambda r: r['rtf_predicted']):.3f} |")
    pos = {}
    for r in res["rows"]:
        pos.setdefault("first of its order" if r["tag"].split("_")[1] == "0" else "later", []).append(r)
    lines += ["", "By position (every run): " + "; ".join(
        f"{k}: {len(v)} runs, median RTF {np.median([r['rtf'] for r in v]):.3f}, median deliver ns per event "
        f"{np.median([deliver_ns(r) for r in v]):.2f}, {sum(not disturbed(r) for r in v)} undisturbed" for k, v in pos.items())]
    return "\n".join(lines) + "\n"


def pooled_runs(paths: list[str]) -> list[dict]:
    """Every PD14 run of earlier results (this script's JSON, or analysis/quick_predict_check.py's: one entry
    per run, not per calibration): seed, CPU seconds (sum of ranks), RTF, synaptic events (None when the
    file has none: the seed's events from another file are used), where it came from."""
    out = []
    for path in paths:
        with open(path) as f:
            res = json.load(f)
        seen = set()
        for r in res["rows"]:
            if "cpu" in r:
                out.append({"seed": r["seed"], "cpu_s": sum(c["user_s"] + c["sys_s"] for c in r["cpu"]), "rtf": r["rtf"],
                            "events": float(sum(r["synaptic_events"])), "from": os.path.basename(path)})
            elif "cpu_s" in r and (r.get("after_calibration"), r["seed"]) not in seen:
                seen.add((r.get("after_calibration"), r["seed"]))
                out.append({"seed": r["seed"], "cpu_s": sum(r["cpu_s"]), "rtf": r["rtf_measured"], "events": None,
                            "from": os.path.basename(path)})
    events = {r["seed"]: r["events"] for r in out if r["events"]}
    return [dict(r, events=r["events"] or events.get(r["seed"])) for r in out]


def pooled_markdown(res: dict) -> str:
    """The pooled report: per seed, over every run of the files, CPU ns per synaptic event and RTF."""
    lines = [f"# Seed or order, pooled: {res['name']}", "", f"Generated by `{res['command']}` on {res['date']}. "
             f"Machine: {res['machine']}. Every PD14 run of {', '.join(res['files'])} (the seeds alternate in time in most "
             "of them, so other processes' load falls on every seed about alike): per seed, the CPU seconds of both ranks' simulations "
             "per synaptic event and the RTF (median and quartiles).", "",
             "| seed | runs | synaptic events (1e6) | CPU ns per event: median (25-75 %) | RTF: median (25-75 %) |",
             "|---|---|---|---|---|"]
    for seed in sorted({r["seed"] for r in res["runs"]}):
        rs = [r for r in res["runs"] if r["seed"] == seed and r["events"]]
        x = [1e9 * r["cpu_s"] / r["events"] for r in rs]
        y = [r["rtf"] for r in rs]
        q = lambda v: f"{np.median(v):.2f} ({np.percentile(v, 25):.2f}-{np.percentile(v, 75):.2f})"  # noqa: E731
        lines.append(f"| {seed} | {len(rs)} | {rs[0]['events'] / 1e6:.1f} | {q(x)} | {q(y)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Optionally calibrate, run the orders, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--orders", nargs="+", default=["1,2,3", "3,2,1", "1,1,1"])
    ap.add_argument("--calibrate-first", action="store_true")
    ap.add_argument("--machine", default=DEFAULT_MACHINE)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                    help="start a run only when other processes keep fewer than 0.3 cores busy; give up (and report "
                         "the runs so far) SECONDS after the start")
    ap.add_argument("--pool", nargs="+", metavar="JSON",
                    help="run nothing: pool the runs of these result files (this script's or quick_predict_check's)")
    args = ap.parse_args(argv)
    from parsnn.machines import fingerprint
    fp = fingerprint.current_fingerprint()
    if args.pool:
        res = {"name": args.name, "command": "python analysis/seed_order_check.py " + " ".join(argv or sys.argv[1:]),
               "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{fp.get('cpu_model')} ({fp.get('cores')} cores, fingerprint {fp.get('hash')})",
               "files": [os.path.relpath(p, os.path.dirname(cc.HERE)) for p in args.pool], "runs": pooled_runs(args.pool)}
        cc.save(os.path.join(cc.RESULTS, f"seed_order_{args.name}"), res, pooled_markdown)
        return 0
    rows, calib = [], "none"
    with tempfile.TemporaryDirectory(prefix="parsnn_seedorder_") as wd:
        if args.calibrate_first:
            t0 = time.time()
            subprocess.run([os.path.join(cc.BIN, "parsnn"), "calibrate", "--quick", "--out",
                            os.path.join(wd, "cal.toml"), "--overwrite"], check=True, capture_output=True, timeout=1800)
            calib = f"`parsnn calibrate --quick` ({time.time() - t0:.0f} s), then the first run at once"
        stop = time.time() + args.wait_quiet
        for o, order in enumerate(args.orders):
            for k, seed in enumerate(int(s) for s in order.split(",")):
                if args.wait_quiet and not wait_until_quiet(stop):
                    break
                rows.append(one_run(args, seed, wd, f"{o}_{k}_{seed}"))
                print(json.dumps({x: rows[-1][x] for x in ("tag", "rtf", "rtf_predicted", "busy_cores_before")}),
                      flush=True)
    res = {"name": args.name, "command": "python analysis/seed_order_check.py " + " ".join(argv or sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": f"{fp.get('cpu_model')} ({fp.get('cores')} cores, fingerprint {fp.get('hash')})",
           "machine_file": os.path.relpath(args.machine, os.path.dirname(cc.HERE)), "calibration": calib,
           "orders": args.orders, "n_scaling": args.n_scaling, "ranks": args.ranks, "t_sim": args.t_sim, "rows": rows}
    cc.save(os.path.join(cc.RESULTS, f"seed_order_{args.name}"), res, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
