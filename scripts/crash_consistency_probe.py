"""Crash-consistency probe of the run file writer (no MPI): a forked child writes a run file the way
rank 0 does (RunWriter.create, append_spikes, append_voltages, flushed_ms + flush every 100 ms of
model time) and is SIGKILLed at a random moment; the parent then checks that everything up to the
file's ``/parsnn@t_flushed`` reads back (Fletcher32 ok) and equals what was written.

    PYTHONPATH=<worktree> python scripts/crash_consistency_probe.py --trials 300 [--pace-ms 0]

``--pace-ms``: wall time between flushes (the "simulation"; 0: flush back to back, which makes a
kill land in HDF5's writes far more often than in a real run). The writer is the RunWriter found on
PYTHONPATH; ``--open`` selects how the reader opens the killed file (plain ``r``, or ``swmr``).
Prints the failure counts per category and dataset, and one line per failing trial with -v."""
from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import sys
import tempfile
import time

import h5py
import numpy as np

from parsnn.runfile import schema
from parsnn.runfile.writer import RunWriter

H = 0.1                 # ms resolution
FLUSH_MS = 100.0        # --flush-every 100
V_EVERY = 10            # V_m sampled every 10 steps (1 ms)
POPS = {"E": 500, "I": 125}
RATES_HZ = {"E": 108.0, "I": 108.0}     # brunel regime A at scale 0.05 (about 5,400 E spikes per flush)
V_IDS = {"E": [0, 1], "I": [0, 1]}      # --record-v 2


def block(i: int):
    """The spikes and V_m samples of flush interval i (model time (100 i, 100 (i+1)] ms), deterministic."""
    rng = np.random.default_rng(1000 + i)
    spikes, volts = {}, {}
    steps0 = int(round(i * FLUSH_MS / H))
    nsteps = int(round(FLUSH_MS / H))
    for p, n in POPS.items():
        k = rng.poisson(n * RATES_HZ[p] * FLUSH_MS * 1e-3)
        st = rng.integers(0, nsteps, k) + steps0
        ids = rng.integers(0, n, k).astype(np.uint64)
        order = np.lexsort((ids, st))
        spikes[p] = ((st[order] + 1) * H, ids[order])
        rows = nsteps // V_EVERY
        tt = (np.arange(rows) + 1) * V_EVERY * H + i * FLUSH_MS
        volts[p] = (tt, np.asarray(V_IDS[p], np.uint64), rng.normal(-60, 5, (rows, len(V_IDS[p]))))
    return spikes, volts


