#!/usr/bin/env python
"""``parsnn`` with the CPU time of every rank's simulation recorded (analysis helper of
analysis/seed_order_check.py and analysis/quick_predict_check.py; start it as
``mpiexec -n P python analysis/rusage_run.py run ...``).

Wraps :meth:`parsnn.engine.simulation.Simulation.run` and, per rank, adds up over its calls the wall
seconds, the process's user and system CPU seconds (``getrusage(RUSAGE_SELF)``: every thread of the rank),
its voluntary and involuntary context switches, and the time the hypervisor stole from every CPU of the
machine meanwhile (``/proc/stat``, seconds per CPU; a rank's CPU: ``last_cpu``, the one it ran on last),
and at the end the share of its anonymous memory on huge pages (``/proc/self/smaps_rollup``); writes them
as JSON to ``$PARSNN_RUSAGE_OUT.<rank>``. The simulation itself is unchanged (same command line, same run file).
"""
from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time


def _huge_share() -> float | None:
    """AnonHugePages / Anonymous of this process (None where /proc has no smaps_rollup)."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kv = {ln.split(":")[0]: ln.split()[1] for ln in f if ":" in ln}
        return float(kv["AnonHugePages"]) / max(1.0, float(kv["Anonymous"]))
    except (OSError, KeyError, ValueError):
        return None


def _steal() -> list[float]:
    """Seconds the hypervisor stole from every CPU so far (/proc/stat's 8th field; [] where unavailable)."""
    try:
        hz = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            return [int(ln.split()[8]) / hz for ln in f if ln.startswith("cpu") and ln[3].isdigit()]
    except (OSError, ValueError, IndexError):
        return []


def _last_cpu() -> int | None:
    """The CPU this process ran on last (/proc/self/stat field 39)."""
    try:
        with open("/proc/self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def launch_pd14(bin_dir: str, ranks: int, n_scaling: float, t_sim: float, seed: int, out: str, ru: str,
                env: dict | None = None) -> tuple[float, dict, list[dict]]:
    """One ``parsnn run pd14`` launch on ``ranks`` ranks through this wrapper (``bin_dir``: the venv's bin with
    its mpiexec; run file ``out``, rusage files ``ru.<rank>``): (launch wall seconds, the run file's
    performance, every rank's rusage record)."""
    import subprocess
    from parsnn.runfile import RunFile
    t0 = time.time()
    subprocess.run([os.path.join(bin_dir, "mpiexec"), "-n", str(ranks), sys.executable, os.path.abspath(__file__),
                    "run", "pd14", "--n-scaling", str(n_scaling), "--t-sim", str(t_sim), "--seed", str(seed),
                    "--no-progress", "--out", out, "--overwrite"], check=True, capture_output=True, text=True,
                   timeout=1800, env=dict(env if env is not None else os.environ, PARSNN_RUSAGE_OUT=ru))
    wall = time.time() - t0
    with RunFile(out) as run:
        perf = run.performance
    cpu = []
    for r in range(ranks):
        with open(f"{ru}.{r}") as f:
            cpu.append(json.load(f))
    return wall, perf, cpu


def main() -> int:
    """Patch ``Simulation.run``, then run the parsnn command line."""
    from parsnn.engine import simulation
    from parsnn.cli import main as cli_main
    acc = {"wall_s": 0.0, "user_s": 0.0, "sys_s": 0.0, "nvcsw": 0, "nivcsw": 0, "huge_share": None,
           "steal_s_per_cpu": None, "last_cpu": None}
    orig = simulation.Simulation.run

    def run(self, t_sim):
        r0, w0, s0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), _steal()
        try:
            return orig(self, t_sim)
        finally:
            r1, s1 = resource.getrusage(resource.RUSAGE_SELF), _steal()
            acc["wall_s"] += time.perf_counter() - w0
            acc["user_s"] += r1.ru_utime - r0.ru_utime
            acc["sys_s"] += r1.ru_stime - r0.ru_stime
            acc["nvcsw"] += r1.ru_nvcsw - r0.ru_nvcsw
            acc["nivcsw"] += r1.ru_nivcsw - r0.ru_nivcsw
            if s0 and len(s0) == len(s1):
                prev = acc["steal_s_per_cpu"] or [0.0] * len(s0)
                acc["steal_s_per_cpu"] = [p + b - a for p, a, b in zip(prev, s0, s1)]
            acc["huge_share"], acc["last_cpu"] = _huge_share(), _last_cpu()

    simulation.Simulation.run = run

    def dump():
        out = os.environ.get("PARSNN_RUSAGE_OUT")
        if out:
            rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK") or "0"
            with open(f"{out}.{rank}", "w") as f:
                json.dump(acc, f)

    atexit.register(dump)
    sys.argv[0] = "parsnn"
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
