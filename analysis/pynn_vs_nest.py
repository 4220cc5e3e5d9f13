"""PyNN's own example scripts, unchanged, on parsnn.pynn and on pyNN.nest (NEST 3.10): statistics over
several seeds and the time of each backend, side by side.

    PYNEST_QUIET=1 python analysis/pynn_vs_nest.py --seeds 3 --out analysis/results/pynn/vs_nest_<machine>.md

The scripts come from the installed PyNN release's sdist (fetched with pip into a cache folder, as
parsnn.pynn.scenarios does for PyNN's scenarios) and run in a fresh Python process each, in a scratch
folder, with the backend named on their command line (``python -m parsnn.pynn SCRIPT parsnn`` resp.
``python SCRIPT nest``). What the harness does around a script (the script's text is not touched):

- seed k: ``setup()`` gets ``rng_seed=k`` (pyNN.nest: NEST's kernel seed; parsnn: its seed), and every
  ``NumpyRNG(seed=s)`` the script makes gets seed ``s + 7919 k`` (the connectivity and initial values
  the script draws with it); the realisation of a seed differs between the backends anyway;
- the time from the script's start to its first ``run()`` is *build* (NEST connects there; parsnn only
  declares, and builds its engine inside the first run(), which is moved from *run* to *build*); the
  time inside ``run()`` calls is *run*; the backends' imports are not counted;
- at ``end()``: the spikes of every recorded population (the recorded cells only) are saved.

Statistics per population (parsnn.analysis.statistics, over the recorded cells, after ``--t-start``):
mean rate, mean CV ISI, mean pairwise spike-count correlation (2 ms bins), Fano factor of the
population spike count (10 ms bins); per backend the mean and the seed-to-seed sd; "ok" when the
backends' means differ by at most 3 x sqrt(sd_parsnn^2 + sd_nest^2) / sqrt(seeds) + 5 % of the mean.
Timings: medians over the seeds, the backends alternating (the machine may be shared: say so), wall
clock and the process's CPU time. ``--poisson-check`` adds the spike count of SpikeSourcePoisson at a high
rate on both backends. ``--nest-precision off_grid`` runs pyNN.nest's default precise-time models instead.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

#: name -> (script file, extra arguments after the simulator name, analysis start ms[, window ms: the rate
#: in each window too])
SCRIPTS = {
    "VAbenchmarks CUBA": ("VAbenchmarks.py", ["CUBA"], 100.0),
    "brunel": ("brunel.py", [], 20.0),
    "simpleRandomNetwork": ("simpleRandomNetwork.py", [], 0.0),
    "varying_poisson": ("varying_poisson.py", [], 0.0, 200.0),
    "update_spike_source_array": ("update_spike_source_array.py", [], 0.0, 200.0),
}
STATS = ("rate", "cv", "cc", "fano")
SEED_STRIDE = 7919


# ---------------------------------------------------------------------------- one run (child process)
def _patch(sim, backend: str, seed: int, record: dict, precision: str):
    """Wrap ``sim``'s setup/run/run_until/end/Population and NumpyRNG (see the module docstring)."""
    import pyNN.random
    populations, perf = [], _clock
    init_rng = pyNN.random.NumpyRNG.__init__

    def rng_init(self, seed=None, *a, **k):
        init_rng(self, None if seed is None else int(seed) + SEED_STRIDE * record["seed"], *a, **k)
    pyNN.random.NumpyRNG.__init__ = rng_init
    pop_init = sim.Population.__init__

    def population_init(self, *a, **k):
        pop_init(self, *a, **k)
        populations.append(self)
    sim.Population.__init__ = population_init
    setup, end = sim.setup, sim.end

    def my_setup(*a, **k):
        k["rng_seed"] = seed
        if backend == "nest":
            k["spike_precision"] = precision
        return setup(*a, **k)

    def timed(fn):
        def wrapper(*a, **k):
            record.setdefault("t_first_run", perf())
            t0 = perf()
            try:
                return fn(*a, **k)
            finally:
                record["run"] = record.get("run", 0.0) + perf() - t0
        return wrapper

    def my_end(*a, **k):
        record["end"] = perf()
        record["populations"] = _spikes(populations)
        return end(*a, **k)
    sim.setup, sim.run, sim.run_until, sim.end = my_setup, timed(sim.run), timed(sim.run_until), my_end
    if hasattr(sim, "run_for"):
        sim.run_for = sim.run
    if backend == "parsnn":
        from parsnn.pynn import simulator as state_module
        build = state_module.State.build

        def timed_build(self):
            t0 = perf()
            build(self)
            record["engine_build"] = record.get("engine_build", 0.0) + perf() - t0
        state_module.State.build = timed_build


