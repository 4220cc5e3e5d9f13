#!/usr/bin/env python
"""Replay PD14's recorded spikes through the engine's delivery kernel on this rank's own synapse rows:
per thread (or rank) the CPU ns per synaptic event, and how the events of every step are shared.

    mpiexec -n R python benchmarks/layout_replay.py --threads T [--n-scaling 0.25] [--thread-owners major|split]
        [--reps 3] [--layouts row,thread] [--modes conc,alone,free] [--no-update] [--out FILE.json]

The run: PD14 (DC drive, seed 55, round_robin) simulated for ``--t-rec`` ms with spikes kept; the spikes
from ``--t0`` on, sorted by (step, gid), are replayed by ``benchmarks/layout_replay.c`` (compiled here with
the engine's flags; ``$CC`` or ``cc``): every step each thread scatters the step's spikes' sub-rows into a
scratch ring with the engine's kernel (``parsnn_scatter_runs16``, the run's prefetch distance
``--pf``), then reads and zeroes its neurons' entries of the next slot (the update's ring access;
``--no-update``: not; only with the rule "major", whose threads' neurons are one range each).
Ring layouts: ``row``, the engine's [slot][all local neurons]; ``thread``, [thread][slot][its neurons]
("major" only). Modes: ``conc`` the T threads together with a barrier after every step (the team's
meeting), ``alone`` each thread's work alone one after the other, ``free`` together without barriers.

Load-independent figures (rank 0 prints and writes them): ``events_per_unit`` (each thread's or rank's
events), ``step_max_over_mean`` = sum over steps of the busiest unit's events / sum of the mean (1: every
step's events evenly shared; the excess is the delivery the others wait for at the step's meeting, in
events) and ``total_max_over_mean`` (the same over the whole replay). Timed figures: ``runs``, per
repetition, layout and mode, each unit's CPU seconds of delivery and ``ns_per_event``.
"""
from __future__ import annotations

import argparse
import ctypes as C
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CFLAGS = ["-O3", "-fopenmp", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared"]
P = C.c_void_p


class Probe(C.Structure):
    """probe_t of layout_replay.c."""
    _fields_ = [("syn_ptr", P), ("run_ptr", P), ("tgt", P), ("w", P), ("run_d", P), ("run_n", P), ("B", C.c_int64),
                ("W", C.c_int64), ("wofs", P), ("D", C.c_int64), ("ring", P), ("n_th", P), ("rofs", P), ("lo", P),
                ("hi", P), ("step_ptr", P), ("nsteps", C.c_int64), ("gids", P), ("t_first", C.c_int64),
                ("pf", C.c_int64), ("update", C.c_int)]


def compile_lib(tmp: str):
    """layout_replay.c compiled into ``tmp``; the loaded library."""
    so = os.path.join(tmp, "layout_replay.so")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, *CFLAGS, "-I", os.path.join(HERE, "..", "cython"), os.path.join(HERE, "layout_replay.c"),
                    "-o", so], check=True)
    lib = C.CDLL(so)
    lib.probe_run.restype = C.c_double
    lib.probe_run.argtypes = [C.POINTER(Probe), C.c_int, C.c_int, P, P]
    return lib


def recorded_spikes(sim, t0_ms: float):
    """(gids, emission steps) of the kept spikes from ``t0_ms`` on, sorted by (step, gid)."""
    sp, h = sim.spikes(), sim.h
    ts = np.concatenate([v[0] for v in sp.values()])
    ids = np.concatenate([np.asarray(v[1], np.int64) + sim.offsets[k] for k, v in sp.items()])
    steps = np.rint(ts / h).astype(np.int64) - 1               # recorded time = (step + 1) h
    keep = steps >= int(round(t0_ms / h))
    steps, ids = steps[keep], ids[keep]
    o = np.lexsort((ids, steps))
    return ids[o], steps[o]


def step_pointers(steps: np.ndarray):
    """(first step, number of steps, ptr): the spikes of step first + s are ptr[s] .. ptr[s+1]-1."""
    s0 = int(steps.min())
    ns = int(steps.max()) - s0 + 1
    ptr = np.zeros(ns + 1, np.int64)
    np.add.at(ptr, steps - s0 + 1, 1)
    return s0, ns, np.cumsum(ptr)


def per_step_events(st, ids, step_ptr, T: int) -> np.ndarray:
    """[T, steps]: the events each thread of this rank delivers in every replayed step."""
    syn_ptr, W, B = np.asarray(st.syn_ptr), st.syn_W, T * st.syn_W
    r = np.asarray(st.syn_row)[ids]                      # the sources' compact rows (parsnn.engine.source_rows)
    rl = np.stack([syn_ptr[r * B + k * W + W] - syn_ptr[r * B + k * W] for k in range(T)])
    cs = np.concatenate([np.zeros((T, 1), np.int64), np.cumsum(rl, axis=1)], axis=1)
    return cs[:, step_ptr[1:]] - cs[:, step_ptr[:-1]]


