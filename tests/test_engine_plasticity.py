"""STDP synapses (parsnn.engine.plasticity, cython/plastic.h): hand-worked spike pairs for both rules,
NEST's algorithm on irregular trains, rank and partition invariance of spikes and weights, and
bad parameters rejected (see tests/plastic_scenarios.py for how spike times are forced)."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import plastic_scenarios as sc
from parsnn import Network, ParameterError
from parsnn.network import AllToAll, Normal

TAU_M = 20.0   # tau_minus of the post neuron


def e(x):
    return math.exp(x)


def test_first_pre_spike_leaves_the_weight():
    post, w = sc.single_synapse("stdp_synapse", {"lambda": 0.1}, 10.0, 1.0, [10.0], [])
    assert post.size == 0 and w[12.0] == 10.0


def test_potentiation_stdp_synapse():
    """pre 10, post 15, pre 40 (d = 1): facilitation with Kplus(10) = 1 decayed over 15 + 1 - 10 ms,
    then depression with the post trace at 39 - 15 ms."""
    lam, wmax = 0.1, 100.0
    post, w = sc.single_synapse("stdp_synapse", {"lambda": lam}, 10.0, 1.0, [10.0, 40.0], [15.0], weights_at=[30.0])
    assert list(post) == [15.0]
    assert w[30.0] == 10.0                       # nothing happens before the second pre spike arrives
    x = 10.0 / wmax + lam * (1 - 10.0 / wmax) * e(-6.0 / 20.0)
    x = x - lam * x * e(-24.0 / TAU_M)
    assert w[42.0] == pytest.approx(x * wmax, rel=1e-13)
    assert w[42.0] > 10.0


def test_depression_stdp_synapse():
    """post 5, pre 10 (d = 1): depression by the post trace e^{-4/tau_minus} at 9 ms."""
    post, w = sc.single_synapse("stdp_synapse", {"lambda": 0.1, "alpha": 1.5}, 10.0, 1.0, [10.0], [5.0])
    assert w[12.0] == pytest.approx(100.0 * (0.1 - 1.5 * 0.1 * 0.1 * e(-4.0 / TAU_M)), rel=1e-13)


def test_dendritic_delay():
    """With d = 3 a post spike at 8 follows the pre spike at 10 on the dendrite (8 > 10 - 3): it
    potentiates at the next pre spike (with Kplus decayed over 8 + 3 - 10 = 1 ms) instead of depressing."""
    lam = 0.1
    post, w = sc.single_synapse("stdp_synapse", {"lambda": lam}, 10.0, 3.0, [10.0, 30.0], [8.0], weights_at=[15.0])
    assert list(post) == [8.0] and w[15.0] == 10.0
    x = 0.1 + lam * 0.9 * e(-1.0 / 20.0)
    x = x - lam * x * e(-19.0 / TAU_M)
    assert w[34.0] == pytest.approx(100.0 * x, rel=1e-13)
    # with d = 1 the same post spike comes 1 ms before the pre spike reaches the dendrite: depression
    _, w1 = sc.single_synapse("stdp_synapse", {"lambda": lam}, 10.0, 1.0, [10.0], [8.0])
    assert w1[12.0] == pytest.approx(100.0 * (0.1 - lam * 0.1 * e(-1.0 / TAU_M)), rel=1e-13)


def test_wmax_clipping():
    post, w = sc.single_synapse("stdp_synapse", {"lambda": 5.0, "Wmax": 50.0, "alpha": 0.0}, 10.0, 1.0,
                                [10.0, 40.0], [12.0, 13.0])
    assert w[42.0] == 50.0


def test_several_pre_spikes_between_post_spikes():
    """pre 10, 20, 30; post 35; pre 50: Kplus(30) = (e^{-1/2} + 1) e^{-1/2} + 1 (tau_plus 20),
    decayed over 35 + 1 - 30 ms; the earlier pre spikes see no post spike."""
    lam = 0.1
    post, w = sc.single_synapse("stdp_synapse", {"lambda": lam}, 10.0, 1.0, [10.0, 20.0, 30.0, 50.0], [35.0],
                                weights_at=[32.0])
    assert w[32.0] == 10.0
    kplus = (e(-0.5) + 1.0) * e(-0.5) + 1.0
    x = 0.1 + lam * 0.9 * kplus * e(-6.0 / 20.0)
    x = x - lam * x * e(-14.0 / TAU_M)
    assert w[52.0] == pytest.approx(100.0 * x, rel=1e-13)


def test_power_law_rule():
    """stdp_pl_synapse_hom: w + lambda w^mu Kplus e^{..}, then w (1 - lambda alpha Kminus)."""
    p = {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}
    post, w = sc.single_synapse("stdp_pl_synapse_hom", p, 45.61, 1.5, [10.0, 40.0], [15.0, 20.0], tau_minus=30.0)
    w1 = 45.61 + 0.1 * 45.61 ** 0.4 * e(-6.5 / 15.0)
    w1 = w1 + 0.1 * w1 ** 0.4 * e(-11.5 / 15.0)
    km = (e(-5.0 / 30.0) + 1.0) * e(-(38.5 - 20.0) / 30.0)
    assert w[42.5] == pytest.approx(w1 * (1 - 0.1 * 0.0513 * km), rel=1e-13)


@pytest.mark.parametrize("model,params", [
    ("stdp_synapse", {"lambda": 0.05, "mu_plus": 0.4, "mu_minus": 0.7, "alpha": 1.2, "Wmax": 60.0}),
    ("stdp_pl_synapse_hom", {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}),
])
@pytest.mark.parametrize("delay", [0.1, 1.5, 4.0])
def test_irregular_trains_follow_nests_algorithm(model, params, delay):
    rng = np.random.default_rng(3)
    pre = np.unique(np.round(rng.uniform(1.0, 300.0, 60), 1)).tolist()
    post = np.unique(np.round(rng.uniform(1.0, 300.0, 45), 1)).tolist()
    ref = sc.nest_rule(model, params, 20.0, delay, pre, post, tau_minus=25.0)
    got_post, w = sc.single_synapse(model, params, 20.0, delay, pre, post, tau_minus=25.0,
                                    weights_at=pre[:-1])     # the spike at t is delivered by then
    np.testing.assert_allclose(got_post, post, rtol=0, atol=1e-9)
    np.testing.assert_allclose(list(w.values()), ref, rtol=1e-12)
    assert len(set(np.round(ref, 9))) > 20         # the weight moves


@pytest.mark.parametrize("model,params", [
    ("stdp_synapse", {"lambda": 0.05, "mu_plus": 0.4, "mu_minus": 0.7, "alpha": 1.2, "Wmax": 60.0, "tau_plus": 17.0}),
    ("stdp_synapse", {"lambda": 2.0, "alpha": 0.2, "Wmax": 24.0}),            # clipped at 0 (most spikes) and Wmax
    ("stdp_pl_synapse_hom", {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}),
])
@pytest.mark.parametrize("delay", [0.1, 1.5, 4.0])
def test_weights_match_nest(model, params, delay):
    """The weight after every presynaptic spike agrees with NEST within 1e-9 (skipped without NEST)."""
    pytest.importorskip("nest")
    rng = np.random.default_rng(5)
    pre = (np.unique(np.round(rng.uniform(2.0, 400.0, 40))) / 2.0).tolist()     # 0.5 ms apart at least
    post = np.unique(np.round(rng.uniform(1.0, 200.0, 30), 1)).tolist()
    at = [t + 0.1 for t in pre]       # NEST delivers a spike one step later than parsnn: both have it then
    nest_post, nest_w = sc.nest_single_synapse(model, params, 20.0, delay, pre, post, tau_minus=25.0, weights_at=at)
    got_post, got_w = sc.single_synapse(model, params, 20.0, delay, pre, post, tau_minus=25.0, weights_at=at[:-1],
                                        t_sim=at[-1])
    np.testing.assert_allclose(got_post, nest_post, rtol=0, atol=1e-9)
    np.testing.assert_allclose(list(got_w.values()), nest_w, rtol=0, atol=1e-9)
    assert len(set(np.round(nest_w, 9))) > 5          # the weight moves


def _post_every_ms(n_post: int):
    """``n_post`` neurons "n" kicked to spike at 1, 2, .., 500 ms, each with one stdp_synapse (delay 1.5 ms) from a
    source "pre" spiking every 10 ms (10 .. 500 ms); spikes of "n" recorded."""
    import parsnn.network as pn
    net = pn.Network(0.1)
    net.add_population("pre", 1, "spike_generator", spike_times=[[10.0 * k for k in range(1, 51)]])
    net.add_population("kick", 1, "spike_generator", spike_times=[[k - 0.1 for k in range(1, 501)]])
    net.add_population("n", n_post, "iaf_psc_delta",
                       params=dict(t_ref=0.0, E_L=0.0, V_reset=0.0, V_th=1000.0, V_m=0.0))
    net.connect("kick", "n", pn.AllToAll(), weight=5000.0, delay=0.1)
    net.connect("pre", "n", pn.AllToAll(), weight=10.0, delay=1.5, synapse_model="stdp_synapse")
    net.record_spikes(["n"])
    return net


def test_archive_stays_bounded():
    """500 post spikes (one per ms) and a pre spike every 10 ms: the archive keeps only the entries
    a later read can need (NEST's pruning), not the whole history."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    sim = Simulation(_post_every_ms(1), seed=1, comm=MPI.COMM_SELF)
    sim.run(505.0)
    assert sim.spikes()["n"][0].size == 500
    counts, t, _, reads = sim.plastic.state.history()
    assert 1 <= counts[sim.plastic.local.tolist().index(2)] <= 15
    assert t.max() == 5000 and np.all(reads[:-5] <= 1)


def _run_script(tmp_path, nranks, partition, *mode, threads=1):
    """plastic_scenarios.main on ``nranks`` ranks of ``threads`` threads; its output as a dict."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        pytest.skip("no mpiexec next to the Python interpreter")
    mode = (*mode, f"threads={threads}")
    out = tmp_path / f"p{nranks}_{partition}_{'_'.join(mode)}.npz".replace("/", "")
    script = os.path.join(os.path.dirname(__file__), "plastic_scenarios.py")
    proc = subprocess.run([mpiexec, "-n", str(nranks), sys.executable, script, str(out), partition, *mode],
                          timeout=300, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(np.load(out))


def test_spikes_and_weights_do_not_depend_on_ranks_or_partition(tmp_path):
    ref = _run_script(tmp_path, 1, "round_robin")
    assert ref["spikes/E/t"].size > 200
    w = ref["w/E-E/w"]
    assert np.count_nonzero(w != 45.61) > 0.5 * w.size          # the weights moved
    for nranks, partition, threads in [(2, "round_robin", 1), (2, "block", 1), (3, "round_robin", 1),
                                       (3, "population", 1), (1, "round_robin", 2), (1, "round_robin", 3),
                                       (2, "block", 2), (3, "population", 2)]:
        got = _run_script(tmp_path, nranks, partition, threads=threads)
        assert set(got) == set(ref)
        for key in ref:
            assert np.array_equal(ref[key], got[key]), f"{key} differs on {nranks} ranks x {threads} threads, {partition}"


def test_checkpoint_resume_is_bit_identical(tmp_path):
    """Weights, Kplus, the archives and alpha currents go through the checkpoint: 1 rank saves at
    100 ms, 2 and 3 ranks of 1 or 2 threads continue (and 1 rank of 1 thread from a checkpoint of 2
    ranks x 2 threads); spikes after 100 ms and the final weights are the full run's."""
    full = _run_script(tmp_path, 1, "round_robin", "full")
    ckpt = str(tmp_path / "plastic.ckpt.h5")
    _run_script(tmp_path, 1, "round_robin", "save", ckpt)
    ckpt22 = str(tmp_path / "plastic22.ckpt.h5")
    _run_script(tmp_path, 2, "block", "save", ckpt22, threads=2)
    for nranks, partition, threads, path in [(2, "block", 1, ckpt), (3, "round_robin", 1, ckpt),
                                             (1, "round_robin", 2, ckpt), (2, "population", 2, ckpt),
                                             (1, "round_robin", 1, ckpt22)]:
        got = _run_script(tmp_path, nranks, partition, "resume", path, threads=threads)
        for key in full:
            ref = full[key]
            if key.startswith("spikes/"):
                t = full[key.rsplit("/", 1)[0] + "/t"]
                ref = ref[t > 100.0]
            assert np.array_equal(ref, got[key]), f"{key} differs after resuming on {nranks} x {threads}"


@pytest.mark.parametrize("model,params,weight,match", [
    ("stdp_synapse", {"tau_plus": 0.0}, 1.0, "synapse parameter tau_plus must be > 0"),
    ("stdp_synapse", {"lambda": -0.1}, 1.0, "synapse parameter lambda must be >= 0"),
    ("stdp_synapse", {"Wmax": 10.0}, -1.0, "the weights and Wmax must have the same sign"),
    ("stdp_synapse", {"Wmax": 10.0}, Normal(1.0, 1.0), "the weights and Wmax must have the same sign"),
    ("stdp_synapse", {"mu": 0.4}, 1.0, "synapse model stdp_synapse has no parameter 'mu'; known: tau_plus"),
    ("stdp_pl_synapse_hom", {"mu": -1.0}, 1.0, "synapse parameter mu must be >= 0"),
    ("stdp_pl_synapse_hom", {}, -5.0, "stdp_pl_synapse_hom needs weights >= 0"),
    ("stdp_pl_synapse_hom", {"alpha": "x"}, 1.0, "synapse parameter alpha must be a finite number"),
    ("stdp_synaps", {}, 1.0, "unknown synapse model 'stdp_synaps'; known: static_synapse, stdp_synapse"),
    ("static_synapse", {"tau_plus": 1.0}, 1.0, "synapse model static_synapse has no parameter 'tau_plus'"),
])
def test_bad_parameters_rejected(model, params, weight, match):
    net = Network(0.1)
    net.add_population("A", 2, "iaf_psc_alpha")
    net.connect("A", "A", AllToAll(), weight=weight, synapse_model=model, synapse_params=params)
    with pytest.raises(ParameterError, match=match):
        net.validate()


def test_plastic_target_needs_a_trace():
    net = Network(0.1)
    net.add_population("A", 2, "iaf_psc_alpha")
    net.add_population("G", 1, "spike_generator", spike_times=[[1.0]])
    net.connect("G", "A", AllToAll(), synapse_model="stdp_synapse")
    net.validate()
    net.populations["A"].params["tau_minus"] = -3.0
    with pytest.raises(ParameterError, match="parameter tau_minus must be > 0"):
        net.validate()


def test_one_plastic_projection_per_population_pair():
    net = Network(0.1)
    net.add_population("A", 2, "iaf_psc_alpha")
    net.connect("A", "A", AllToAll(), synapse_model="stdp_synapse")
    net.connect("A", "A", AllToAll(), weight=2.0)
    net.validate()
    net.connect("A", "A", AllToAll(), synapse_model="stdp_pl_synapse_hom", name="again")
    with pytest.raises(ParameterError, match="projection 'again': a second plastic projection from 'A' to 'A'"):
        net.validate()


def test_plastic_rows_are_split_by_owning_thread():
    """With 3 threads every plastic row is split into 3 sub-rows holding the synapses onto each
    thread's own neurons, consecutive slices of the row, so every row holds the synapses (targets,
    weights, delays) of 1 thread's, each thread's in the same order (the threads' parts are cut on
    16-neuron lines: decomposition.thread_owners); the sub-rows of an explicit list too."""
    from mpi4py import MPI

    from parsnn import Network
    from parsnn.engine import Simulation
    from parsnn.network import FixedIndegree, FromList
    stores = {}
    for threads in (1, 3):
        net = Network(resolution=0.1)
        net.add_population("E", 36, "iaf_psc_alpha")     # 3 threads: blocks cut at 16 or 32 and at 48
        net.add_population("F", 36, "iaf_psc_alpha")     # local 36 .. 71: F's 1, 2 on thread 1, 14 on 2
        net.connect("E", "E", FixedIndegree(4), weight=10.0, delay=1.0, synapse_model="stdp_synapse",
                    synapse_params={"Wmax": 100.0})
        net.connect("E", "F", FromList([3, 3, 0, 5], [14, 1, 2, 1], [1.0, 2.0, 3.0, 4.0], [1.0, 1.5, 2.0, 1.0]),
                    synapse_model="stdp_synapse", synapse_params={"Wmax": 100.0})
        sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, threads=threads, thread_owners="major")   # the cuts above
        sim.build()
        stores[threads] = sim
    one, three = stores[1].plastic.arrays, stores[3].plastic.arrays
    owner = np.asarray(stores[3].st.owner)
    assert np.array_equal(one["ptr"][one["row_off"]], three["ptr"][three["row_off"]])
    for j, nsrc in enumerate(three["nsrc"]):
        for s in range(nsrc):               # row s: 1 thread's synapses, grouped by owner (stable)
            a, b = one["ptr"][one["row_off"][j] + s], one["ptr"][one["row_off"][j] + s + 1]
            order = np.argsort(owner[one["tgt"][a:b].astype(np.int64)], kind="stable")
            for key in ("tgt", "w"):
                assert np.array_equal(one[key][a:b][order], three[key][a:b]), key
    assert np.array_equal(np.sort(one["d"]), np.sort(three["d"]))
    ptr, row_off = three["ptr"], three["row_off"]
    for j, nsrc in enumerate(three["nsrc"]):
        for s in range(nsrc):
            for th in range(3):
                sub = three["tgt"][ptr[row_off[j] + 3 * s + th]:ptr[row_off[j] + 3 * s + th + 1]]
                assert np.all(owner[sub.astype(np.int64)] == th)
        assert np.array_equal(stores[3].plastic.row_ptr(j), stores[1].plastic.row_ptr(j))
    assert {len(set(owner[three["tgt"][ptr[row_off[1] + 3 * 3]:ptr[row_off[1] + 3 * 4]].astype(np.int64)]))} == {2}


