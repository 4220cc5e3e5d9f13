"""Spike trains and spike files (parsnn run files, NEST ASCII directories) for the analysis tests."""
import json
import os

import h5py
import numpy as np

from parsnn import analysis
from parsnn.runfile import sonata


def poisson_trains(rng, n, rate_hz, t0, t1):
    """Merged Poisson trains of ``n`` neurons in [t0, t1) ms, on a 0.1 ms grid (as simulators record)."""
    times, ids = [], []
    for i in range(n):
        k = rng.poisson(rate_hz * (t1 - t0) * 1e-3)
        t = np.unique(np.round(rng.uniform(t0, t1, k), 1))
        t = t[t < t1]
        times.append(t)
        ids.append(np.full(t.size, i))
    return np.concatenate(times), np.concatenate(ids)


def write_run(path, pops, t_sim=2000.0, complete=True, sorting="by_time"):
    """A minimal parsnn run file: ``pops = {name: (size, times, ids)}``."""
    with h5py.File(path, "w") as f:
        g = f.create_group("parsnn")
        g.attrs["complete"] = complete
        g.attrs["t_sim"] = t_sim
        g.attrs["seed"] = 7
        g.attrs["model"] = "test"
        sonata.create_spike_datasets(f, {p: v[0] for p, v in pops.items()}, sorting=sorting)
        for p, (size, t, i) in pops.items():
            sonata.append_spikes(f, p, t, np.asarray(i, np.uint64))
    return path


def direct_cvs(times, ids, size, t0, t1):
    """ISI CVs of the neurons with at least 3 spikes in [t0, t1), computed directly with numpy."""
    out = []
    for n in range(size):
        t = np.sort(times[(ids == n) & (times >= t0) & (times < t1)])
        if t.size >= 3:
            d = np.diff(t)
            out.append(np.std(d) / np.mean(d))
    return np.array(out)


def write_nest_dir(d, pops, first_gids, t_sim=2000.0, rng=None, sidecar=True, complete=True,
                   rec_gid0=100, vps=2):
    """NEST-like output: one recorder per population, spikes split over ``vps`` files, unsorted."""
    rng = rng or np.random.default_rng(0)
    os.makedirs(d, exist_ok=True)
    for k, (p, (size, t, i)) in enumerate(pops.items()):
        vp = rng.integers(0, vps, t.size)
        for v in range(vps):
            m = vp == v
            o = rng.permutation(m.sum())
            with open(os.path.join(d, f"spike_recorder-{rec_gid0 + k}-{v}.dat"), "w") as f:
                f.write("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n")
                for s, tt in zip((i[m] + first_gids[p])[o], t[m][o]):
                    f.write(f"{s}\t{tt:.3f}\n")
    if sidecar:
        with open(os.path.join(d, analysis.NEST_SIDECAR), "w") as f:
            json.dump({"complete": complete, "t_sim": t_sim, "seed": 3, "label": "spike_recorder",
                       "populations": {p: {"first_gid": first_gids[p], "size": v[0]} for p, v in pops.items()}}, f)
    return d
