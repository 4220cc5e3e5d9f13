"""poisson_source passes on the k spikes of a step as one event of multiplicity k, as NEST's
poisson_generator -> parrot_neuron does, and NEST delivers it as k spikes: a static target receives
weight x k, a plastic synapse is updated k times, the spike record holds k rows, and all of it is the
same for any ranks x threads.

At 20,000 spikes/s and h = 0.1 ms a source draws a mean of 2 spikes per step: 59 % of its events
have k >= 2. The references are computed independently of the kernel's multiplicity: from the
recorded rows (exact sums of w x count on an iaf_psc_delta that neither leaks nor fires) and from
spike_generators replaying the recorded rows one spike per row (k events of multiplicity 1: for a
float32 weight, w + ... + w is w x k exactly).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.network import AllToAll, Network, OneToOne

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")
H = 0.1
RATE = 20000.0
#: an iaf_psc_delta that neither leaks (exp(-h/tau_m) == 1.0) nor fires: V_m is the sum of its input
SUM_CELL = dict(E_L=0.0, V_m=0.0, V_reset=0.0, V_th=1e9, tau_m=1e300)


def _sim(net, t_sim, **kw):
    sim = Simulation(net, seed=kw.pop("seed", 3), comm=kw.pop("comm", MPI.COMM_SELF), **kw)
    sim.run(t_sim)
    return sim


def _source_net(n=10, rate=RATE):
    net = Network(H)
    net.add_population("P", n, "poisson_source", params=dict(rate=rate))
    return net


def test_spike_count_follows_the_rate():
    """Recorded spikes per expected spike ~ 1 (one spike per step at most would give (1 - e^-2) / 2 = 0.43)."""
    net = _source_net(20)
    net.record_spikes(["P"])
    sim = _sim(net, 100.0)
    times, ids = sim.spikes()["P"]
    expected = 20 * RATE * 0.1
    assert abs(times.size / expected - 1.0) < 0.03           # 3 % = 5.5 sd of the count
    _, mult = np.unique(np.stack([np.rint(times / H), ids]), axis=1, return_counts=True)
    assert (mult >= 2).mean() > 0.5 and mult.max() >= 5      # rows repeat: k rows for multiplicity k
    counts = sim.performance()["spike_counts"]
    assert int(counts[0]) == times.size                       # the engine's count counts k too


def test_spike_record_grows_inside_an_interval():
    """A source of 100 spikes per step: an interval's rows exceed what the record reserves per
    interval (one row per recorded node and step), so it grows inside the step loop."""
    net = _source_net(1, rate=1e6)
    net.record_spikes(["P"])
    sim = _sim(net, 5.0, flush_ms=1e6)
    times, _ = sim.spikes()["P"]
    assert abs(times.size - 5000) < 5 * np.sqrt(5000)
    steps, mult = np.unique(np.rint(times / H), return_counts=True)
    assert steps.size == 50 and mult.min() > 50
    assert sim.recorder.rec_step.shape[0] >= times.size > 1024        # beyond the first buffer


def test_targets_receive_weight_times_multiplicity():
    """V_m of a non-leaky, non-firing iaf_psc_delta = 0.5 mV x the recorded rows of its source that
    arrived, exactly; through a static and an stdp_synapse (weight 0.5 = Wmax: no post spikes, so
    every update keeps it 0.5)."""
    n, delay = 10, 1.0
    net = _source_net(n)
    net.add_population("D", n, "iaf_psc_delta", params=SUM_CELL)
    net.add_population("S", n, "iaf_psc_delta", params=SUM_CELL)
    net.connect("P", "D", OneToOne(), weight=0.5, delay=delay)
    net.connect("P", "S", OneToOne(), weight=0.5, delay=delay, synapse_model="stdp_synapse",
                synapse_params=dict(Wmax=0.5))
    net.record_spikes(["P"])
    net.record_voltage("D", range(n), H)
    net.record_voltage("S", range(n), H)
    sim = _sim(net, 50.0)
    times, ids = sim.spikes()["P"]
    volts = sim.voltages()
    for pop in ("D", "S"):
        tv, nodes, v = volts[pop]
        for j in nodes:
            tj = np.sort(times[ids == j])
            arrived = np.searchsorted(tj, tv - delay + 1e-9, side="right")    # rows with t_spike + d <= t
            assert np.array_equal(v[:, j], 0.5 * arrived), (pop, j)
    assert np.array_equal(sim.weights()["P-S"][2], np.full(n, 0.5))


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha", "iaf_psc_delta"])
def test_multiplicity_equals_k_replayed_spikes(model):
    """Targets of a poisson_source have the V_m of targets of spike generators that replay its
    recorded rows (k spikes of multiplicity 1 in the same step), bit for bit."""
    n, t_sim = 12, 60.0
    params = {} if model != "iaf_psc_delta" else dict(V_th=-40.0)

    def net_with(source):
        net = Network(H)
        if source is None:
            net.add_population("P", n, "poisson_source", params=dict(rate=RATE))
        else:
            net.add_population("P", n, "spike_generator", spike_times=source)
        net.add_population("X", n, model, params=params)
        net.connect("P", "X", OneToOne(), weight=3.5 if model == "iaf_psc_delta" else 60.0, delay=1.2)
        net.record_spikes(["P"] if source is None else ["X"])
        net.record_voltage("X", range(n), H)
        return net
    a = _sim(net_with(None), t_sim)
    times, ids = a.spikes()["P"]
    replay = [np.sort(times[ids == j]).tolist() for j in range(n)]
    assert sum(len(t) != len(set(t)) for t in replay) == n                 # every train has repeated steps
    b = _sim(net_with(replay), t_sim)
    assert np.array_equal(a.voltages()["X"][2], b.voltages()["X"][2])


@pytest.mark.parametrize("synapse_model", ["stdp_synapse", "stdp_pl_synapse_hom"])
def test_plastic_synapses_update_once_per_spike(synapse_model):
    """NEST unrolls a multiplicity into k spikes for plastic synapses (k weight updates, Kplus + 1
    each): weights, post spikes and V_m equal those of spike generators that replay the recorded rows
    (k spikes of multiplicity 1 in the same step), bit for bit."""
    n_src, n_tgt, t_sim = 8, 6, 300.0
    params = {"Wmax": 60.0, "lambda": 0.05} if synapse_model == "stdp_synapse" else {"lambda": 0.05}

    def net_with(source):
        net = Network(H)
        if source is None:
            net.add_population("P", n_src, "poisson_source", params=dict(rate=RATE))
        else:
            net.add_population("P", n_src, "spike_generator", spike_times=source)
        net.add_population("E", n_tgt, "iaf_psc_exp", params=dict(I_e=400.0, V_m=np.linspace(-70.0, -55.0, n_tgt)))
        net.connect("P", "E", AllToAll(), weight=2.0, delay=1.0, synapse_model=synapse_model, synapse_params=params)
        net.record_spikes(["P", "E"] if source is None else ["E"])
        net.record_voltage("E", range(n_tgt), H)
        return net
    a = _sim(net_with(None), t_sim)
    times, ids = a.spikes()["P"]
    replay = [np.sort(times[ids == j]).tolist() for j in range(n_src)]
    assert sum(len(set(t)) for t in replay) < 0.6 * times.size             # many spikes share a step
    b = _sim(net_with(replay), t_sim)
    post_a, post_b = a.spikes()["E"], b.spikes()["E"]
    assert post_a[0].size >= 8 * n_tgt
    assert np.array_equal(post_a[0], post_b[0]) and np.array_equal(post_a[1], post_b[1])
    assert np.array_equal(a.voltages()["E"][2], b.voltages()["E"][2])
    wa, wb = a.weights()["P-E"][2], b.weights()["P-E"][2]
    assert np.abs(wa - 2.0).min() > 1e-3                                     # plasticity acted
    assert np.array_equal(wa, wb)


def test_rate_above_the_code_limit_is_refused():
    net = _source_net(2, rate=2e8)
    with pytest.raises(ParameterError, match=r"parameter rate must be <= 1e\+08 spikes/s"):
        net.validate()


# ------------------------------------------------------------------ ranks x threads
LAYOUT_SCRIPT = r'''
import sys
import numpy as np
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.network import FixedIndegree, Network, Normal, Uniform

def network():
    net = Network(0.1)
    net.add_population("P", 60, "poisson_source", params=dict(rate=np.linspace(5000.0, 30000.0, 60)))
    net.add_population("E", 160, "iaf_psc_exp", params=dict(V_m=Uniform(-70.0, -55.0)))
    net.add_population("I", 40, "iaf_psc_delta", params=dict(V_m=Uniform(-70.0, -55.0)))
    net.add_population("A", 30, "iaf_psc_alpha")
    net.connect("P", "E", FixedIndegree(4), weight=Normal(8.0, 2.0, 0.0, 1e9), delay=Uniform(0.5, 2.0))
    net.connect("P", "I", FixedIndegree(3), weight=0.4, delay=0.7)
    net.connect("P", "A", FixedIndegree(3), weight=20.0, delay=1.0, synapse_model="stdp_synapse",
                synapse_params=dict(Wmax=60.0))
    net.connect("E", "E", FixedIndegree(20), weight=30.0, delay=1.5)
    net.connect("I", "E", FixedIndegree(10), weight=-80.0, delay=0.8)
    net.connect("E", "I", FixedIndegree(20), weight=0.3, delay=1.1)
    net.record_spikes()
    net.record_voltage("E", [0, 5, 159], 0.1)
    net.record_voltage("A", [0, 29], 0.1)
    return net

sim = Simulation(network(), seed=9, comm=MPI.COMM_WORLD, threads=int(sys.argv[2]), partition=sys.argv[3],
                 exchange=sys.argv[4])
sim.build()
sim.st.par_min_updates = sim.st.par_min_events = 0
sim.run(150.0)
spikes, volts, weights = sim.spikes(), sim.voltages(), sim.weights()
if MPI.COMM_WORLD.rank == 0:
    out = {}
    for k, (t, i) in spikes.items():
        out[f"t_{k}"], out[f"i_{k}"] = t, i
    for k, v in volts.items():
        out[f"v_{k}"] = v[2]
    for k, w in weights.items():
        out[f"w_{k}"] = w[2]
    np.savez(sys.argv[1], **out)
'''


@pytest.mark.parametrize("layout", [(1, 2, "round_robin", "alltoall"), (2, 1, "round_robin", "alltoall"),
                                    (2, 2, "block", "neighbor")])
def test_ranks_x_threads_give_the_same_network(tmp_path, layout):
    """Frequent multiplicities through the exchange (alltoall and neighbourhood schemes, adaptive
    blocks), static and plastic delivery on 1-2 ranks x 1-2 threads: spikes, V_m and weights equal the
    1 x 1 run bit for bit."""
    if not os.path.exists(MPIEXEC):
        pytest.skip("no mpiexec next to the Python interpreter")
    script = tmp_path / "net.py"
    script.write_text(LAYOUT_SCRIPT)
    results = []
    for ranks, threads, part, scheme in [(1, 1, "round_robin", "alltoall"), layout]:
        out = tmp_path / f"{ranks}x{threads}_{part}_{scheme}.npz"
        cmd = [MPIEXEC, "-n", str(ranks), sys.executable, str(script), str(out), str(threads), part, scheme]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.append(dict(np.load(out)))
    ref, got = results
    assert ref["t_P"].size > 60 * 10000 * 0.15 and ref["t_E"].size > 100 and ref["t_A"].size > 10
    assert ref.keys() == got.keys()
    for key in ref:
        assert np.array_equal(ref[key], got[key]), key