def test_plastic_explicit_list_equals_the_same_synapses_by_rule():
    """A plastic FromList listing every pair (in shuffled order) gives the spikes and weights of the
    same plastic AllToAll projection, bit for bit."""
    from parsnn.engine import Simulation
    from parsnn.network import FromList

    def run(rule):
        net = Network(0.1)
        net.add_population("P", 12, "poisson_source", dict(rate=60.0, start=0.0, stop=1e10))
        net.add_population("A", 6, "iaf_psc_alpha", dict(I_e=360.0))
        net.connect("P", "A", rule, weight=80.0, delay=1.2, synapse_model="stdp_synapse",
                    synapse_params={"lambda": 0.05, "alpha": 1.1, "Wmax": 300.0})
        net.record_spikes(["A"])
        sim = Simulation(net, seed=4)
        sim.run(300.0)
        return sim.spikes()["A"], sim.weights()["P-A"]

    pre, post = np.meshgrid(np.arange(12), np.arange(6), indexing="ij")
    order = np.random.default_rng(1).permutation(pre.size)
    by_list = run(FromList(pre.ravel()[order], post.ravel()[order], np.full(pre.size, 80.0), np.full(pre.size, 1.2)))
    by_rule = run(AllToAll())
    assert by_rule[0][0].size > 20 and not np.all(by_rule[1][2] == 80.0)
    for a, b in zip(by_list[0] + by_list[1], by_rule[0] + by_rule[1]):
        assert np.array_equal(a, b)


