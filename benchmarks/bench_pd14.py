#!/usr/bin/env python
"""Side-by-side PD14 benchmark: parsnn (mpiexec -n P) against NEST 3.10 and Brian2 (threads), same configuration.

    python benchmarks/bench_pd14.py [--config quarter full] [--ranks 2] [--repeats 1]
                                    [--t-sim MS] [--nest-t-sim MS] [--brian2-t-sim MS] [--warmup 500]
                                    [--simulators parsnn nest brian2] [--nest-threads N]
                                    [--out-dir benchmarks/results] [--note TEXT] [--no-roofline]
    python benchmarks/bench_pd14.py --report-only          # rebuild summary.{json,md,png} from results/
    python benchmarks/bench_pd14.py --roofline-only        # the roofline probe (waits for an idle machine)

Each configuration is PD14 with DC drive and no spike recording, run alternately (parsnn, NEST, Brian2,
parsnn, NEST, Brian2, ...) in parsnn (``benchmarks/parsnn_pd14.py`` under ``mpiexec -n P``), in NEST
(``analysis/nest_pd14.py`` with P threads, or else the smallest multiple of P threads that NEST can hold:
NEST stores at most 134,217,726 connections per virtual process and synapse model; a multiple of P so
the threads share the cores evenly) and in Brian2 (``benchmarks/brian2_pd14.py``, ``cpp_standalone`` with
P OpenMP threads, ``OMP_WAIT_POLICY=passive``). NEST and Brian2 run in their own interpreters
(``--nest-python``, ``--brian2-python``; by default this Python if it imports nest, else
``benchmarks/.venv-nest``, and ``benchmarks/.venv-brian2``, made by ``benchmarks/setup_peers.sh``).
Every run is a fresh process: build, an untimed warm-up
(500 ms), then the timed simulate phase. For each run the harness records

- build time (network construction up to and including NEST's ``Prepare``; Brian2: model, code
  generation and the binary's set-up, with the C++ compile time apart),
- RTF = wall-clock time of the timed phase / its model time, and ``rtf_whole`` over warm-up + timed phase,
- peak resident memory (``ru_maxrss``) summed over processes, and bytes per synapse,
- synaptic events per second of wall-clock time in the timed phase (parsnn: exact engine count; NEST:
  spikes of the timed phase from ``nest.local_spike_counter`` x mean out-degree = synapses / neurons),
- parsnn's per-rank phase timers (update, exchange, deliver, record; build sub-phases),
- the CPU time other processes used during the run (``foreign_cores``; /proc/stat minus our children),
  so that a run disturbed by other load can be recognised. Before every run the harness waits until the
  machine is idle (``--idle-cores``).

Results: ``OUT/pd14_<config>.json`` (all runs of the last invocation for that configuration, or of all
invocations with ``--append``; the summary uses the run with the median RTF per simulator, for parsnn among
the runs of the revision measured last), and over
all configurations found in OUT: ``summary.json``, ``summary.md`` (markdown table with the machine,
ratios parsnn/NEST and parsnn/Brian2 and the issue-3 targets) and ``summary.png`` (bar chart). Ratios are
formed only between runs of the same result file (one machine, one harness run). The machine description
in every result file includes the full ``lscpu`` output. The roofline probe
(``benchmarks/roofline.py``) runs at the end unless ``--no-roofline``; its result is ``roofline.json``.
NEST and Brian2 are optional: a peer whose interpreter is not found is left out.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DRIVER = os.path.join(HERE, "parsnn_pd14.py")
NEST_SCRIPT = os.path.join(ROOT, "analysis", "nest_pd14.py")
BRIAN2_SCRIPT = os.path.join(HERE, "brian2_pd14.py")
PEER_VENVS = {"nest": os.path.join(HERE, ".venv-nest"), "brian2": os.path.join(HERE, ".venv-brian2")}
SIMULATORS = ("parsnn", "nest", "brian2")
SIM_LABEL = {"parsnn": "parsnn", "nest": "NEST", "brian2": "Brian2"}
# memory to have free before a run: bytes per synapse (measured peaks plus a margin) + 0.3 GB
NEED_BYTES_PER_SYNAPSE = {"parsnn": 14, "nest": 45, "brian2": 65}   # Brian2: its Python process while drawing
DEFAULT_OUT = os.path.join(HERE, "results")
NEST_MAX_CONN_PER_VP = 134_217_726   # NEST 3.x: connections per virtual process and synapse model

# t_sim: timed model time (ms) after the warm-up, parsnn / NEST / Brian2
CONFIGS = {
    "full": {"n_scaling": 1.0, "k_scaling": 1.0, "t_sim": 10000.0, "nest_t_sim": 1000.0, "brian2_t_sim": 1000.0,
             "label": "full scale (n_scaling 1, k_scaling 1)"},
    "quarter": {"n_scaling": 0.25, "k_scaling": 1.0, "t_sim": 10000.0, "nest_t_sim": 10000.0,
                "brian2_t_sim": 10000.0, "label": "n_scaling 0.25, k_scaling 1"},
    "tiny": {"n_scaling": 0.02, "k_scaling": 1.0, "t_sim": 200.0, "nest_t_sim": 200.0, "brian2_t_sim": 200.0,
             "label": "n_scaling 0.02, k_scaling 1 (smoke test)"},
}
CONFIG_ORDER = ["full", "quarter", "tiny"]
# issue 3: full-scale PD14, DC drive, 2 ranks on a 2-core machine
TARGETS = {"rtf_max": 11.0, "build_max_s": 30.0, "bytes_per_synapse_max": 12.0, "speedup_min": 10.0}


# ------------------------------------------------------------------ machine
def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        return out.strip().splitlines()[0] if out.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def _git(path, *args):
    try:
        r = subprocess.run(["git", "-C", path, *args], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def git_state(path=ROOT) -> dict | None:
    commit = _git(path, "rev-parse", "--short=10", "HEAD")
    if commit is None:
        return None
    dirty = _git(path, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty)}


def machine_info(peers: dict | None = None) -> dict:
    """The machine and software versions; ``peers`` = {simulator: interpreter or None} to look the peers' versions up."""
    info = {"hostname": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count()}
    lscpu, out = {}, ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                lscpu[k.strip()] = v.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    info["lscpu"] = lscpu     # the machine's fingerprint: every field lscpu prints
    info["cpu_model"] = lscpu.get("Model name") or platform.processor() or "unknown"
    for k_out, k_in in (("cpu_family", "CPU family"), ("cpu_model_number", "Model"), ("hypervisor", "Hypervisor vendor"),
                        ("l2_cache", "L2 cache"), ("l3_cache", "L3 cache"), ("threads_per_core", "Thread(s) per core")):
        if k_in in lscpu:
            info[k_out] = lscpu[k_in]
    try:
        cores = int(lscpu.get("Core(s) per socket", "0")) * int(lscpu.get("Socket(s)", "0"))
    except ValueError:
        cores = 0
    info["cores"] = cores or os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            mem = {l.split(":")[0]: int(l.split()[1]) * 1024 for l in f if l.split()}
        info["memory_bytes"] = mem.get("MemTotal")
    except OSError:
        info["memory_bytes"] = None
    try:
        import importlib.metadata as md
        info["mpich_wheel"] = md.version("mpich")
    except Exception:  # noqa: BLE001 - not installed from the wheel
        info["mpich_wheel"] = None
    try:
        from mpi4py import MPI
        info["mpi_library"] = " ".join(MPI.Get_library_version().split("\n")[0].split())
    except Exception:  # noqa: BLE001
        info["mpi_library"] = None
    info["compiler"] = _first_line([os.environ.get("CC", "cc"), "--version"])
    for sim, dist in (("nest", "nest-simulator"), ("brian2", "brian2")):
        py = peer_python(sim, (peers or {}).get(sim)) if peers is not None else None
        info[f"{sim}_version"] = package_version(py, dist) if py else None
    info["git"] = git_state()
    return info


