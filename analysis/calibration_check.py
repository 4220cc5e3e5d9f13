#!/usr/bin/env python
"""Check a calibration against measured runs on the same machine, in one batch.

    python analysis/calibration_check.py --machine-file M.toml [--calibrate] [--name NAME] [--repeats 1] [--load auto]
                                         [--cases N:P:T,...] [--keep DIR] [--runs RUN.h5 ...]

``--calibrate`` first runs ``parsnn calibrate --quick --out M.toml`` (one batch with it); then PD14
n_scaling 0.1 and 0.25 on 1 rank x 1 thread, 2 ranks x 1 thread and 1 rank x 2 threads (``parsnn run``,
1 s model time, ``--repeats`` times), and
predicts each run (its own network, partition map and measured rates) with the calibration
(``parsnn.mapping.cluster.predict``, with its RTF range) and, for comparison, with the shipped
epyc_zen5_kvm_2core_2026_11_22 file (another machine). Writes
analysis/results/calibration_check_<NAME>.{json,md}; every number there comes from this command.
Besides the RTF, every row compares the model's phases with the run's phase timers, per min-delay
interval and averaged over the ranks: update, deliver, exchange, record (the flushes of recorded
data) and other (the wall time outside those four timers: the threads' meeting or parallel region and
thread 0's wait for the slowest thread). ``--cases`` runs only the given PD14 n_scaling : ranks :
threads; ``--keep DIR`` keeps the run files; ``--runs`` predicts finished run files instead of
running (their load before the run is unknown: nan).
The load of other processes before each run is recorded; the report's label (quiet / loaded) comes
from it (``--load auto``) or from ``--load``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
BIN = os.path.dirname(sys.executable)
FOREIGN = "epyc_zen5_kvm_2core_2026_11_22"
#: (PD14 n_scaling, ranks, threads per rank)
CASES = [(0.1, 1, 1), (0.1, 2, 1), (0.1, 1, 2), (0.25, 1, 1), (0.25, 2, 1), (0.25, 1, 2)]
#: the phases compared per row (us per interval, mean over ranks)
PHASES = ("update", "deliver", "exchange", "record", "other")
#: the phases with an engine timer of their own (``timer_<phase>``); 'other' is the wall time outside them
TIMED = PHASES[:4]
#: a phase counts towards "within 25 %" when it is at least this share of the measured interval
PHASE_MIN_SHARE = 0.10
#: other processes' busy cores before a run above which ``--load auto`` labels the check 'loaded'
LOADED_CORES = 0.3


def measure(n_scaling: float, P: int, workdir: str, t_sim: float = 1000.0, threads: int = 1) -> dict:
    """One PD14 run under mpiexec: its run file's path, measured RTF and the load before it."""
    from parsnn.mapping.cluster.measure import busy_cores
    out = os.path.join(workdir, f"pd14_n{n_scaling}_P{P}_T{threads}.h5")
    load = busy_cores(1.0)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    subprocess.run([os.path.join(BIN, "mpiexec"), "-n", str(P), os.path.join(BIN, "parsnn"), "run", "pd14",
                    "--n-scaling", str(n_scaling), "--t-sim", str(t_sim), "--no-progress", "--seed", "55",
                    "--threads", str(threads), "--out", out, "--overwrite"], check=True, capture_output=True, text=True, timeout=900)
    return {**from_run_file(out), "busy_cores_before": load, "started": started}


def from_run_file(path: str) -> dict:
    """A finished run's path, PD14 n_scaling, ranks, threads, measured RTF and phases (:func:`measured_phases`)."""
    from parsnn.runfile import RunFile
    with RunFile(path) as run:
        perf, t_sim_ms, info, P = run.performance, run.t_sim, run.run_info, run.num_ranks
    return {"path": path, "rtf": float(perf["rtf"]), "phases_us": measured_phases(perf, t_sim_ms),
            "n_scaling": info.get("n_scaling"), "ranks": int(P), "threads": int(info.get("threads") or 1)}


def measured_phases(perf: dict, t_sim_ms: float) -> dict:
    """The run's phases in us per min-delay interval, mean over ranks: its update, deliver, exchange and
    record (the flushes of recorded data) timers, and 'other' (simulate_seconds minus those four: the
    threads' meeting or parallel region and thread 0's wait for the slowest thread)."""
    import numpy as np
    n = max(1.0, round(float(t_sim_ms) / float(np.ravel(perf["min_delay_ms"])[0])))
    out = {ph: float(np.mean(perf.get(f"timer_{ph}", 0.0))) / n * 1e6 for ph in TIMED}
    out["other"] = float(np.mean(perf["simulate_seconds"])) / n * 1e6 - sum(out.values())
    return out