def test_network_matches_nest(load_script):
    """A recurrent iaf_psc_alpha network with power-law STDP on E->E, all randomness frozen
    (analysis/nest_frozen_network.py): the same spikes as NEST and the same final weights within
    1e-9 pA, except for synapses whose source spiked in the run's last min_delay (NEST delivers
    those spikes only in its next slice). Skipped without NEST."""
    pytest.importorskip("nest")
    fz = load_script("analysis/nest_frozen_network.py")
    n, init, conns = fz.frozen(2)
    sp_p, w_p = fz.run_parsnn(n, init, conns, 400.0)
    sp_n, w_n = fz.run_nest(n, init, conns, 400.0)
    for k in ("E", "I"):
        (tp, ip), (tn, i_n) = fz.canonical(sp_p[k]), fz.canonical(sp_n[k])
        assert tp.size > 100 and tp.size == tn.size
        np.testing.assert_array_equal(ip, i_n)
        np.testing.assert_allclose(tp, tn, rtol=0, atol=1e-9)
    op, on = np.lexsort((w_p[2], w_p[1], w_p[0])), np.lexsort((w_n[2], w_n[1], w_n[0]))
    np.testing.assert_array_equal(w_p[0][op], w_n[0][on])
    np.testing.assert_array_equal(w_p[1][op], w_n[1][on])
    late = np.isin(w_n[0][on], sp_n["E"][1][sp_n["E"][0] > 400.0 - 1.0 - 1e-9])
    assert (~late).sum() > 5000 and np.median(np.abs(w_n[2] - fz.J)) > 1e-3   # the weights moved
    np.testing.assert_allclose(w_p[2][op][~late], w_n[2][on][~late], rtol=0, atol=1e-9)


