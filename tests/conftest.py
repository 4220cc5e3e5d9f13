"""What the tests share: helper functions, offered to the tests as fixtures of the same name,
and the long-run marker.

- ``run_cli(nranks, args, command="run")``: ``python -m parsnn run ARGS`` (or ``resume``) under the venv's mpiexec;
- ``mixed_network(record=True)``: every neuron model, rule, distribution and device in one small network;
- ``populations(*sizes, gen=0)``: populations of iaf_psc_exp neurons without projections;
- ``poisson_trains``, ``write_run``, ``direct_cvs``, ``write_nest_dir``: spike trains and spike
  files (parsnn run files, NEST ASCII directories) for the analysis tests;
- ``load_script(path)``: a script of ``analysis/`` or ``benchmarks/`` imported as a module;
- ``run_pynn_script(tmp_path, text, ranks=(1, 2))``: a PyNN script under ``mpiexec -n P python -m parsnn.pynn``;
- ``two_pop_run``: a run file with two populations of Poisson spike trains.

Long end-to-end runs are marked ``slow``: ``pytest -m "not slow"`` is the fast subset; the README's
test command runs everything.
"""
import importlib.util
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from parsnn import analysis
from parsnn.network import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne,
                            PairwiseBernoulli, Uniform)
from parsnn.runfile import sonata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory):
    """The per-user cache ($XDG_CACHE_HOME: calibrations, the tuned prefetch distances) in a directory
    of the test session, for this process and the runs it starts: the tests neither read what the
    user's runs left there nor write to it."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg_cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


def _run_cli(nranks, args, timeout=300, check=True, command="run"):
    """Run ``python -m parsnn COMMAND ARGS`` (default ``run``) on ``nranks`` ranks; returns the
    CompletedProcess."""
    if not os.path.exists(MPIEXEC):
        pytest.skip("no mpiexec next to the Python interpreter")
    cmd = [MPIEXEC, "-n", str(nranks), sys.executable, "-m", "parsnn", command, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def _mixed_network(record=True) -> Network:
    """Every model, rule, distribution and device in one small, active network."""
    net = Network(0.1, name="mixed")
    net.add_population("E", 400, "iaf_psc_exp", params=dict(V_m=Normal(-60, 5), tau_syn_ex=0.5, tau_syn_in=0.5,
                                                            C_m=Uniform(200, 300)))
    net.add_population("I", 100, "iaf_psc_delta", params=dict(V_m=Uniform(-70, -56)))
    net.add_population("P", 30, "poisson_source", params=dict(rate=20.0, start=10.0, stop=250.0))
    net.add_population("G", 3, "spike_generator", spike_times=[[5.0, 50.0], [20.0], [100.0, 100.1, 180.0]])
    net.connect("E", "E", FixedTotalNumber(16000), weight=Normal(40, 4, 0, 1e9), delay=Normal(1.5, 0.75, 0.05))
    net.connect("E", "I", FixedIndegree(40), weight=0.3, delay=1.0)
    net.connect("I", "E", PairwiseBernoulli(0.2), weight=-160.0, delay=Uniform(0.5, 2.0))
    net.connect("I", "I", AllToAll(allow_autapses=False), weight=-0.05, delay=0.8)
    net.connect("P", "E", FixedIndegree(5), weight=100.0, delay=2.0)
    net.connect("G", "I", AllToAll(), weight=2.0, delay=0.3)
    net.connect("E", "E", OneToOne(), weight=5.0, delay=0.1, name="self-loop")
    net.add_poisson("E", 8000.0, 30.0, 1.5)
    net.add_poisson("I", 9000.0, 0.2, 1.0)
    net.add_dc("E", 150.0)
    if record:
        net.record_spikes()
        net.record_voltage("E", [0, 1, 399], 0.5)
        net.record_voltage("I", [7], 1.0)
    return net


def _populations(*sizes, gen=0) -> Network:
    """Populations A, B, ... of iaf_psc_exp neurons with the given sizes (no projections), plus a
    population G of ``gen`` spike generators if ``gen``."""
    net = Network(0.1)
    for i, n in enumerate(sizes):
        net.add_population("ABCDEFGH"[i], n, "iaf_psc_exp")
    if gen:
        net.add_population("G", gen, "spike_generator", spike_times=[[1.0]] * gen)
    return net


def _poisson_trains(rng, n, rate_hz, t0, t1):
    """Merged Poisson trains of ``n`` neurons in [t0, t1) ms, on a 0.1 ms grid (as simulators record)."""
    times, ids = [], []
    for i in range(n):
        k = rng.poisson(rate_hz * (t1 - t0) * 1e-3)
        t = np.unique(np.round(rng.uniform(t0, t1, k), 1))
        t = t[t < t1]
        times.append(t)
        ids.append(np.full(t.size, i))
    return np.concatenate(times), np.concatenate(ids)


def _write_run(path, pops, t_sim=2000.0, complete=True, sorting="by_time"):
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


def _direct_cvs(times, ids, size, t0, t1):
    """ISI CVs of the neurons with at least 3 spikes in [t0, t1), computed directly with numpy."""
    out = []
    for n in range(size):
        t = np.sort(times[(ids == n) & (times >= t0) & (times < t1)])
        if t.size >= 3:
            d = np.diff(t)
            out.append(np.std(d) / np.mean(d))
    return np.array(out)


def _write_nest_dir(d, pops, first_gids, t_sim=2000.0, rng=None, sidecar=True, complete=True,
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


def _run_pynn_script(tmp_path, text: str, ranks=(1, 2), timeout=300) -> list:
    """Write the PyNN script ``text`` (it saves its results to the .npz path given as its argument) and
    run it under ``mpiexec -n P python -m parsnn.pynn`` for each P of ``ranks``; the loaded results in
    that order (skips without mpiexec)."""
    if not os.path.exists(MPIEXEC):
        pytest.skip("no mpiexec next to the Python interpreter")
    script = tmp_path / "pynn_script.py"
    script.write_text(text)
    results = []
    for n in ranks:
        out = tmp_path / f"out{n}.npz"
        cmd = [MPIEXEC, "-n", str(n), sys.executable, "-m", "parsnn.pynn", str(script), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.append(dict(np.load(out)))
    return results


def _load_script(relpath: str):
    """The script ``relpath`` (relative to the repository, e.g. ``benchmarks/roofline.py``) as a module;
    its folder is put on sys.path first, so that the script's own sibling imports work."""
    path = os.path.join(ROOT, relpath)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def run_cli():
    """:func:`_run_cli`: ``parsnn run`` on several ranks through mpiexec."""
    return _run_cli