def predicted_phases(p: dict) -> dict:
    """The prediction's phases in us per interval, mean over ranks, as :func:`measured_phases`: 'other' is
    each rank's time in no timer, the threads' meeting (or parallel region) and thread 0's wait for the
    slowest thread. (Until session 13 it was the critical path minus each rank's timers, which on a rank
    other than 0 also held rank 0's last flush: that rank's run ends without waiting for it.)"""
    import numpy as np
    pr = p["per_rank"]
    out = {ph: float(np.mean(pr[ph])) * 1e6 for ph in TIMED}
    out["other"] = float(np.mean(np.asarray(pr["threads_region"]) + np.asarray(pr["threads_wait"]))) * 1e6
    return out


def phase_errors(pred: dict, meas: dict) -> dict:
    """{phase: relative error of the prediction, share of the measured interval}."""
    total = sum(meas.values())
    return {ph: {"error": (pred[ph] - meas[ph]) / meas[ph] if meas[ph] > 0 else float("nan"),
                 "share": meas[ph] / total if total > 0 else float("nan")} for ph in PHASES}


def load_label(rows: list[dict], given: str) -> str:
    """'quiet' or 'loaded' from the busy cores before the runs (``given`` 'auto'), else ``given``."""
    if given != "auto":
        return given
    return "loaded" if max(r["busy_cores_before"] for r in rows) >= LOADED_CORES else "quiet"


def predict(path: str, machine, threads: int = 1) -> dict | None:
    """The model's prediction for a finished run (its network, partition, measured rates); None when the
    machine file cannot predict it (no thread constants)."""
    from parsnn.errors import ParameterError
    from parsnn.mapping import cluster
    inp = cluster.run_inputs(path)
    try:
        return cluster.predict(inp["connectivity"], inp["ranks"], machine, inp["rank_of"], rates=inp["rates"],
                               t_sim_ms=inp["t_sim_ms"], threads=threads, interval_counts=inp.get("interval_counts"),
                               prefetch_distance=inp.get("prefetch_distance"))
    except ParameterError:
        return None


def load_machine_data(path: str) -> dict:
    """The data of a machine file."""
    from parsnn.machines import load_machine
    return load_machine(path).data


def _load_sentence(res: dict) -> str:
    """What the report says about the load during the check."""
    busy = [r["busy_cores_before"] for r in res["rows"]]
    label = res.get("load", "loaded")
    how = ("given by --load" if res.get("load_from") == "option" else
           f"other processes kept {max(busy):.2f} cores busy at most just before a run (mean {sum(busy) / len(busy):.2f}; "
           f"'loaded' from {LOADED_CORES})")
    return (f"Load: **{label}** ({how}); 'busy' is the cores other processes kept busy just before each run.")


def _phase_cell(r: dict) -> str:
    """'upd +3 % / del -20 % / exch (+80 %) / other (-5 %)': phases below PHASE_MIN_SHARE of the interval in ()."""
    cells = []
    for ph in PHASES:
        e = (r.get("phase_errors") or {}).get(ph)
        if e is None or e["error"] != e["error"]:
            cells.append(f"{ph[:4]} -")
            continue
        txt = f"{100 * e['error']:+.0f} %"
        cells.append(f"{ph[:4]} " + (txt if e["share"] >= PHASE_MIN_SHARE else f"({txt})"))
    return " / ".join(cells)


def _phase_summary(rows: list[dict]) -> str:
    """How many of the phases that matter (>= PHASE_MIN_SHARE of the interval) are within 25 %."""
    big = [e for r in rows for e in (r.get("phase_errors") or {}).values()
           if e["share"] >= PHASE_MIN_SHARE and e["error"] == e["error"]]
    ok = sum(abs(e["error"]) <= 0.25 for e in big)
    return f"phases (of at least {100 * PHASE_MIN_SHARE:.0f} % of the interval) within 25 %: {ok} of {len(big)}"


