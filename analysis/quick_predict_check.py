#!/usr/bin/env python
"""Issue 18's user path, measured: ``parsnn calibrate --quick`` several times, then PD14 runs and
``parsnn predict RUN.h5 --ranks 2 --machine FILE`` with every calibration.

    python analysis/quick_predict_check.py --name NAME [--calibrations 2] [--runs 3] [--n-scaling 0.25]
                                           [--ranks 2] [--t-sim 2000] [--load auto] [--use FILE ...]

Writes the calibrations to analysis/results/calibration_quick_<NAME>_<i>.toml (each timed: wall seconds of
the command), then runs PD14 (``--n-scaling``, ``--ranks`` x 1 thread, seeds 1..``--runs``, ``parsnn run``
under mpiexec) and predicts every run with every calibration (its own network, partition and measured
rates, as ``parsnn predict RUN.h5``), and writes analysis/results/quick_predict_<NAME>.{json,md}: per run
and calibration the measured RTF, the predicted RTF and range, the error and whether the measured RTF lies
in the range; and whether each calibration's point prediction lies inside the other calibrations'
ranges (the range covering the calibration-to-calibration spread). Every number there comes from this
command. The load of other processes before each step is recorded; a loaded machine says nothing about
the model's accuracy. ``--use FILE`` (repeatable) predicts with existing machine files instead of
calibrating (wall seconds then not measured). The report's last table has one row per calibration (in the
order they ran): its runs' median and largest error, its warm-up, the event cost curve and update
constants that differed most between a first and a second calibration, and per batch the CPU time the
hypervisor stole, the huge-page fallbacks and the share of the event-cost networks' memory on huge pages.
``--no-warm-up`` calibrates without the untimed warm-up (``parsnn calibrate --no-warm-up``: the control).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration_check as cc  # noqa: E402  (the run, prediction and load helpers)


def calibrate(path: str, warm: bool = True) -> dict:
    """``parsnn calibrate --quick --out path`` (``--no-warm-up`` unless ``warm``): its wall seconds and the
    load before it."""
    from parsnn.mapping.cluster.measure import busy_cores
    load = busy_cores(1.0)
    t0 = time.time()
    subprocess.run([os.path.join(cc.BIN, "parsnn"), "calibrate", "--quick", "--out", path, "--overwrite",
                    *([] if warm else ["--no-warm-up"])], check=True, capture_output=True, text=True, timeout=1800)
    return {"path": os.path.relpath(path, os.path.dirname(cc.HERE)), "seconds": time.time() - t0,
            "busy_cores_before": load}


#: the constants shown per calibration (their values differ most between a first and a second quick
#: calibration, and the event cost curve carries most of the prediction's difference:
#: analysis/results/quick_calibration_terms_xeon_idle_s8_s9.md)
KEY_CONSTANTS = (("scatter ns_2", ("compute", "scatter", "ns_2")), ("ns_3", ("compute", "scatter", "ns_3")),
                 ("ns_4", ("compute", "scatter", "ns_4")),
                 ("update ns", ("compute", "update_ns", "iaf_psc_exp")))


def describe_calibration(cal: dict) -> dict:
    """What the report shows of one calibration file: its key constants, warm-up, and per batch the time
    the hypervisor stole (cores) and the huge-page fallbacks (``machine_per_batch``; absent in old files)."""
    import tomllib
    with open(os.path.join(os.path.dirname(cc.HERE), cal["path"]), "rb") as f:
        data = tomllib.load(f)
    out = {}
    for label, path in KEY_CONSTANTS:
        d = data
        for p in path:
            d = d.get(p, {}) if isinstance(d, dict) else {}
        out[label] = d if isinstance(d, (int, float)) else None
    c = data.get("calibration") or {}
    warm = c.get("warm_up") or {}
    per = c.get("machine_per_batch") or []
    return {"constants": out, "warm_up_s": warm.get("seconds") if warm.get("ran") else None,
            "steal_cores": [b.get("steal_cores") for b in per], "thp_fault_fallback": [b.get("thp_fault_fallback") for b in per],
            "huge_page_share": [b.get("huge_page_share") for b in per]}


def per_calibration(rows: list[dict], cals: list[dict]) -> list[dict]:
    """Per calibration index: its runs' errors (median, largest), how many within 25 %, and its file's figures."""
    import statistics
    out = []
    for i, cal in enumerate(cals):
        err = [r["error"] for r in rows if r["calibration"] == i]
        out.append({"calibration": i, "median_error": statistics.median(err) if err else float("nan"),
                    "max_abs_error": max((abs(e) for e in err), default=float("nan")),
                    "within_25": sum(abs(e) <= 0.25 for e in err), "runs": len(err), **describe_calibration(cal)})
    return out


def _fmt(v, spec: str) -> str:
    """``v`` formatted, or '-' when missing."""
    return "-" if v is None else format(v, spec)


def per_calibration_lines(res: dict) -> list[str]:
    """The report's table per calibration index (first vs later calibrations)."""
    pc = res.get("per_calibration") or []
    if not pc:
        return []
    labels = [k for k, _p in KEY_CONSTANTS]
    lines = ["", "Per calibration (in the order they ran; the first one is the one a cold machine would affect):", "",
             "| calibration | wall s | warm-up s | median error | largest error | within 25 % | "
             + " | ".join(labels) + " | steal (cores) per batch | THP fallbacks per batch | huge-page share per batch |",
             "|---|---|---|---|---|---|" + "---|" * len(labels) + "---|---|---|"]
    for p, c in zip(pc, res["calibrations"]):
        lines.append(f"| {p['calibration']} | {c['seconds']:.0f} | {_fmt(p['warm_up_s'], '.0f')} | "
                     f"{100 * p['median_error']:+.0f} % | {100 * p['max_abs_error']:.0f} % | {p['within_25']} of {p['runs']} | "
                     + " | ".join(_fmt(p["constants"][k], ".3g") for k in labels) + " | "
                     + (", ".join(_fmt(x, ".3f") for x in p["steal_cores"]) or "-") + " | "
                     + (", ".join(_fmt(x, "d") for x in p["thp_fault_fallback"]) or "-") + " | "
                     + (", ".join(_fmt(x, ".2f") for x in p["huge_page_share"]) or "-") + " |")
    return lines