def spike_columns(trains) -> tuple:
    """(times ms, position of the train in ``trains``, source_index of each train) of every spike of a
    Neo SpikeTrainList, train by train in their order; a list PyNN left in multiplexed form (arrays of
    times and channel ids) is read from its arrays, without making a Neo SpikeTrain per cell."""
    channels, annotations = getattr(trains, "_all_channel_ids", None), getattr(trains, "_annotations", None) or {}
    if getattr(trains, "_items", None) is None and channels is not None:
        ids, times = trains.multiplexed
        position = {c: k for k, c in enumerate(np.asarray(channels).tolist())}
        pos = np.array([position[c] for c in np.asarray(ids).tolist()], dtype=np.int64)
        order = np.argsort(pos, kind="stable")
        source = np.asarray(annotations.get("source_index", np.zeros(len(position), dtype=np.int64)))
        return np.asarray(times.magnitude, dtype=float)[order], pos[order], source
    times = [np.asarray(t.magnitude, dtype=float) for t in trains]
    return (np.concatenate(times) if times else np.zeros(0), np.repeat(np.arange(len(times)), [t.size for t in times]),
            np.array([t.annotations.get("source_index", 0) for t in trains], dtype=np.int64))


def _spikes(populations) -> dict:
    """{label: {"n": recorded cells, "times": [...], "ids": [...]}} of the populations recording spikes."""
    out = {}
    for pop in populations:
        if not any(getattr(v, "name", v) == "spikes" and ids for v, ids in pop.recorder.recorded.items()):
            continue
        trains = pop.get_data("spikes").segments[-1].spiketrains
        times, ids, _ = spike_columns(trains)
        meta = getattr(trains, "_spiketrain_metadata", None) or {}
        if getattr(trains, "_items", None) is None and "t_stop" in meta:
            t_stop = float(meta["t_stop"].rescale("ms").magnitude) if hasattr(meta["t_stop"], "rescale") else float(meta["t_stop"])
        else:
            t_stop = max([float(st.t_stop) for st in trains] or [0.0])
        out[pop.label] = {"n": len(trains), "t_stop": t_stop, "times": times.tolist(), "ids": ids.tolist()}
    return out


def run_one(backend: str, script: str, args: list, seed: int, out: str, precision: str = "on_grid"):
    """Run ``script`` on ``backend`` with seed ``seed`` in this process (pyNN.nest with
    ``spike_precision=precision``); write the record to ``out``."""
    import runpy
    if backend == "parsnn":
        from parsnn.pynn.__main__ import install
        install()
        import parsnn.pynn as sim
    else:
        import pyNN.nest as sim
    record = {"seed": seed, "backend": backend}
    _patch(sim, backend, seed, record, precision)
    sys.argv = [script, backend] + args
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    record["start"] = _clock()
    runpy.run_path(script, run_name="__main__")
    engine = record.get("engine_build", 0.0)
    times = {"build": record["t_first_run"] - record["start"] + engine, "run": record["run"] - engine,
             "total": record["end"] - record["start"]}
    result = {"seed": seed, "backend": backend, "populations": record["populations"],
              "version": getattr(sys.modules.get("nest"), "__version__", None) if backend == "nest" else None}
    for what, (wall, cpu) in times.items():
        result[what], result["cpu_" + what] = float(wall), float(cpu)
    with open(out, "w") as f:
        json.dump(result, f)


def _clock() -> np.ndarray:
    """(wall-clock s, this process's CPU s): the CPU time is what a shared machine disturbs least."""
    return np.array([time.perf_counter(), time.process_time()])


# ---------------------------------------------------------------------------- statistics
def population_stats(p: dict, t_start: float, window: float | None = None) -> dict:
    """Mean rate, CV, CC and Fano factor of one recorded population (and with ``window``, the mean rate
    in each window of that length from ``t_start``: "rate A-B")."""
    from parsnn.analysis.statistics import analyze_arrays      # here: a run's child (e.g. NEST's venv) needs no parsnn
    t_stop = p["t_stop"]
    st = analyze_arrays(p["times"], p["ids"], p["n"], t_start, t_stop, cc_ids=np.arange(min(p["n"], 50)))
    times = np.asarray(p["times"])
    counts = np.histogram(times, bins=np.arange(t_start, t_stop + 1e-9, 10.0))[0]
    fano = float(counts.var() / counts.mean()) if counts.size > 1 and counts.mean() > 0 else float("nan")

    def mean(x):
        return float(np.mean(x)) if np.size(x) else float("nan")
    out = {"rate": mean(st.rates), "cv": mean(st.cvs), "cc": mean(st.ccs), "fano": fano}
    for a in np.arange(t_start, t_stop - 1e-9, window) if window else []:
        b = min(a + window, t_stop)
        out[f"rate {a:g}-{b:g}"] = float(np.sum((times >= a) & (times < b)) / (p["n"] * (b - a) * 1e-3))
    return out


