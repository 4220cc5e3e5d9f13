#!/usr/bin/env python
"""Issue 18: the RTF spread of one PD14 job over launches, under conditions set around each run.

Every run is ``mpiexec -n RANKS python analysis/rusage_run.py run pd14 --n-scaling S --t-sim T --seed 1``
(the same run as ``parsnn run``, plus per rank CPU seconds, context switches, steal and the share of its
anonymous memory on huge pages). Conditions (comma list, run in blocks of ``--block`` runs, the block
order rotated A B B A ... so machine load drifts over both alike):

* ``base``: the machine as it is.
* ``env:NAME=VALUE``: the run with that environment variable (e.g. ``env:PARSNN_HUGE=1``).
* ``sysfs:PATH=VALUE``: the run with that sysfs/proc setting (root); the setting is written before the
  block and the original value restored after it (and at exit, whatever happens).

Per run: RTF, per rank simulate / deliver seconds, the slower/faster rank's delivery ratio, huge-page
share, busy cores before the run, and the growth of the guest's page-reporting counter during the run.
Writes analysis/results/launch18_pd14_<NAME>.{json,md}.

    python analysis/launch18_pd14.py --name NAME --conditions base,sysfs:/sys/module/...=V --runs 10
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import statistics as st
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
BIN = os.path.dirname(sys.executable)
REPORTED = "/sys/module/page_reporting/parameters/reported_kib"
sys.path.insert(0, HERE)
import rusage_run  # noqa: E402  (the launch with every rank's CPU time)


def _read(path: str) -> str:
    """Stripped contents of a small file ('' if unreadable)."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _write(path: str, value: str) -> None:
    """Write ``value`` to a sysfs/proc file."""
    with open(path, "w") as f:
        f.write(value)


def apply(cond: str) -> tuple[dict, callable]:
    """The environment of a condition and the function that undoes its settings."""
    env = dict(os.environ)
    if cond.startswith("env:"):
        k, v = cond[4:].split("=", 1)
        env[k] = v
        return env, lambda: None
    if cond.startswith("sysfs:"):
        path, v = cond[6:].split("=", 1)
        old = _read(path)
        _write(path, v)
        undo = lambda: _write(path, old)  # noqa: E731
        atexit.register(undo)
        return env, undo
    return env, lambda: None


def one_run(args, env: dict, workdir: str, tag: str) -> dict:
    """One PD14 launch and its figures."""
    from parsnn.machines.counters import busy_cores
    out, ru = os.path.join(workdir, f"pd14_{tag}.h5"), os.path.join(workdir, f"rusage_{tag}")
    load = busy_cores(1.0)
    rep0 = int(_read(REPORTED) or -1)
    wall, perf, cpu = rusage_run.launch_pd14(BIN, args.ranks, args.n_scaling, args.t_sim, args.seed, out, ru, env)
    os.remove(out)
    deliver = [float(x) for x in perf["timer_deliver"]]
    return {"tag": tag, "busy_cores_before": load, "launch_wall_s": wall, "rtf": float(perf["rtf"]),
            "simulate_s": [float(x) for x in perf["simulate_seconds"]], "deliver_s": deliver,
            "deliver_max_over_min": max(deliver) / max(1e-12, min(deliver)),
            "huge_share": [c["huge_share"] for c in cpu], "nivcsw": [c["nivcsw"] for c in cpu],
            "steal_s": [max(c["steal_s_per_cpu"] or [0.0]) for c in cpu],
            "reported_mib_during": (int(_read(REPORTED) or -1) - rep0) / 1024}


def table(rows: list[dict], conds: list[str]) -> str:
    """Markdown summary per condition."""
    out = ["| condition | runs | RTF median | RTF min-max | RTF max/min | deliver slower/faster rank (median) "
           "| huge share (median) | busy cores before (median) |", "|---|---|---|---|---|---|---|---|"]
    for c in conds:
        rs = [r for r in rows if r["condition"] == c]
        if not rs:
            continue
        rtf = [r["rtf"] for r in rs]
        out.append(f"| `{c}` | {len(rs)} | {st.median(rtf):.3f} | {min(rtf):.3f}-{max(rtf):.3f} | "
                   f"{max(rtf) / min(rtf):.2f} | {st.median(r['deliver_max_over_min'] for r in rs):.2f} | "
                   f"{st.median(min(r['huge_share']) for r in rs):.2f} | "
                   f"{st.median(r['busy_cores_before'] for r in rs):.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    """Command-line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--conditions", default="base")
    ap.add_argument("--runs", type=int, default=10, help="runs per condition")
    ap.add_argument("--block", type=int, default=5, help="runs of one condition in a row")
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    conds = args.conditions.split(",")
    nblocks = -(-args.runs // args.block)
    order = []
    for b in range(nblocks):
        order += conds if b % 2 == 0 else conds[::-1]
    rows = []
    with tempfile.TemporaryDirectory(prefix="parsnn_launch18_") as wd:
        for i, c in enumerate(order):
            env, undo = apply(c)
            try:
                for k in range(args.block):
                    if sum(r["condition"] == c for r in rows) >= args.runs:
                        break
                    row = one_run(args, env, wd, f"{i}_{k}")
                    row["condition"] = c
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                undo()
    text = (f"# Issue 18: PD14 RTF over launches, {args.name}\n\n"
            f"Command: `python analysis/launch18_pd14.py {' '.join(argv or sys.argv[1:])}`\n\n"
            f"n_scaling {args.n_scaling}, {args.ranks} ranks, t_sim {args.t_sim} ms, seed {args.seed}; blocks of "
            f"{args.block} runs, order {' '.join(order)}.\n\n" + table(rows, conds) + "\n")
    base = os.path.join(RESULTS, f"launch18_pd14_{args.name}")
    with open(base + ".json", "w") as f:
        json.dump({"args": vars(args), "order": order, "runs": rows}, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