def markdown(res: dict) -> str:
    """The result table."""
    fp = res["fingerprint"]
    L = [f"# Calibration check: {res['machine']} ({res.get('load', 'loaded')} machine)", "",
         f"Generated by `{res['command']}` on {res['date']}. Machine: {fp.get('cpu_model')} "
         f"(family/model {fp.get('cpu_family_model')}), {fp.get('cores')} cores, L2 {fp.get('l2_kib')} KiB/core, "
         f"L3 {fp.get('l3_kib')} KiB, {fp.get('memory_gib')} GiB, {fp.get('mpi_library')}; fingerprint {fp.get('hash')}.",
         "", (f"Calibration and runs in one batch (minutes apart)." if "--calibrate" in res["command"] else
              f"Runs in a later batch than the calibration ({res.get('calibration_date', '?')}"
              + (f"; its batches ran from {min(res['batch_dates'])} to {max(res['batch_dates'])}"
                 if res.get("batch_dates") else "") + "): the machine file was not changed.") + " "
         + _load_sentence(res) + " Predictions are the cost model's "
         "(parsnn.mapping.cluster.predict) for each run's own network, partition and measured rates; "
         f"'foreign' uses the {res.get('foreign', FOREIGN)} file"
         + (" (another CPU)." if res.get("foreign", FOREIGN) == FOREIGN else " (a second machine file for comparison; "
            "'-' where it cannot predict the run, e.g. no thread constants).")
         + (" Rows with more than one thread per rank are predicted with the calibration's [threads] constants."
            if any(r.get("threads", 1) > 1 for r in res["rows"]) else ""), "",
         "Phase errors: the prediction against the run's phase timers, us per min-delay interval, mean over the "
         "ranks (update, deliver, exchange, record; 'other' is the wall time outside them: the threads' meeting "
         "and thread 0's wait for the slowest thread). In parentheses: phases below "
         f"{100 * PHASE_MIN_SHARE:.0f} % of the measured interval (not counted).", "",
         "| PD14 n_scaling | ranks x threads | measured RTF | predicted RTF (range) | error | inside range | "
         "phase errors | foreign prediction | foreign error | busy before |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        rng = r["rtf_range"]
        inside = "-" if not rng else ("yes" if rng[0] <= r["rtf_measured"] <= rng[1] else "no")
        foreign = ("- | -" if r.get("rtf_foreign") is None else
                   f"{r['rtf_foreign']:.3f} | {100 * r['error_foreign']:+.0f} %")
        L.append(f"| {r['n_scaling']} | {r['ranks']} x {r.get('threads', 1)} | {r['rtf_measured']:.3f} | "
                 f"{r['rtf_predicted']:.3f}" + (f" ({rng[0]:.3f}-{rng[1]:.3f})" if rng else "")
                 + f" | {100 * r['error']:+.0f} % | {inside} | {_phase_cell(r)} | {foreign} | {r['busy_cores_before']:.2f} |")
    inside = sum(1 for r in res["rows"] if r["rtf_range"] and r["rtf_range"][0] <= r["rtf_measured"] <= r["rtf_range"][1])
    L += ["", f"Within 25 %: RTF {sum(abs(r['error']) <= 0.25 for r in res['rows'])} of {len(res['rows'])}; "
          + (_phase_summary(res["rows"]) + "; " if any(r.get("phase_errors") for r in res["rows"]) else "")
          + f"measured RTF inside the predicted range: {inside} of {len(res['rows'])}.", ""]
    if any(r.get("phases_measured_us") for r in res["rows"]):
        L += ["| PD14 n_scaling | ranks x threads | " + " | ".join(f"{ph} us measured / predicted" for ph in PHASES)
              + " |", "|---|---|" + "---|" * len(PHASES)]
        for r in res["rows"]:
            m, p = r.get("phases_measured_us") or {}, r.get("phases_predicted_us") or {}
            L.append(f"| {r['n_scaling']} | {r['ranks']} x {r.get('threads', 1)} | "
                     + " | ".join(f"{m.get(ph, float('nan')):.1f} / {p.get(ph, float('nan')):.1f}" for ph in PHASES) + " |")
        L.append("")
    return "\n".join(L)


def check_row(n: float, P: int, T: int, rep: int, wd: str, machine, foreign) -> dict:
    """One PD14 run (n_scaling ``n``, ``P`` ranks x ``T`` threads) measured and predicted with ``machine``
    and the ``foreign`` file: RTFs, errors, phases measured and predicted, their errors."""
    return compare_row(measure(n, P, wd, threads=T), rep, machine, foreign)


def compare_row(m: dict, rep: int, machine, foreign) -> dict:
    """The row of a measured run ``m`` (:func:`measure` or :func:`from_run_file` with
    ``busy_cores_before``) predicted with ``machine`` and the ``foreign`` file."""
    n, P, T = m["n_scaling"], m["ranks"], m["threads"]
    p, q = predict(m["path"], machine, T), predict(m["path"], foreign, T)
    pred = predicted_phases(p)
    return {"n_scaling": n, "ranks": P, "threads": T, "repeat": rep, "rtf_measured": m["rtf"],
            "rtf_predicted": p["rtf"], "rtf_range": p["rtf_range"], "error": (p["rtf"] - m["rtf"]) / m["rtf"],
            "rtf_foreign": None if q is None else q["rtf"],
            "error_foreign": None if q is None else (q["rtf"] - m["rtf"]) / m["rtf"],
            "busy_cores_before": m["busy_cores_before"], "started": m.get("started"), "run_file": m["path"],
            "phases_measured_us": m["phases_us"], "phases_predicted_us": pred,
            "phase_errors": phase_errors(pred, m["phases_us"]),
            "workload": p["workload"]}


def main(argv=None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machine-file", required=True)
    ap.add_argument("--calibrate", action="store_true", help="run parsnn calibrate --quick first")
    ap.add_argument("--name", default=None, help="result name (default: the machine file's stem)")
    ap.add_argument("--note", action="append", default=[], help="passed to parsnn calibrate")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--foreign", default=FOREIGN,
                    help=f"a second machine file (name or path) to predict the same runs with (default {FOREIGN})")
    ap.add_argument("--report-only", action="store_true", help="rewrite the .md from the saved .json")
    ap.add_argument("--cases", default=None, help="comma list of N:P:T (PD14 n_scaling : ranks : threads) to "
                                                  "run instead of the six default cases")
    ap.add_argument("--keep", default=None, help="write the run files into this directory (kept) instead of a "
                                                 "temporary one")
    ap.add_argument("--runs", nargs="+", default=None,
                    help="predict these finished PD14 run files instead of running (their load unknown: nan)")
    ap.add_argument("--load", default="auto",
                    help="the report's label for the machine's load: auto (from the busy cores before the runs: "
                         f"'loaded' from {LOADED_CORES}, else 'quiet') or any word, e.g. idle, loaded")
    args = ap.parse_args(argv)
    name = args.name or os.path.splitext(os.path.basename(args.machine_file))[0]
    stem = os.path.join(RESULTS, f"calibration_check_{name}")
    if args.report_only:
        with open(stem + ".json") as f:
            res = json.load(f)
        cal = load_machine_data(args.machine_file).get("calibration") or {}
        res.setdefault("calibration_date", cal.get("date"))
        res.setdefault("batch_dates", cal.get("batch_dates"))
        if args.load != "auto" or "load" not in res:
            res["load"], res["load_from"] = load_label(res["rows"], args.load), "busy" if args.load == "auto" else "option"
        with open(stem + ".md", "w") as f:
            f.write(markdown(res))
        return 0
    if args.calibrate:
        cmd = [os.path.join(BIN, "parsnn"), "calibrate", "--quick", "--out", args.machine_file, "--overwrite",
               "--name", name] + [x for n in args.note for x in ("--note", n)]
        subprocess.run(cmd, check=True)
    from parsnn.machines import fingerprint, load_machine
    machine = load_machine(args.machine_file)
    rows = []
    cases = CASES if args.cases is None else [
        (float(n), int(P), int(T)) for n, P, T in (c.split(":") for c in args.cases.split(","))]
    if args.runs:
        rows = [compare_row({**from_run_file(f), "busy_cores_before": float("nan")}, 0, machine, args.foreign)
                for f in args.runs]
    else:
        if args.keep is not None:
            os.makedirs(args.keep, exist_ok=True)   # parsnn run does not make its output's folder
        with (tempfile.TemporaryDirectory(prefix="parsnn_check_") if args.keep is None
              else contextlib.nullcontext(args.keep)) as wd:
            for rep in range(args.repeats):
                for n, P, T in cases:
                    rows.append(check_row(n, P, T, rep, wd, machine, args.foreign))
                    print(json.dumps(rows[-1]))
    res = {"machine": machine.name, "machine_file": args.machine_file,
           "command": "python analysis/calibration_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "fingerprint": fingerprint.current_fingerprint(), "label": fingerprint.label(machine),
           "calibration_date": (machine.data.get("calibration") or {}).get("date"), "foreign": args.foreign,
           "batch_dates": (machine.data.get("calibration") or {}).get("batch_dates"),
           "load": load_label(rows, args.load), "load_from": "busy" if args.load == "auto" else "option",
           "rows": rows}
    save(stem, res, markdown)
    return 0


def save(stem: str, res: dict, to_markdown) -> None:
    """Write ``res`` to ``stem``.json and its report (``to_markdown(res)``) to ``stem``.md, and print the report."""
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(to_markdown(res))
    print(to_markdown(res))


if __name__ == "__main__":
    sys.exit(main())
