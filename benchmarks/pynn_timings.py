"""PyNN scripts, unchanged, on parsnn.pynn and on pyNN.nest: their build and run times side by side
(issue 16's "its time side by side in benchmarks/").

    python benchmarks/pynn_timings.py run --seeds 3 --nest-python benchmarks/.venv-nest/bin/python \\
        --machine NAME --note "idle" --out benchmarks/results/pynn_vs_nest_NAME
    python benchmarks/pynn_timings.py table analysis/results/pynn/vs_nest_cpu_xeon_emr_kvm_2core.json \\
        analysis/results/pynn/potjans2014_vs_nest_n01_k01_multiplicity_xeon_emr_kvm_2core.json \\
        --machine NAME --note "loaded" --out benchmarks/results/pynn_vs_nest_NAME

``run`` runs PyNN's examples (``--scripts``, default all of ``analysis/pynn_vs_nest.SCRIPTS``) through
``analysis/pynn_vs_nest.run_all``: one fresh process per (script, seed, backend), the two backends
alternating seed by seed (nest, parsnn for odd seeds, parsnn, nest for even ones), 1 thread, 1 rank;
pyNN.nest with ``spike_precision='on_grid'`` (the models parsnn has). PyNN's examples/Potjans2014 is
too slow on pyNN.nest for this loop (about 5 CPU minutes at n_scaling 0.1, K_scaling 0.1): it runs
with ``analysis/pynn_potjans2014_vs_nest.py``, and ``table`` takes its JSON as well.

``table`` tabulates the timings already stored by those analysis scripts (their ``--out`` JSON):
``pynn_vs_nest``'s ``{script: {"time": {backend: {what: [per seed]}}}}`` and
``pynn_potjans2014_vs_nest``'s ``{"times": {backend: ...}, "config": ...}`` (with its ``parsnn run pd14``
runs, backend ``cli``: their own build and simulate times, no CPU split).

Both write ``OUT.md`` (medians over the seeds with the range, wall clock and CPU; the ratio pyNN.nest /
parsnn of the medians) and ``OUT.json`` (every seed's numbers). *build*: the script's start to its first
run() (parsnn: plus its engine build inside that run); *run*: the time inside run(); imports not
counted. Name the machine and its load (``--machine``, ``--note``): on a shared machine the CPU times
are the fairer comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "analysis"))
import pynn_vs_nest  # noqa: E402

BACKENDS = ("parsnn", "nest", "cli")
LABELS = {"parsnn": "parsnn.pynn", "nest": "pyNN.nest", "cli": "parsnn run pd14 (same configuration)"}
#: the timings kept per backend ("build+run" / "cpu_build+run" where the source stores them: the cli's
#: whole command; otherwise build + run)
WHAT = ("build", "run", "cpu_build", "cpu_run", "build+run", "cpu_build+run")


def from_records(records: list) -> dict:
    """{script: {backend: {what: [per seed]}}} of ``pynn_vs_nest.run_all``'s records."""
    out = {}
    for name, r in records:
        times = out.setdefault(name, {}).setdefault(r["backend"], {})
        for what in ("build", "run", "cpu_build", "cpu_run"):
            times.setdefault(what, []).append(r[what])
    return out


def from_json(path: str) -> dict:
    """{script: {backend: {what: [per seed]}}} of an analysis result JSON (either script's format)."""
    with open(path) as f:
        data = json.load(f)
    if "times" in data:                                  # pynn_potjans2014_vs_nest
        name = "Potjans2014"
        config = data.get("config")
        if config:
            name += f" (n_scaling {config['n_scaling']:g}, K_scaling {config['k_scaling']:g})"
        entries = {name: data["times"]}
    else:                                                # pynn_vs_nest
        entries = {name: e["time"] for name, e in data.items() if not name.startswith("_")}
    return {name: {b: {w: t[b][w] for w in WHAT if w in t[b]} for b in BACKENDS if b in t}
            for name, t in entries.items()}


def _stat(values) -> str:
    """Median [min-max] of a list of seconds."""
    v = np.asarray(values, float)
    if np.isnan(v).all():
        return "-"
    if v.size == 1:
        return f"{v[0]:.3g}"
    return f"{np.median(v):.3g} [{v.min():.3g}-{v.max():.3g}]"


