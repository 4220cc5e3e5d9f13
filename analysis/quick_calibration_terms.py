#!/usr/bin/env python
"""Which measurement makes two calibrations of one machine predict differently: compare machine files
(``parsnn calibrate`` output) term by term and predict one PD14 run with the first file's constants
replaced, one group at a time, by the other's.

    python analysis/quick_calibration_terms.py --name NAME --pair A0.toml A1.toml [--pair B0.toml B1.toml ...]
                                              [--run RUN.h5] [--top 12]

Per pair (first, second): every measuring batch's fitted constants (``[calibration] per_batch``) side by
side, ranked by how much the first calibration's first batch differs from the second's last; each
measuring segment (``per_segment``) of the constants the prediction moves most; and the prediction of
``--run`` (default: PD14 n_scaling 0.25 on 2 ranks, 1000 ms, seed 1, run here) with the second
calibration, then with one group of the first's constants swapped in (which group carries the
difference). Writes analysis/results/quick_calibration_terms_<NAME>.{json,md}. The run's measured RTF
is not used (only its network, partition and rates): the machine's load while this runs does not matter.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import math
import os
import statistics
import subprocess
import sys
import tempfile
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration_check as cc  # noqa: E402  (paths, save)

#: groups of machine-file constants swapped together: name -> [(table path, ...)]
GROUPS = {"compute.update_ns": [("compute", "update_ns")], "compute.poisson_input_ns": [("compute", "poisson_input_ns")],
          "compute.event_ns": [("compute", "event_ns")], "compute.scatter (event cost curve)": [("compute", "scatter")],
          "compute: spike, pack, compare, record, plastic": [("compute", k) for k in
                                                             ("spike_ns", "pack_ns", "compare_ns", "record_ns",
                                                              "plastic_event_ns")],
          "overhead": [("overhead",)], "network.shm": [("network", "shm")], "collectives": [("collectives",)],
          "noise": [("noise",)], "threads": [("threads",)],
          **{f"compute.scatter ns_{i} alone": [("compute", "scatter", f"ns_{i}")] for i in range(1, 6)},
          "compute.scatter no_prefetch_ns alone": [("compute", "scatter", "no_prefetch_ns")]}
#: per-segment constants shown (the event cost curve and the update kernel)
SEGMENT_KEYS = ("scatter_ns_1", "scatter_ns_2", "scatter_ns_3", "scatter_ns_4", "scatter_ns_5",
                "update_ns_iaf_psc_exp", "event_ns_memory")


def _get(d: dict, path: tuple):
    """The value at ``path`` in nested dicts."""
    for p in path:
        d = d[p]
    return d


def _put(d: dict, path: tuple, v):
    """Set ``path`` in nested dicts to a copy of ``v``."""
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = copy.deepcopy(v)


def predict_rtf(inp: dict, data: dict) -> float:
    """The cost model's RTF for the run inputs ``inp`` with the machine file data ``data``."""
    from parsnn.machines import Machine
    from parsnn.mapping import cluster
    p = cluster.predict(inp["connectivity"], inp["ranks"], Machine(name="terms", data=data), inp["rank_of"],
                        rates=inp["rates"], t_sim_ms=inp["t_sim_ms"], threads=1)
    return float(p["rtf"])


def sensitivity(inp: dict, first: dict, second: dict) -> list[dict]:
    """The second file's prediction with each group of the first's constants swapped in."""
    base = predict_rtf(inp, second)
    rows = []
    for group, paths in GROUPS.items():
        d = copy.deepcopy(second)
        for path in paths:
            try:
                _put(d, path, _get(first, path))
            except KeyError:
                pass
        r = predict_rtf(inp, d)
        rows.append({"group": group, "rtf": r, "change": r / base - 1.0})
    return rows


def batch_table(files: list[dict], top: int) -> list[dict]:
    """The per-batch constants of both files, ranked by |log(ratio)| of the first file's median over its
    batches to the second's."""
    pb = [(i, b) for i, f in enumerate(files) for b in f["calibration"]["per_batch"]]
    keys = [k for k, v in pb[0][1].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k != "fit_version"]
    rows = []
    for k in keys:
        vals = [b.get(k, float("nan")) for _i, b in pb]
        med = [statistics.median([b.get(k, float("nan")) for i, b in pb if i == c]) for c in (0, 1)]
        ratio = med[0] / med[1] if med[1] else float("nan")
        score = abs(math.log(ratio)) if ratio > 0 else 0.0
        rows.append({"key": k, "values": vals, "ratio": ratio, "score": score})
    rows.sort(key=lambda r: -r["score"])
    return rows[:top]


