#!/usr/bin/env python
"""Re-predict the measured runs of a calibration check with the session-13 cost model terms, without
re-measuring them.

    python analysis/cal13_repredict.py [--check NAME] [--runs-dir DIR] [--make-runs]
                                       [--record-json F | --measure-record F] [--out NAME]

(``--make-runs`` the first time: it makes the six PD14 run files in ``--runs-dir``, default /tmp/cal13_runs.)

The check's json (analysis/results/calibration_check_<NAME>.json) holds the measured phases of its six PD14
runs; its machine file (.toml) the calibration's constants. The runs' inputs (network, partition, measured
rates) come from PD14 run files made again with the check's command line (``parsnn run pd14 --n-scaling N
--t-sim 1000 --seed 55 --threads T``, ``mpiexec -n P``) into ``--runs-dir``: spikes are the same for a seed
on any machine and layout, which the script checks (each row's predicted events per interval must equal the
check's). Their timings are not used.

Three machine files predict each run:

- ``s12b``: the check's file as it is (reproduces the check's predictions);
- ``+upd``: its thread update efficiencies (``[threads.update]`` eff_i, and ``update_efficiency``) rescaled
  to thread 0's cost-weighted share of the scatter networks' update
  (:func:`parsnn.mapping.cluster.threadwait.record_shares` with the machine): the calibration measured
  eff = (1-thread work x thread 0's share) / thread 0's 2-thread time, so the efficiency scales with the
  share, by (share by cost) / (share by count); ``update_efficiency`` is the median of the rescaled points
  (the calibration took the median over segments of each segment's median over the networks);
- ``+rec``: ``+upd`` with ``record_ns`` and ``record_flush_us`` (:mod:`parsnn.mapping.cluster.recordcost`) from
  ``--record-json`` (made by ``--measure-record F``: the calibration's quick PD14 0.1 and Brunel A 0.5 runs
  on 1 rank, 4 segments, fitted per segment and the median taken) -- measured on THIS machine, which need not
  be the check's.

Writes analysis/results/<--out>.{json,md}.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, HERE)

import calibration_check as cc  # noqa: E402


def shares(machine) -> list[tuple[str, float, float]]:
    """(run, thread 0's update share by count, by cost on ``machine``) of every thread calibration network."""
    from parsnn.mapping.cluster import measure, scatter, threadwait
    from parsnn.mapping.cluster.machinefile import THREAD_RUNS
    specs = scatter.specs()
    out = []
    for name in THREAD_RUNS:
        net = measure.calibration_network(specs[name])
        rec = {"description": net.describe(), "rank_of": [0] * net.num_nodes, "rates": {}}
        out.append((name, threadwait.record_shares(rec, 2)[0], threadwait.record_shares(rec, 2, machine)[0]))
    return out


def rescaled_update(machine) -> tuple[object, list[dict]]:
    """(``machine`` with its thread update efficiencies rescaled by share by cost / share by count, the points)."""
    from parsnn.machines import Machine
    data = copy.deepcopy(machine.data)
    tab = data["threads"]["update"]
    pts = []
    for i, (name, by_count, by_cost) in enumerate(shares(machine), start=1):
        old = float(tab[f"eff_{i}"])
        tab[f"eff_{i}"] = old * by_cost / by_count
        pts.append({"run": name, "n": float(tab[f"n_{i}"]), "share_count": by_count, "share_cost": by_cost,
                    "eff_old": old, "eff_new": tab[f"eff_{i}"]})
    data["threads"]["update_efficiency"] = float(np.median([p["eff_new"] for p in pts]))
    return Machine(name=machine.name + "+upd", data=data), pts


def with_record(machine, rec: dict):
    """``machine`` with the record constants ``rec`` (record_ns, record_flush_us)."""
    from parsnn.machines import Machine
    data = copy.deepcopy(machine.data)
    data["compute"]["record_ns"] = float(rec["record_ns"])
    data["compute"]["record_flush_us"] = float(rec["record_flush_us"])
    return Machine(name=machine.name + "+rec", data=data)


def measure_record(out: str) -> dict:
    """The calibration's quick PD14 0.1 and Brunel A 0.5 runs on 1 rank (4 segments of 100 ms after a
    60-ms warm-up), the record constants of each segment and their median; written to ``out``."""
    from parsnn.mapping.cluster import calibrate, calibration, measure, recordcost
    cfg = calibrate.MODES["quick"]
    specs = calibrate.SPECS_P1
    names = ("pd14_P1", "brunel_P1")
    recs = measure.launch([calibrate._timed(specs[n], cfg["t"][n[:-3]], cfg, "sleep") for n in names], 1)
    runs = dict(zip(names, recs))
    segs = []
    for j in range(calibration.n_segments(runs)):
        s = calibration.segment_runs(runs, j)
        segs.append({**recordcost.record_costs(s["pd14_P1"], s["brunel_P1"]),
                     **{f"{n}_{k}": v for n in names for k, v in (
                         ("record_s", float(np.ravel(s[n]["perf"]["timer_record"])[0])),
                         ("spikes", float(np.sum(s[n]["delivered_spikes"]))), ("t_sim_ms", s[n]["t_sim_ms"]),
                         ("flushes", recordcost.record_flushes(s[n])),
                         ("populations", recordcost.recorded_populations(s[n])))}})
    res = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "busy_cores_before": [r["busy_cores_before"] for r in recs], "segments": segs,
           "record_ns": float(np.median([s["record_ns"] for s in segs])),
           "record_flush_us": float(np.median([s["record_flush_us"] for s in segs])),
           "record_ns_brunel_ratio": float(np.median([recordcost.record_cost(calibration.segment_runs(runs, j)
                                                                              ["brunel_P1"]) for j in range(len(segs))]))}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    return res


