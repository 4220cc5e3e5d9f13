"""parsnn.pynn against parsnn's own API (bit-identical spikes) and across rank counts (a PyNN
script under mpiexec on 1, 2 and 3 ranks gives the same network and spikes); the
``python -m parsnn.pynn`` runner."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pyNN")

import parsnn.pynn as sim  # noqa: E402
from parsnn.engine import Simulation  # noqa: E402
from parsnn.network import FixedIndegree, Network, PairwiseBernoulli  # noqa: E402

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import pyNN.parsnn as sim        # resolved by python -m parsnn.pynn
    sim.setup(timestep=0.1, rng_seed=3)
    rng = sim.NumpyRNG(seed=8)
    E = sim.Population(160, sim.IF_curr_exp(tau_refrac=2.0, tau_m=10.0), label="E")
    I = sim.Population(40, sim.IF_curr_delta(tau_refrac=2.0), label="I")
    E.initialize(v=sim.RandomDistribution("uniform", (-65.0, -52.0), rng=rng))
    noise = sim.Population(60, sim.SpikeSourcePoisson(rate=80.0), label="noise")
    sim.Projection(noise, E, sim.FixedProbabilityConnector(0.2, rng=rng), sim.StaticSynapse(
        weight=sim.RandomDistribution("normal_clipped", mu=0.4, sigma=0.1, low=0.0, high=10.0, rng=rng), delay=1.0))
    sim.Projection(noise, I, sim.FixedNumberPreConnector(12, with_replacement=True, rng=rng),
                   sim.StaticSynapse(weight=0.6, delay=1.0))
    sim.Projection(E, I, sim.FixedTotalNumberConnector(800, rng=rng), sim.StaticSynapse(weight=0.3,
                   delay=sim.RandomDistribution("uniform", (1.0, 2.0), rng=rng)))
    sim.Projection(I, E, sim.FixedNumberPreConnector(6, rng=rng), sim.StaticSynapse(weight=-0.5, delay=1.5),
                   receptor_type="inhibitory")
    sim.Projection(E, E, sim.FixedNumberPostConnector(5, rng=rng), sim.StaticSynapse(
        weight=sim.RandomDistribution("exponential", (0.1,), rng=rng), delay=1.0))
    sim.Projection(E[:20], I[10:], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05, delay=1.2))
    ac = sim.ACSource(amplitude=0.4, offset=0.1, frequency=40.0, phase=20.0, start=20.0, stop=120.0)
    ac.inject_into(I[5:25]); ac.inject_into(E[::7])
    sim.DCSource(amplitude=0.2, start=30.0).inject_into(I[20:30])
    off_grid = sim.Population(3, sim.SpikeSourceArray(spike_times=[5.03, 17.77, 17.79, 60.01]), label="array")
    sim.Projection(off_grid, E, sim.FixedProbabilityConnector(0.5, rng=rng), sim.StaticSynapse(weight=2.0))
    E.record("spikes"); I.record(["spikes", "v"])
    sim.run(150.0)
    e, i = E.get_data().segments[0], I.get_data().segments[0]
    E.write_data(sys.argv[2])
    from mpi4py import MPI
    local = [int(s.annotations["source_index"]) for s in E.get_data(gather=False).segments[0].spiketrains]
    everyone = sorted(sum(MPI.COMM_WORLD.allgather(local), []))
    if sim.rank() == 0:
        np.savez(sys.argv[1], local=everyone, e=np.concatenate([s.magnitude for s in e.spiketrains]),
                 ne=[len(s) for s in e.spiketrains], i=np.concatenate([s.magnitude for s in i.spiketrains]),
                 v=i.analogsignals[0].magnitude)
    sim.end()
''')


def test_pynn_script_is_rank_invariant(tmp_path):
    if not os.path.exists(MPIEXEC):
        pytest.skip("no mpiexec next to the Python interpreter")
    script = tmp_path / "net.py"
    script.write_text(SCRIPT)
    results = []
    for n in (1, 2, 3):
        out, neo_file = tmp_path / f"out{n}.npz", tmp_path / f"E{n}.pkl"
        cmd = [MPIEXEC, "-n", str(n), sys.executable, "-m", "parsnn.pynn", str(script), str(out), str(neo_file)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert neo_file.exists() and not (tmp_path / f"E{n}.pkl.1").exists()     # one Neo file, from rank 0
        results.append(dict(np.load(out)))
    assert results[0]["e"].size > 100 and results[0]["i"].size > 20
    for r in results:          # gather=False: each rank the cells placed on it, together all of them once
        assert list(r["local"]) == list(range(160))
    for other in results[1:]:
        for key in ("e", "ne", "i", "v"):
            assert np.array_equal(results[0][key], other[key]), key


def test_pynn_model_equals_parsnn_model():
    """The same network through PyNN and through parsnn's Network API: bit-identical spikes."""
    sim.setup(timestep=0.1, rng_seed=21)
    E = sim.Population(100, sim.IF_curr_exp(cm=0.25, tau_m=10.0, tau_syn_E=0.5, tau_syn_I=0.5, v_rest=-65.0,
                                            v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0, i_offset=0.3),
                       label="E")
    E.initialize(v=-60.0)
    P = sim.Population(50, sim.SpikeSourcePoisson(rate=100.0), label="P")
    sim.Projection(P, E, sim.FixedNumberPreConnector(10, with_replacement=True), sim.StaticSynapse(
        weight=0.3, delay=1.0), label="P->E")
    sim.Projection(E, E, sim.FixedProbabilityConnector(0.1), sim.StaticSynapse(
        weight=sim.RandomDistribution("normal", mu=-0.2, sigma=0.02), delay=1.5),
        receptor_type="inhibitory", label="E->E")
    E.record("spikes")
    sim.run(200.0)
    trains = E.get_data().segments[0].spiketrains
    pynn_spikes = sorted((float(t), k) for k, s in enumerate(trains) for t in s.magnitude)
    sim.end()

    from parsnn.network import Normal
    net = Network(0.1)
    net.add_population("E", 100, "iaf_psc_exp", dict(C_m=250.0, tau_m=10.0, tau_syn_ex=0.5, tau_syn_in=0.5,
                                                      E_L=-65.0, V_reset=-65.0, V_th=-50.0, t_ref=2.0, I_e=300.0,
                                                      V_m=-60.0))
    net.add_population("P", 50, "poisson_source", dict(rate=100.0, start=0.0, stop=1e10))
    net.connect("P", "E", FixedIndegree(10), weight=300.0, delay=1.0, name="P->E")
    net.connect("E", "E", PairwiseBernoulli(0.1), weight=Normal(-200.0, 20.0), delay=1.5, name="E->E")
    net.record_spikes(["E"])
    s = Simulation(net, seed=21)
    s.run(200.0)
    times, ids = s.spikes()["E"]
    assert len(pynn_spikes) > 50
    assert pynn_spikes == sorted(zip(times.tolist(), ids.tolist()))