@pytest.mark.parametrize("model,params", [
    ("stdp_pl_synapse_hom", {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}),
    ("stdp_synapse", {"lambda": 0.05, "mu_plus": 0.4, "mu_minus": 0.7, "alpha": 1.2, "Wmax": 60.0}),
])
@pytest.mark.parametrize("delays", ["one", "several"])
def test_long_rows_follow_nests_algorithm_per_synapse(model, params, delays):
    """Rows of 660 synapses (several of the kernel's chunks; multapses; one delay, or one per
    synapse) from 3 sources onto 600 neurons, each forced to its own spike train: every final
    weight is NEST's algorithm for its own pair of trains (rtol 1e-12), and 2 threads (each row split
    in two) give the weights of 1 thread bit for bit."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    rng = np.random.default_rng(11)
    n_src, n_post, tau_minus = 3, 600, 25.0
    pre = [np.unique(np.round(rng.uniform(1.0, 250.0, 30), 1)).tolist() for _ in range(n_src)]
    post = [np.unique(np.round(rng.uniform(1.0, 250.0, 12), 1)).tolist() for _ in range(n_post)]
    choices = [0.5, 1.0, 1.5, 2.3] if delays == "several" else [1.5]
    src, tgt, dly = [], [], []
    for s in range(n_src):
        for t in list(range(n_post)) + list(range(0, 120, 2)):     # 60 multapses per source
            src.append(s)
            tgt.append(t)
            dly.append(choices[(7 * s + t) % len(choices)])
    got = {}
    for threads in (1, 2):
        net = pn.Network(sc.H)
        net.add_population("pre", n_src, "spike_generator", spike_times=pre)
        net.add_population("kick", n_post, "spike_generator", spike_times=[[round(t - sc.H, 10) for t in p] for p in post])
        net.add_population("n", n_post, "iaf_psc_delta", params=dict(tau_minus=tau_minus, t_ref=0.0, E_L=0.0,
                                                                     V_reset=0.0, V_th=1000.0, V_m=0.0))
        net.connect("kick", "n", pn.OneToOne(), weight=5000.0, delay=sc.H)
        net.connect("pre", "n", pn.FromList(src, tgt, [20.0] * len(src), dly), synapse_model=model,
                    synapse_params=params)
        sim = Simulation(net, seed=1, comm=MPI.COMM_SELF, threads=threads)
        sim.build()
        sim.st.par_min_updates = sim.st.par_min_events = 0
        sim.run(260.0)
        got[threads] = sim.weights()["pre-n"]
    s_ids, t_ids, w = got[1]
    assert w.size == len(src) and np.array_equal(got[2][2].view(np.uint64), w.view(np.uint64))
    delay_of = {(s, t): d for s, t, d in zip(src, tgt, dly)}
    ref = {}
    for s, t in set(zip(s_ids.tolist(), t_ids.tolist())):
        ref[(s, t)] = sc.nest_rule(model, params, 20.0, delay_of[(s, t)], pre[s], post[t], tau_minus=tau_minus)[-1]
    expect = np.array([ref[(s, t)] for s, t in zip(s_ids.tolist(), t_ids.tolist())])
    np.testing.assert_allclose(w, expect, rtol=1e-12)
    assert len(set(np.round(w, 9))) > 500           # the weights moved, each its own way


@pytest.mark.parametrize("t_sim,kicks,pre,stamps", [
    (15.0, [2.9, 5.9], [10.0], [30, 60]),                 # one pre spike reads both post spikes
    (25.0, [2.9, 5.9, 11.9], [10.0, 20.0], [60, 120]),    # then one more post spike and one more read
])
def test_archive_access_counts(t_sim, kicks, pre, stamps):
    """Every synapse's reads of the post spikes in its window are counted in the archive (also the
    reads of the newest entries, held apart until the next post spike), and fully read old entries
    are pruned: history() gives each kept entry's stamp and 3 reads, one per synapse."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    net = pn.Network(0.1)
    net.add_population("pre", 3, "spike_generator", spike_times=[pre] * 3)
    net.add_population("kick", 1, "spike_generator", spike_times=[kicks])
    net.add_population("n", 1, "iaf_psc_delta", params=dict(t_ref=0.0, E_L=0.0, V_reset=0.0, V_th=1000.0, V_m=0.0))
    net.connect("kick", "n", pn.AllToAll(), weight=5000.0, delay=0.1)
    net.connect("pre", "n", pn.AllToAll(), weight=10.0, delay=1.5, synapse_model="stdp_synapse")
    net.record_spikes(["n"])
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    sim.run(t_sim)
    assert sim.spikes()["n"][0].size == len(kicks)
    counts, t, _, reads = sim.plastic.state.history()
    assert counts.tolist() == [len(stamps)]
    assert t.tolist() == stamps and reads.tolist() == [3] * len(stamps)


