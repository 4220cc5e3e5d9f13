#!/usr/bin/env python
"""Issue 18's user path, measured: ``parsnn calibrate --quick`` several times, PD14 runs between them, and
``parsnn predict RUN.h5 --ranks 2 --machine FILE`` with every calibration and with their merge.

    python analysis/quick_predict_check.py --name NAME [--calibrations 3] [--runs 3] [--n-scaling 0.25]
                                           [--ranks 2] [--t-sim 2000] [--load auto] [--use FILE ...]
                                           [--no-interleave] [--no-merge] [--no-warm-up]

Calibration i is written to analysis/results/calibration_quick_<NAME>_<i>.toml (wall seconds of the command
timed) and is followed at once by PD14 runs (``--n-scaling``, ``--ranks`` x 1 thread, seeds 1..``--runs``)
in an order rotated by i, so that with as many calibrations as seeds every seed is the first run after a
calibration once (the check before session 11 calibrated twice, then ran seeds 1, 2, 3: seed 1 always came
first; ``--no-interleave`` does that). Each run goes through analysis/rusage_run.py (the same ``parsnn run``
plus every rank's CPU seconds and involuntary context switches in its simulation: a run whose rank was
switched out more than :data:`DISTURBED_SWITCHES` times per second of it is marked 'disturbed'). Every run
is then predicted with every calibration and with ``parsnn calibrate --batches 0 --merge`` of them all (written to
calibration_quick_<NAME>_merged.toml; ``--no-merge``: not), as ``parsnn predict RUN.h5`` would (its own
network, partition and measured rates). Writes analysis/results/quick_predict_<NAME>.{json,md}: per run and
calibration the measured RTF, CPU seconds, switches, the predicted RTF and range, the error and whether the
measured RTF lies in the range; the counts within 25 % over all and over undisturbed runs; per seed its
runs' RTFs; the first runs after a calibration against the later ones; whether each calibration's
prediction of seed 1 lies inside the others' ranges; and per calibration its runs' median and largest
error, its warm-up, the constants that differed most between calibrations, and per batch the CPU time the
hypervisor stole, the huge-page fallbacks and the event-cost networks' share of memory on huge pages. The
load of other processes before each step is recorded; a loaded machine says nothing about the model's
accuracy. ``--use FILE`` (repeatable) predicts with existing machine files instead of calibrating (the seeds
run once). ``--no-warm-up`` calibrates without the untimed warm-up (the control). Every number in the
report comes from this command.
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
    """Per calibration (index, or 'merged'): its runs' errors (median, largest), how many within 25 %, and its
    file's figures."""
    import statistics
    out = []
    for i, cal in enumerate(cals):
        lab = _label(cal, i)
        err = [r["error"] for r in rows if r["calibration"] == lab]
        out.append({"calibration": lab, "median_error": statistics.median(err) if err else float("nan"),
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


#: a run one of whose ranks was switched out involuntarily more often than this per second of its simulation
#: (analysis/rusage_run.py) shared its cores with other processes: its RTF is the load's, not the model's
#: (quiet runs of analysis/results/seed_order_xeon_s11_a.md: 4-27 per second; runs during other helpers' load:
#: 350-7,000 per second)
DISTURBED_SWITCHES = 50


def rotation(seeds: list[int], i: int) -> list[int]:
    """The seeds in the order run after calibration ``i``: rotated by ``i``, so that every seed is the first
    run after a calibration once in every len(seeds) calibrations (seed or order: analysis/seed_order_check.py)."""
    k = i % len(seeds)
    return seeds[k:] + seeds[:k]


def run_once(args, seed: int, workdir: str, tag: str) -> dict:
    """One PD14 run (``--n-scaling``, ``--ranks`` x 1 thread, ``--t-sim``, seed ``seed``) under
    analysis/rusage_run.py: its run file, measured RTF, per-rank CPU seconds and involuntary context switches
    in its simulation, and the load before it."""
    import json
    from parsnn.mapping.cluster.measure import busy_cores
    from parsnn.runfile import RunFile
    out, ru = os.path.join(workdir, f"pd14_{tag}.h5"), os.path.join(workdir, f"rusage_{tag}")
    load = busy_cores(1.0)
    subprocess.run([os.path.join(cc.BIN, "mpiexec"), "-n", str(args.ranks), sys.executable,
                    os.path.join(cc.HERE, "rusage_run.py"), "run", "pd14", "--n-scaling", str(args.n_scaling),
                    "--t-sim", str(args.t_sim), "--seed", str(seed), "--no-progress", "--out", out, "--overwrite"],
                   check=True, capture_output=True, text=True, timeout=1800, env=dict(os.environ, PARSNN_RUSAGE_OUT=ru))
    with RunFile(out) as run:
        rtf = float(run.performance["rtf"])
    cpu = []
    for r in range(args.ranks):
        with open(f"{ru}.{r}") as f:
            cpu.append(json.load(f))
    switches = max(c["nivcsw"] for c in cpu)
    per_s = max(c["nivcsw"] / max(c["wall_s"], 1e-9) for c in cpu)
    return {"seed": seed, "path": out, "rtf_measured": rtf, "busy_cores_before": load,
            "cpu_s": [c["user_s"] + c["sys_s"] for c in cpu], "involuntary_switches": switches,
            "switches_per_s": per_s, "disturbed": per_s > DISTURBED_SWITCHES}


def predict_runs(runs: list[dict], cals: list[dict]) -> list[dict]:
    """Every run predicted with every calibration: one row per (run, calibration)."""
    rows = []
    for run in runs:
        for i, cal in enumerate(cals):
            p = cc.predict(run["path"], os.path.join(os.path.dirname(cc.HERE), cal["path"]))
            rtf = run["rtf_measured"]
            rows.append({**{k: v for k, v in run.items() if k != "path"}, "calibration": cal.get("label", i),
                         "rtf_predicted": float(p["rtf"]), "rtf_range": p["rtf_range"],
                         "error": float(p["rtf"]) / rtf - 1.0,
                         "inside": bool(p["rtf_range"] and p["rtf_range"][0] <= rtf <= p["rtf_range"][1])})
    return rows


def merge_calibrations(cals: list[dict], name: str) -> dict:
    """``parsnn calibrate --batches 0 --merge`` of every calibration (their batches and segments pooled: the
    constants the median over all, the range covering the drift between them), as a calibration entry."""
    path = os.path.join(cc.RESULTS, f"calibration_quick_{name}_merged.toml")
    root = os.path.dirname(cc.HERE)
    subprocess.run([os.path.join(cc.BIN, "parsnn"), "calibrate", "--batches", "0", "--out", path, "--overwrite",
                    *[x for c in cals for x in ("--merge", os.path.join(root, c["path"]))]],
                   check=True, capture_output=True, text=True, timeout=600)
    return {"path": os.path.relpath(path, root), "seconds": 0.0, "busy_cores_before": 0.0, "label": "merged"}


def calibrate_and_run(args, workdir: str) -> tuple[list[dict], list[dict]]:
    """(calibrations, runs): calibration i, then the seeds in :func:`rotation` order i, for every i (or, with
    ``--use``, the given machine files and the seeds once); each run knows its position after its calibration.
    ``--foreign`` files join the calibrations afterwards (:func:`foreign_entry`)."""
    seeds = list(range(1, args.runs + 1))
    if args.use:
        cals = [{"path": os.path.relpath(os.path.abspath(p), os.path.dirname(cc.HERE)), "seconds": float("nan"),
                 "busy_cores_before": 0.0} for p in args.use]
        return cals, [dict(run_once(args, s, workdir, f"u_{s}"), after_calibration=None, position=k)
                      for k, s in enumerate(seeds)]
    cals, runs = [], []
    for i in range(args.calibrations):
        cals.append(calibrate(os.path.join(cc.RESULTS, f"calibration_quick_{args.name}_{i}.toml"), args.warm))
        for k, s in enumerate(rotation(seeds, i) if args.interleave or i == args.calibrations - 1 else []):
            runs.append(dict(run_once(args, s, workdir, f"{i}_{s}"), after_calibration=i, position=k))
    return cals, runs


def foreign_entry(path: str) -> dict:
    """A machine file measured elsewhere, as a calibration entry labelled 'foreign <stem> (<its fingerprint>)'."""
    import tomllib
    with open(path, "rb") as f:
        fp = tomllib.load(f).get("fingerprint") or {}
    stem = os.path.splitext(os.path.basename(path))[0]
    return {"path": os.path.relpath(os.path.abspath(path), os.path.dirname(cc.HERE)), "seconds": float("nan"),
            "busy_cores_before": 0.0, "label": f"foreign {stem} ({fp.get('hash', 'no fingerprint')})"}


def _label(c: dict, i: int):
    """A calibration's key in the rows: its label ('merged') or its index."""
    return c.get("label", i)


def summary_lines(rows: list[dict]) -> list[str]:
    """Within 25 % (all runs, undisturbed runs), per seed the measured RTF, and the first run after a calibration
    against the later ones (RTF and CPU seconds)."""
    import statistics
    lines = []
    for what, sel in (("all runs", rows), ("undisturbed runs", [r for r in rows if not r.get("disturbed")])):
        for lab in dict.fromkeys(r["calibration"] for r in rows):
            rs = [r for r in sel if r["calibration"] == lab]
            if rs:
                lines.append(f"- calibration {lab}, {what}: within 25 % {sum(abs(r['error']) <= 0.25 for r in rs)} of "
                             f"{len(rs)}, inside the range {sum(r['inside'] for r in rs)} of {len(rs)}")
    runs = {(r.get("after_calibration"), r["seed"]): r for r in rows}.values()
    for seed in sorted({r["seed"] for r in runs}):
        rs = [r for r in runs if r["seed"] == seed]
        lines.append(f"- seed {seed}: measured RTF {', '.join(format(r['rtf_measured'], '.3f') for r in rs)} (median "
                     f"{statistics.median(r['rtf_measured'] for r in rs):.3f}); CPU s per rank "
                     + "; ".join(", ".join(f"{x:.2f}" for x in r["cpu_s"]) for r in rs))
    placed = [r for r in runs if r.get("after_calibration") is not None]
    for name, sel in (("first after a calibration", [r for r in placed if r["position"] == 0]),
                      ("later", [r for r in placed if r["position"] > 0])):
        if sel:
            lines.append(f"- {name}: median RTF {statistics.median(r['rtf_measured'] for r in sel):.3f}, median CPU s "
                         f"(sum of ranks) {statistics.median(sum(r['cpu_s']) for r in sel):.2f} ({len(sel)} runs)")
    return lines


def markdown(res: dict) -> str:
    """The report."""
    rows, cals = res["rows"], res["calibrations"]
    lines = [f"# `parsnn calibrate --quick` then `parsnn predict RUN.h5 --ranks {res['ranks']}`: {res['name']}", "",
             f"Generated by `{res['command']}` on {res['date']}. Machine: {res['machine']}. Load: **{res['load']}** "
             f"(other processes' busy cores just before each step, at most "
             f"{max([r['busy_cores_before'] for r in rows] + [c['busy_cores_before'] for c in cals]):.2f}). PD14 "
             f"n_scaling {res['n_scaling']:g} on {res['ranks']} ranks, {res['t_sim']:g} ms, seeds 1-{res['runs']}"
             + (", run after every calibration in rotated order (the seeds' order after calibration i is rotated by i)"
                if res.get("interleave") else "") + "; predictions are the cost model's, with each calibration"
             + (" and with their merge (`parsnn calibrate --batches 0 --merge ...`)" if res.get("merged") else "") + ". "
             f"A run is 'disturbed' when a rank was switched out involuntarily more than {DISTURBED_SWITCHES} times per "
             "second of its simulation (other processes took its core).", "",
             "| calibration | file | wall seconds |", "|---|---|---|"]
    lines += [f"| {_label(c, i)} | {c['path']} | {c['seconds']:.0f} |" for i, c in enumerate(cals)]
    lines += ["", "| seed | run after calibration (position) | calibration | measured RTF | CPU s per rank | invol. switches "
                  "| predicted RTF (range) | error | inside range |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rng = f"{r['rtf_range'][0]:.3f}-{r['rtf_range'][1]:.3f}" if r["rtf_range"] else "-"
        after = "-" if r.get("after_calibration") is None else f"{r['after_calibration']} ({r['position']})"
        cpu = ", ".join(f"{x:.2f}" for x in r["cpu_s"]) if r.get("cpu_s") else "-"
        lines.append(f"| {r['seed']} | {after} | {r['calibration']} | {r['rtf_measured']:.3f} | {cpu} | "
                     f"{r.get('involuntary_switches', '-')}{' (disturbed)' if r.get('disturbed') else ''} | "
                     f"{r['rtf_predicted']:.3f} ({rng}) | {100 * r['error']:+.0f} % | {'yes' if r['inside'] else 'no'} |")
    within = sum(abs(r["error"]) <= 0.25 for r in rows)
    lines += ["", f"Within 25 %: {within} of {len(rows)}; measured RTF inside the predicted range: "
                  f"{sum(r['inside'] for r in rows)} of {len(rows)}.", *summary_lines(rows)]
    for line in res["cross"]:
        lines.append(f"- {line}")
    lines += per_calibration_lines(res)
    return "\n".join(lines) + "\n"


def cross_coverage(rows: list[dict], labels: list) -> list[str]:
    """Whether each calibration's point prediction of seed 1 lies inside every other's range."""
    first = {r["calibration"]: r for r in rows if r["seed"] == 1}
    out = []
    for i in labels:
        for j in labels:
            if i != j and i in first and j in first and first[j]["rtf_range"]:
                lo, hi = first[j]["rtf_range"]
                inside = lo <= first[i]["rtf_predicted"] <= hi
                out.append(f"calibration {i}'s prediction of seed 1 ({first[i]['rtf_predicted']:.3f}) is "
                           f"{'inside' if inside else 'outside'} calibration {j}'s range ({lo:.3f}-{hi:.3f})")
    return out


def main(argv=None) -> int:
    """Calibrate and run (interleaved), predict, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--calibrations", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--load", default="auto", help="the report's load label: auto (from the busy cores) or a word")
    ap.add_argument("--no-warm-up", dest="warm", action="store_false",
                    help="calibrate with parsnn calibrate --no-warm-up (the control: without the untimed warm-up)")
    ap.add_argument("--no-interleave", dest="interleave", action="store_false",
                    help="every calibration first, then the seeds once (the check before session 11)")
    ap.add_argument("--no-merge", dest="merge", action="store_false",
                    help="do not also predict with the merge of the calibrations")
    ap.add_argument("--use", action="append", default=[], metavar="FILE",
                    help="predict with this machine file instead of calibrating (repeatable)")
    ap.add_argument("--foreign", action="append", default=[], metavar="FILE",
                    help="also predict every run with this machine file (another machine's calibration: how wrong "
                         "a foreign one is; repeatable)")
    args = ap.parse_args(argv)
    from parsnn.machines import fingerprint
    fp = fingerprint.current_fingerprint()
    with tempfile.TemporaryDirectory(prefix="parsnn_qpc_") as workdir:
        cals, runs = calibrate_and_run(args, workdir)
        merged = args.merge and not args.use and len(cals) > 1
        if merged:
            cals.append(merge_calibrations(cals, args.name))
        cals += [foreign_entry(f) for f in args.foreign]
        rows = predict_runs(runs, cals)
    busy = [r["busy_cores_before"] for r in rows] + [c["busy_cores_before"] for c in cals]
    res = {"name": args.name, "command": "python analysis/quick_predict_check.py " + " ".join(argv or sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": f"{fp.get('cpu_model')} ({fp.get('cores')} cores, fingerprint {fp.get('hash')})",
           "load": args.load if args.load != "auto" else ("loaded" if max(busy) >= cc.LOADED_CORES else "quiet"),
           "n_scaling": args.n_scaling, "ranks": args.ranks, "t_sim": args.t_sim, "runs": args.runs,
           "interleave": args.interleave and not args.use, "merged": merged,
           "calibrations": cals, "rows": rows, "cross": cross_coverage(rows, [_label(c, i) for i, c in enumerate(cals)]),
           "per_calibration": per_calibration(rows, cals)}
    cc.save(os.path.join(cc.RESULTS, f"quick_predict_{args.name}"), res, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