def test_runner_help_and_missing_pynn_backend_module():
    proc = subprocess.run([sys.executable, "-m", "parsnn.pynn", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "pyNN.parsnn" in proc.stdout


def test_pd14_written_in_pynn_equals_parsnn_pd14():
    """scripts/pynn_pd14.py (PD14 in PyNN) gives exactly the spikes of parsnn's own pd14 model."""
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("pynn_pd14", os.path.join(root, "scripts", "pynn_pd14.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from models import pd14
    sim.setup(timestep=0.1, rng_seed=77)
    pops = script.build(sim, 0.02, 0.1)
    sim.run(300.0)
    ours = {}
    for name, pop in pops.items():
        trains = pop.get_data().segments[0].spiketrains
        ours[name] = sorted((float(t), k) for k, s in enumerate(trains) for t in s.magnitude)
    sim.end()
    s = Simulation(pd14.build_network(n_scaling=0.02), seed=77)
    s.run(300.0)
    theirs = {name: sorted(zip(t.tolist(), i.tolist())) for name, (t, i) in s.spikes().items()}
    assert sum(map(len, ours.values())) > 500
    assert ours == theirs


def test_setup_runfile_writes_parsnns_run_file(tmp_path):
    """setup(runfile=...) writes parsnn's SONATA run file (through its writer), completed by end()."""
    from parsnn.runfile.reader import RunFile
    path = tmp_path / "run.h5"
    sim.setup(timestep=0.1, rng_seed=4, runfile=str(path))
    E = sim.Population(20, sim.IF_curr_exp(i_offset=1.0), label="E")
    E.record("spikes")
    sim.run(100.0)
    trains = E.get_data().segments[0].spiketrains
    sim.end()
    with RunFile(str(path)) as rf:
        assert rf.complete and rf.seed == 4 and rf.model == "pynn"
        times, ids = rf.spikes("E")["E"]
    ours = sorted((float(t), k) for k, s in enumerate(trains) for t in s.magnitude)
    assert len(ours) > 20 and ours == sorted(zip(np.asarray(times).tolist(), np.asarray(ids).tolist()))


UPDATE_SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import pyNN.parsnn as sim
    from pyNN.parameters import Sequence
    sim.setup(timestep=0.1, rng_seed=5)
    src = sim.Population(6, sim.SpikeSourceArray(spike_times=[2.0, 30.0]), label="src")
    cells = sim.Population(40, sim.IF_curr_exp(), label="cells")
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=2)),
                   sim.StaticSynapse(weight=2.5, delay=0.5))
    src.record("spikes"); cells.record(["spikes", "v"])
    sim.run(10.0)
    offset = 0.0 if sim.rank() == 0 else 3.3          # rank 0's times are the ones used, on every rank
    src.set(spike_times=[Sequence(np.arange(10.5 + offset + i, 40.0, 2.0 + i)) for i in range(6)])
    sim.run(20.0)
    src[2:4].set(spike_times=Sequence([31.0, 31.0, 33.33]))
    sim.run(20.0)
    s, c = src.get_data().segments[0], cells.get_data().segments[0]
    if sim.rank() == 0:
        np.savez(sys.argv[1], src=np.concatenate([t.magnitude for t in s.spiketrains]),
                 cells=np.concatenate([t.magnitude for t in c.spiketrains]), n=[len(t) for t in c.spiketrains],
                 v=c.analogsignals[0].magnitude)
    sim.end()
''')


def test_spike_source_array_set_between_runs_is_rank_invariant(tmp_path, run_pynn_script):
    """SpikeSourceArray.set(spike_times=...) between runs (the whole population and a view) on 1 and
    2 ranks: the same source and target spikes and V_m; rank 0's values hold on every rank."""
    results = run_pynn_script(tmp_path, UPDATE_SCRIPT)
    one, two = results
    assert one["cells"].size > 40 and 33.4 in one["src"].tolist() and 30.0 not in one["src"].tolist()
    for key in ("src", "cells", "n", "v"):
        assert np.array_equal(one[key], two[key]), key