NOTES = """**Update (1 x 2).** The calibration measures the update's thread efficiency on the scatter networks
as (1-thread update work x thread 0's share) / thread 0's 2-thread update timer. Thread 0's share was its
share of the neurons; but the engine's owner map puts every Poisson source (2,500, each costing
update_ns.poisson_source, 28x an iaf_psc_exp update in the s12b file) on thread 0, so thread 0 held 67-94 %
of the update work, not 50-59 %, and the efficiencies came out 1.3-1.6x too low (0.54 / 0.56 / 0.80). The
prediction gives thread 0 its own neurons at their models' costs
(parsnn.mapping.cluster.threadwait.slot_update_work); the calibration now weighs the share the same way
(threadwait.record_shares with the machine). PD14 is all iaf_psc_exp, so nothing else differed between
what was measured and what was predicted. The rescaled points are an approximation of what the fixed
calibration would have given (the constants of each segment, not the final file's, weighed each
segment's share).

**Record.** Rank 0's record timer holds a fixed cost per recorded population and flush: the writer
appends each population's spikes to its time and id datasets (chunks of 64 Ki entries with checksums)
and reads the last stored spike back (`python -m cProfile` of `parsnn run pd14 --n-scaling 0.1 --t-sim 1000
--flush-every 100 --seed 55` on this loaded machine: 0.37 s of the 10 flushes' 0.39 s in the writer's
append of the spikes, 80 population appends). The calibration ran its networks with no
output file, so it never paid it: its record_ns was Brunel's record timer over its spikes, in memory.
Now PD14 0.1 and Brunel A 0.5 write a run file in the calibration (spec `record_file`), and the record
timer is solved as flushes x recorded populations x record_flush_us + recorded spikes x record_ns
(parsnn.mapping.cluster.recordcost); a check run of 1 s on PD14 flushes once, 8 populations. The '+rec'
constants were measured on this machine under load (see above), not on the check's idle machine: the
over-prediction here says little about the term; a calibration check in a quiet window measures both on
one machine. In the check's runs the one flush is the file's first (nothing to read back) while the
calibration's segments append to a file already written: a possible difference the quiet check will show.

**'other' on 2 ranks.** The check's 'other' is each rank's wall time outside the timers; the prediction's
was the critical path minus each rank's timers, which on rank 1 also held rank 0's last flush (rank 1's run
ends without waiting for it). It is now the threads' meeting and wait (calibration_check.predicted_phases);
with the record's fixed cost this had made rank 1's 'other' several us.

Not changed, found on the way: ``threads.sigma_rel`` (0 in the s12b file) is fitted from the same scatter
networks as if both threads had equal expected work (threadwait.fit_sigma_rel); with 67-94 % of the update
on thread 0, thread 0 is the slower thread and hardly ever waits, so the fit sees no wait whatever the noise.
A network whose threads' expected work is equal (e.g. one population) would measure it.

Not changed: the delivery's 1 x 2 errors (+43 % / +12 %) follow its 1 x 1 errors (+42 % / +7 %): the event
cost, not the thread terms; the 1 x 2 'other' (-26 % / +72 %) is the team's meeting plus thread 0's wait."""