def test_a_plastic_projection_with_no_synapse_on_the_rank_is_not_stored():
    """A rank whose nodes receive none of a plastic projection's synapses keeps nothing of it (no sub-row bounds,
    source traces or facilitation table: on a large sheet every rank would otherwise keep every projection's
    bounds); its weights and traces still come out of the gathers, from the ranks that hold them, as empty or zero."""
    from mpi4py import MPI
    from parsnn.engine import decomposition, plasticity
    from plastic_scenarios import plastic_network
    net = plastic_network()
    offsets = net.offsets()
    everything = np.arange(net.num_nodes, dtype=np.int64)
    only_e = np.arange(offsets["E"], offsets["E"] + net.populations["E"].size, dtype=np.int64)
    stores = {}
    for name, local in (("all", everything), ("E", only_e)):
        pop_local = decomposition.population_ranges(net, local, offsets, weighted=False)
        stores[name] = plasticity.PlasticSynapses(net, local, offsets, pop_local, 7, 0.1)
    full, e = stores["all"], stores["E"]
    keys = {k: plasticity.weight_key(net.projections[k]) for k in full.all_projections}
    assert sorted(keys.values()) == ["E-E", "E-I", "G-E"] and e.all_projections == full.all_projections
    assert [keys[k] for k in e.projections] == ["E-E", "G-E"] and e.active     # E-I: no target here
    # the kept projections are stored exactly as on the rank that has them all
    for j, k in enumerate(e.projections):
        jf = full.projections.index(k)
        assert np.array_equal(e.row_ptr(j) - e.row_ptr(j)[0], full.row_ptr(jf) - full.row_ptr(jf)[0])
        assert np.array_equal(e.local_weights(j)[2], full.local_weights(jf)[2])
    nsrc_e = net.populations["E"].size
    assert e.arrays["ptr"].size == full.arrays["ptr"].size - (nsrc_e + 1)          # E-I's bounds are gone
    assert e.arrays["kplus"].size == full.arrays["kplus"].size - nsrc_e
    assert e.memory()["per_projection"] < full.memory()["per_projection"]
    e.attach(type("St", (), {})(), 10)                 # the kernel's store with two projections
    got = plasticity.gather_weights(e, MPI.COMM_SELF)
    assert set(got) == set(keys.values()) and all(x.size == 0 for x in got["E-I"])
    assert got["E-E"][2].size == full.local_weights(full.projections.index(e.projections[0]))[2].size
    traces = plasticity._source_traces(e, MPI.COMM_SELF)
    assert traces["E-I"][0].shape == (nsrc_e,) and not np.any(traces["E-I"][0])


