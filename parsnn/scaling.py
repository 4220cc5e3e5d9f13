"""Strong and weak scaling sweeps: plan the runs, write Slurm/PBS job scripts or
run them locally under mpiexec, and collect every run's performance metadata.

Strong scaling keeps the model fixed and varies the number of ranks. Weak
scaling keeps the work per rank fixed: Brunel's size, PD14's ``n_scaling`` and
the number of multicolumn columns grow in proportion to the number of ranks.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import resources

import numpy as np

from parsnn import registry
from parsnn.errors import ParameterError
from parsnn.mapping import cluster

TEMPLATES = {"slurm": "slurm_run.sbatch.in", "pbs": "pbs_run.pbs.in"}
#: the exchange's wait policy of generated job scripts: dedicated (exclusive) nodes, one thread per core,
#: nothing to give a core to, so the blocking call's busy poll; the engine's default ``sleep`` was
#: measured best only on a shared 2-core VM (benchmarks/mpi_wait_pd14.py)
JOB_MPI_WAIT = "poll"


@dataclass
class RunSpec:
    """One point of a sweep."""
    name: str
    ranks: int
    model_args: list
    oversubscribed: bool = False
    extra: dict = field(default_factory=dict)
    threads: int = 1


def parse_ranks(text: str) -> list[int]:
    """The sorted distinct rank counts of a comma-separated list such as ``"1,2,4"``."""
    try:
        ranks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"--ranks must be a comma-separated list of integers >= 1, got '{text}'") from None
    if not ranks or min(ranks) < 1:
        raise ParameterError(f"--ranks must be a comma-separated list of integers >= 1, got '{text}'")
    return sorted(set(ranks))


def parse_threads(text) -> list[int]:
    """The sorted distinct thread counts of ``"1,2"`` (or an int)."""
    if isinstance(text, int):
        text = str(text)
    try:
        threads = sorted({int(x) for x in str(text).split(",") if x.strip()})
    except ValueError:
        threads = []
    if not threads or min(threads) < 1:
        raise ParameterError(f"--threads must be a comma-separated list of integers >= 1, got '{text}'")
    return threads


def plan(kind: str, model: str, ranks: list[int], size: float, extra_args=(), cores=None,
         threads=(1,)) -> list[RunSpec]:
    """The runs of a sweep: every rank count of ``ranks`` with every thread count of ``threads``
    (run names end in ``_P<ranks>``, and ``T<threads>`` when more than one thread count or one above 1
    is swept).

    ``size`` is the model size for strong scaling and the size per rank for weak scaling; the
    model's registry entry (parsnn.registry) turns it into its sweep option's value, e.g. Brunel
    ``--scale``, PD14 ``--n-scaling``, or for multicolumn the number of columns (the sheet is
    ``--grid`` x ``--grid``)."""
    if kind not in ("strong", "weak"):
        raise ParameterError(f"scaling kind must be 'strong' or 'weak', got '{kind}'")
    models = registry.names()
    if model not in models:
        raise ParameterError(f"--model must be one of {', '.join(models)}, got '{model}'")
    spec = registry.get(model)
    if not size > 0:
        raise ParameterError(f"--size must be > 0, got {size}")
    cores = os.cpu_count() if cores is None else cores
    threads = list(threads)
    runs = []
    for p in ranks:
        s = size * p if kind == "weak" else size
        try:
            value = spec.size_value(s)
        except ParameterError as e:
            raise ParameterError(f"{e} at {p} ranks") from None
        for t in threads:
            tag = "" if threads == [1] else f"T{t}"
            runs.append(RunSpec(name=f"{kind}_{model}_P{p}{tag}", ranks=p,
                                model_args=[model, spec.size_option, value, *extra_args],
                                oversubscribed=p * t > cores, extra={"size": s}, threads=int(t)))
    return runs


def render(template: str, values: dict) -> str:
    """Fill the @KEY@ placeholders of a job-script template in jobscripts/."""
    text = resources.files("parsnn.jobscripts").joinpath(template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = sorted(set(re.findall(r"@[A-Z_]+@", text)))
    if leftover:
        raise ValueError(f"unfilled placeholders in {template}: {', '.join(leftover)}")
    return text


def write_calibration_jobscript(path: str, ranks: str = "1,2,16,128", repeats: int = 3,
                                mpi_wait: str = JOB_MPI_WAIT, quick: bool = False) -> str:
    """Write the Slurm job script that calibrates one cluster node (jobscripts/calibrate.sbatch.in) to
    ``path`` with ``parsnn calibrate``'s rank counts ``ranks``, ``repeats`` batches, the exchange wait
    policy ``mpi_wait`` (default :data:`JOB_MPI_WAIT`, dedicated nodes) and ``quick``; returns ``path``."""
    from parsnn.engine.exchange import WAIT_CHOICES
    if mpi_wait not in WAIT_CHOICES:
        raise ParameterError(f"--mpi-wait must be one of {', '.join(WAIT_CHOICES)}, got '{mpi_wait}'")
    text = render("calibrate.sbatch.in", {"RANKS": ",".join(str(p) for p in parse_ranks(str(ranks))),
                                          "REPEATS": int(repeats), "MPI_WAIT": mpi_wait,
                                          "QUICK": "--quick " if quick else ""})
    with open(path, "w") as f:
        f.write(text)
    return path


def write_jobscripts(runs: list[RunSpec], out_dir: str, scheduler: str, ranks_per_node: int, threads: int,
                     partition: str, t_sim: float, seed: int, walltime: str = "01:00:00",
                     site_setup: str = "", signal_lead: int = 120, options=("--no-progress",),
                     run_options=("--no-record",), mpi_wait: str = JOB_MPI_WAIT) -> list[str]:
    """One job script per run plus ``submit_all.sh``; returns the script paths.

    Each script continues its run across allocations: ``signal_lead`` seconds before the wall-time
    limit parsnn gets USR1, stops with a checkpoint (exit status 3) and the script requeues (Slurm)
    or resubmits (PBS) itself; the next allocation runs ``parsnn resume --append``. Every rank runs
    ``threads`` OpenMP threads (``--threads``, bound to the rank's cores) unless its plan gave it more
    than one (:func:`plan`'s ``threads``). ``options`` go
    to both ``run`` and ``resume`` (e.g. ``--flush-every``, ``--checkpoint-every``), ``run_options``
    to ``run`` only (e.g. ``--no-record``, ``--record-v``). ``mpi_wait``: the exchange's wait policy,
    written into the script as ``MPI_WAIT`` with the reason (:data:`JOB_MPI_WAIT`: ``poll``, the
    blocking call's busy poll, on dedicated nodes)."""
    from parsnn.engine.exchange import WAIT_CHOICES
    if mpi_wait not in WAIT_CHOICES:
        raise ParameterError(f"--mpi-wait must be one of {', '.join(WAIT_CHOICES)}, got '{mpi_wait}'")
    if scheduler not in TEMPLATES:
        raise ParameterError(f"scheduler must be one of {', '.join(TEMPLATES)}, got '{scheduler}'")
    if ranks_per_node < 1 or threads < 1:
        raise ParameterError("--ranks-per-node and --threads must be >= 1")
    if not (isinstance(signal_lead, int) and signal_lead >= 0):
        raise ParameterError(f"--signal-lead must be an integer number of seconds >= 0, got {signal_lead!r}")
    os.makedirs(out_dir, exist_ok=True)
    out_abs = os.path.abspath(out_dir)
    paths = []
    for r in runs:
        nodes = -(-r.ranks // ranks_per_node)
        thr = r.threads if r.threads > 1 else threads
        path = os.path.join(out_dir, r.name + (".sbatch" if scheduler == "slurm" else ".pbs"))
        text = render(TEMPLATES[scheduler], {
            "JOB_NAME": r.name, "NODES": nodes, "RANKS_PER_NODE": min(ranks_per_node, r.ranks),
            "RANKS": r.ranks, "THREADS": thr, "CORES_PER_NODE": min(ranks_per_node, r.ranks) * thr,
            "WALLTIME": walltime, "OUT_DIR": out_abs, "MODEL_ARGS": " ".join(map(shlex.quote, r.model_args)),
            "PARTITION": partition, "T_SIM": f"{t_sim:g}", "SEED": seed, "SITE_SETUP": site_setup,
            "SIGNAL_LEAD": signal_lead, "MPI_WAIT": mpi_wait, "OPTIONS": " ".join(map(shlex.quote, (*options, "--threads", str(thr)))),
            "RUN_OPTIONS": " ".join(map(shlex.quote, run_options)), "SCRIPT": shlex.quote(os.path.abspath(path)),
        })
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    submit = "sbatch" if scheduler == "slurm" else "qsub"
    with open(os.path.join(out_dir, "submit_all.sh"), "w") as f:
        f.write("#!/bin/bash\n# Submit every run of this sweep.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n")
        for p in paths:
            f.write(f"{submit} {shlex.quote(os.path.basename(p))}\n")
    with open(os.path.join(out_dir, "sweep.json"), "w") as f:
        json.dump([asdict(r) for r in runs], f, indent=1)
    return paths


def run_local(runs: list[RunSpec], out_dir: str, partition: str, t_sim: float, seed: int,
              mpiexec: str | None = None, log=print, overwrite: bool = False) -> list[str]:
    """Run every point here with mpiexec, one after the other; returns the output files. Run files
    that exist already are refused (ParameterError naming them, before any run) unless ``overwrite``."""
    mpiexec = mpiexec or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    existing = [p for p in (os.path.join(out_dir, r.name + ".h5") for r in runs) if os.path.lexists(p)]
    if existing and not overwrite:
        raise ParameterError(f"run file(s) of this sweep already exist: {', '.join(existing)}; "
                             "pass --overwrite to replace them")
    os.makedirs(out_dir, exist_ok=True)
    outs = []
    for r in runs:
        out = os.path.join(out_dir, r.name + ".h5")
        cmd = [mpiexec, "-n", str(r.ranks), sys.executable, "-m", "parsnn", "run", *r.model_args,
               "--partition", partition, "--t-sim", f"{t_sim:g}", "--seed", str(seed), "--no-record",
               "--no-progress", "--threads", str(r.threads), "--out", out, *(["--overwrite"] if overwrite else [])]
        note = " (oversubscribed)" if r.oversubscribed else ""
        log(f"[{time.strftime('%H:%M:%S')}] {r.name}: {r.ranks} rank(s) x {r.threads} thread(s){note}")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        with open(os.path.join(out_dir, r.name + ".log"), "w") as f:
            f.write(proc.stdout + proc.stderr)
        outs.append(out)
    with open(os.path.join(out_dir, "sweep.json"), "w") as f:
        json.dump([asdict(r) for r in runs], f, indent=1)
    return outs


def _predicted(run, row: dict, machine, label: dict) -> dict:
    """The cost model's prediction (parsnn.mapping.cluster) for a finished run: its connectivity,
    partition map and measured population rates (cluster.run_inputs)."""
    inp = cluster.run_inputs(run)
    scheme = str((run.run_info.get("exchange") or {}).get("scheme", "alltoall"))      # the scheme the run used
    p = cluster.predict(inp["connectivity"], row["ranks"], machine, inp["rank_of"], rates=inp["rates"],
                        t_sim_ms=row["t_sim_ms"], threads=row.get("threads", 1),
                        exchange="neighbor" if scheme.startswith("neighbor") else "alltoall",
                        prefetch_distance=inp.get("prefetch_distance"))
    per_run = p["intervals_per_model_s"] * row["t_sim_ms"] * 1e-3
    out = {"predicted_rtf": p["rtf"], "predicted_rtf_range": p["rtf_range"], "predicted_machine": p["machine"],
           "predicted_machine_match": label.get("machine_match"), "predicted_rates_from": inp["rates_from"],
           "predicted_synaptic_events": p["workload"]["events_per_interval_mean"] * row["ranks"] * per_run}
    for ph in ("update", "deliver", "exchange"):
        out[f"predicted_timer_{ph}"] = p["phases"][f"{ph}_max"] * per_run
    return out


def _run_row(run, name: str, spec: dict) -> dict | None:
    """The results row of one run file (a :class:`parsnn.runfile.RunFile`): its run attributes and
    performance metadata, or None while the run is unfinished. ``spec``: the run's entry of sweep.json ({} if none)."""
    if not run.complete or not run.performance:
        return None
    perf = run.performance
    row = {
        "name": name, "ranks": run.num_ranks, "threads": int(run.run_info.get("threads", 1)),
        "model": run.model, "partition": run.partition,
        "t_sim_ms": run.t_sim,
        "oversubscribed": bool(spec.get("oversubscribed", False)),
        "size": spec.get("extra", {}).get("size"),
        "num_neurons": int(perf["num_neurons"]), "num_synapses": int(perf["num_synapses"]),
        "build_seconds": float(perf["build_seconds"].max()),
        "simulate_seconds": float(perf["simulate_seconds"].max()),
        "rtf": float(perf["rtf"]),
        "peak_rss_bytes_total": int(perf["peak_rss_bytes"].sum()),
    }
    for phase in ("update", "exchange", "deliver", "record"):
        row[f"timer_{phase}"] = float(perf[f"timer_{phase}"].max())
    if "synaptic_events" in perf:
        row["synaptic_events"] = int(perf["synaptic_events"].sum())
    if "remote_deliveries" in perf:
        row["remote_deliveries"] = int(perf["remote_deliveries"].sum())
    row["time_to_solution"] = row["build_seconds"] + row["simulate_seconds"]
    return row


def prediction_machine(machine="auto"):
    """(Machine or None, label) for the predictions of :func:`collect`: ``machine`` (a name or TOML
    path), 'auto' (this machine's calibration, None if it has none) or None (no prediction); the label
    is :func:`parsnn.machines.fingerprint.label`'s ({} without a machine)."""
    from parsnn.machines import fingerprint
    if machine == "auto":
        machine = fingerprint.find_calibration()
    if machine is None:
        return None, {}
    return fingerprint.resolve_machine(machine)          # an unknown machine is a ParameterError here


def collect(out_dir: str, machine="auto") -> list[dict]:
    """One row per finished run in ``out_dir`` (from the HDF5 performance metadata), with the cost
    model's prediction on ``machine`` (a name or TOML path; 'auto': the calibration of the machine
    this runs on, no prediction if there is none; None: no prediction). A prediction carries its
    RTF range over the calibration's batches (``predicted_rtf_range``, None without) and how the
    machine relates to this one (``predicted_machine_match``)."""
    from parsnn.runfile import RunFile
    machine, label = prediction_machine(machine)
    specs = {}
    sweep = os.path.join(out_dir, "sweep.json")
    if os.path.exists(sweep):
        with open(sweep) as f:
            specs = {s["name"]: s for s in json.load(f)}
    rows = []
    for fname in sorted(os.listdir(out_dir)):
        if not fname.endswith(".h5"):
            continue
        name = fname[:-3]
        with RunFile(os.path.join(out_dir, fname), allow_incomplete=True) as run:
            row = _run_row(run, name, specs.get(name, {}))
            if row is None:
                continue
            if machine is not None:
                try:
                    row.update(_predicted(run, row, machine, label))
                except Exception as e:          # a run the model cannot describe still gets its row
                    row["predicted_error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
    rows.sort(key=lambda r: (r["ranks"], r["threads"]))
    return rows


PLOT_PHASES = ("update", "deliver", "exchange", "record")
COLORS = {"update": "#4c72b0", "deliver": "#dd8452", "exchange": "#c44e52", "record": "#8c8c8c"}


def plot_sweep(rows, kind, out):
    """Figure of a sweep: time to solution and RTF against ranks with the ideal line, parallel
    efficiency, and stacked phase timers, with the cost model's prediction over the measured RTF
    and phases when the rows carry one. Oversubscribed points are drawn hollow."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    P = np.array([r["ranks"] for r in rows], dtype=float)
    tts = np.array([r["time_to_solution"] for r in rows])
    rtf = np.array([r["rtf"] for r in rows])
    over = np.array([r["oversubscribed"] for r in rows])
    fig, ax = plt.subplots(1, 4, figsize=(17, 4))

    def points(a, x, y, label):
        """Measured points on axes ``a``: filled, hollow where oversubscribed."""
        a.plot(x, y, "-", color="k", lw=1)
        a.plot(x[~over], y[~over], "o", color="k", label=label)
        if over.any():
            a.plot(x[over], y[over], "o", mfc="none", color="k", label=f"{label} (oversubscribed)")

    if kind == "strong":
        ideal_tts, ideal_rtf = tts[0] * P[0] / P, rtf[0] * P[0] / P
        eff = tts[0] * P[0] / (tts * P)
    else:
        ideal_tts, ideal_rtf = np.full_like(tts, tts[0]), np.full_like(rtf, rtf[0])
        eff = tts[0] / tts
    for a, y, ideal, title in ((ax[0], tts, ideal_tts, "time to solution (s)"),
                               (ax[1], rtf, ideal_rtf, "real-time factor")):
        points(a, P, y, "measured")
        a.plot(P, ideal, "--", color="0.5", label="ideal")
        if a is ax[1] and all("predicted_rtf" in r for r in rows):
            a.plot(P, [r["predicted_rtf"] for r in rows], "s:", color="C3", ms=4, mfc="none",
                   label=f"cost model ({rows[0]['predicted_machine']})")
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_title(title)
        a.set_xlabel("MPI ranks")
        a.legend(fontsize=8)
    points(ax[2], P, eff, "measured")
    ax[2].axhline(1.0, ls="--", color="0.5")
    ax[2].set_ylim(0, 1.2)
    ax[2].set_xscale("log", base=2)
    ax[2].set_title(f"{kind} scaling efficiency")
    ax[2].set_xlabel("MPI ranks")
    bottom = np.zeros(len(rows))
    x = np.arange(len(rows))
    for ph in PLOT_PHASES:
        v = np.array([r[f"timer_{ph}"] for r in rows])
        ax[3].bar(x, v, bottom=bottom, color=COLORS[ph], label=ph)
        bottom += v
    if all("predicted_rtf" in r for r in rows):
        pred = sum(np.array([r[f"predicted_timer_{ph}"] for r in rows]) for ph in ("update", "deliver", "exchange"))
        ax[3].plot(x, pred, "s", color="C3", ms=6, mfc="none", label="cost model: update + deliver + exchange")
    ax[3].set_xticks(x, [f"{int(p)}{'*' if o else ''}" for p, o in zip(P, over)])
    ax[3].set_xlabel("MPI ranks (* oversubscribed)")
    ax[3].set_title("simulate phase timers, max over ranks (s)")
    ax[3].legend(fontsize=8)
    model = rows[0]["model"]
    fig.suptitle(f"{model}: {kind} scaling ({rows[0]['t_sim_ms']:g} ms model time per run)")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