def row(r: dict, path: str, machines: dict) -> dict:
    """One check row re-predicted with every machine: phases (us per interval) and errors against the check's
    measured phases, the RTF and its error."""
    meas = r["phases_measured_us"]
    out = {"n_scaling": r["n_scaling"], "ranks": r["ranks"], "threads": r["threads"], "rtf_measured": r["rtf_measured"],
           "phases_measured_us": meas, "by_machine": {}}
    for key, m in machines.items():
        p = cc.predict(path, m, r["threads"])
        ev = p["workload"]["events_per_interval_mean"]
        if abs(ev - r["workload"]["events_per_interval_mean"]) > 1e-6 * max(1.0, ev):
            raise SystemExit(f"{path}: {ev} events per interval, the check had "
                             f"{r['workload']['events_per_interval_mean']}: not the check's run")
        ph = cc.predicted_phases(p)
        out["by_machine"][key] = {"rtf": p["rtf"], "error": (p["rtf"] - r["rtf_measured"]) / r["rtf_measured"],
                                  "phases_us": ph, "phase_errors": cc.phase_errors(ph, meas)}
    return out


def _cell(e: dict) -> str:
    txt = f"{100 * e['error']:+.0f} %"
    return txt if e["share"] >= cc.PHASE_MIN_SHARE else f"({txt})"