@pytest.mark.parametrize("threads", [1, 2])
def test_facilitations_count_the_post_spikes_read(threads):
    """Post spikes every ms onto 3 neurons, one plastic synapse each from a source spiking every 10 ms (delay 1.5 ms):
    every post spike up to the last pre spike's time minus the dendritic delay is read once by its synapse (NEST's
    window (t_last - d, t - d] from t_last = 0), the later ones not yet; the same on any number of threads, and
    in the run's performance figures. A network without plastic synapses counts none."""
    from mpi4py import MPI

    import parsnn.network as pn
    from parsnn.engine import Simulation
    sim = Simulation(_post_every_ms(3), seed=1, comm=MPI.COMM_SELF, threads=threads)
    sim.run(505.0)
    post = sim.spikes()["n"][0]
    assert post.size == 1500
    assert sim.plastic.facilitations == int(np.count_nonzero(post <= 500.0 - 1.5)) == 3 * 498
    assert sim.performance()["plastic_facilitations"] == [3 * 498]
    # every window after the first pre spike holds 10 post spikes: more than the dense record's two newest, so the
    # history is searched: one history window per synapse and pre spike (the first, from t_last = 0, too)
    assert sim.plastic.history_windows == 3 * 50                 # 50 pre spikes (10 .. 500 ms), 3 synapses
    assert sim.performance()["plastic_history_windows"] == [3 * 50]
    static = pn.Network(0.1)
    static.add_population("pre", 1, "spike_generator", spike_times=[[1.0]])
    static.add_population("n", 1, "iaf_psc_delta")
    static.connect("pre", "n", pn.AllToAll(), weight=10.0, delay=1.5)
    s2 = Simulation(static, seed=1, comm=MPI.COMM_SELF, threads=threads)
    s2.run(5.0)
    assert s2.plastic.facilitations == 0 and s2.performance()["plastic_facilitations"] == [0]
    assert s2.plastic.history_windows == 0 and s2.performance()["plastic_history_windows"] == [0]
