#!/usr/bin/env python
"""Why is the update of 1 rank x 2 threads slower per neuron than that of 2 ranks x 1 thread?

A silent network (no synapses, no spikes: the update only) of N iaf_psc_exp neurons in K populations
(K segments of the update), run on 1 rank x 2 threads and on 2 ranks x 1 thread, alternately; the
engine's per-thread update timer (``EngineState.t_thread[:, 1]``) per 0.1 ms step, medians over the
repeats, and each thread's CPU seconds in the update (``EngineState.cpu_timers``: on a loaded machine
the wall time also counts the time other processes hold the core). Before session 11 thread k owned the
k-th part of every population, so with K populations the two threads' neurons met at 2K - 1 places
in every state array (V_m, I_syn, refractory counters, the ring slot): cache lines written by both
threads every step, and the 1 x 2 update grew with K while the 2 x 1 update (separate processes)
did not. Since then the state is 64-byte aligned and the split points lie on line bounds
(parsnn/engine/aligned.py, decomposition.thread_owners): no line has two writers.

    python benchmarks/update_segments_probe.py --neurons 19296 --segments 1 8 32 --repeats 3 \\
        --out benchmarks/results/update_segments_probe_xeon_idle_s10.json

``--line-blind`` emulates the layout before session 11 on today's engine (for a comparison under
the same load): split points at the equal split (not on line bounds) and every aligned array moved
16 bytes off its line (as V_m, I_syn and r sat at 16-48 bytes mod 64), ring slot stride n_loc.

``--thread-major`` (session 11, lead) gives each thread a contiguous block of whole populations instead
(thread k owns the k-th run of populations, cut at the population bound nearest k n / T): the threads'
neurons meet at one place in all. Not the engine's layout: a probe of what the meeting places cost.

One run: ``python benchmarks/update_segments_probe.py --one T K N [MODE]`` (under mpiexec for 2 x 1; MODE 0:
the engine's layout, 1: line-blind, 2: thread-major).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _line_blind():
    """Patch parsnn.engine.aligned and decomposition to the line-blind layout (``--line-blind``)."""
    import numpy as np
    from parsnn.engine import aligned, decomposition
    aligned_empty = aligned.empty

    def off_line(n, dtype):
        dtype = np.dtype(dtype)
        return aligned_empty(int(n) + 16 // dtype.itemsize, dtype)[16 // dtype.itemsize:]

    aligned.empty, aligned.is_aligned, aligned.ring_stride = off_line, lambda a: True, int
    decomposition.thread_owners.__defaults__ = (1,)


def _thread_major():
    """Patch decomposition.thread_owners to whole populations in one contiguous block per thread
    (``--thread-major``)."""
    import numpy as np
    from parsnn.engine import decomposition

    def owners(pop_local, n, threads, items=16):
        owner = np.zeros(n, dtype=np.int32)
        bounds = sorted(b for a, b in pop_local.values() if b > a)
        for k in range(1, threads):
            owner[min(bounds, key=lambda b: abs(b - k * n / threads)):] = k
        toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)
        return owner, toff
    decomposition.thread_owners = owners


def one(threads: int, segments: int, neurons: int, blind: int = 0, t_sim: float = 1000.0) -> None:
    """Build and run the silent network; rank 0 prints a JSON line with the per-thread update
    microseconds per step (the largest over the ranks' threads and their mean)."""
    import numpy as np
    from mpi4py import MPI
    from parsnn.engine import Simulation
    from parsnn.network import Network
    if blind == 1:
        _line_blind()
    elif blind == 2:
        _thread_major()
    net = Network(0.1, name="silent")
    for k in range(segments):
        net.add_population(f"P{k}", neurons // segments, "iaf_psc_exp", params={"I_e": 100.0})
    net.metadata = {"model": "silent"}
    comm = MPI.COMM_WORLD
    sim = Simulation(net, seed=1, comm=comm, out=None, keep_spikes=False, threads=threads)
    sim.build()
    sim.st.cpu_timers = True
    sim.run(50.0)
    t0 = np.array(sim.st.t_thread)[:, 1].copy()
    c0 = np.array(sim.st.t_update_cpu).copy()
    sim.run(t_sim)
    steps = t_sim / sim.h
    per_thread = (np.array(sim.st.t_thread)[:, 1] - t0) / steps * 1e6
    cpu = (np.array(sim.st.t_update_cpu) - c0) / steps * 1e6
    every = comm.gather((per_thread.tolist(), cpu.tolist()), root=0)
    if comm.rank == 0:
        flat = [u for rank in every for u in rank[0]]
        flat_cpu = [u for rank in every for u in rank[1]]
        print(json.dumps({"update_us_per_step": flat, "max": max(flat), "mean": sum(flat) / len(flat),
                          "update_cpu_us_per_step": flat_cpu, "cpu_mean": sum(flat_cpu) / len(flat_cpu),
                          "neurons_per_thread": neurons // (threads * comm.size)}))


def main(argv=None) -> int:
    """Alternate the two layouts for every K; print and write the medians."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", type=int, default=19296)
    ap.add_argument("--segments", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--line-blind", action="store_true", help="the layout before session 11 (see above)")
    ap.add_argument("--thread-major", action="store_true", help="whole populations, one block per thread (see above)")
    ap.add_argument("--one", type=int, nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        one(*a.one)
        return 0
    bindir = os.path.dirname(sys.executable)
    layouts = {"1x2": (1, 2), "2x1": (2, 1)}
    mode = 2 if a.thread_major else int(a.line_blind)
    res = {"machine": _machine(), "neurons": a.neurons, "repeats": a.repeats, "line_blind": a.line_blind,
           "thread_major": a.thread_major, "runs": {}}
    for K in a.segments:
        for rep in range(a.repeats):
            for name, (ranks, threads) in (layouts.items() if rep % 2 == 0 else reversed(layouts.items())):
                cmd = [os.path.join(bindir, "mpiexec"), "-n", str(ranks), sys.executable, __file__,
                       "--one", str(threads), str(K), str(a.neurons), str(mode)]
                line = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                res["runs"].setdefault(f"K={K} {name}", []).append(json.loads(line))
    res["median_update_us_per_step"] = {k: statistics.median(r["mean"] for r in v) for k, v in res["runs"].items()}
    res["median_update_cpu_us_per_step"] = {k: statistics.median(r["cpu_mean"] for r in v)
                                            for k, v in res["runs"].items()}
    res["machine_after"] = _machine()
    for k, v in res["median_update_us_per_step"].items():
        print(f"{k}: update {v:.2f} us per step per thread, CPU {res['median_update_cpu_us_per_step'][k]:.2f} us "
              f"(medians of {a.repeats})")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


def _machine() -> str:
    """CPU model, cores and the 1-minute load average now."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%dT%H:%M:%S')}"


if __name__ == "__main__":
    sys.exit(main())