def pair_report(paths: list[str], inp: dict, top: int) -> dict:
    """Everything of one pair of calibration files."""
    files = []
    for p in paths:
        with open(p, "rb") as f:
            files.append(tomllib.load(f))
    first, second = files
    segs = []
    for i, f in enumerate(files):
        per = f["calibration"].get("per_segment") or []
        k = max(1, len(per) // max(1, len(f["calibration"]["per_batch"])))
        segs += [{"calibration": i, "segment": f"b{j // k} s{j % k}", **{c: s.get(c) for c in SEGMENT_KEYS}}
                 for j, s in enumerate(per)]
    return {"files": [os.path.relpath(os.path.abspath(p), os.path.dirname(cc.HERE)) for p in paths],
            "batch_dates": [f["calibration"].get("batch_dates") for f in files],
            "batch_labels": [f"c{i} b{j}" for i, f in enumerate(files) for j in range(len(f["calibration"]["per_batch"]))],
            "rtf": [predict_rtf(inp, f) for f in files], "sensitivity": sensitivity(inp, first, second),
            "batches": batch_table(files, top), "segments": segs}


def markdown(res: dict) -> str:
    """The report."""
    out = [f"# Two calibrations of one machine, term by term: {res['name']}", "",
           f"Generated by `{res['command']}` on {res['date']}. Predictions (the cost model's) are of {res['run']} "
           f"(its network, partition and rates; its measured RTF is not used).", ""]
    for pr in res["pairs"]:
        out += [f"## {pr['files'][0]} (c0) then {pr['files'][1]} (c1)", "",
                f"Batch dates: c0 {', '.join(pr['batch_dates'][0] or [])}; c1 {', '.join(pr['batch_dates'][1] or [])}. "
                f"Predicted RTF: c0 {pr['rtf'][0]:.3f}, c1 {pr['rtf'][1]:.3f} ({100 * (pr['rtf'][0] / pr['rtf'][1] - 1):+.0f} %).",
                "", "c1's prediction with one group of c0's constants swapped in:", "",
                "| group from c0 | predicted RTF | change |", "|---|---|---|"]
        out += [f"| {r['group']} | {r['rtf']:.3f} | {100 * r['change']:+.1f} % |" for r in pr["sensitivity"]]
        out += ["", "Fitted constants of every batch (`per_batch`), the most different first (ratio: c0's median "
                    "over its batches to c1's):", "",
                "| constant | " + " | ".join(pr["batch_labels"]) + " | ratio |",
                "|---|" + "---|" * (len(pr["batch_labels"]) + 1)]
        out += [f"| {r['key']} | " + " | ".join(f"{v:.4g}" for v in r["values"]) + f" | {r['ratio']:.2f} |"
                for r in pr["batches"]]
        out += ["", "Measuring segments (b: batch, s: segment, each after the run's warm-up; `per_segment`):", "",
                "| cal | batch, segment | " + " | ".join(SEGMENT_KEYS) + " |", "|---|---|" + "---|" * len(SEGMENT_KEYS)]
        out += [f"| c{s['calibration']} | {s['segment']} | " + " | ".join(
            "-" if s[k] is None else f"{s[k]:.3f}" for k in SEGMENT_KEYS) + " |" for s in pr["segments"]]
        out.append("")
    return "\n".join(out) + "\n"


def make_run(workdir: str) -> str:
    """PD14 n_scaling 0.25 on 2 ranks, 1000 ms, seed 1 (``parsnn run`` under mpiexec): its run file."""
    out = os.path.join(workdir, "pd14_025_P2.h5")
    subprocess.run([os.path.join(cc.BIN, "mpiexec"), "-n", "2", os.path.join(cc.BIN, "parsnn"), "run", "pd14",
                    "--n-scaling", "0.25", "--t-sim", "1000", "--seed", "1", "--no-progress", "--out", out,
                    "--overwrite"], check=True, capture_output=True, text=True, timeout=1800)
    return out


def main(argv=None) -> int:
    """Compare the pairs, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--pair", nargs=2, action="append", required=True, metavar=("FIRST", "SECOND"))
    ap.add_argument("--run", default=None, help="run file to predict (default: PD14 0.25 on 2 ranks, run here)")
    ap.add_argument("--top", type=int, default=12, help="constants shown per pair")
    args = ap.parse_args(argv)
    from parsnn.mapping import cluster
    with tempfile.TemporaryDirectory(prefix="parsnn_terms_") as workdir:
        run = args.run or make_run(workdir)
        inp = cluster.run_inputs(run)
        pairs = [pair_report(p, inp, args.top) for p in args.pair]
    res = {"name": args.name, "command": "python analysis/quick_calibration_terms.py " + " ".join(argv or sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "run": args.run or "PD14 n_scaling 0.25 on 2 ranks, 1000 ms, seed 1 (run by this command)", "pairs": pairs}
    cc.save(os.path.join(cc.RESULTS, f"quick_calibration_terms_{args.name}"), res, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