def patch(variant: str):
    """Change how the (forked) child's RunWriter lays out the file: see --variant."""
    if variant == "base":
        return
    File, create_dataset = h5py.File, h5py.Group.create_dataset
    file_kw = {}
    if variant in ("v110", "swmr", "dfp", "swmr_dfp"):
        file_kw["libver"] = "v110"
    if variant == "page4k":
        file_kw.update(alignment_threshold=1024, alignment_interval=4096)

    def file(name, mode="r", **kw):
        return File(name, mode, **({**file_kw, **kw} if mode == "w" else kw))

    def cds(self, name, shape=None, dtype=None, data=None, **kw):
        growing = kw.get("maxshape") is not None and kw["maxshape"][0] is None
        if growing and variant in ("dfp", "swmr_dfp"):
            import h5ext_probe as h5ext
            assert data is None and kw.get("compression") is None and kw.get("fletcher32")
            return h5ext.create_appendable(self, name, shape, kw["maxshape"], dtype, kw["chunks"])
        if growing and variant == "page4k":
            rest = tuple(kw["chunks"][1:])
            kw["chunks"] = (max(1, (4092 // 8) // max(1, int(np.prod(rest)))),) + rest
        return create_dataset(self, name, shape, dtype, data, **kw)

    h5py.File = file
    h5py.Group.create_dataset = cds


def child(path: str, pace_s: float, ready_fd: int, n_flushes: int, variant: str = "base"):
    patch(variant)
    w = RunWriter.create(
        path, seed=9, num_ranks=2, partition="round_robin", model="brunel", resolution=H, min_delay_ms=1.5,
        description={"populations": POPS, "padding": "x" * 1500}, run_info={"t_sim": 20000.0, "pad": "y" * 1700},
        partition_map=(np.arange(sum(POPS.values())) % 2).astype(np.int32), spike_populations=POPS,
        voltage_reports=[(p, ids, V_EVERY) for p, ids in V_IDS.items()], realisation="v2")
    if variant.startswith("swmr"):
        w.h5[schema.META].attrs[schema.T_FLUSHED] = 0.0
        w.h5.swmr_mode = True
    os.write(ready_fd, b"r")
    for i in range(n_flushes):
        spikes, volts = block(i)
        w.append_spikes(spikes)
        w.append_voltages(volts)
        w.flushed_ms = (i + 1) * FLUSH_MS
        w.flush()
        if pace_s:
            time.sleep(pace_s)
    w.finish({}, n_flushes * FLUSH_MS)


def expected(n: int):
    """Concatenated spikes {pop: (t, ids)} and V_m {pop: data} of the first n flush intervals."""
    sp = {p: ([], []) for p in POPS}
    vm = {p: [] for p in POPS}
    for i in range(n):
        s, v = block(i)
        for p in POPS:
            sp[p][0].append(s[p][0]); sp[p][1].append(s[p][1]); vm[p].append(v[p][2])
    cat = lambda xs, dt, w=None: np.concatenate(xs) if xs else np.zeros((0,) if w is None else (0, w), dt)
    return ({p: (cat(a, np.float64), cat(b, np.uint64)) for p, (a, b) in sp.items()},
            {p: cat(vm[p], np.float64, len(V_IDS[p])) for p in POPS})


_cache = {}


def check(path: str, how: str, repair: bool = False) -> list[tuple[str, str]]:
    """Problems [(category, dataset)] of the killed file; [] if everything up to t_flushed is there."""
    probs = []
    if repair:
        from parsnn.runfile.repair import repair as fix
        try:
            for r in fix(path):
                probs.append(("repair:" + r.kind, r.dataset))
        except Exception as e:                                   # noqa: BLE001
            probs.append(("repair-fails", repr(e)[:60]))
    try:
        f = h5py.File(path, "r", swmr=(how == "swmr"))
    except OSError as e:
        probs.append(("plain-open-fails", "status flags set" if "h5clear" in str(e) else str(e)[:60]))
        try:
            import h5ext_probe as h5ext
            f = h5ext.open_clearing_flags(path, "r")
        except OSError as e:
            return probs + [("open-fails", str(e)[:80])]
    with f:
        try:
            attrs = f[schema.META].attrs
            t = float(attrs[schema.T_FLUSHED]) if schema.T_FLUSHED in attrs else None
        except Exception as e:                                   # noqa: BLE001
            return [("meta-unreadable", repr(e)[:80])]
        if t is None:
            return [("no-t_flushed", "")]
        n = int(round(t / FLUSH_MS))
        if n not in _cache:
            _cache.clear()
            _cache[n] = expected(n)
        sp, vm = _cache[n]
        want = {}
        for p in POPS:
            want[f"/spikes/{p}/timestamps"] = sp[p][0]
            want[f"/spikes/{p}/node_ids"] = sp[p][1]
            want[f"/report/{p}/data"] = vm[p]
        for name, ref in want.items():
            try:
                ds = f[name]
            except Exception as e:                               # noqa: BLE001
                probs.append(("dataset-unopenable", name)); continue
            if ds.shape[0] < ref.shape[0]:
                probs.append(("short", name)); continue
            try:
                got = ds[:ref.shape[0]]
            except OSError:
                probs.append(("checksum<=t_flushed", name)); continue
            if not np.array_equal(got, ref):
                probs.append(("mismatch<=t_flushed", name)); continue
            if ds.shape[0] > ref.shape[0]:
                probs.append(("extent>t_flushed", name))
            try:
                ds[ref.shape[0]:]
            except OSError:
                probs.append(("checksum>t_flushed", name))
        for p in POPS:
            try:
                tm = f[f"/report/{p}/mapping/time"][:]
            except OSError:
                probs.append(("checksum-mapping-time", p))
    return probs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--pace-ms", type=float, default=0.0)
    ap.add_argument("--max-delay", type=float, default=0.4, help="kill after U(0.02, max) s of writing")
    ap.add_argument("--open", choices=["r", "swmr"], default="r")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variant", default="base", choices=["base", "v110", "swmr", "dfp", "swmr_dfp", "page4k"],
                    help="file layout of the writer: base (as RunWriter), v110 (libver v110), swmr (v110, "
                         "swmr_mode after creation), dfp (v110, DONT_FILTER_PARTIAL_CHUNKS on the growing "
                         "datasets), swmr_dfp (both), page4k (4 KiB chunks aligned to pages)")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", default=None, help="copy the files of failing trials into this directory")
    ap.add_argument("--repair", action="store_true", help="parsnn.runfile.repair.repair() the killed file first")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tmp = a.dir or tempfile.mkdtemp(prefix="crashprobe-")
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "run.h5")
    cats, per_ds, bad_trials = collections.Counter(), collections.Counter(), 0
    finished = 0
    t0 = time.time()
    for trial in range(a.trials):
        if os.path.exists(path):
            os.unlink(path)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                                             # child
            os.close(r)
            try:
                child(path, a.pace_ms / 1e3, w, 100000, a.variant)
            finally:
                os._exit(0)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        time.sleep(rnd.uniform(0.02, a.max_delay))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if not os.WIFSIGNALED(status):
            finished += 1
        if a.repair and a.keep:
            shutil.copyfile(path, path + ".before-repair")
        probs = check(path, a.open, a.repair)
        hard = [p for p in probs if p[0] not in ("extent>t_flushed", "plain-open-fails")
                and not p[0].startswith("repair:")]
        for c, d in probs:
            cats[c] += 1
            per_ds[(c, d)] += 1
        bad_trials += bool(hard)
        if hard and a.keep:
            os.makedirs(a.keep, exist_ok=True)
            shutil.copyfile(path + ".before-repair" if a.repair else path, os.path.join(a.keep, f"trial{trial}.h5"))
        if a.v and probs:
            print(f"trial {trial}: {probs}", flush=True)
    dt = time.time() - t0
    print(f"variant {a.variant}: trials {a.trials} (pace {a.pace_ms} ms, open {a.open}, repair {a.repair}, {dt:.0f} s; {finished} not killed): "
          f"{bad_trials} with data up to t_flushed lost or unreadable ({100 * bad_trials / a.trials:.1f} %)")
    for (c, d), k in sorted(per_ds.items()):
        print(f"  {c:24s} {d:40s} {k}")


if __name__ == "__main__":
    main()