def report(timings: dict, machine: str, note: str, sources: list) -> str:
    """The markdown table of ``timings`` ({script: {backend: {what: [per seed]}}})."""
    lines = ["# PyNN scripts, unchanged: parsnn.pynn vs pyNN.nest, build and run times", "",
             f"Machine: {machine} ({platform.machine()}, {os.cpu_count()} cores). Load: {note}.", "",
             "From: " + ", ".join(sources) + ". Seconds, median [min-max] over the seeds; CPU: the process's own "
             "CPU time in that span (1 thread). *build*: the script's start to its first run() (parsnn: plus "
             "its engine build inside that run); *run*: the time inside run(); imports not counted.", "",
             "`parsnn run pd14` (same configuration): its own build and simulate times; its *build + run* is the "
             "whole command after its import (network description, partition, build, simulation).", "",
             "| script | backend | seeds | build | run | build + run | CPU build + run | ratio of the medians "
             "(build + run, wall; CPU) |", "|---|---|---|---|---|---|---|---|"]
    for name, by_backend in timings.items():
        med = {}
        for b in BACKENDS:
            t = by_backend.get(b)
            if not t:
                continue
            total = np.asarray(t.get("build+run", np.add(t["build"], t["run"])), float)
            cpu = np.asarray(t.get("cpu_build+run", np.add(t["cpu_build"], t["cpu_run"]) if "cpu_build" in t
                                   else np.full(total.shape, np.nan)), float)
            med[b] = (float(np.median(total)), float(np.median(cpu)))
            ratio = ""
            if b != "parsnn" and "parsnn" in med:
                num, den = ("nest", "parsnn") if b == "nest" else ("parsnn", b)
                ratio = (f"{LABELS[num]} / {LABELS[den].split(' (')[0]}: {med[num][0] / med[den][0]:.3g}x; "
                         f"{med[num][1] / med[den][1]:.3g}x")
            lines.append(f"| {name} | {LABELS[b]} | {total.size} | {_stat(t['build'])} | {_stat(t['run'])} | "
                         f"{_stat(total)} | {_stat(cpu)} | {ratio} |")
    return "\n".join(lines) + "\n"


def write(timings: dict, a, sources: list):
    """Write OUT.md and OUT.json (and print the table)."""
    text = report(timings, a.machine, a.note, sources)
    if a.out:
        with open(a.out + ".md", "w") as f:
            f.write(text)
        with open(a.out + ".json", "w") as f:
            json.dump({"machine": a.machine, "load": a.note, "sources": sources, "times": timings}, f, indent=1)
    print(text)


def main(argv=None):
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run PyNN's examples on both backends, alternating")
    r.add_argument("--seeds", type=int, default=3, help="how many seeds (default 3)")
    r.add_argument("--first-seed", type=int, default=1)
    r.add_argument("--scripts", default=",".join(pynn_vs_nest.SCRIPTS),
                   help="comma-separated, of: " + ", ".join(pynn_vs_nest.SCRIPTS))
    r.add_argument("--cache", default=os.path.join(HERE, "..", ".pytest_cache", "pynn-sdist"))
    r.add_argument("--nest-python", help="the Python with pyNN.nest (e.g. benchmarks/.venv-nest/bin/python)")
    t = sub.add_parser("table", help="tabulate the timings stored by the analysis scripts")
    t.add_argument("json", nargs="+", help="analysis result JSON files (pynn_vs_nest or pynn_potjans2014_vs_nest)")
    for p in (r, t):
        p.add_argument("--machine", default=platform.node())
        p.add_argument("--note", default="shared with other jobs (loaded): timings noisy, CPU times fairer",
                       help="the machine's load while the runs ran")
        p.add_argument("--out", help="OUT.md and OUT.json (default: print only)")
    a = ap.parse_args(argv)
    if a.command == "table":
        timings = {}
        for path in a.json:
            timings.update(from_json(path))
        return write(timings, a, [os.path.relpath(p, os.path.join(HERE, "..")) for p in a.json])
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    with tempfile.TemporaryDirectory(prefix="pynn-bench-") as work:
        records = pynn_vs_nest.run_all([s.strip() for s in a.scripts.split(",")], seeds, a.cache, work, "on_grid",
                                       a.nest_python)
    write(from_records(records), a, [f"benchmarks/pynn_timings.py run --seeds {a.seeds} --first-seed {a.first_seed}"])


if __name__ == "__main__":
    main()