def run_and_predict(args, cals: list[dict], workdir: str) -> list[dict]:
    """Every run (seeds 1..runs) and its prediction with every calibration."""
    from parsnn.mapping.cluster.measure import busy_cores
    from parsnn.runfile import RunFile
    rows = []
    for seed in range(1, args.runs + 1):
        out = os.path.join(workdir, f"pd14_{seed}.h5")
        load = busy_cores(1.0)
        subprocess.run([os.path.join(cc.BIN, "mpiexec"), "-n", str(args.ranks), os.path.join(cc.BIN, "parsnn"), "run",
                        "pd14", "--n-scaling", str(args.n_scaling), "--t-sim", str(args.t_sim), "--seed", str(seed),
                        "--no-progress", "--out", out, "--overwrite"], check=True, capture_output=True, text=True,
                       timeout=1800)
        with RunFile(out) as run:
            rtf = float(run.performance["rtf"])
        for i, cal in enumerate(cals):
            p = cc.predict(out, os.path.join(os.path.dirname(cc.HERE), cal["path"]))
            rows.append({"seed": seed, "calibration": i, "rtf_measured": rtf, "rtf_predicted": float(p["rtf"]),
                         "rtf_range": p["rtf_range"], "error": float(p["rtf"]) / rtf - 1.0,
                         "inside": bool(p["rtf_range"] and p["rtf_range"][0] <= rtf <= p["rtf_range"][1]),
                         "busy_cores_before": load})
        os.remove(out)
    return rows