def markdown(res: dict) -> str:
    keys = list(res["machines"])
    L = [f"# Re-prediction of the calibration check {res['check']} with the session-13 terms", "",
         f"Generated by `{res['command']}` on {res['date']} (prediction only; the measured phases are the check's, "
         f"made on {res['check_date']} on {res['check_machine']}).", "",
         "Machine files: " + "; ".join(f"**{k}**: {v}" for k, v in res["machines"].items()) + ".", "",
         "## Thread update efficiencies rescaled", "",
         "| network | neuron updates per interval | thread 0's update share by count | by cost | efficiency as "
         "calibrated | rescaled |", "|---|---|---|---|---|---|"]
    for p in res["update_points"]:
        L.append(f"| {p['run'][:-3]} | {p['n']:.0f} | {p['share_count']:.3f} | {p['share_cost']:.3f} | "
                 f"{p['eff_old']:.3f} | {p['eff_new']:.3f} |")
    rec = res.get("record")
    if rec:
        L += ["", "## Record constants", "",
              f"Measured on this machine ({res['this_machine']}) at {rec['date']}, other processes keeping "
              f"{', '.join(f'{b:.2f}' for b in rec['busy_cores_before'])} cores busy before the launch: "
              f"record_flush_us = {rec['record_flush_us']:.0f} us per recorded population and flush, record_ns = "
              f"{rec['record_ns']:.1f} ns per recorded spike (median of {len(rec['segments'])} segments; Brunel's "
              f"record timer over its spikes, the old record_ns, gives {rec['record_ns_brunel_ratio']:.1f} here, "
              f"the check's file {res['s12b_record_ns']:.1f}).", ""]
    L += ["", "## Phase errors (prediction vs the check's measured timers, us per interval)", "",
          "In parentheses: phases below 10 % of the measured interval (not counted).", "",
          "| PD14 n_scaling | ranks x threads | phase | measured | " + " | ".join(f"{k} pred (error)" for k in keys) + " |",
          "|---|---|---|---|" + "---|" * len(keys)]
    for r in res["rows"]:
        for ph in cc.PHASES:
            cells = [f"{r['by_machine'][k]['phases_us'][ph]:.1f} ({_cell(r['by_machine'][k]['phase_errors'][ph])})"
                     for k in keys]
            L.append(f"| {r['n_scaling']} | {r['ranks']} x {r['threads']} | {ph} | {r['phases_measured_us'][ph]:.1f} | "
                     + " | ".join(cells) + " |")
        cells = [f"{r['by_machine'][k]['rtf']:.3f} ({100 * r['by_machine'][k]['error']:+.0f} %)" for k in keys]
        L.append(f"| {r['n_scaling']} | {r['ranks']} x {r['threads']} | **RTF** | {r['rtf_measured']:.3f} | "
                 + " | ".join(cells) + " |")
    L += ["", "## Summary", ""]
    L += ["| machine file | RTF within 25 % | phases (>= 10 % of the interval) within 25 % | "
          "1 x 2 update errors | record errors |", "|---|---|---|---|---|"]
    for k in keys:
        big = [e for r in res["rows"] for e in r["by_machine"][k]["phase_errors"].values()
               if e["share"] >= cc.PHASE_MIN_SHARE and e["error"] == e["error"]]
        rtf = sum(abs(r["by_machine"][k]["error"]) <= 0.25 for r in res["rows"])
        upd = " / ".join(f"{100 * r['by_machine'][k]['phase_errors']['update']['error']:+.0f} %"
                         for r in res["rows"] if r["threads"] > 1)
        recs = " / ".join(f"{100 * r['by_machine'][k]['phase_errors']['record']['error']:+.0f} %" for r in res["rows"])
        L.append(f"| {k} | {rtf} of {len(res['rows'])} | {sum(abs(e['error']) <= 0.25 for e in big)} of {len(big)} | "
                 f"{upd} | {recs} |")
    L += ["", "## What changed", "", NOTES]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", default="xeon_emr_kvm_2core_idle_2026_12_02_s12b")
    ap.add_argument("--runs-dir", default="/tmp/cal13_runs")
    ap.add_argument("--record-json", default=None, help="record constants measured before (--measure-record)")
    ap.add_argument("--measure-record", default=None, help="measure the record constants here, write them to F")
    ap.add_argument("--make-runs", action="store_true", help="run the check's six PD14 runs into --runs-dir first")
    ap.add_argument("--out", default="cal13_repredict_s13")
    args = ap.parse_args(argv)
    from parsnn.machines import fingerprint, load_machine
    stem = os.path.join(RESULTS, f"calibration_check_{args.check}")
    with open(stem + ".json") as f:
        check = json.load(f)
    base = load_machine(stem + ".toml")
    if args.make_runs:
        os.makedirs(args.runs_dir, exist_ok=True)
        for r in check["rows"]:
            subprocess.run([os.path.join(cc.BIN, "mpiexec"), "-n", str(r["ranks"]), os.path.join(cc.BIN, "parsnn"),
                            "run", "pd14", "--n-scaling", str(r["n_scaling"]), "--t-sim", "1000.0", "--no-progress",
                            "--seed", "55", "--threads", str(r["threads"]), "--out", _run_path(args.runs_dir, r),
                            "--overwrite"], check=True, capture_output=True)
    upd, pts = rescaled_update(base)
    machines = {"s12b": base, "+upd": upd}
    names = {"s12b": f"the check's file ({os.path.relpath(stem + '.toml', os.path.dirname(HERE))})",
             "+upd": "s12b with the thread update efficiencies rescaled to the cost-weighted share"}
    rec = None
    if args.measure_record:
        rec = measure_record(args.measure_record)
    elif args.record_json:
        with open(args.record_json) as f:
            rec = json.load(f)
    if rec:
        machines["+rec"] = with_record(upd, rec)
        names["+rec"] = "+upd with record_ns and record_flush_us measured on this machine"
    fp = fingerprint.current_fingerprint()
    res = {"command": "python analysis/cal13_repredict.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "check": args.check,
           "check_date": check["date"], "check_machine": f"family/model {check['fingerprint'].get('cpu_family_model')}, "
           f"{check.get('load', '?')}", "this_machine": f"family/model {fp.get('cpu_family_model')}, "
           f"L3 {fp.get('l3_kib')} KiB", "machines": names, "update_points": pts, "record": rec,
           "s12b_record_ns": base.data["compute"]["record_ns"],
           "rows": [row(r, _run_path(args.runs_dir, r), machines) for r in check["rows"]]}
    for r, old in zip(res["rows"], check["rows"]):       # the check's file reproduces the check's predictions
        got = r["by_machine"]["s12b"]["phases_us"]        # ('other' of 2 ranks: see calibration_check.predicted_phases)
        assert all(abs(got[k] - old["phases_predicted_us"][k]) <= 1e-6 * max(1.0, abs(got[k])) for k in cc.TIMED), (got, old)
        assert abs(r["by_machine"]["s12b"]["rtf"] - old["rtf_predicted"]) <= 1e-9 * old["rtf_predicted"]
    cc.save(os.path.join(RESULTS, args.out), res, markdown)
    return 0


def _run_path(d: str, r: dict) -> str:
    return os.path.join(d, f"pd14_n{r['n_scaling']}_P{r['ranks']}_T{r['threads']}.h5")


if __name__ == "__main__":
    sys.exit(main())