def ring_layout(st, name: str, T: int):
    """(slot stride per thread, ring offset per thread, scratch ring) of the layout ``name``."""
    from parsnn.engine import aligned
    toff, D = np.asarray(st.toff), st.D
    if name == "row":
        return np.full(T, st.ring_n, np.int64), np.zeros(T, np.int64), aligned.zeros(D * st.ring_n, np.float64)
    n_th = np.array([aligned.ring_stride(toff[k + 1] - toff[k]) for k in range(T)], np.int64)
    start = np.concatenate([[0], np.cumsum(D * n_th)])[:T]
    return n_th, (start - toff[:T]).astype(np.int64), aligned.zeros(int((D * n_th).sum()), np.float64)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--thread-owners", default="major", choices=("major", "split"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--t-rec", type=float, default=700.0)
    ap.add_argument("--t0", type=float, default=200.0)
    ap.add_argument("--pf", type=int, default=128)
    ap.add_argument("--layouts", default="row")
    ap.add_argument("--modes", default="conc,alone")
    ap.add_argument("--no-update", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    from mpi4py import MPI
    from parsnn.engine import Simulation
    from parsnn.models import pd14
    comm, T = MPI.COMM_WORLD, a.threads
    net = pd14.build_network(n_scaling=a.n_scaling, k_scaling=1.0, bg="dc", record=True)
    sim = Simulation(net, seed=55, comm=comm, partition="round_robin", out=None, keep_spikes=True, progress=False,
                     threads=T, thread_owners=a.thread_owners)
    sim.run(a.t_rec)
    ids, steps = recorded_spikes(sim, a.t0)
    s0, ns, step_ptr = step_pointers(steps)
    st = sim.st
    if not (st.tgt16 and st.one_ring):
        raise SystemExit("layout_replay: needs 16-bit targets and one ring (PD14 up to full scale)")
    update = not a.no_update
    if a.thread_owners != "major" and (update or "thread" in a.layouts):
        raise SystemExit("layout_replay: --thread-owners split needs --no-update and --layouts row")
    res = {"thread_owners": a.thread_owners, "ranks": comm.size, "threads": T, "n_scaling": a.n_scaling,
           "n_loc": int(st.n_loc), "ring_n": int(st.ring_n), "D": int(st.D), "toff": np.asarray(st.toff).tolist(),
           "spikes": int(ids.size), "steps": ns, "update": update, "pf": a.pf, "runs": []}
    ps = comm.gather(per_step_events(st, ids, step_ptr, T), root=0)
    if comm.rank == 0:
        ps = np.concatenate(ps, axis=0).astype(float)                  # [units, steps]
        res["events_per_unit"] = ps.sum(axis=1).tolist()
        res["step_max_over_mean"] = float(ps.max(axis=0).sum() / ps.mean(axis=0).sum())
        res["total_max_over_mean"] = float(ps.sum(axis=1).max() / ps.sum(axis=1).mean())
        print(json.dumps({k: res[k] for k in ("events_per_unit", "step_max_over_mean", "total_max_over_mean")}),
              flush=True)
    arrays = [np.asarray(x) for x in (st.syn_ptr, st.run_ptr, st.syn_tgt16, st.syn_w, st.run_d, st.run_n, st.syn_base)]
    rows = np.ascontiguousarray(np.asarray(st.syn_row)[ids], dtype=ids.dtype)    # the probe indexes rows, not gids
    toff = np.asarray(st.toff)
    lo, hi = np.ascontiguousarray(toff[:T]), np.ascontiguousarray(toff[1:T + 1])
    with tempfile.TemporaryDirectory() as tmp:
        lib = compile_lib(tmp)                              # every rank its own copy
        for rep in range(a.reps):
            for lay in a.layouts.split(","):
                n_th, rofs, ring = ring_layout(st, lay, T)
                for mode in a.modes.split(","):
                    p = Probe(*[x.ctypes.data for x in arrays[:6]], T * st.syn_W, st.syn_W, arrays[6].ctypes.data,
                              st.D, ring.ctypes.data, n_th.ctypes.data, rofs.ctypes.data, lo.ctypes.data,
                              hi.ctypes.data, step_ptr.ctypes.data, ns, rows.ctypes.data, s0, a.pf, int(update))
                    ev, cpu = np.zeros(T, np.int64), np.zeros(T)
                    comm.Barrier()
                    w0 = time.perf_counter()
                    lib.probe_run(C.byref(p), T, {"conc": 0, "alone": 1, "free": 2}[mode], ev.ctypes.data,
                                  cpu.ctypes.data)
                    got = comm.gather(dict(events=ev.tolist(), cpu_s=cpu.tolist(), wall_s=time.perf_counter() - w0,
                                           load1=os.getloadavg()[0]), root=0)
                    if comm.rank == 0:
                        nspe = [[c / e * 1e9 for c, e in zip(g["cpu_s"], g["events"])] for g in got]
                        res["runs"].append(dict(rep=rep, layout=lay, mode=mode, per_rank=got, ns_per_event=nspe))
                        print(rep, lay, mode, [[round(v, 3) for v in q] for q in nspe], flush=True)
    if comm.rank == 0 and a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