def package_version(python: str, dist: str) -> str | None:
    """Version of the installed distribution ``dist`` in the interpreter ``python`` (None if absent)."""
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    return _first_line([python, "-c", code])


def _imports(python: str, module: str) -> bool:
    try:
        return subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=120,
                              env=dict(os.environ, PYNEST_QUIET="1")).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def peer_python(sim: str, explicit: str | None = None) -> str | None:
    """The interpreter that runs the peer ``sim`` ("nest", "brian2"): ``explicit`` if given, else this
    Python if it imports the simulator (NEST only: Brian2 needs numpy<2.4), else the peer's venv in
    benchmarks/ (benchmarks/setup_peers.sh) if it imports it; None if there is none."""
    if explicit:
        return explicit
    module = {"nest": "nest", "brian2": "brian2"}[sim]
    if sim == "nest" and importlib.util.find_spec("nest") is not None:
        return sys.executable
    cand = os.path.join(PEER_VENVS[sim], "bin", "python")
    return cand if os.path.exists(cand) and _imports(cand, module) else None


def describe_machine(m: dict) -> str:
    cpu = m.get("cpu_model", "?")
    extra = []
    if m.get("cpu_family"):
        extra.append(f"family {m['cpu_family']} model {m.get('cpu_model_number', '?')}")
    if m.get("hypervisor"):
        extra.append(f"{m['hypervisor']} guest")
    if m.get("l3_cache"):
        extra.append(f"L3 {m['l3_cache']}")
    mem = f"{m['memory_bytes'] / 2**30:.1f} GiB RAM" if m.get("memory_bytes") else "? RAM"
    mpi = (f"mpich {m['mpich_wheel']} wheel" if m.get("mpich_wheel") else "MPI") + \
        (f" ({m['mpi_library']})" if m.get("mpi_library") else "")
    return (f"{cpu} ({', '.join(extra)}), {m.get('cores', '?')} cores, {mem}; Linux {m.get('kernel', '?')}; "
            f"{mpi}; {m.get('compiler') or 'cc ?'}; Python {m.get('python', '?')}; "
            f"NEST {m.get('nest_version') or 'not installed'}; Brian2 {m.get('brian2_version') or 'not installed'}")