def run_all(names: list, seeds: range, cache: str, workdir: str, precision: str, nest_python: str | None = None) -> list:
    """Every (script, seed, backend) run, the backends alternating (pyNN.nest's with ``nest_python``,
    default this Python); [(name, record)]."""
    from parsnn.pynn.scenarios import fetch_examples
    examples = fetch_examples(cache)
    env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS="1")
    records = []
    for name in names:
        script, args = SCRIPTS[name][:2]
        for k in seeds:
            order = ("nest", "parsnn") if k % 2 else ("parsnn", "nest")
            for backend in order:
                out = os.path.join(workdir, f"{script}-{backend}-{k}.json")
                scratch = tempfile.mkdtemp(dir=workdir)
                python = nest_python if backend == "nest" and nest_python else sys.executable
                cmd = [python, os.path.abspath(__file__), "--one", backend, os.path.join(examples, script),
                       str(k), out, "--nest-precision", precision, "--"] + args
                proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True)
                if proc.returncode:
                    raise RuntimeError(f"{name} on {backend} (seed {k}) failed:\n{proc.stderr[-3000:]}")
                with open(out) as f:
                    records.append((name, json.load(f)))
                print(f"{name} seed {k} {backend}: build {records[-1][1]['build']:.2f} s, "
                      f"run {records[-1][1]['run']:.2f} s", file=sys.stderr, flush=True)
    return records


def poisson_check(rate: float = 5000.0, n: int = 50, t_sim: float = 500.0) -> dict:
    """Spikes sent by ``n`` SpikeSourcePoisson(rate) over ``t_sim`` ms on each backend, per expected spike
    (both pass on every spike of a step: parsnn's poisson_source as one event of multiplicity k, as
    pyNN.nest's parrot neurons; before parsnn had multiplicities it sent at most one per step)."""
    from parsnn.pynn.__main__ import install
    install()
    import parsnn.pynn
    import pyNN.nest
    out = {}
    for name, sim in (("parsnn", parsnn.pynn), ("nest", pyNN.nest)):
        sim.setup(timestep=0.1, **({"spike_precision": "on_grid"} if name == "nest" else {}))
        src = sim.Population(n, sim.SpikeSourcePoisson(rate=rate))
        src.record("spikes")
        sim.run(t_sim)
        count = sum(len(st) for st in src.get_data().segments[0].spiketrains)
        sim.end()
        out[name] = count / (n * rate * t_sim * 1e-3)
    return out


def summarise(records: list) -> dict:
    """{name: {"stats": {pop: {stat: {backend: [per seed]}}}, "time": {backend: {what: [per seed]}}}}."""
    out = {}
    for name, r in records:
        entry = out.setdefault(name, {"stats": {}, "time": {}})
        if r.get("version"):
            out.setdefault("_nest_version", r["version"])
        for what in ("build", "run", "total", "cpu_build", "cpu_run", "cpu_total"):
            if what in r:
                entry["time"].setdefault(r["backend"], {}).setdefault(what, []).append(r[what])
        for pop, p in r["populations"].items():
            s = population_stats(p, *SCRIPTS[name][2:])
            for stat in s:
                entry["stats"].setdefault(pop, {}).setdefault(stat, {}).setdefault(r["backend"], []).append(s[stat])
    return out