def markdown(res: dict) -> str:
    """The report."""
    rows, cals = res["rows"], res["calibrations"]
    lines = [f"# `parsnn calibrate --quick` then `parsnn predict RUN.h5 --ranks {res['ranks']}`: {res['name']}", "",
             f"Generated by `{res['command']}` on {res['date']}. Machine: {res['machine']}. Load: **{res['load']}** "
             f"(other processes' busy cores just before each step, at most "
             f"{max([r['busy_cores_before'] for r in rows] + [c['busy_cores_before'] for c in cals]):.2f}). PD14 "
             f"n_scaling {res['n_scaling']:g} on {res['ranks']} ranks, {res['t_sim']:g} ms, seeds 1-{res['runs']}; "
             f"predictions are the cost model's, with each calibration.", "",
             "| calibration | file | wall seconds |", "|---|---|---|"]
    lines += [f"| {i} | {c['path']} | {c['seconds']:.0f} |" for i, c in enumerate(cals)]
    lines += ["", "| seed | calibration | measured RTF | predicted RTF (range) | error | inside range |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        rng = f"{r['rtf_range'][0]:.3f}-{r['rtf_range'][1]:.3f}" if r["rtf_range"] else "-"
        lines.append(f"| {r['seed']} | {r['calibration']} | {r['rtf_measured']:.3f} | {r['rtf_predicted']:.3f} "
                     f"({rng}) | {100 * r['error']:+.0f} % | {'yes' if r['inside'] else 'no'} |")
    within = sum(abs(r["error"]) <= 0.25 for r in rows)
    lines += ["", f"Within 25 %: {within} of {len(rows)}; measured RTF inside the predicted range: "
                  f"{sum(r['inside'] for r in rows)} of {len(rows)}."]
    for line in res["cross"]:
        lines.append(f"- {line}")
    lines += per_calibration_lines(res)
    return "\n".join(lines) + "\n"


def cross_coverage(rows: list[dict], n_cal: int) -> list[str]:
    """Whether each calibration's point prediction of the first run lies inside every other's range."""
    first = {r["calibration"]: r for r in rows if r["seed"] == 1}
    out = []
    for i in range(n_cal):
        for j in range(n_cal):
            if i != j and i in first and j in first and first[j]["rtf_range"]:
                lo, hi = first[j]["rtf_range"]
                inside = lo <= first[i]["rtf_predicted"] <= hi
                out.append(f"calibration {i}'s prediction of seed 1 ({first[i]['rtf_predicted']:.3f}) is "
                           f"{'inside' if inside else 'outside'} calibration {j}'s range ({lo:.3f}-{hi:.3f})")
    return out


def main(argv=None) -> int:
    """Calibrate, run, predict, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--calibrations", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--load", default="auto", help="the report's load label: auto (from the busy cores) or a word")
    ap.add_argument("--no-warm-up", dest="warm", action="store_false",
                    help="calibrate with parsnn calibrate --no-warm-up (the control: without the untimed warm-up)")
    ap.add_argument("--use", action="append", default=[], metavar="FILE",
                    help="predict with this machine file instead of calibrating (repeatable)")
    args = ap.parse_args(argv)
    from parsnn.machines import fingerprint
    fp = fingerprint.current_fingerprint()
    cals = ([{"path": os.path.relpath(os.path.abspath(p), os.path.dirname(cc.HERE)), "seconds": float("nan"),
              "busy_cores_before": 0.0} for p in args.use] if args.use else
            [calibrate(os.path.join(cc.RESULTS, f"calibration_quick_{args.name}_{i}.toml"), args.warm)
             for i in range(args.calibrations)])
    with tempfile.TemporaryDirectory(prefix="parsnn_qpc_") as workdir:
        rows = run_and_predict(args, cals, workdir)
    busy = [r["busy_cores_before"] for r in rows] + [c["busy_cores_before"] for c in cals]
    res = {"name": args.name, "command": "python analysis/quick_predict_check.py " + " ".join(argv or sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": f"{fp.get('cpu_model')} ({fp.get('cores')} cores, fingerprint {fp.get('hash')})",
           "load": args.load if args.load != "auto" else ("loaded" if max(busy) >= cc.LOADED_CORES else "quiet"),
           "n_scaling": args.n_scaling, "ranks": args.ranks, "t_sim": args.t_sim, "runs": args.runs,
           "calibrations": cals, "rows": rows, "cross": cross_coverage(rows, len(cals)),
           "per_calibration": per_calibration(rows, cals)}
    cc.save(os.path.join(cc.RESULTS, f"quick_predict_{args.name}"), res, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
