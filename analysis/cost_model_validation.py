#!/usr/bin/env python
"""Calibrate and validate the communication cost model (parsnn.mapping.cluster) on this machine,
and predict PD14's strong scaling on a cluster.

    python analysis/cost_model_validation.py validate --force   # PD14 and Brunel on 1-4 ranks (+ noisebench)
    python analysis/cost_model_validation.py calibrate --force --reuse-validation   # constants, same batch
    python analysis/cost_model_validation.py validate    # predicted vs measured (no new runs)
    python analysis/cost_model_validation.py curve       # PD14 full scale, 1..1024 ranks: JSON + PNG
    python analysis/cost_model_validation.py report      # analysis/results/cost_model_report.md from the saved JSON
    mpiexec -n P python analysis/cost_model_validation.py worker --model pd14 ...   (used by the above)

Every measurement waits until the machine is quiet (other processes busy < 0.2 cores over 2 s, and no
other parsnn/nest/mpiexec process) and is short (about 20 s at most). Results go to
analysis/results/cost_model_*.{json,md,png}.

Calibration (this machine's constants; parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml records them):
- ``mpibench``: parsnn/machines/bench/mpibench.c with the mpich wheel's mpicc, 2 ranks: ping-pong,
  Isend burst, Alltoall of one int, Alltoallv, and libc qsort per comparison;
- ``null``: a network whose 2 neurons never fire, min delay 1 step, 20,000 intervals, on 1 and 2
  ranks: the fixed cost per interval of each phase (Python calls and timers) and, from the 2-rank
  run minus the MPI costs of mpibench, the mpi4py call overhead per collective;
- PD14 n_scaling 0.1 on 1 rank (DC and Poisson background), Brunel (regime A, scale 0.5) on 1 rank,
  and 10,000 neurons without input ('delta': iaf_psc_delta; 'expscalar': iaf_psc_exp with one I_e
  per neuron): update cost per neuron step of the vectorized and the scalar iaf_psc_exp kernel, of
  iaf_psc_delta and per Poisson input;
- the delivery cost per received spike ('spikes': one synapse per spike) and per synaptic event by
  where the ring entry lives (L2 / L3 / memory prefetched / memory not prefetched): Brunel and PD14
  0.1 on 1 rank, 'shortrows' (rows of 64 synapses, shorter than the 128-synapse prefetch distance,
  into a 160 MB ring) on 1 rank, and full-scale PD14 on 2 ranks (run in the batch, 1 s, ~3.2 GB;
  or benchmarks/results/pd14_full.json);
- ``noisebench``: parsnn/machines/bench/noisebench.c, 2 ranks doing identical fixed work per interval:
  machine noise (the wait for the slower rank) without the simulator, interleaved with the
  validation repeats.

Validation runs are PD14 n_scaling 0.1 and Brunel on 1, 2, 3 and 4 ranks (1 s model time), predicted
with the spike rates each run measured; 1 rank is in-sample for the compute constants, 2 ranks
out-of-sample, 3 and 4 ranks oversubscribe the 2 cores.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
RUNS = os.path.join(RESULTS, "cost_model_runs")
CALIB = os.path.join(RESULTS, "cost_model_calibration.json")
VALID = os.path.join(RESULTS, "cost_model_validation.json")
CURVE = os.path.join(RESULTS, "cost_model_pd14_strong_scaling.json")
BIN = os.path.dirname(sys.executable)
MPIEXEC = os.path.join(BIN, "mpiexec")

PD14 = {"model": "pd14", "n_scaling": 0.1}
BRUNEL = {"model": "brunel", "regime": "A", "scale": 0.5}
SHORTROWS = {"model": "shortrows", "row": 64, "rate": 250.0}
PD14_FULL = {"model": "pd14", "n_scaling": 1.0}


# --------------------------------------------------------------------------- quiet machine

def _foreign_processes() -> list[str]:
    """Other simulator / MPI processes running now (their ps lines)."""
    me = {os.getpid(), os.getppid()}
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()[1:]
    busy = []
    for line in out:
        pid, _, args = line.strip().partition(" ")
        if int(pid) in me or "cost_model_validation" in args or "grep" in args:
            continue
        if any(w in args for w in ("parsnn", "nest", "mpiexec", "roofline")):
            busy.append(line.strip()[:120])
    return busy


def _busy_cores(dt=2.0) -> float:
    """Cores kept busy by all processes over the next ``dt`` seconds (/proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return v[0] + v[1] + v[2] + v[5] + v[6]
    a = sample()
    time.sleep(dt)
    return (sample() - a) / os.sysconf("SC_CLK_TCK") / dt


def wait_quiet(max_busy=0.2, poll=10, log=print):
    """Block until other processes keep less than ``max_busy`` cores busy (sampled over 2 s) and no
    other simulator runs. Returns the busy cores measured."""
    while True:
        busy_cores = _busy_cores()
        busy = _foreign_processes()
        if busy_cores < max_busy and not busy:
            return busy_cores
        log(f"[{time.strftime('%H:%M:%S')}] waiting for a quiet machine: {busy_cores:.2f} busy cores, "
            f"{len(busy)} other process(es){': ' + busy[0] if busy else ''}")
        time.sleep(poll)


# --------------------------------------------------------------------------- worker (under mpiexec)

def _build(spec: dict):
    """The network of a run spec (parsnn.mapping.cluster.measure.calibration_network)."""
    from parsnn.mapping.cluster.measure import calibration_network
    return calibration_network(spec)


def worker(spec: dict, t_sim: float, out: str):
    """Under mpiexec: build and run ``spec`` for ``t_sim`` ms and write its run record (JSON) to ``out`` on rank 0."""
    from mpi4py import MPI
    from parsnn.mapping.cluster.measure import run_spec
    res = run_spec(spec, t_sim, MPI.COMM_WORLD)
    if res is not None:
        with open(out, "w") as f:
            json.dump(res, f, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


# --------------------------------------------------------------------------- running

def _tag(spec, P, t_sim):
    """File name stem of a run: model, options, ranks and model time."""
    parts = [spec["model"]] + [f"{k}{v}" for k, v in sorted(spec.items()) if k not in ("model", "callbench")]
    parts = [p for p in parts if p != "repeat0"]
    return "_".join(map(str, parts)) + f"_P{P}_T{int(t_sim)}"


def run(spec: dict, P: int, t_sim: float, force=False, log=print, mpiexec_args=()) -> dict:
    """The run record of ``spec`` on ``P`` ranks for ``t_sim`` ms: the saved one, or (``force`` or
    none saved) a fresh run under mpiexec after waiting for a quiet machine."""
    os.makedirs(RUNS, exist_ok=True)
    out = os.path.join(RUNS, _tag(spec, P, t_sim) + ".json")
    if os.path.exists(out) and not force:
        with open(out) as f:
            return json.load(f)
    load = wait_quiet(log=log)
    cmd = [MPIEXEC, *mpiexec_args, "-n", str(P), sys.executable, os.path.abspath(__file__), "worker",
           "--spec", json.dumps(spec), "--t-sim", str(t_sim), "--out", out]
    log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: {spec} on {P} rank(s), {t_sim:g} ms")
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed: {p.stderr[-3000:]}")
    with open(out) as f:
        res = json.load(f)
    res["busy_cores_before"] = load
    res["started"] = _dt.datetime.now().isoformat(timespec="seconds")
    res["process_seconds"] = time.time() - t0
    res["load_after"] = os.getloadavg()[0]
    with open(out, "w") as f:
        json.dump(res, f)
    return res


def mpibench(force=False, log=print) -> dict:
    """parsnn/machines/bench/mpibench.c on 2 ranks (MPI and qsort costs): the saved result, or a fresh one."""
    os.makedirs(RUNS, exist_ok=True)
    out = os.path.join(RUNS, "mpibench_P2.json")
    if os.path.exists(out) and not force:
        with open(out) as f:
            return json.load(f)
    from parsnn.mapping.cluster.measure import compile_bench
    exe = compile_bench("mpibench", RUNS)
    load = wait_quiet(log=log)
    log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: mpibench on 2 ranks")
    p = subprocess.run([MPIEXEC, "-n", "2", exe, "20000"], capture_output=True, text=True, check=True, timeout=300)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["started"] = _dt.datetime.now().isoformat(timespec="seconds")
    with open(out, "w") as f:
        json.dump(res, f)
    os.remove(exe)
    return res


from parsnn.mapping.cluster.measure import NOISE_CONFIGS  # noqa: E402  (two ranks, fixed work per interval)


NOISE_FILE = os.path.join(RUNS, "noisebench_P2.json")


def noisebench(launches=8, force=False, log=print, append=False, tag="") -> list[dict]:
    """parsnn/machines/bench/noisebench.c on 2 ranks, ``launches`` fresh launches of each configuration
    (alternating): machine noise without the simulator. ``append``: add the launches to the saved
    ones (validate interleaves them with its repeats)."""
    os.makedirs(RUNS, exist_ok=True)
    out = NOISE_FILE
    if os.path.exists(out) and not force and not append:
        with open(out) as f:
            return json.load(f)
    from parsnn.mapping.cluster.measure import compile_bench
    exe = compile_bench("noisebench", RUNS)
    res = []
    if append and os.path.exists(out):
        with open(out) as f:
            res = json.load(f)
    for k in range(launches):
        for name, args in NOISE_CONFIGS.items():
            load = wait_quiet(log=log)
            log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: noisebench {name} #{k} on 2 ranks")
            p = subprocess.run([MPIEXEC, "-n", "2", exe, *args], capture_output=True, text=True, check=True,
                               timeout=300)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.update(config=name, launch=k, started=_dt.datetime.now().isoformat(timespec="seconds"),
                     busy_cores_before=load, tag=tag)
            res.append(r)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    os.remove(exe)
    return res


# --------------------------------------------------------------------------- calibration

def calibrate(force=False, log=print, full_scale=True, reuse_validation=False) -> dict:
    """Run the calibration set, derive this machine's constants (parsnn.mapping.cluster.calibration)
    and write epyc_zen5_kvm_2core_2026_11_22.toml.

    ``full_scale``: run full-scale PD14 on 2 ranks (1 s, ~3.2 GB, ~30 s) in the batch for the
    memory-bound event cost; otherwise take the benchmark harness's run (benchmarks/results/
    pd14_full.json), measured at another time (this VM's speed drifts by up to 30 %).
    ``reuse_validation``: take the 1-rank PD14 and Brunel runs and the noisebench launches from the
    last ``validate --force`` (which interleaves them with the multi-rank runs) instead of re-running
    them, so that constants and validation runs come from the same minutes."""
    rforce = force and not reuse_validation
    _require_zen5_machine()
    from parsnn.connectivity import Connectivity
    from parsnn.mapping import cluster
    from parsnn.mapping.cluster import calibration
    from parsnn.models import pd14
    mb = mpibench(force, log)
    runs = {"null_P1": run({"model": "null", "callbench": True}, 1, 2000.0, force, log),
            "null_P2": run({"model": "null", "callbench": True}, 2, 2000.0, force, log),
            "spikes_P1": run({"model": "spikes"}, 1, 1000.0, force, log),
            "delta_P1": run({"model": "delta"}, 1, 1000.0, force, log),
            "expscalar_P1": run({"model": "expscalar"}, 1, 1000.0, force, log)}
    # the 1-rank runs of PD14 and Brunel: the mean of the validation repeats (this VM's speed varies by
    # up to ~30 % from run to run, so one run is not enough); 1 rank is in-sample for the compute constants
    runs["pd14_P1"] = calibration.mean_runs([run(PD14 if k == 0 else {**PD14, "repeat": k}, 1, 1000.0, rforce, log)
                                             for k in range(3)])
    runs["pd14_poisson_P1"] = run({**PD14, "bg": "poisson"}, 1, 300.0, force, log)
    runs["brunel_P1"] = calibration.mean_runs([run(BRUNEL if k == 0 else {**BRUNEL, "repeat": k}, 1, 1000.0,
                                                   rforce, log) for k in range(3)])
    runs["pd14_P3"] = run(PD14, 3, 1000.0, force, log)
    runs["shortrows_P1"] = calibration.mean_runs([run({**SHORTROWS, "repeat": k} if k else SHORTROWS, 1, 300.0,
                                                      force, log) for k in range(3)])
    nb = noisebench(force=rforce, log=log)
    full = _full_scale_in_batch(run(PD14_FULL, 2, 1000.0, force, log)) if full_scale else _full_scale_run()
    full_connectivity = (Connectivity.from_network(pd14.build_network(n_scaling=1.0, record=False))
                         if full is not None else None)

    c = {"date": _dt.date.today().isoformat(), "mpibench": mb}
    c.update(calibration.fit_constants(mb, runs, full, full_connectivity, calibration.THIS_MACHINE_CACHES))
    c["calibration_runs"] = {k: calibration.run_summary(runs[k]) for k in
                             ("null_P1", "null_P2", "spikes_P1", "pd14_P1", "pd14_poisson_P1", "brunel_P1",
                              "pd14_P3", "shortrows_P1")}
    c["roofline"] = _roofline()
    # -- machine noise: noisebench (two ranks, identical fixed work per interval, no simulator)
    c["noise_fit"] = calibration.noise_constants(nb)
    c["sigma_rel"], c["sigma_us"] = c["noise_fit"]["sigma_rel"], c["noise_fit"]["sigma_us"]
    write_machine_toml(c, yield_us=0.0)
    # -- oversubscription: the spin before MPICH yields, from PD14 on 3 ranks (one number)
    pred, _ = predict_run(runs["pd14_P3"])
    c["yield_us"] = calibration.oversubscription_yield_us(runs["pd14_P3"], pred["critical_path_s"],
                                                          cluster.load_machine("epyc_zen5_kvm_2core_2026_11_22").cores)
    write_machine_toml(c, yield_us=c["yield_us"])
    os.makedirs(RESULTS, exist_ok=True)
    with open(CALIB, "w") as f:
        json.dump(c, f, indent=1)
    log(json.dumps({k: v for k, v in c.items() if not isinstance(v, (dict, list))}, indent=1))
    return c


def _require_zen5_machine():
    """This procedure rewrites the shipped epyc_zen5_kvm_2core_2026_11_22.toml: refuse on another machine
    (there, ``parsnn calibrate`` writes a machine file of its own)."""
    from parsnn.machines import fingerprint, load_machine
    diff = fingerprint.differences(load_machine("epyc_zen5_kvm_2core_2026_11_22").data["fingerprint"])
    if diff:
        raise SystemExit("this calibration rewrites parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml, which "
                         f"describes another machine ({'; '.join(diff)}): use `parsnn calibrate` here")


def _full_scale_in_batch(res):
    """The full-scale 2-rank calibration run in the form of a benchmark record."""
    return {"ranks": res["ranks"], "synaptic_events": float(np.sum(res["perf"]["synaptic_events"])),
            "timers": {"timer_deliver": res["perf"]["timer_deliver"]}, "t_sim_ms": res["t_sim_ms"],
            "intervals": res["intervals"], "spikes_in_per_rank": float(np.mean(res["delivered_spikes"])),
            "started": res.get("started"), "rtf": res["perf"]["rtf"],
            "source": "analysis/results/cost_model_runs/" + _tag(res["spec"], res["ranks"], res["t_sim_ms"]) + ".json"}


def _benchmark_result(name: str):
    """benchmarks/results/<name> (JSON), or None if it is not there."""
    path = os.path.join(ROOT, "benchmarks", "results", name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _full_scale_run():
    """The median undisturbed parsnn run of the benchmark harness's full-scale PD14 (None: none)."""
    d = _benchmark_result("pd14_full.json")
    if d is None:
        return None
    # undisturbed runs only (the harness records other processes' CPU use as foreign_cores)
    runs = [r for r in d.get("runs", []) if r.get("simulator") == "parsnn" and r.get("ok") and "timers" in r
            and r.get("foreign_cores", 0.0) < 0.1]
    if not runs:
        return None
    r = dict(sorted(runs, key=lambda x: x["rtf"])[(len(runs) - 1) // 2])
    r["source"] = "benchmarks/results/pd14_full.json"
    return r


def write_machine_toml(c: dict, yield_us: float):
    """Write parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml from the constants ``c`` (git revision in its header)."""
    import parsnn
    from parsnn.mapping.cluster import calibration
    path = os.path.join(os.path.dirname(parsnn.__file__), "machines", "epyc_zen5_kvm_2core_2026_11_22.toml")
    try:
        git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        if subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "parsnn",
                           "cython", "analysis/cost_model_validation.py"], capture_output=True,
                          text=True).stdout.strip():
            git += " with uncommitted changes"
    except OSError:
        git = "?"
    calibration.write_machine_toml(c, yield_us, path, git)


def _roofline():
    """The hardware floor figures of benchmarks/results/roofline.json (None: not measured)."""
    d = _benchmark_result("roofline.json")
    if d is None:
        return None
    return {k: d[k] for k in d if k.startswith(("ns_", "rtf_min")) or k == "procs"}


# --------------------------------------------------------------------------- validation

def predict_run(res: dict, machine="epyc_zen5_kvm_2core_2026_11_22") -> dict:
    """Model prediction for a measured run: same description, partition map and measured rates."""
    from parsnn.connectivity import Connectivity
    from parsnn.mapping import cluster
    P = res["ranks"]
    desc = res["description"]
    if "spike_recorder" not in desc:
        # runs saved before descriptions listed the recorded populations: rebuild the description
        rec = _build(res["spec"]).spike_recorder
        desc = {**desc, "spike_recorder": list(rec.populations) if rec else []}
    rank_of = np.asarray(res["rank_of"])
    conn = Connectivity.from_description(desc)
    wl = cluster.workload(conn, P, rank_of, rates=res["rates"], min_delay_steps=res["min_delay_steps"])
    return cluster.predict(conn, P, machine, rank_of, rates=res["rates"], wl=wl, t_sim_ms=res["t_sim_ms"]), wl


def compare_run(res: dict, machine="epyc_zen5_kvm_2core_2026_11_22") -> dict:
    """Predicted vs measured phases, RTF and workload counts of one run record."""
    pred, wl = predict_run(res, machine)
    I = res["intervals"]
    row = {"model": res["spec"]["model"], "ranks": res["ranks"], "intervals": I,
           "oversubscribed": pred["oversubscribed"]}
    for ph in ("update", "deliver", "exchange"):
        meas = float(np.mean(res["perf"][f"timer_{ph}"]))
        pr = pred["phases"][ph] * I
        row[f"{ph}_measured_s"] = meas
        row[f"{ph}_predicted_s"] = pr
        row[f"{ph}_error"] = (pr - meas) / meas if meas > 0 else float("nan")
    meas_rtf = float(res["perf"]["rtf"])
    row["rtf_measured"] = meas_rtf
    row["rtf_predicted"] = pred["rtf"]
    row["rtf_error"] = (row["rtf_predicted"] - meas_rtf) / meas_rtf
    # the workload part alone: events and received spikes, predicted vs counted
    T = res["t_sim_ms"] * 1e-3
    row["events_measured"] = float(np.sum(res["perf"]["synaptic_events"]))
    row["events_predicted"] = float(wl["events_per_s"].sum() * T)
    row["spikes_in_measured"] = float(np.sum(res["delivered_spikes"]))
    row["spikes_in_predicted"] = float(wl["spikes_in_per_s"].sum() * T)
    row["remote_measured"] = float(np.sum(res["perf"]["remote_deliveries"]))
    row["remote_predicted"] = float(wl["spikes_to_per_s"].sum() * T)
    row["busy_cores_before"] = res.get("busy_cores_before")
    row["exchange_terms_us"] = {k: (v * 1e6 if isinstance(v, float) else v) for k, v in pred["exchange_terms"].items()
                                if not isinstance(v, dict)}
    return row


def validate(force=False, log=print, ranks=(1, 2, 3, 4), repeats=3, noise_launches=3) -> list[dict]:
    """Every configuration ``repeats`` times (fresh processes, separated in time); the table compares
    the prediction with the mean of the repeats and gives their range. With ``force``, each repeat
    starts with ``noise_launches`` noisebench launches of each configuration."""
    runs = {}
    if force and os.path.exists(NOISE_FILE):
        os.remove(NOISE_FILE)
    for rep in range(repeats):
        if force:
            # machine noise measured in the same minutes as the runs (used by calibrate --reuse-validation)
            noisebench(noise_launches, log=log, append=True, tag=f"validate repeat {rep}")
        for spec in (PD14, BRUNEL):
            for P in ranks:
                sp = spec if rep == 0 else {**spec, "repeat": rep}
                runs.setdefault((spec["model"], P), []).append(run(sp, P, 1000.0, force, log))
    rows = []
    for (model, P), rs in runs.items():
        row = compare_run(rs[0])
        per = [compare_run(r) for r in rs]
        for key in ("update", "deliver", "exchange"):
            vals = [r[f"{key}_measured_s"] for r in per]
            row[f"{key}_measured_s"] = float(np.mean(vals))
            row[f"{key}_measured_range"] = [float(min(vals)), float(max(vals))]
            row[f"{key}_error"] = (row[f"{key}_predicted_s"] - row[f"{key}_measured_s"]) / row[f"{key}_measured_s"]
        vals = [r["rtf_measured"] for r in per]
        row["rtf_measured"] = float(np.mean(vals))
        row["rtf_measured_range"] = [float(min(vals)), float(max(vals))]
        row["rtf_error"] = (row["rtf_predicted"] - row["rtf_measured"]) / row["rtf_measured"]
        row["repeats"] = len(rs)
        rows.append(row)
    os.makedirs(RESULTS, exist_ok=True)
    with open(VALID, "w") as f:
        json.dump(rows, f, indent=1)
    md = format_validation(rows)
    with open(VALID.replace(".json", ".md"), "w") as f:
        f.write(md + "\n")
    log(md)
    return rows


def format_validation(rows) -> str:
    """Markdown tables of the validation rows: phases and RTF, then events, spikes and remote copies."""
    def rng(r, key):
        lo, hi = r.get(f"{key}_range", [None, None])
        return f" ({lo:.3f}-{hi:.3f})" if lo is not None and r.get("repeats", 1) > 1 else ""
    lines = ["Phase timers: seconds per rank (mean over ranks) for 1 s of model time; measured: mean of the "
             "repeats (range); error = predicted / measured - 1.", "",
             "| model | ranks | phase | measured (s) | predicted (s) | error |", "|---|---|---|---|---|---|"]
    for r in rows:
        tag = f"{r['ranks']}{' (oversubscribed)' if r['oversubscribed'] else ''}"
        for ph in ("update", "deliver", "exchange"):
            lines.append(f"| {r['model']} | {tag} | {ph} | {r[f'{ph}_measured_s']:.3f}{rng(r, f'{ph}_measured')} | "
                         f"{r[f'{ph}_predicted_s']:.3f} | {100 * r[f'{ph}_error']:+.0f} % |")
        lines.append(f"| {r['model']} | {tag} | **RTF** | {r['rtf_measured']:.3f}{rng(r, 'rtf_measured')} | "
                     f"{r['rtf_predicted']:.3f} | {100 * r['rtf_error']:+.0f} % |")
    lines += ["", "| model | ranks | events measured | predicted | spikes received measured | predicted | "
                  "remote copies measured | predicted |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['ranks']} | {r['events_measured']:.4g} | {r['events_predicted']:.4g} | "
                     f"{r['spikes_in_measured']:.4g} | {r['spikes_in_predicted']:.4g} | {r['remote_measured']:.4g} | "
                     f"{r['remote_predicted']:.4g} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- large-scale curve

PUBLISHED = [  # ../shared/reference/pd14_published_performance.md
    {"study": "van Albada et al. 2018", "simulator": "NEST (CPU)", "hardware": "2x Xeon E5-2680v3 per node",
     "nodes": 12, "cores": 12 * 24, "rtf": 2.465},
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node (128 cores)",
     "nodes": 1, "cores": 128, "rtf": 0.67},
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node",
     "nodes": 2, "cores": 256, "rtf": 0.53},
]
RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 768, 1024]


def curve(log=print, machines=("jureca_dc", "epyc_zen5_kvm_2core_2026_11_22")) -> dict:
    """Predicted PD14 full-scale strong scaling on the shipped machines (and what-ifs): JSON and PNG."""
    from parsnn.connectivity import Connectivity
    from parsnn.mapping import cluster
    from parsnn.models import brunel, pd14
    net = Connectivity.from_network(pd14.build_network(n_scaling=1.0, record=False))
    out = {"model": "pd14 full scale, DC drive, expected (reference) rates, round_robin", "curves": {},
           "published": PUBLISHED, "date": _dt.date.today().isoformat()}
    for mname in machines:
        m = cluster.load_machine(mname)
        ranks = [p for p in RANKS if p <= max(m.cores, 1)] if mname == "epyc_zen5_kvm_2core_2026_11_22" else RANKS
        out["curves"][mname] = cluster.sweep(net, ranks, mname)
        log(f"PD14 full scale on {mname}:\n" + cluster.format_table(out["curves"][mname]))
    # sensitivity to the per-core speed assumption (derived compute/overhead scale)
    for mname in ("jureca_dc",):
        m = cluster.load_machine(mname)
        lo, hi = m.data["derived"]["compute_scale_range"]
        for f in (lo, hi):
            out["curves"][f"{mname}_scale{f:g}"] = cluster.sweep(net, RANKS, _rescaled(mname, f))
    # the van Albada (2018) hardware: 12 nodes of 24 Haswell cores = 288 ranks
    hw = cluster.load_machine("jureca_2015_haswell")
    out["curves"]["jureca_2015_haswell"] = cluster.sweep(net, [24, 48, 96, 144, 192, 288, 384, 768], hw)
    log("PD14 full scale on jureca_2015_haswell:\n" + cluster.format_table(out["curves"]["jureca_2015_haswell"]))
    # the same network with a 1.5 ms min delay (what-if), and a Brunel network of similar size
    out["curves"]["jureca_dc_pd14_min_delay_1.5ms"] = cluster.sweep(net, RANKS, "jureca_dc", min_delay_steps=15)
    # Brunel regime A with ~the PD14 full-scale neuron count (75,000 neurons, in-degrees 1,000 + 250) at its
    # mean-field rate (models/brunel: 327 spikes/s with these in-degrees; the full-scale network, 12,500
    # neurons with the same in-degrees, measured 333 here; the validation runs' scale 0.5 has half the
    # in-degrees and fires at 220)
    bnet = Connectivity.from_network(brunel.build_network(regime="A", scale=6.0, keep_indegree=True, record=False))
    rate = brunel.mean_field_rate("A", 6.0, keep_indegree=True)
    rates = {"E": rate, "I": rate}
    out["curves"]["jureca_dc_brunel_A_scale6"] = cluster.sweep(bnet, RANKS, "jureca_dc", rates=rates)
    out["brunel_rates_assumed"] = rates
    out["crossover"] = {k: cluster.crossover(v) for k, v in out["curves"].items()}
    for k in ("jureca_dc_pd14_min_delay_1.5ms", "jureca_dc_brunel_A_scale6"):
        log(f"{k}:\n" + cluster.format_table(out["curves"][k]))
    log(f"exchange dominates from: {out['crossover']}")
    os.makedirs(RESULTS, exist_ok=True)
    with open(CURVE, "w") as f:
        json.dump(out, f, indent=1)
    plot_curve(out, CURVE.replace(".json", ".png"))
    return out


def _rescaled(name, f):
    """The machine ``name`` with its derived compute and overhead scale set to ``f``."""
    import tempfile
    from parsnn.mapping import cluster
    m = cluster.load_machine(name)
    with open(m.path) as fh:
        text = fh.read()
    import re
    text = re.sub(r"(?m)^compute_scale = .*$", f"compute_scale = {f}", text)
    text = re.sub(r"(?m)^overhead_scale = .*$", f"overhead_scale = {f}", text)
    text = text.replace(f'name = "{name}"', f'name = "{name}_scale{f:g}"')
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    try:
        return cluster.load_machine(tmp)
    finally:
        os.remove(tmp)


def plot_curve(out, path):
    """Figure of the strong-scaling curves with the published NEST figures, and where the time goes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    styles = {"jureca_dc": ("C0", "-", "parsnn predicted, JURECA-DC-like (128 ranks/node)"),
              "epyc_zen5_kvm_2core_2026_11_22": ("C3", "-", "parsnn predicted, this machine (2 cores)"),
              "jureca_dc_pd14_min_delay_1.5ms": ("C0", ":", "same, if PD14's min delay were 1.5 ms")}
    for k, (c, ls, lab) in styles.items():
        cv = out["curves"].get(k)
        if not cv:
            continue
        ax.loglog([p["ranks"] for p in cv], [p["rtf"] for p in cv], ls, color=c, marker="o", ms=3, label=lab)
    band = [out["curves"].get(k) for k in out["curves"] if k.startswith("jureca_dc_scale")]
    if len(band) == 2:
        ax.fill_between([p["ranks"] for p in band[0]], [p["rtf"] for p in band[0]], [p["rtf"] for p in band[1]],
                        color="C0", alpha=0.15, lw=0, label="JURECA-DC-like, core speed x1.4 ... x2.2 slower")
    full = _full_scale_run()
    if full is not None:
        ax.plot(full["ranks"], full["rtf"], "x", color="C3", ms=8, mew=2,
                label=f"parsnn measured here, {full['ranks']} ranks (benchmarks/results/pd14_full.json)")
    hw = out["curves"].get("jureca_2015_haswell")
    if hw:
        ax.loglog([p["ranks"] for p in hw], [p["rtf"] for p in hw], "-", color="C2", marker="s", ms=3,
                  label="parsnn predicted, JURECA-2015-like (24 ranks/node, Haswell)")
    for p in out["published"]:
        ax.plot(p["cores"], p["rtf"], "k*" if "Kurth" in p["study"] else "ks", ms=9)
        ax.annotate(f"NEST, {p['study'].split(' et')[0]} {p['study'][-4:]}\n{p['nodes']} node(s)",
                    (p["cores"], p["rtf"]), textcoords="offset points", xytext=(6, -4), fontsize=7)
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("MPI ranks (NEST: cores)")
    ax.set_ylabel("real-time factor")
    ax.set_title("PD14 full scale: strong scaling")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    cv = out["curves"]["jureca_dc"]
    P = [p["ranks"] for p in cv]
    ipm = cv[0]["intervals_per_model_s"]
    comp = [p["compute_s"] * ipm for p in cv]
    terms = {"fixed-block alltoall": [p["exchange_terms"]["alltoall_block"] * ipm for p in cv],
             "overflow rounds": [p["exchange_terms"]["overflow"] * ipm for p in cv],
             "exchange call": [p["exchange_terms"]["collective_calls"] * ipm for p in cv]}
    ax.loglog(P, comp, "-o", ms=3, label="update + deliver + pack (slowest rank)")
    for k, v in terms.items():
        ax.loglog(P[1:], v[1:], "--", label=k)
    x = out["crossover"].get("jureca_dc")
    if x:
        ax.axvline(x, color="0.5", lw=0.8)
        ax.text(x * 1.1, 3.0, f"exchange > compute\nfrom {x} ranks", fontsize=7)
    ax.set_xlabel("MPI ranks")
    ax.set_ylabel("seconds per model second")
    ax.set_title("JURECA-DC-like: where the time goes (0.1 ms intervals)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


# --------------------------------------------------------------------------- report

REPORT = os.path.join(RESULTS, "cost_model_report.md")


def report(log=print) -> str:
    """Markdown summary of calibration, validation and the predicted strong scaling."""
    from parsnn.mapping import cluster
    with open(CALIB) as f:
        cal = json.load(f)
    with open(VALID) as f:
        rows = json.load(f)
    with open(CURVE) as f:
        cv = json.load(f)
    m = cluster.load_machine("epyc_zen5_kvm_2core_2026_11_22")
    L = ["# Cost model: calibration, validation, predicted PD14 strong scaling", "",
         f"Generated by `python analysis/cost_model_validation.py report` from analysis/results/cost_model_*.json "
         f"(calibration {cal['date']}). Model: `parsnn.mapping.cluster`; machines: `parsnn/machines/*.toml`.",
         "", "One batch on this machine: `validate --force` (3 repeats of every run, each repeat preceded by "
         "noisebench launches), then `calibrate --force --reuse-validation` (the other calibration runs; the "
         "1-rank PD14/Brunel runs and the noise are those of the validation batch), then `validate` (the table).",
         "", "## This machine's constants (epyc_zen5_kvm_2core_2026_11_22.toml)", "",
         "| constant | value | measured by |", "|---|---|---|"]
    ev = m.data["compute"]["event_ns"]
    up = m.data["compute"]["update_ns"]
    items = [
        ("update, iaf_psc_exp vectorized", f"{up['iaf_psc_exp']:.2f} ns / neuron step", "PD14 0.1, 1 rank, DC"),
        ("update, iaf_psc_exp scalar kernel", f"{up.get('iaf_psc_exp_scalar', up['iaf_psc_exp']):.2f} ns / neuron step",
         "10,000 neurons with one I_e each, no input, 1 rank"),
        ("update, iaf_psc_delta", f"{up['iaf_psc_delta']:.2f} ns / neuron step", "10,000 neurons, no input, 1 rank"),
        ("Poisson input", f"{m.data['compute']['poisson_input_ns']:.1f} ns / neuron step",
         f"Brunel A 0.5 minus iaf_psc_delta (check, PD14 0.1 Poisson bg minus scalar exp: "
         f"{cal.get('poisson_input_ns_pd14_check', float('nan')):.1f})"),
        ("synaptic event, L2 / L3 / memory (prefetched) / memory (not prefetched)",
         f"{ev['l2']:.2f} / {ev['l3']:.2f} / {ev['memory']:.2f} / {ev.get('memory_no_prefetch', ev['memory']):.2f} ns",
         "Brunel A 0.5 (1 rank), PD14 0.1 (1 rank), PD14 full (2 ranks, 1 s), "
         "'shortrows' (1 rank, rows of 64 into a 160 MB ring)"),
        ("received spike", f"{m.data['compute']['spike_ns']:.1f} ns", "'spikes' network: 1 synapse per spike"),
        ("qsort comparison", f"{m.data['compute']['compare_ns']:.2f} ns", "mpibench (C)"),
        ("pack, per spike copy", f"{m.data['compute']['pack_ns']:.1f} ns", "PD14 0.1 + Brunel A 0.5, 1 rank"),
        ("spike recording on rank 0", f"{m.data['compute'].get('record_ns', 0.0):.1f} ns / recorded spike",
         "Brunel A 0.5, 1 rank, record timer"),
        ("fixed per interval: update / deliver / exchange",
         f"{m.data['overhead']['update_us']:.2f} / {m.data['overhead']['deliver_us']:.2f} / "
         f"{m.data['overhead']['exchange_us']:.2f} us", "null network (exchange: real runs)"),
        ("exchange call per interval beyond MPI (this file's meaning: mpi4py per call when it was "
         "calibrated; the model now applies it once per interval)", f"{m.data['overhead']['collective_call_us']:.2f} us",
         "mpi4py loop minus C mpibench, 2 ranks"),
        ("shm latency / overhead per message", f"{m.data['network']['shm']['latency_us']:.2f} / "
         f"{m.data['network']['shm']['overhead_us']:.2f} us", "mpibench ping-pong, Isend burst"),
        ("MPI_Alltoall / Alltoallv fixed (2 ranks)", f"{m.data['collectives']['alltoall_fixed_us']:.2f} / "
         f"{m.data['collectives']['alltoallv_fixed_us']:.2f} us", "mpibench"),
        ("machine noise (sd of a rank's work per interval)",
         f"{100 * m.data['noise']['sigma_rel']:.1f} % + {m.data['noise'].get('sigma_us', 0.0):.2f} us",
         "noisebench (C, 2 ranks, no simulator): mean wait "
         + ", ".join(f"{k} interval {cal['noise_fit'][k]['busy_us']:.0f} us: {cal['noise_fit'][k]['wait_us_mean']:.2f} us "
                     f"({cal['noise_fit'][k]['wait_us_range'][0]:.2f}-{cal['noise_fit'][k]['wait_us_range'][1]:.2f})"
                     for k in ("long", "short") if k in cal.get("noise_fit", {}))),
        ("oversubscription spin per extra rank on a core", f"{m.data['oversubscription']['yield_us']:.1f} us / interval",
         "fitted on PD14 0.1, 3 ranks (its first validation repeat: in-sample)"),
    ]
    for a, b, c_ in items:
        L.append(f"| {a} | {b} | {c_} |")
    if cal.get("roofline"):
        r = cal["roofline"]
        full = [f for f in cal.get("event_fit", []) if f["run"].startswith("pd14_full")]
        L += ["", "Hardware floor (benchmarks/results/roofline.json, C probe, full-scale PD14 sizes, 2 processes) "
              f"vs parsnn's effective costs: synaptic event {r.get('ns_event_prefetch_2proc', float('nan')):.2f} ns "
              f"(rows sorted by delay and prefetched, as parsnn) / "
              f"{r.get('ns_event_sorted_2proc', float('nan')):.2f} ns (sorted, no prefetch) / "
              f"{r.get('ns_event_random_2proc', float('nan')):.2f} ns (random)"
              + (f" vs parsnn {full[0]['ns_per_event']:.2f} ns at full scale on 2 ranks" if full else "")
              + f"; neuron update {r.get('ns_update_2proc', float('nan')):.2f} ns vs parsnn "
              f"{up['iaf_psc_exp']:.2f} ns (PD14 0.1, 1 rank, cache-resident)."]
    L += ["", "## Measured vs predicted (this machine)", "", format_validation(rows), ""]
    b2 = os.path.join(RESULTS, "cost_model_batch2", "cost_model_validation.json")
    if os.path.exists(b2):
        with open(b2) as f:
            rows2 = {(r["model"], r["ranks"]): r for r in json.load(f)}
        L += ["A second batch, the same procedure run again right after (analysis/results/cost_model_batch2/: "
              "its constants and table; this VM ran ~10 % slower and noisier then): error of the prediction, "
              "this batch / second batch.", "",
              "| model | ranks | update | deliver | exchange | RTF |", "|---|---|---|---|---|---|"]
        for r in rows:
            q = rows2.get((r["model"], r["ranks"]))
            if q is None:
                continue
            cells = [f"{100 * r[f'{k}_error']:+.0f} / {100 * q[f'{k}_error']:+.0f} %"
                     for k in ("update", "deliver", "exchange", "rtf")]
            L.append(f"| {r['model']} | {r['ranks']}{' (oversubscribed)' if r['oversubscribed'] else ''} | "
                     + " | ".join(cells) + " |")
        L.append("")
    L += ["## Predicted PD14 full-scale strong scaling", "",
          "| ranks | JURECA-DC-like RTF (core x1.4 .. x2.2) | exchange share | JURECA-2015-like RTF |",
          "|---|---|---|---|"]
    hw = {p["ranks"]: p for p in cv["curves"].get("jureca_2015_haswell", [])}
    lo = {p["ranks"]: p for p in cv["curves"].get("jureca_dc_scale1.4", [])}
    hi = {p["ranks"]: p for p in cv["curves"].get("jureca_dc_scale2.2", [])}
    dc = {p["ranks"]: p for p in cv["curves"]["jureca_dc"]}
    for P in sorted(set(dc) | set(hw)):
        a = b = c_ = ""
        if P in dc:
            a = f"{dc[P]['rtf']:.2f}" + (f" ({lo[P]['rtf']:.2f} .. {hi[P]['rtf']:.2f})" if P in lo and P in hi else "")
            b = f"{100 * dc[P]['exchange_fraction']:.0f} %"
        if P in hw:
            c_ = f"{hw[P]['rtf']:.2f}"
        L.append(f"| {P} | {a} | {b} | {c_} |")
    L += ["", f"Exchange outweighs computation from: {cv['crossover']}", "",
          "Published NEST figures: " + "; ".join(f"{p['study']}, {p['nodes']} node(s) ({p['hardware']}): RTF {p['rtf']}"
                                                 for p in cv["published"])]
    text = "\n".join(L) + "\n"
    with open(REPORT, "w") as f:
        f.write(text)
    log(text)
    return text


# --------------------------------------------------------------------------- CLI

def main(argv=None):
    """Command line: worker, calibrate, validate, all, curve, report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--spec", required=True)
    w.add_argument("--t-sim", type=float, required=True)
    w.add_argument("--out", required=True)
    for name in ("calibrate", "validate", "all"):
        s = sub.add_parser(name)
        s.add_argument("--force", action="store_true", help="rerun measurements that are already saved")
        if name == "calibrate":
            s.add_argument("--reuse-validation", action="store_true",
                           help="take the 1-rank PD14/Brunel runs and the noisebench launches of the last "
                                "'validate --force' (same minutes as the validation runs)")
    sub.add_parser("curve")
    sub.add_parser("report")
    args = ap.parse_args(argv)
    if args.cmd == "worker":
        worker(json.loads(args.spec), args.t_sim, args.out)
    elif args.cmd == "calibrate":
        calibrate(args.force, reuse_validation=args.reuse_validation)
    elif args.cmd == "validate":
        validate(args.force)
    elif args.cmd == "curve":
        curve()
    elif args.cmd == "all":
        # one batch: validation runs with interleaved noise measurements, then the other calibration
        # runs, then the constants (from the same minutes) and the table
        validate(args.force)
        calibrate(args.force, reuse_validation=True)
        validate(False)
        curve()
        report()
    elif args.cmd == "report":
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
