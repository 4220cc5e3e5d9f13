"""Micro-benchmark of the threads' synchronisation per interval, with the engine's own thread team.

An inactive network (``neurons`` iaf_psc_exp at rest, no input, so no spike ever; fixed in-degree 2 with
delay 0.1 ms, so every 0.1 ms step is a min-delay interval) runs on 1 rank in three configurations, their
runs alternating, ``repeats`` times: 1 thread; ``threads`` threads with the engine's persistent team
(``neurons`` per interval >= the engine's PAR_MIN_UPDATES); the same with the team switched off (one
OpenMP region per interval, as small ranks run). Per interval, the wall time outside the engine's phase
timers ("untimed": the meeting or the region, the wait for the slower thread, the loop) with T threads
minus that with one is the synchronisation's cost (:func:`constants`: ``thread_team_us`` and
``thread_omp_region_us``, per log2 T for the region, as :mod:`~parsnn.mapping.cluster.team` reads them).
Medians over the repeats; on a machine shared with other work they include its scheduling noise.

    python -m parsnn.mapping.cluster.teambench [--threads 2] [--repeats 5] [--t-sim 300]   # JSON on stdout

:func:`launch` runs that in a fresh process (``parsnn calibrate`` does, on machines of >= 2 cores).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

#: the configurations of one repeat: (name, threads or None for the asked count, team on)
CONFIGS = (("one", 1, True), ("team", None, True), ("region", None, False))


def _build(neurons: int, threads: int, team: bool, warmup_ms: float):
    """A built, warmed-up simulation of the inactive network on this process (1 rank)."""
    from mpi4py import MPI
    from parsnn.engine import Simulation
    from parsnn.network import FixedIndegree, Network
    net = Network(0.1, name="inactive")
    net.add_population("N", int(neurons), "iaf_psc_exp")
    net.connect("N", "N", FixedIndegree(2), weight=1.0, delay=0.1)
    kw = {"threads": threads} if threads > 1 else {}
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, keep_spikes=False, progress=False, **kw)
    sim.build()
    sim.st.team = bool(team)
    sim.run(warmup_ms)
    return sim


def _timed_run(sim, t_sim_ms: float) -> dict:
    """One timed run of ``sim``: per interval (us) wall time, time outside the phase timers, and per
    thread the work (deliver + update), the wait at the meeting and thread 0's serial part."""
    import numpy as np
    st = sim.st
    before = (sim.simulate_seconds, st.t_update + st.t_exchange + st.t_deliver + sim.timers.get("record", 0.0))
    st.t_thread[:] = 0.0
    sim.run(t_sim_ms)
    n = t_sim_ms / 0.1
    wall = sim.simulate_seconds - before[0]
    timed = st.t_update + st.t_exchange + st.t_deliver + sim.timers.get("record", 0.0) - before[1]
    tt = np.asarray(st.t_thread) / n * 1e6
    assert int(np.sum(st.n_fired)) == 0, "the benchmark network must stay silent"
    return {"wall_us": wall / n * 1e6, "untimed_us": (wall - timed) / n * 1e6,
            "work_us": (tt[:, 0] + tt[:, 1]).tolist(), "wait_us": tt[:, 2].tolist(), "serial_us": float(tt[0, 3])}


def measure(threads: int = 2, neurons: int = 8192, t_sim_ms: float = 300.0, repeats: int = 5,
            warmup_ms: float = 50.0) -> dict:
    """Run the three configurations (:data:`CONFIGS`) ``repeats`` times in turn on this process; returns
    {'runs': {config: [run, ...]}, 'median': {config: {wall_us, untimed_us}}, the settings, the load
    average before and after, and :func:`constants`}."""
    if threads < 2:
        raise ValueError(f"threads must be >= 2 for the team benchmark, got {threads}")
    load0 = os.getloadavg()
    sims = {name: _build(neurons, t or threads, team, warmup_ms) for name, t, team in CONFIGS}
    runs = {name: [] for name in sims}
    for _ in range(int(repeats)):
        for name, sim in sims.items():
            runs[name].append(_timed_run(sim, t_sim_ms))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall_us", "untimed_us", "serial_us")}
           for name, rs in runs.items()}
    out = {"threads": int(threads), "neurons": int(neurons), "t_sim_ms": float(t_sim_ms), "repeats": int(repeats),
           "loadavg_before": load0, "loadavg_after": os.getloadavg(), "runs": runs, "median": med}
    out.update(constants(out))
    return out


def constants(result: dict) -> dict:
    """The calibration constants of a :func:`measure` result: ``thread_team_us`` (the team's meeting per
    interval with the result's T threads, untimed T-thread minus 1-thread median) and
    ``thread_omp_region_us`` (the OpenMP region's, per log2 T); {} for None or an empty result."""
    if not result or "median" not in result:
        return {}
    med, T = result["median"], int(result["threads"])
    return {"thread_team_us": float(med["team"]["untimed_us"] - med["one"]["untimed_us"]),
            "thread_omp_region_us": float((med["region"]["untimed_us"] - med["one"]["untimed_us"]) / math.log2(T))}


def launch(python: str | None = None, threads: int = 2, repeats: int = 5, t_sim_ms: float = 300.0,
           timeout: float = 600.0) -> dict:
    """:func:`measure` in a fresh process of ``python`` (default: this interpreter); its result."""
    cmd = [python or sys.executable, "-m", "parsnn.mapping.cluster.teambench", "--threads", str(threads),
           "--repeats", str(repeats), "--t-sim", str(t_sim_ms)]
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout).stdout
    res = json.loads(out.strip().splitlines()[-1])
    res["seconds"] = time.time() - t0
    return res


def main(argv=None) -> int:
    """Command line: measure and print the result as one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--neurons", type=int, default=8192)
    ap.add_argument("--t-sim", type=float, default=300.0, help="timed model time per run, ms")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.threads, args.neurons, args.t_sim, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