# ------------------------------------------------------------------ load accounting
def cpu_times():
    """(busy seconds, steal seconds) of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
    except OSError:
        return None
    v = [int(x) for x in parts[1:]]
    v += [0] * (8 - len(v))
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def busy_cores(seconds=3.0) -> float:
    """Mean number of busy cores over ``seconds`` (everything on the machine, this process is asleep)."""
    a = cpu_times()
    if a is None:
        return 0.0
    time.sleep(seconds)
    b = cpu_times()
    return (b[0] - a[0]) / seconds


def mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def wait_idle(max_busy: float, need_bytes: int = 0, max_wait: float = 6 * 3600, log=print, quiet_s: float = 15.0) -> dict:
    """Wait until at most ``max_busy`` cores have been busy for ``quiet_s`` seconds in a row and
    ``need_bytes`` of memory are available."""
    t0 = time.time()
    while True:
        b, quiet = busy_cores(), 3.0
        while b <= max_busy and quiet < quiet_s:
            b = max(b, busy_cores())
            quiet += 3.0
        avail = mem_available()
        ok = b <= max_busy and (avail is None or avail >= need_bytes)
        if ok or time.time() - t0 > max_wait:
            return {"busy_cores_before": b, "mem_available_before": avail, "waited_s": time.time() - t0,
                    "idle": ok, "loadavg_before": os.getloadavg()}
        log(f"  waiting for an idle machine: {b:.2f} cores busy"
            + (f", {avail / 1e9:.1f} GB available (need {need_bytes / 1e9:.1f})" if avail is not None else ""))
        time.sleep(30)


def run_accounted(cmd, env=None, timeout=None, cwd=None):
    """Run ``cmd``; return (CompletedProcess, accounting dict with wall, own CPU and others' CPU)."""
    c0, m0, w0 = children_cpu(), cpu_times(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    wall = time.perf_counter() - w0
    c1, m1 = children_cpu(), cpu_times()
    acc = {"wall_seconds": wall, "cpu_seconds": c1 - c0}
    if m0 and m1:
        foreign = max(0.0, (m1[0] - m0[0]) - (c1 - c0))
        acc["foreign_cores"] = foreign / wall if wall > 0 else 0.0
        acc["steal_cores"] = (m1[1] - m0[1]) / wall if wall > 0 else 0.0
    return proc, acc


# ------------------------------------------------------------------ runs
def pd14_synapses(n_scaling, k_scaling) -> tuple[int, int]:
    from parsnn.models import pd14
    return int(pd14.num_neurons(n_scaling).sum()), int(pd14.total_synapses(n_scaling, k_scaling).sum())


def nest_threads_for(ranks: int, num_synapses: int, override: int | None = None) -> int:
    """P threads, or else the smallest multiple of P whose connections per thread fit NEST's limit (5 %
    margin). A multiple, so that the threads share the P cores evenly: on 2 cores, full-scale PD14 runs
    faster in NEST with 4 threads than with 3 (measured: RTF 41 vs 46)."""
    if override:
        return int(override)
    P = int(ranks)
    need = math.ceil(1.05 * num_synapses / NEST_MAX_CONN_PER_VP)
    return P * max(1, math.ceil(need / P))


def find_mpiexec(explicit=None) -> str:
    if explicit:
        return explicit
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(cand):
        return cand
    found = shutil.which("mpiexec")
    if not found:
        raise RuntimeError("no mpiexec found (give --mpiexec)")
    return found


def run_parsnn(cfg: dict, ranks: int, t_sim: float, warmup: float, seed: int, mpiexec: str,
               timeout=None, log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_pd14_") as tmp:
        jout = os.path.join(tmp, "parsnn.json")
        cmd = [mpiexec, "-n", str(ranks), sys.executable, DRIVER, "--n-scaling", repr(cfg["n_scaling"]),
               "--k-scaling", repr(cfg["k_scaling"]), "--t-sim", repr(t_sim), "--warmup", repr(warmup),
               "--seed", str(seed), "--json-out", jout]
        log("  $ " + " ".join(os.path.basename(c) if i < 3 else c for i, c in enumerate(cmd[:-2])))
        proc, acc = run_accounted(cmd, timeout=timeout)
        if proc.returncode != 0 or not os.path.exists(jout):
            return {"simulator": "parsnn", "ok": False, "error": proc.stderr[-3000:], **acc}
        with open(jout) as f:
            r = json.load(f)
    r.update(ok=True, processes=ranks, threads=1, **acc)
    if r.get("parsnn_path"):
        r["parsnn_git"] = git_state(r["parsnn_path"])
    return finish_record(r)


def run_nest(cfg: dict, threads: int, t_sim: float, warmup: float, seed: int, timeout=None, log=print,
             python: str | None = None) -> dict:
    """One NEST run (analysis/nest_pd14.py in the interpreter ``python``); the benchmark record."""
    with tempfile.TemporaryDirectory(prefix="bench_pd14_nest_") as tmp:
        cmd = [python or sys.executable, NEST_SCRIPT, "--out-dir", tmp, "--n-scaling", repr(cfg["n_scaling"]),
               "--k-scaling", repr(cfg["k_scaling"]), "--t-sim", repr(warmup + t_sim), "--warmup", repr(warmup),
               "--seed", str(seed), "--threads", str(threads), "--bg", "dc", "--no-record"]
        log("  $ " + " ".join([os.path.basename(cmd[0]), os.path.relpath(cmd[1], ROOT)] + cmd[4:]))
        # NEST's threads are OpenMP threads too: passive waiting, as Brian2's (spinning threads slow everything
        # down many times as soon as another process wants a core)
        env = dict(os.environ, PYNEST_QUIET="1", OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
        proc, acc = run_accounted(cmd, env=env, timeout=timeout)
        side = os.path.join(tmp, "nest_run.json")
        if proc.returncode != 0 or not os.path.exists(side):
            return {"simulator": "nest", "ok": False, "error": proc.stderr[-3000:], "threads": threads, **acc}
        with open(side) as f:
            s = json.load(f)
    if not s.get("complete"):
        return {"simulator": "nest", "ok": False, "error": "NEST run incomplete", "threads": threads, **acc}
    r = nest_record(s, warmup, acc)
    r["omp_wait_policy"] = env["OMP_WAIT_POLICY"]
    return r


def run_brian2(cfg: dict, threads: int, t_sim: float, warmup: float, seed: int, python: str, timeout=None,
               log=print) -> dict:
    """One Brian2 run (benchmarks/brian2_pd14.py in the interpreter ``python``, ``threads`` OpenMP threads,
    passive wait policy); the benchmark record."""
    with tempfile.TemporaryDirectory(prefix="bench_pd14_brian2_") as tmp:
        jout = os.path.join(tmp, "brian2.json")
        cmd = [python, BRIAN2_SCRIPT, "--n-scaling", repr(cfg["n_scaling"]), "--k-scaling", repr(cfg["k_scaling"]),
               "--t-sim", repr(t_sim), "--warmup", repr(warmup), "--seed", str(seed), "--threads", str(threads),
               "--build-dir", os.path.join(tmp, "project"), "--json-out", jout]
        log("  $ " + " ".join([os.path.relpath(cmd[0], ROOT), os.path.relpath(cmd[1], ROOT)] + cmd[2:-4]))
        env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
        proc, acc = run_accounted(cmd, env=env, timeout=timeout, cwd=tmp)
        if proc.returncode != 0 or not os.path.exists(jout):
            return {"simulator": "brian2", "ok": False, "error": proc.stderr[-3000:], "threads": threads, **acc}
        with open(jout) as f:
            r = json.load(f)
    r.update(ok=True, **acc)
    return finish_record(r)


def nest_record(s: dict, warmup: float = 0.0, acc: dict | None = None) -> dict:
    """Benchmark record from the sidecar (nest_run.json) of analysis/nest_pd14.py."""
    acc = acc or {}
    n_neurons = sum(p["size"] for p in s["populations"].values())
    spikes = int(s.get("spikes_timed", 0))
    r = {
        "simulator": "nest", "version": s.get("nest_version"), "ok": True, "processes": 1, "threads": int(s["threads"]),
        "ranks": 1, "n_scaling": s["n_scaling"], "k_scaling": s["k_scaling"], "bg": s["bg"], "seed": s["seed"],
        "num_neurons": n_neurons, "num_synapses": int(s["num_synapses"]),
        "t_warmup_ms": s.get("t_warmup", warmup), "t_sim_ms": s["t_sim"] - s.get("t_warmup", 0.0),
        "build_seconds": s["build_seconds"], "warmup_seconds": s.get("warmup_seconds"),
        "simulate_seconds": s["simulate_seconds"], "rtf": s["rtf"],
        "peak_rss_bytes": [int(s["peak_rss_bytes"])], "peak_rss_bytes_total": int(s["peak_rss_bytes"]),
        "spikes_timed": spikes,
        "synaptic_events": int(round(spikes * s["num_synapses"] / max(n_neurons, 1))),
        "synaptic_events_method": "estimated: spikes of the timed phase (nest.local_spike_counter) x mean "
                                  "out-degree (synapses / neurons)",
        **acc,
    }
    return finish_record(r)


def finish_record(r: dict) -> dict:
    r["bytes_per_synapse"] = r["peak_rss_bytes_total"] / max(r["num_synapses"], 1)
    r["events_per_second"] = r["synaptic_events"] / r["simulate_seconds"] if r["simulate_seconds"] > 0 else None
    T = r["t_sim_ms"] * 1e-3
    if r.get("rtf_whole") is None and r.get("warmup_seconds") is not None:
        # wall time of warm-up + timed phase over their model time (parsnn, NEST; Brian2 reports it itself)
        r["rtf_whole"] = (r["warmup_seconds"] + r["simulate_seconds"]) / ((r.get("t_warmup_ms") or 0.0) * 1e-3 + T)
    if r.get("spikes_timed") is not None and r["num_neurons"]:
        r["mean_rate_hz"] = r["spikes_timed"] / (r["num_neurons"] * T)
    elif r.get("synaptic_events") and r["num_neurons"]:
        # parsnn: events / mean out-degree, the inverse of NEST's estimate (same method, comparable)
        r["mean_rate_hz"] = r["synaptic_events"] / (r["num_synapses"] / r["num_neurons"]) / (r["num_neurons"] * T)
    return r


# ------------------------------------------------------------------ summary
DISTURBED_CORES = 0.1   # a run during which other processes used more CPU than this is "disturbed"


def _usable(runs):
    """Successful runs; the undisturbed ones if there are any."""
    ok = [r for r in runs if r.get("ok")]
    clean = [r for r in ok if (r.get("foreign_cores") or 0.0) <= DISTURBED_CORES]
    return clean or ok


def _median_run(runs):
    ok = sorted(_usable(runs), key=lambda r: r["rtf"])
    return ok[(len(ok) - 1) // 2] if ok else None


def _newest_revision(runs):
    """The parsnn runs of the revision (git commit, local changes) measured last."""
    if not runs:
        return runs
    rev = lambda r: json.dumps(r.get("parsnn_git"), sort_keys=True)  # noqa: E731
    last = rev(max(runs, key=lambda r: r.get("started") or ""))
    return [r for r in runs if rev(r) == last]


def summarize_config(name: str, runs: list[dict]) -> dict:
    cfg = CONFIGS.get(name, {})
    out = {"config": name, "label": cfg.get("label", name), "n_scaling": cfg.get("n_scaling"),
           "k_scaling": cfg.get("k_scaling")}
    for sim in SIMULATORS:
        rs = [r for r in runs if r.get("simulator") == sim]
        if sim == "parsnn":
            rs = _newest_revision(rs)
        med = _median_run(rs)
        if med is None:
            if rs:
                out[sim] = {"ok": False, "error": rs[-1].get("error", "")[-500:], "threads": rs[-1].get("threads")}
            continue
        keys = ("version", "processes", "threads", "num_neurons", "num_synapses", "t_warmup_ms", "t_sim_ms",
                "build_seconds", "simulate_seconds", "rtf", "peak_rss_bytes", "peak_rss_bytes_total",
                "bytes_per_synapse", "synaptic_events", "events_per_second", "synaptic_events_method",
                "mean_rate_hz", "timers", "foreign_cores", "steal_cores", "parsnn_git", "compile_seconds",
                "warmup_seconds", "rtf_whole", "population_rates_hz", "python_peak_rss_bytes")
        s = {k: med[k] for k in keys if k in med}
        use = _usable(rs)
        s["ok"] = True
        s["repeats"] = len(use)
        s["disturbed"] = (med.get("foreign_cores") or 0.0) > DISTURBED_CORES
        s["runs_discarded"] = len([r for r in rs if r.get("ok")]) - len(use)
        s["rtf_all"] = [r["rtf"] for r in use]
        s["build_all"] = [r["build_seconds"] for r in use]
        if any(r.get("rtf_whole") is not None for r in use):
            s["rtf_whole_all"] = [r.get("rtf_whole") for r in use]
        out[sim] = s
    p = out.get("parsnn")
    for peer, suffix in (("nest", ""), ("brian2", "_brian2")):
        q = out.get(peer)
        if p and q and p.get("ok") and q.get("ok"):
            out["ratios" + suffix] = peer_ratios(p, q)
            out["speedup_rtf" + suffix] = q["rtf"] / p["rtf"]
            out["speedup_build" + suffix] = q["build_seconds"] / p["build_seconds"]
    return out


def peer_ratios(p: dict, q: dict) -> dict:
    """parsnn / peer for build, RTF (timed phase; whole run when both have it), memory, events/s; Brian2's
    compile time counted in ``build_incl_compile``."""
    def ratio(a, b):
        return a / b if a is not None and b else None
    return {
        "build": ratio(p["build_seconds"], q["build_seconds"]),
        "build_incl_compile": ratio(p["build_seconds"] + (p.get("compile_seconds") or 0.0),
                                    q["build_seconds"] + (q.get("compile_seconds") or 0.0)),
        "rtf": ratio(p["rtf"], q["rtf"]),
        "rtf_whole": ratio(p.get("rtf_whole"), q.get("rtf_whole")),
        "peak_memory": ratio(p["peak_rss_bytes_total"], q["peak_rss_bytes_total"]),
        "bytes_per_synapse": ratio(p["bytes_per_synapse"], q["bytes_per_synapse"]),
        "events_per_second": ratio(p.get("events_per_second"), q.get("events_per_second")),
    }


def targets(summary: dict) -> list[dict]:
    """The issue-3 targets that the available configurations can decide."""
    rows = []
    full, quarter = summary["configs"].get("full"), summary["configs"].get("quarter")
    if full and (full.get("parsnn") or {}).get("ok"):
        p = full["parsnn"]
        rows += [
            {"target": f"full scale: RTF <= {TARGETS['rtf_max']:g}", "measured": p["rtf"],
             "fmt": f"{p['rtf']:.2f}", "met": p["rtf"] <= TARGETS["rtf_max"]},
            {"target": f"full scale: build <= {TARGETS['build_max_s']:g} s", "measured": p["build_seconds"],
             "fmt": f"{p['build_seconds']:.1f} s", "met": p["build_seconds"] <= TARGETS["build_max_s"]},
            {"target": f"full scale: peak memory <= {TARGETS['bytes_per_synapse_max']:g} bytes/synapse (all ranks)",
             "measured": p["bytes_per_synapse"], "fmt": f"{p['bytes_per_synapse']:.1f}",
             "met": p["bytes_per_synapse"] <= TARGETS["bytes_per_synapse_max"]},
        ]
        if "speedup_rtf" in full:
            rows.append({"target": f"full scale: >= {TARGETS['speedup_min']:g}x faster than NEST (RTF)",
                         "measured": full["speedup_rtf"], "fmt": f"{full['speedup_rtf']:.1f}x",
                         "met": full["speedup_rtf"] >= TARGETS["speedup_min"]})
    if quarter and "speedup_rtf" in quarter:
        rows.append({"target": f"n_scaling 0.25, k_scaling 1: >= {TARGETS['speedup_min']:g}x faster than NEST (RTF)",
                     "measured": quarter["speedup_rtf"], "fmt": f"{quarter['speedup_rtf']:.1f}x",
                     "met": quarter["speedup_rtf"] >= TARGETS["speedup_min"]})
    return rows


def load_results(out_dir: str, include_tiny=False) -> dict:
    """Merge OUT/pd14_<config>.json (+ roofline.json) into one summary dict."""
    configs, machine, measured, notes = {}, None, {}, {}
    for name in CONFIG_ORDER:
        if name == "tiny" and not include_tiny:
            continue
        path = os.path.join(out_dir, f"pd14_{name}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            d = json.load(f)
        configs[name] = summarize_config(name, d["runs"])
        configs[name]["ranks"] = d.get("ranks")
        measured[name] = d.get("finished")
        notes[name] = d.get("note")
        machine = machine or d.get("machine")
    summary = {"machine": machine, "configs": configs, "measured": measured, "notes": notes}
    rpath = os.path.join(out_dir, "roofline.json")
    if os.path.exists(rpath):
        with open(rpath) as f:
            rl = json.load(f)
        rl.pop("raw", None)
        summary["roofline"] = rl
    summary["targets"] = targets(summary)
    return summary


def _fmt_gb(b):
    return f"{b / 1e9:.2f}"


def _fmt_rate(x):
    return "—" if not x else f"{x:.3g}".replace("e+0", "e").replace("e+", "e")


def _ratio_text(x, better_low=True):
    if x is None:
        return "—"
    if better_low and x > 0:
        return f"{x:.3f} ({1 / x:.1f}x less)" if x < 1 else f"{x:.2f}"
    return f"{x:.2f}"


def _sim_row(label: str, sim: str, s: dict) -> str:
    """One table row of a simulator's median run."""
    who = "parsnn" if sim == "parsnn" else f"{SIM_LABEL[sim]} {s.get('version') or ''}".strip()
    if not s.get("ok"):
        return f"| {label} | {who} | {s.get('threads', '?')} threads | | | failed | | | | | | |"
    pt = f"{s['processes']} x {s['threads']}"
    tt = f"{s['t_sim_ms'] / 1e3:g} s after {s['t_warmup_ms'] / 1e3:g} s"
    ev = _fmt_rate(s.get("events_per_second")) + (" (est.)" if sim == "nest" else "")
    rng = f" ({min(s['rtf_all']):.2f}–{max(s['rtf_all']):.2f})" if len(s.get("rtf_all", [])) > 1 else ""
    whole = [x for x in s.get("rtf_whole_all") or [] if x is not None]
    rtf_whole = "—" if s.get("rtf_whole") is None else f"{s['rtf_whole']:.2f}" + (
        f" ({min(whole):.2f}–{max(whole):.2f})" if len(whole) > 1 else "")
    build = f"{s['build_seconds']:.1f}" + (f" + {s['compile_seconds']:.1f} compile" if s.get("compile_seconds") else "")
    if s.get("disturbed"):
        who += " (disturbed by other load)"
    return (f"| {label} | {who} | {pt} | {s['num_synapses']:,} | {tt} | {build} | {s['rtf']:.2f}{rng} | {rtf_whole} | "
            f"{_fmt_gb(s['peak_rss_bytes_total'])} | {s['bytes_per_synapse']:.1f} | {ev} | "
            f"{s.get('mean_rate_hz', float('nan')):.2f}{' (est.)' if sim == 'parsnn' else ''} |")


def _ratio_row(c: dict, peer: str) -> str | None:
    """The row parsnn / peer of one configuration (None without both)."""
    suffix = "" if peer == "nest" else "_" + peer
    r = c.get("ratios" + suffix)
    if not r:
        return None
    f = lambda x, nd=2: "—" if x is None else f"{x:.{nd}f}"  # noqa: E731
    build = f"**{r['build']:.3f}** ({c['speedup_build' + suffix]:.1f}x faster)"
    if peer == "brian2" and r.get("build_incl_compile") is not None:
        build += f"; incl. compile {r['build_incl_compile']:.3f}"
    whole = "—" if r.get("rtf_whole") is None else f"{r['rtf_whole']:.3f} ({1 / r['rtf_whole']:.1f}x faster)"
    return (f"| | **parsnn / {SIM_LABEL[peer]}** | | | | {build} | **{r['rtf']:.3f}** "
            f"({c['speedup_rtf' + suffix]:.1f}x faster) | {whole} | {f(r['peak_memory'])} | {f(r['bytes_per_synapse'])} | "
            f"{f(r['events_per_second'], 1)} | |")


def results_table(summary: dict) -> list[str]:
    """Markdown table: per configuration the median run of each simulator and the ratios parsnn / peer."""
    lines = ["| PD14, DC drive, no spike recording | simulator | processes x threads | synapses | model time timed "
             "| build (s) | RTF | RTF incl. warm-up | peak memory, all processes (GB) | bytes/synapse | synaptic events/s "
             "| mean rate (spikes/s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in summary["configs"].values():
        first = True
        for sim in SIMULATORS:
            if c.get(sim):
                lines.append(_sim_row(c["label"] if first else "", sim, c[sim]))
                first = False
        lines += [row for row in (_ratio_row(c, "nest"), _ratio_row(c, "brian2")) if row]
    return lines


def markdown(summary: dict) -> str:
    """summary.md: machine, results table with ratios, targets, parsnn's timers, roofline, notes."""
    m = summary.get("machine") or {}
    revs = []
    for name, c in summary["configs"].items():
        g = (c.get("parsnn") or {}).get("parsnn_git") or m.get("git")
        if g:
            revs.append(f"{g['commit']}{' + local changes' if g.get('dirty') else ''} ({name}, "
                        f"{(summary.get('measured') or {}).get(name) or '?'})")
    notes = [f"{name}: {n}" if len(summary["configs"]) > 1 else n for name, n in (summary.get("notes") or {}).items() if n]
    lines = [f"Machine: {describe_machine(m)}.", "",
             *([f"Note: {'; '.join(notes)}", ""] if notes else []),
             *([f"parsnn measured at git {'; '.join(revs)}.", ""] if revs else []),
             *results_table(summary)]
    if summary.get("targets"):
        lines += ["", "| issue-3 target | measured | met |", "|---|---|---|"]
        for t in summary["targets"]:
            lines.append(f"| {t['target']} | {t['fmt']} | {'yes' if t['met'] else '**no**'} |")
    # parsnn timer breakdown
    tb = []
    for name, c in summary["configs"].items():
        p = c.get("parsnn")
        if not (p and p.get("ok") and p.get("timers")):
            continue
        tm = p["timers"]
        T = p["t_sim_ms"] * 1e-3
        phases = [k[6:] for k in tm if k.startswith("timer_")]
        bph = [k[6:] for k in tm if k.startswith("build_")]
        sim_part = ", ".join(f"{ph} {max(tm['timer_' + ph]) / T:.2f}" for ph in phases)
        b_part = ", ".join(f"{ph} {max(tm['build_' + ph]):.1f}" for ph in bph)
        tb.append(f"| {c['label']} | {sim_part} | {b_part} |")
    if tb:
        lines += ["", "| parsnn phase timers (max over ranks) | simulate phase, s per model second | build, s |",
                  "|---|---|---|", *tb]
    rl = summary.get("roofline")
    if rl:
        P = rl["procs"]
        lines += ["", f"Roofline probe (`benchmarks/roofline.py`, PD14 per-rank sizes on {P} ranks): scatter-add into "
                  f"the delay ring buffers {rl['ns_event_random_1proc']:.1f} ns/event on one core, "
                  f"{rl[f'ns_event_random_{P}proc']:.1f} ns/event per process with {P} at once "
                  f"(rows sorted by delay and target: {rl[f'ns_event_sorted_{P}proc']:.1f}"
                  + (f"; sorted and prefetched {rl['prefetch_distance']} synapses ahead: "
                     f"{rl[f'ns_event_prefetch_{P}proc']:.1f}" if f"ns_event_prefetch_{P}proc" in rl else "")
                  + f"); iaf_psc_exp update "
                  f"{rl[f'ns_update_{P}proc']:.2f} ns/neuron-step. Lower bound on full-scale PD14's RTF on {P} cores: "
                  f"**{rl['rtf_min']:.2f}** (random rows {rl['rtf_min_random']:.2f}; one core "
                  f"{rl['rtf_min_1core_random']:.2f})."]
        if rl.get("parsnn"):
            pp = rl["parsnn"]
            lines[-1] += (f" parsnn's measured RTF {pp['rtf']:.2f} is {pp['rtf_over_min']:.2f}x the bound for its "
                          f"measured workload ({pp['events_per_model_s']:.3g} events per model second).")
    notes = ["", "Build = network construction up to the first simulated step (NEST: including `Prepare`; Brian2: "
             "model, code generation and the compiled program's set-up before the warm-up, with the C++ compile "
             "time given apart). RTF = wall-clock time of the timed phase / its model time, after the warm-up; "
             "RTF incl. warm-up = the same over warm-up and timed phase. Peak memory = `ru_maxrss` summed over "
             "processes (Brian2: VmHWM of the compiled program) (GB = 1e9 bytes). Synaptic events/s: parsnn counts "
             "delivered events exactly, Brian2 as spikes x out-degree per neuron; for NEST they are estimated as "
             "spikes in the timed phase (`nest.local_spike_counter`) x mean out-degree. NEST runs with P threads, or "
             "the smallest multiple of P threads that holds the network (at most "
             f"{NEST_MAX_CONN_PER_VP:,} connections per thread; a multiple of P so that the threads share the cores "
             "evenly); Brian2 with P OpenMP threads (`OMP_WAIT_POLICY=passive`). The simulators ran alternately in "
             "one harness run on the machine named above: only these ratios carry over to other machines, not "
             "the absolute times."]
    lines += notes
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [n for n, c in summary["configs"].items() if any((c.get(s) or {}).get("ok") for s in SIMULATORS)]
    sims = [s for s in SIMULATORS if any((summary["configs"][n].get(s) or {}).get("ok") for n in names)]
    panels = [("build_seconds", "build time (s)", True, "build_max_s"), ("rtf", "real-time factor", True, "rtf_max"),
              ("bytes_per_synapse", "peak memory (bytes/synapse)", False, "bytes_per_synapse_max"),
              ("events_per_second", "synaptic events / s", True, None)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    colors = {"parsnn": "#1f77b4", "nest": "#ff7f0e", "brian2": "#2ca02c"}
    width = 0.8 / max(len(sims), 1)
    for ax, (key, title, logy, tkey) in zip(axes, panels):
        for j, sim in enumerate(sims):
            xs, ys = [], []
            for i, n in enumerate(names):
                s = summary["configs"][n].get(sim) or {}
                if s.get("ok") and s.get(key):
                    xs.append(i + (j - (len(sims) - 1) / 2) * width)
                    ys.append(s[key])
            bars = ax.bar(xs, ys, width, color=colors[sim], label=SIM_LABEL[sim])
            for b, y in zip(bars, ys):
                ax.annotate(f"{y:.3g}", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=8)
        if tkey and "full" in names:
            i = names.index("full")
            ax.hlines(TARGETS[tkey], i - 0.45, i + 0.45, colors="k", linestyles="--", linewidth=1,
                      label="target (full scale)")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([summary["configs"][n]["label"].split(" (")[0].replace(", ", "\n") for n in names],
                           fontsize=8)
        ax.set_title(title, fontsize=10)
        if logy:
            ax.set_yscale("log")
        ax.margins(y=0.15)
    axes[0].legend(fontsize=8)
    fig.suptitle("PD14, DC drive: " + " vs ".join(SIM_LABEL[s] for s in sims) + " on " + (summary.get("machine") or {}).get("cpu_model", "this machine")
                 + f", {(summary.get('machine') or {}).get('cores', '?')} cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out_dir: str, include_tiny=False) -> dict:
    summary = load_results(out_dir, include_tiny)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    md = markdown(summary)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(md)
    if summary["configs"]:
        plot(summary, os.path.join(out_dir, "summary.png"))
    return summary


# ------------------------------------------------------------------ main
def parse_args(argv=None) -> argparse.Namespace:
    """The harness's command line."""
    ap = argparse.ArgumentParser(prog="bench_pd14", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--config", nargs="+", default=["quarter", "full"], choices=list(CONFIGS))
    ap.add_argument("--ranks", type=int, default=2, help="parsnn MPI ranks = NEST and Brian2 threads (default 2)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per simulator, alternating (default 1)")
    ap.add_argument("--t-sim", type=float, default=None,
                    help="timed model time in ms after the warm-up, for every simulator (default: per configuration "
                         "and simulator, see CONFIGS)")
    ap.add_argument("--nest-t-sim", type=float, default=None, help="NEST's timed model time in ms (overrides --t-sim)")
    ap.add_argument("--brian2-t-sim", type=float, default=None, help="Brian2's timed model time in ms (overrides --t-sim)")
    ap.add_argument("--warmup", type=float, default=500.0, help="untimed warm-up in ms (default 500)")
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--simulators", nargs="+", default=list(SIMULATORS), choices=list(SIMULATORS),
                    help="default: all three (a peer that is not installed is left out)")
    ap.add_argument("--nest-threads", type=int, default=None, help="override the NEST thread count")
    ap.add_argument("--brian2-threads", type=int, default=None, help="override the Brian2 thread count (default --ranks)")
    ap.add_argument("--nest-python", default=None, help="interpreter that imports nest (default: found, see above)")
    ap.add_argument("--brian2-python", default=None, help="interpreter that imports brian2 (default benchmarks/.venv-brian2)")
    ap.add_argument("--mpiexec", default=None)
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--note", default=None, help="a remark stored in the result files and shown in summary.md "
                                                 "(e.g. 'shared machine, other jobs running')")
    ap.add_argument("--idle-cores", type=float, default=0.15,
                    help="wait before each run until at most this many cores are busy (default 0.15)")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    ap.add_argument("--no-roofline", action="store_true", help="skip the roofline probe")
    ap.add_argument("--report-only", action="store_true", help="only rebuild summary.* from OUT")
    ap.add_argument("--roofline-only", action="store_true", help="only run the roofline probe, then the report")
    ap.add_argument("--append", action="store_true",
                    help="add the runs to those already in OUT/pd14_<config>.json instead of replacing them")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per run, seconds")
    args = ap.parse_args(argv)
    if args.ranks < 1 or args.repeats < 1:
        ap.error("--ranks and --repeats must be >= 1")
    for opt in ("t_sim", "nest_t_sim", "brian2_t_sim"):
        if getattr(args, opt) is not None and getattr(args, opt) <= 0:
            ap.error(f"--{opt.replace('_', '-')} must be > 0 ms")
    if args.warmup < 0:
        ap.error("--warmup must be >= 0 ms")
    return args


def sim_times(cfg: dict, args) -> dict:
    """Timed model time (ms) per simulator: the per-simulator option, else --t-sim, else the config's default."""
    out = {}
    for sim, key in (("parsnn", "t_sim"), ("nest", "nest_t_sim"), ("brian2", "brian2_t_sim")):
        own = getattr(args, key) if sim != "parsnn" else None
        out[sim] = own if own is not None else args.t_sim if args.t_sim is not None else cfg[key]
    return out


def run_config(name: str, args, sims: list[str], peers: dict, mpiexec: str | None, machine: dict, log) -> list[dict]:
    """All runs of one configuration, alternating the simulators (A B C A B C ...); written to
    OUT/pd14_<name>.json."""
    cfg = CONFIGS[name]
    n_neurons, n_syn = pd14_synapses(cfg["n_scaling"], cfg["k_scaling"])
    t = sim_times(cfg, args)
    threads = nest_threads_for(args.ranks, n_syn, args.nest_threads)
    b_threads = args.brian2_threads or args.ranks
    log(f"== {name}: {cfg['label']}: {n_neurons:,} neurons, {n_syn:,} synapses; parsnn {args.ranks} ranks, "
        f"{t['parsnn']:g} ms; NEST {threads} threads, {t['nest']:g} ms; Brian2 {b_threads} threads, "
        f"{t['brian2']:g} ms; after {args.warmup:g} ms warm-up; running {', '.join(sims)}")
    runs = []
    for rep in range(args.repeats):
        for sim in sims:
            need = int(n_syn * NEED_BYTES_PER_SYNAPSE[sim] + 3e8)
            acct = {} if args.no_wait else wait_idle(args.idle_cores, need, log=log)
            if sim == "parsnn":
                r = run_parsnn(cfg, args.ranks, t[sim], args.warmup, args.seed, mpiexec, args.timeout, log)
            elif sim == "nest":
                r = run_nest(cfg, threads, t[sim], args.warmup, args.seed, args.timeout, log, python=peers["nest"])
            else:
                r = run_brian2(cfg, b_threads, t[sim], args.warmup, args.seed, peers["brian2"], args.timeout, log)
            r.update(acct, repeat=rep, config=name, started=datetime.datetime.now().isoformat(timespec="seconds"))
            runs.append(r)
            if r.get("ok"):
                log(f"  {sim}: build {r['build_seconds']:.1f} s"
                    + (f" + compile {r['compile_seconds']:.1f} s" if r.get("compile_seconds") else "")
                    + f", RTF {r['rtf']:.2f}, peak {r['peak_rss_bytes_total'] / 1e9:.2f} GB "
                    f"({r['bytes_per_synapse']:.1f} B/synapse), {r['events_per_second'] or 0:.3g} events/s, "
                    f"others used {r.get('foreign_cores', 0):.2f} cores")
                if r.get("foreign_cores", 0) > DISTURBED_CORES:
                    log(f"  WARNING: other processes used {r['foreign_cores']:.2f} cores during this run")
            else:
                log(f"  {sim}: FAILED\n{r.get('error', '')[-1500:]}")
    path = os.path.join(args.out_dir, f"pd14_{name}.json")
    if args.append and os.path.exists(path):
        with open(path) as f:
            runs = json.load(f)["runs"] + runs
    with open(path, "w") as f:
        json.dump({"config": name, **cfg, "ranks": args.ranks, "nest_threads": threads, "brian2_threads": b_threads,
                   "t_sim_ms": t, "warmup_ms": args.warmup, "note": args.note, "machine": machine, "runs": runs,
                   "finished": datetime.datetime.now().isoformat(timespec="seconds")}, f, indent=1)
    return runs


def main(argv=None) -> int:
    """Run the configurations (alternating the simulators), the roofline probe, then the report."""
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    include_tiny = "tiny" in args.config

    if not args.report_only:
        sims = list(args.simulators)
        peers = {p: peer_python(p, getattr(args, f"{p}_python")) if p in sims else None for p in ("nest", "brian2")}
        for p in ("nest", "brian2"):
            if p in sims and peers[p] is None:
                log(f"bench_pd14: {SIM_LABEL[p]} not found (no interpreter imports it; run benchmarks/setup_peers.sh "
                    f"or give --{p}-python); left out")
                sims.remove(p)
        mpiexec = find_mpiexec(args.mpiexec) if "parsnn" in sims and not args.roofline_only else None
        machine = machine_info(peers)
        machine["peer_python"] = peers
        log(f"bench_pd14: {describe_machine(machine)}")
        for name in ([] if args.roofline_only else args.config):
            run_config(name, args, sims, peers, mpiexec, machine, log)
        if not args.no_roofline:
            sys.path.insert(0, HERE)
            import roofline
            acct = {} if args.no_wait else wait_idle(args.idle_cores, int(3.5e9 * args.ranks), log=log)
            full = os.path.join(args.out_dir, "pd14_full.json")
            pr = roofline.load_parsnn_result(full) if os.path.exists(full) else None
            res = roofline.probe(procs=args.ranks, parsnn_result=pr)
            res.update(acct)
            log(roofline.format_report(res))
            with open(os.path.join(args.out_dir, "roofline.json"), "w") as f:
                json.dump(res, f, indent=1)

    summary = write_report(args.out_dir, include_tiny)
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
