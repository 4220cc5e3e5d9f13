"""PyNN's own examples/Potjans2014 (unchanged) on parsnn.pynn and on pyNN.nest: statistics per
population over seeds, and the time of each backend (build + run, wall clock and CPU), side by side.

Each run is a fresh process: ``scripts/run_pynn_potjans2014.py BACKEND EXAMPLE_DIR ...`` (see there what
is arranged around the example) under the harness of ``analysis/pynn_vs_nest.py`` (``run_one``: seed k
is ``setup(rng_seed=k)`` and every ``NumpyRNG(seed=s)`` of the example gets ``s + 7919 k``; *build* is
the script's start to its first run() plus parsnn's engine build inside it, *run* the rest of run();
the spikes of all recorded cells are kept). The runs are stored one JSON file each in ``--work`` and
reused when present, so that the slow pyNN.nest side (PyNN's FixedTotalNumberConnector draws every
synapse in Python) can run once, on its own, with NEST's Python::

    python analysis/pynn_potjans2014_vs_nest.py run EXAMPLE_DIR --backend parsnn --seeds 1,2,3 --work W
    python analysis/pynn_potjans2014_vs_nest.py run EXAMPLE_DIR --backend nest --seeds 1 --work W \\
        --python benchmarks/.venv-nest/bin/python
    python analysis/pynn_potjans2014_vs_nest.py run EXAMPLE_DIR --backend cli --seeds 1,2,3 --work W
    python analysis/pynn_potjans2014_vs_nest.py report --work W --machine NAME --out analysis/results/pynn/X.md

``--backend cli`` times ``parsnn run pd14`` on the same configuration (``--n-scaling``, ``--k-scaling``,
``--t-sim``, ``--bg poisson`` as the example's ``input_type``; its own seed): the issue's "within 1.5x of
``parsnn run pd14``" (time only: it keeps no spikes). Run the parsnn and cli seeds in turn (seed by
seed) on a shared machine. Each record names the 1-minute load average at the run's start and end.

Statistics (``pynn_vs_nest.population_stats``: mean rate, CV ISI, spike-count correlation of 50 cells
in 2 ms bins, Fano factor of the population count in 10 ms bins) after ``--t-start`` ms; "agree" as in
pynn_vs_nest (means within 3 standard errors of the difference + 5 %; with one pyNN.nest seed its spread
is taken to be parsnn's). Times: medians over the seeds, plus the whole process (imports and the
example's text output included) from the child's resource usage.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "scripts", "run_pynn_potjans2014.py")
sys.path.insert(0, HERE)
import pynn_vs_nest  # noqa: E402

#: PyNN's default labels of the example's first eight populations, in its creation order
POPULATIONS = {f"population{k}": name for k, name in enumerate(
    ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"))}
STATS = pynn_vs_nest.STATS
LABELS = {"parsnn": "parsnn.pynn", "nest": "pyNN.nest", "cli": "parsnn run pd14"}
#: ``parsnn run ...`` (the arguments after -c), timed in-process from after the import of its main
#: (wall clock and CPU) to its end, as the harness times a PyNN script from its start
CLI_TIMED = ("import sys, time; from parsnn.cli import main; t = time.perf_counter(), time.process_time(); "
             "rc = main(sys.argv[1:]); print(f'command clock {time.perf_counter() - t[0]:.6f} "
             "{time.process_time() - t[1]:.6f}'); sys.exit(rc)")


def run(a):
    """Every (backend, seed) run not stored in ``a.work`` yet, one child process each."""
    os.makedirs(a.work, exist_ok=True)
    python = a.python or sys.executable
    for seed in [int(s) for s in a.seeds.split(",")]:
        out = os.path.join(a.work, f"{a.backend}-seed{seed}.json")
        if os.path.exists(out):
            continue
        cmd = _command(a, python, seed, out + ".partial")
        env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS="1")
        load_start = os.getloadavg()
        before, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise RuntimeError(f"{a.backend} seed {seed} failed:\n{proc.stderr[-3000:]}")
        record = _cli_record(proc.stdout, seed) if a.backend == "cli" else _read(out + ".partial")
        record.update(process_wall=wall, process_cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                      process_peak_mib=after.ru_maxrss / 1024.0, load_start=load_start, load_end=os.getloadavg(),
                      started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() - wall)), config={
                          "n_scaling": a.n_scaling, "k_scaling": a.k_scaling, "t_sim": a.t_sim},
                      command=" ".join(cmd), stdout=proc.stdout[-2000:])
        with open(out, "w") as f:
            json.dump(record, f)
        if os.path.exists(out + ".partial"):
            os.remove(out + ".partial")
        print(f"{a.backend} seed {seed}: build {record['build']:.1f} s (cpu {record['cpu_build']:.1f}), run "
              f"{record['run']:.1f} s (cpu {record['cpu_run']:.1f}), process {wall:.1f} s", flush=True)


def _command(a, python: str, seed: int, partial: str) -> list:
    """The child's command line: the example under pynn_vs_nest's harness, or ``parsnn run pd14`` on the
    same configuration (Poisson background, as the example's ``input_type``) for ``--backend cli``."""
    config = ["--n-scaling", str(a.n_scaling), "--k-scaling", str(a.k_scaling), "--t-sim", str(a.t_sim)]
    extra = ["--pynn-connector-rng"] if getattr(a, "pynn_connector_rng", False) and a.backend == "parsnn" else []
    if a.backend == "cli":
        return [python, "-c", CLI_TIMED, "run", "pd14", *config, "--bg", "poisson", "--seed", str(seed), "--no-progress"]
    scratch = os.path.join(a.work, f"{a.backend}-seed{seed}-files")
    return [python, os.path.join(HERE, "pynn_vs_nest.py"), "--one", a.backend, os.path.abspath(RUNNER), str(seed),
            partial, "--nest-precision", "on_grid", "--", os.path.abspath(a.example_dir), *config, *extra, "--out", scratch]


def _read(path: str) -> dict:
    """The record a harness child wrote to ``path``."""
    with open(path) as f:
        return json.load(f)


def _cli_record(stdout: str, seed: int) -> dict:
    """The record of a ``parsnn run pd14`` child: its own build and simulate times (its summary; no CPU
    split, no spikes kept)."""
    found = {}
    for key, label in (("build", "build time"), ("run", "simulate time")):
        m = re.search(rf"^{label}\s+([0-9.]+) s", stdout, re.MULTILINE)
        if m:
            found[key] = float(m.group(1))
    clock = re.search(r"^command clock ([0-9.]+) ([0-9.]+)", stdout, re.MULTILINE)
    if len(found) != 2 or not clock:
        raise RuntimeError(f"parsnn run printed no build/simulate time:\n{stdout[-2000:]}")
    return {"seed": seed, "backend": "cli", "populations": {}, "cpu_build": float("nan"), "cpu_run": float("nan"),
            "command_wall": float(clock.group(1)), "command_cpu": float(clock.group(2)), **found}


def _load(work: str) -> dict:
    """{backend: [records]} of the runs stored in ``work``."""
    out = {}
    for name in sorted(os.listdir(work)):
        if name.endswith(".json"):
            with open(os.path.join(work, name)) as f:
                r = json.load(f)
            out.setdefault(r["backend"], []).append(r)
    return out


def summarise(runs: dict, t_start: float) -> tuple[dict, dict]:
    """({population: {stat: {backend: [per seed]}}}, {backend: {what: [per seed]}})."""
    stats, times = {}, {}
    for backend, records in runs.items():
        for r in records:
            for what in ("build", "run", "cpu_build", "cpu_run", "process_wall", "process_cpu", "process_peak_mib"):
                times.setdefault(backend, {}).setdefault(what, []).append(r[what])
            times[backend].setdefault("build+run", []).append(r.get("command_wall", r["build"] + r["run"]))
            times[backend].setdefault("cpu_build+run", []).append(r.get("command_cpu", r["cpu_build"] + r["cpu_run"]))
            for label, p in r["populations"].items():
                s = pynn_vs_nest.population_stats(p, t_start)
                for stat in STATS:
                    stats.setdefault(POPULATIONS.get(label, label), {}).setdefault(stat, {}).setdefault(
                        backend, []).append(s[stat])
    return stats, times


def agree(ours, theirs) -> bool:
    """pynn_vs_nest.agree; with one pyNN.nest value, its spread is taken to be parsnn's."""
    theirs = list(theirs)
    if len(theirs) == 1 and len(ours) > 1:
        theirs = list(np.asarray(ours) - np.mean(ours) + theirs[0])
    return pynn_vs_nest.agree(ours, theirs)


def _load_line(runs: dict) -> str:
    """The machine's load while each run ran (1-minute load average at its start and end, where recorded)."""
    parts = []
    for backend, records in runs.items():
        for r in sorted(records, key=lambda r: r["seed"]):
            if "load_start" in r:
                parts.append(f"{backend} seed {r['seed']} ({r['started']}): {r['load_start'][0]:.1f} -> "
                             f"{r['load_end'][0]:.1f}")
            else:
                parts.append(f"{backend} seed {r['seed']}: not recorded")
    return "Load (1-minute load average at a run's start -> end; 2 cores): " + "; ".join(parts) + "."


def _num(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.3g}"


def _cell(x) -> str:
    return f"{np.nanmean(x):.4g} ± {np.nanstd(x, ddof=1) if len(x) > 1 else 0:.2g}" + (f" (n={len(x)})")


def report(a) -> str:
    """The markdown report of the runs stored in ``a.work``."""
    runs = _load(a.work)
    stats, times = summarise(runs, a.t_start)
    cfg = next(iter(runs.values()))[0]["config"]
    seeds = {b: sorted(r["seed"] for r in rs) for b, rs in runs.items()}
    lines = [f"# PyNN's examples/Potjans2014, unchanged: parsnn.pynn vs pyNN.nest (n_scaling {cfg['n_scaling']}, "
             f"K_scaling {cfg['k_scaling']}, {cfg['t_sim']:g} ms)", "",
             f"Machine: {a.machine} ({platform.machine()}, {os.cpu_count()} cores), shared with other jobs while "
             "this ran: the CPU times are the fairer comparison. One process per run, 1 thread, 1 rank. "
             "pyNN.nest with spike_precision='on_grid' (iaf_psc_exp, poisson_generator: the models parsnn has).",
             "", _load_line(runs), "", *([a.note, ""] if a.note else []), "Seeds: " + ", ".join(f"{b} {s}" for b, s in seeds.items()) + ". Commands: see the module docstring "
             "of analysis/pynn_potjans2014_vs_nest.py; each run's command is in its JSON record.", "",
             f"## Statistics (all cells recorded; after {a.t_start:g} ms; mean over seeds ± seed-to-seed sd)", "",
             "| population | statistic | parsnn | pyNN.nest | agree |", "|---|---|---|---|---|"]
    for pop, ss in stats.items():
        for stat in STATS:
            v = ss[stat]
            ok = agree(v["parsnn"], v["nest"]) if len(v) == 2 else None
            lines.append(f"| {pop} | {stat} | {_cell(v.get('parsnn', []))} | {_cell(v.get('nest', [])) if 'nest' in v else '-'}"
                         f" | {'-' if ok is None else 'yes' if ok else 'NO'} |")
    lines += ["", "## Time (s; medians over the seeds)", "",
              "*build + run*: the script's start to the end of its run() (parsnn builds its engine inside run()); "
              "for `parsnn run pd14` (cli) *build* and *run* are its own build and simulate times, *build + run* "
              "the whole command after its import (network description, partition, build, simulation, summary); "
              "*process*: the whole child process (imports, the "
              "example's text output, the harness's spike collection; cli: no output file, spikes only counted).",
              "", "| backend | seeds | build | run | build + run | CPU build + run | process wall | process CPU | "
              "peak MiB |", "|---|---|---|---|---|---|---|---|---|"]
    med = {b: {w: float(np.median(x)) for w, x in t.items()} for b, t in times.items()}
    for b, m in med.items():
        lines.append(f"| {LABELS.get(b, b)} | {len(times[b]['build'])} | " + " | ".join(
            _num(m[w]) for w in ("build", "run", "build+run", "cpu_build+run", "process_wall", "process_cpu"))
            + f" | {m['process_peak_mib']:.0f} |")
    lines.append("")
    for num, den in (("nest", "parsnn"), ("parsnn", "cli")):
        if num in med and den in med:
            n, p = med[num], med[den]
            lines.append(f"- {LABELS[num]} / {LABELS[den]}: build + run {n['build+run'] / p['build+run']:.3g}x wall"
                         + f", {n['cpu_build+run'] / p['cpu_build+run']:.3g}x CPU"
                         + f"; whole process {n['process_wall'] / p['process_wall']:.3g}x wall, "
                         f"{n['process_cpu'] / p['process_cpu']:.3g}x CPU (ratio of the medians).")
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the example (runs already in --work are kept)")
    r.add_argument("example_dir", help="PyNN's examples/Potjans2014 folder (see scripts/run_pynn_potjans2014.py)")
    r.add_argument("--backend", choices=("parsnn", "nest", "cli"), required=True,
                   help="parsnn.pynn, pyNN.nest, or cli: 'parsnn run pd14' on the same configuration (time only)")
    r.add_argument("--seeds", default="1", help="comma-separated seeds (default 1)")
    r.add_argument("--python", help="the Python of the backend (default this one; NEST's: benchmarks/.venv-nest)")
    r.add_argument("--n-scaling", type=float, default=0.1)
    r.add_argument("--k-scaling", type=float, default=1.0)
    r.add_argument("--t-sim", type=float, default=1000.0)
    r.add_argument("--work", required=True, help="folder of the runs' JSON records")
    r.add_argument("--pynn-connector-rng", action="store_true",
                   help="parsnn: connect with PyNN's code and PyNN's default connector RNG, as pyNN.nest does "
                        "(see scripts/run_pynn_potjans2014.py; slow)")
    p = sub.add_parser("report", help="write the comparison of the runs in --work")
    p.add_argument("--work", required=True)
    p.add_argument("--t-start", type=float, default=200.0, help="start of the analysis window (ms)")
    p.add_argument("--machine", default=platform.node())
    p.add_argument("--note", help="a paragraph added under the machine's load (e.g. a run that did not finish)")
    p.add_argument("--out", help="markdown file (default stdout); the numbers go next to it as .json")
    a = ap.parse_args(argv)
    if a.command == "run":
        return run(a)
    text = report(a)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        stats, times = summarise(_load(a.work), a.t_start)
        with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
            json.dump({"stats": stats, "times": times, "config": next(iter(_load(a.work).values()))[0]["config"]},
                      f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