@pytest.fixture(scope="session")
def mixed_network():
    """:func:`_mixed_network`: a small network with every model, rule, distribution and device."""
    return _mixed_network


@pytest.fixture(scope="session")
def populations():
    """:func:`_populations`: populations without projections."""
    return _populations


@pytest.fixture(scope="session")
def poisson_trains():
    """:func:`_poisson_trains`: merged Poisson trains on a 0.1 ms grid."""
    return _poisson_trains


@pytest.fixture(scope="session")
def write_run():
    """:func:`_write_run`: a minimal parsnn run file."""
    return _write_run


@pytest.fixture(scope="session")
def direct_cvs():
    """:func:`_direct_cvs`: ISI CVs computed directly with numpy."""
    return _direct_cvs


@pytest.fixture(scope="session")
def write_nest_dir():
    """:func:`_write_nest_dir`: NEST-like ASCII spike output."""
    return _write_nest_dir


@pytest.fixture(scope="session")
def run_pynn_script():
    """:func:`_run_pynn_script`: a PyNN script run under mpiexec on several rank counts."""
    return _run_pynn_script


@pytest.fixture(scope="session")
def load_script():
    """:func:`_load_script`: a script of analysis/ or benchmarks/ as a module."""
    return _load_script


@pytest.fixture(scope="session")
def two_pop_run(tmp_path_factory):
    """A run file with populations E (40 neurons, 20 spikes/s) and I (10, 40 spikes/s) over 2 s;
    returns ``(path, {name: (size, times, ids)})``."""
    rng = np.random.default_rng(3)
    te, ie = _poisson_trains(rng, 40, 20.0, 0.0, 2000.0)
    ti, ii = _poisson_trains(rng, 10, 40.0, 0.0, 2000.0)
    path = str(tmp_path_factory.mktemp("run") / "run.h5")
    _write_run(path, {"E": (40, te, ie), "I": (10, ti, ii)})
    return path, {"E": (40, te, ie), "I": (10, ti, ii)}


@pytest.fixture
def pynn_sim():
    """parsnn.pynn after ``setup(timestep=0.1)``, ended afterwards (skips the test without PyNN)."""
    pytest.importorskip("pyNN")
    import parsnn.pynn as sim
    sim.setup(timestep=0.1)
    yield sim
    sim.end()