def agree(a, b) -> bool:
    """The backends' means differ by at most 3 standard errors of the difference + 5 % of the mean."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.isnan(a).all() and np.isnan(b).all():
        return True
    n = min(a.size, b.size)
    se = np.sqrt(np.nanvar(a, ddof=1) + np.nanvar(b, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return bool(abs(np.nanmean(a) - np.nanmean(b)) <= 3 * se + 0.05 * abs(np.nanmean(b)))


def report(summary: dict, seeds: range, machine: str, precision: str, poisson: dict | None = None) -> str:
    """The markdown report."""
    nest_version = summary.pop("_nest_version", None)
    if nest_version is None:
        import nest
        nest_version = nest.__version__
    import pyNN
    lines = [f"# PyNN {pyNN.__version__}'s examples, unchanged: parsnn.pynn vs pyNN.nest (NEST {nest_version})",
             "", f"Machine: {machine} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
             "**shared with other jobs while this ran**: timings are noisy; medians over the seeds, the backends "
             "alternating, one process per run, 1 thread, 1 rank.", "",
             f"Command: `PYNEST_QUIET=1 python analysis/pynn_vs_nest.py --seeds {len(seeds)} --first-seed {seeds[0]} "
             f"--machine {machine} --nest-precision {precision} ...`; seeds {seeds[0]}..{seeds[-1]} (see the "
             f"script's docstring for what a seed changes). pyNN.nest ran with `spike_precision={precision!r}`"
             + (" (iaf_psc_exp, iaf_psc_alpha, poisson_generator, parrot_neuron: the models parsnn has; pyNN.nest's "
                "default is 'off_grid', the precise-time models)." if precision == "on_grid" else
                " (pyNN.nest's default: iaf_psc_exp_ps, poisson_generator_ps, parrot_neuron_ps; parsnn has grid-based "
                "models only)."), "",
             "## Statistics (recorded cells; mean over seeds ± seed-to-seed sd)", "",
             "| script | population | statistic | parsnn | pyNN.nest | agree |", "|---|---|---|---|---|---|"]
    for name, e in summary.items():
        for pop, stats in e["stats"].items():
            for stat, v in stats.items():
                cell = {b: f"{np.nanmean(x):.4g} ± {np.nanstd(x, ddof=1) if len(x) > 1 else 0:.2g}"
                        for b, x in v.items()}
                ok = agree(v.get("parsnn", []), v.get("nest", [])) if len(v) == 2 else "-"
                lines.append(f"| {name} | {pop} | {stat} | {cell.get('parsnn', '-')} | {cell.get('nest', '-')} | "
                             f"{'yes' if ok is True else 'NO' if ok is False else ok} |")
    lines += ["", "## Time (s, medians over the seeds)", "",
              "Wall clock, and in brackets the process's CPU time (less disturbed by the other jobs: one "
              "thread each). *build*: from the script's start to its first run() (parsnn: plus its engine "
              "build inside that run); *total*: the script's start to its end() (imports not counted).", "",
              "| script | parsnn build | parsnn run | parsnn total | nest build | nest run | nest total | "
              "nest/parsnn total |", "|---|---|---|---|---|---|---|---|"]
    for name, e in summary.items():
        t = {b: {w: float(np.median(x)) for w, x in v.items()} for b, v in e["time"].items()}
        p, n = t["parsnn"], t["nest"]

        def cell(d, what):
            return f"{d[what]:.3g}" + (f" ({d['cpu_' + what]:.3g})" if "cpu_" + what in d else "")
        ratio = f"{n['total'] / p['total']:.3g}x" + (
            f" ({n['cpu_total'] / p['cpu_total']:.3g}x)" if "cpu_total" in p and "cpu_total" in n else "")
        lines.append(f"| {name} | {cell(p, 'build')} | {cell(p, 'run')} | {cell(p, 'total')} | {cell(n, 'build')} | "
                     f"{cell(n, 'run')} | {cell(n, 'total')} | {ratio} |")
    if poisson:
        lines += ["", "## SpikeSourcePoisson at a high rate (`--poisson-check`)", "",
                  "Spikes sent by 50 sources of 5000 spikes/s over 500 ms, per expected spike: "
                  f"parsnn {poisson['parsnn']:.3f}, pyNN.nest {poisson['nest']:.3f} (one step holds 0.5 spikes on "
                  "average; both pass on every one: an event of multiplicity k, as NEST's parrot_neuron; "
                  "without multiplicities, at most one per step, it would be (1 - exp(-0.5)) / 0.5 = 0.787)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="how many seeds (default 3)")
    ap.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    ap.add_argument("--scripts", default=",".join(SCRIPTS), help="comma-separated, of: " + ", ".join(SCRIPTS))
    ap.add_argument("--cache", default=os.path.join(HERE, "..", ".pytest_cache", "pynn-sdist"))
    ap.add_argument("--machine", default=platform.node())
    ap.add_argument("--nest-precision", default="on_grid", choices=("on_grid", "off_grid"),
                    help="pyNN.nest's spike_precision (on_grid: iaf_psc_exp etc., the models parsnn has; "
                         "off_grid, pyNN.nest's default: iaf_psc_exp_ps, poisson_generator_ps, ...)")
    ap.add_argument("--out", help="markdown report (default: stdout); the raw numbers go next to it as .json")
    ap.add_argument("--nest-python", help="the Python that runs pyNN.nest (default this one; e.g. "
                                          "benchmarks/.venv-nest/bin/python with PyNN installed)")
    ap.add_argument("--poisson-check", action="store_true", help="also compare SpikeSourcePoisson at 5000 spikes/s")
    ap.add_argument("--one", nargs=4, metavar=("BACKEND", "SCRIPT", "SEED", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        return run_one(a.one[0], a.one[1], a.rest, int(a.one[2]), a.one[3], a.nest_precision)
    with tempfile.TemporaryDirectory(prefix="pynn-vs-nest-") as work:
        seeds = range(a.first_seed, a.first_seed + a.seeds)
        records = run_all([s.strip() for s in a.scripts.split(",")], seeds, a.cache, work, a.nest_precision,
                          a.nest_python)
    summary = summarise(records)
    text = report(summary, seeds, a.machine, a.nest_precision, poisson_check() if a.poisson_check else None)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
            json.dump(summary, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
