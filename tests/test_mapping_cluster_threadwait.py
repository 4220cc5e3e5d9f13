"""The cost model's wait for the slowest thread (parsnn/mapping/cluster/threadwait.py): the expected wait
by hand, the threads' work from the engine's owner map (so it follows a change of the rule), the
measured per-interval spike counts of a run file, and the terms in a prediction."""
import math

import numpy as np
import pytest

from parsnn.connectivity import Connectivity
from parsnn.engine import decomposition
from parsnn.mapping import cluster
from parsnn.mapping.cluster import threadwait
from parsnn.mapping.cluster.predict import predict
from parsnn.network import FixedIndegree, Network

from test_mapping_cluster import SIMPLE, _threaded_machine


def test_expected_wait_by_hand():
    # no fluctuation: thread 0 waits for the slower thread's excess, or not at all
    assert threadwait.expected_wait([1.0], [[0.0]]) == 0.0
    assert threadwait.expected_wait([2.0, 5.0], np.zeros((2, 2))) == pytest.approx(3.0)
    assert threadwait.expected_wait([5.0, 2.0], np.zeros((2, 2))) == 0.0
    assert threadwait.expected_wait([1.0, 4.0, 2.0], np.zeros((3, 3))) == pytest.approx(3.0)
    # equal means, independent noise of sigma 2 each: D has sigma 2 sqrt 2, E[max(0, D)] = 2 sqrt2 / sqrt(2π)
    assert threadwait.expected_wait([0.0, 0.0], 4.0 * np.eye(2)) == pytest.approx(2.0 / math.sqrt(math.pi))
    # a fluctuation both threads share does not make anyone wait
    assert threadwait.expected_wait([0.0, 0.0], 9.0 * np.ones((2, 2))) == pytest.approx(0.0, abs=1e-12)
    # measured shifts: two intervals, thread 1 ahead by 5 in one and behind by 5 in the other
    shifts = np.array([[0.0, 5.0], [0.0, -5.0]])
    assert threadwait.expected_wait([0.0, 0.0], np.zeros((2, 2)), shifts) == pytest.approx(2.5)
    # more threads: the fixed draws give E[max of 3 iid normals] - 0 = 0.846 sigma (within the draws' error)
    assert threadwait.expected_wait(np.zeros(3), np.eye(3)) == pytest.approx(0.8463, abs=0.05)


def test_work_covariance_by_hand():
    # 100 events split 1:3, 2 ns each, one population of 2 expected spikes per interval with 1 and 3
    # events per spike on the threads (Poisson: variance 2), relative noise 10 % of 1 us and 2 us of work
    row, C = np.array([[1.0, 3.0]]), np.array([[2.0]])
    cov = threadwait.work_covariance(row, C, [25.0, 75.0], 2e-9, [1e-6, 2e-6], sigma_rel=0.1)
    p = np.array([0.25, 0.75])
    want = 4e-18 * (2.0 * np.outer([1.0, 3.0], [1.0, 3.0]) + 100.0 * (np.diag(p) - np.outer(p, p)))
    want += np.diag([1e-14, 4e-14])
    assert cov == pytest.approx(want, rel=1e-12)


def _two_pops(n=4096, k=8, rate=100.0):
    """X (firing at ``rate``) -> B (silent), FixedIndegree ``k``; n neurons each."""
    net = Network(0.1, name="xb")
    net.add_population("X", n, "iaf_psc_exp")
    net.add_population("B", n, "iaf_psc_exp")
    net.connect("X", "B", FixedIndegree(k), weight=1.0, delay=0.1)
    net.metadata = {"expected_rates": {"X": rate, "B": 0.0}}
    return net


def _thread_major(pop_local, n, threads, items=None):
    """An owner rule for the test: population i wholly to thread i mod threads."""
    owner = np.zeros(n, dtype=np.int32)
    for i, (a, b) in enumerate(pop_local.values()):
        owner[a:b] = i % threads
    return owner, np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)


def _split(pop_local, n, threads, items=None):
    """An owner rule for the test: every population cut into ``threads`` equal consecutive parts."""
    owner = np.zeros(n, dtype=np.int32)
    for a, b in pop_local.values():
        owner[a:b] = (np.arange(b - a) * threads) // max(1, b - a)
    return owner, np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=threads))]).astype(np.int64)


def test_slot_counts_are_the_engine_owner_map():
    conn = Connectivity.from_network(_two_pops(n=1000))
    rank_of = np.arange(2000) % 2                                   # round robin on 2 ranks
    got = threadwait.slot_counts(conn, rank_of, 2, 2)
    for r in range(2):
        ranges = decomposition.PopulationRanges({"X": (0, 500), "B": (500, 1000)}, decomposition.node_weights(conn))
        owner, _ = decomposition.thread_owners(ranges, 1000, 2)
        assert got[0, 2 * r:2 * r + 2].tolist() == np.bincount(owner[:500], minlength=2).tolist()
        assert got[1, 2 * r:2 * r + 2].tolist() == np.bincount(owner[500:], minlength=2).tolist()
    assert got.sum() == 2000 and threadwait.slot_counts(conn, rank_of, 2, 1).tolist() == [[500, 500], [500, 500]]


def test_wait_follows_the_owner_map(tmp_path, monkeypatch):
    # X's spikes all land on B. With every population split between the threads (an owner rule patched in):
    # the events fluctuate alike on both, thread 0 waits only for the multinomial split (sqrt(E / 2π)).
    # Thread-major (X to thread 0, B to thread 1): thread 1 holds every event, thread 0 waits for all of
    # them (1 ns each, no fluctuation left that could make thread 1 the faster one).
    m = _threaded_machine(tmp_path)
    conn = Connectivity.from_network(_two_pops())
    E = 4096 * 8 * 100.0 * 1e-4                                     # events per interval
    monkeypatch.setattr(decomposition, "thread_owners", _split)
    split = predict(conn, 1, m, threads=2)
    assert split["per_rank"]["threads_wait"][0] == pytest.approx(math.sqrt(E / (2 * math.pi)) * 1e-9, rel=1e-6)
    assert split["phases"]["deliver"] == pytest.approx(E / 2 * 1e-9, rel=1e-3)
    monkeypatch.setattr(decomposition, "thread_owners", _thread_major)
    major = predict(conn, 1, m, threads=2)
    assert major["phases"]["deliver"] == pytest.approx(0.0, abs=1e-15)      # thread 0 owns no target
    # D = E ns + the Poisson fluctuation of X's spikes (8 events on thread 1 per spike): D > 0 almost always
    assert major["per_rank"]["threads_wait"][0] == pytest.approx(E * 1e-9, rel=1e-4)
    assert major["rtf"] > split["rtf"]


def test_measured_interval_counts_enter_the_wait(tmp_path, monkeypatch):
    # thread-major, X's measured counts: 0 spikes in three intervals, 40 in the fourth (mean 10). Thread 1
    # gets 8 events per spike: D = 8 ns x (expected 10 + (x - 10)) spikes = 0, 0, 0, 320 ns -> mean 80 ns;
    # the Poisson model of the same mean has no interval with D < 0 either: the same 80 ns
    monkeypatch.setattr(decomposition, "thread_owners", _thread_major)
    m = _threaded_machine(tmp_path)
    conn = Connectivity.from_network(_two_pops(rate=10.0 / (4096 * 1e-4)))
    x = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [40.0, 0.0]])
    got = predict(conn, 1, m, threads=2, interval_counts=x)
    assert got["per_rank"]["threads_wait"][0] == pytest.approx(80e-9, rel=1e-6)
    # with every population split in halves the same burst lands half on each thread: only the multinomial part
    monkeypatch.setattr(decomposition, "thread_owners", _split)
    even = predict(conn, 1, m, threads=2, interval_counts=x)
    assert even["per_rank"]["threads_wait"][0] == pytest.approx(math.sqrt(80.0 / (2 * math.pi)) * 1e-9, rel=1e-3)


def test_interval_spike_counts_of_a_run_file(tmp_path, mixed_network):
    from mpi4py import MPI

    from parsnn.engine import Simulation
    from parsnn.runfile import RunFile
    path = str(tmp_path / "run.h5")
    net = mixed_network()
    sim = Simulation(net, seed=5, comm=MPI.COMM_SELF, out=path)
    sim.run(50.0)
    sim.finish()
    from parsnn.mapping.cluster.runs import interval_spike_counts
    x = interval_spike_counts(path)
    with RunFile(path) as run:
        names, rec = run.connectivity().names, run.recorded_spike_counts()
        md = float(np.ravel(run.performance["min_delay_ms"])[0])
    assert x.shape == (int(round(50.0 / md)), len(names))
    for s, name in enumerate(names):
        if name in rec:
            assert x[:, s].sum() == rec[name]
    assert cluster.run_inputs(path)["interval_counts"].shape == x.shape


def test_fit_sigma_rel_by_hand():
    # two networks: 3 us and 5 us outside the timers with 2 threads (beyond 1 thread), the meeting 1 us,
    # thread 0 works 20 us and 40 us: sigma = (wait - 1) sqrt(pi) -> 2 sqrt(pi) / 20, 4 sqrt(pi) / 40
    c = {"thread_team_us": 1.0, "thread_wait_us_1": 3.0, "thread_work_us_1": 20.0,
         "thread_wait_us_2": 5.0, "thread_work_us_2": 40.0, "thread_wait_us_3": 0.5, "thread_work_us_3": 10.0}
    assert threadwait.fit_sigma_rel(c) == pytest.approx(0.1 * math.sqrt(math.pi))      # median of 0.1, 0.1, 0
    assert threadwait.fit_sigma_rel({"thread_wait_us_1": 3.0, "thread_work_us_1": 20.0}) is None
    # the fitted value makes the model give back the measured wait: E[max(0, D)] = sigma / sqrt(pi)
    sigma = 0.1 * math.sqrt(math.pi) * 20.0
    assert threadwait.expected_wait([20.0, 20.0], sigma ** 2 * np.eye(2)) == pytest.approx(2.0)


def test_noise_constants_prefer_the_measured_thread_noise(tmp_path):
    m = _threaded_machine(tmp_path)
    assert threadwait.noise_constants(m) == (0.0, 0.0)
    m.data["noise"] = {"sigma_rel": 0.1, "sigma_us": 8.0}
    assert threadwait.noise_constants(m) == (0.1, 0.0)        # no absolute part from the ranks' noise
    m.data["threads"]["sigma_rel"] = 0.05
    assert threadwait.noise_constants(m) == (0.05, 0.0)


@pytest.mark.parametrize("free_meetings", [False, True])
def test_slot_counts_match_a_built_simulation(mixed_network, monkeypatch, free_meetings):
    # the engine's own owner map of a built rank (2 threads): the model counts the same neurons per
    # population and thread; with meeting places free, the default rule "mixed" deals the blocks otherwise than
    # "major" in this network (a thread owns two parts of E), and the model follows
    from mpi4py import MPI

    import parsnn.partition.rates as rates
    from parsnn.engine import Simulation
    if free_meetings:
        monkeypatch.setattr(rates, "thread_meeting_events", lambda *a: 0.0)
    net = mixed_network(record=False)
    sim = Simulation(net, seed=5, comm=MPI.COMM_SELF, threads=2)
    sim.build()
    owner = np.asarray(sim.st.owner)
    conn = Connectivity.from_network(net)
    got = threadwait.slot_counts(conn, np.asarray(sim.rank_of), 1, 2)
    for s, name in enumerate(conn.names):
        if name in sim.pop_local:
            a, b = sim.pop_local[name]
            assert got[s].tolist() == np.bincount(owner[a:b], minlength=2).tolist(), name
    assert (np.count_nonzero(np.diff(owner)) > 1) == free_meetings         # the dealt map, or "major"'s one cut


def test_meeting_places_beyond_major_by_hand(mixed_network):
    # the update's extra for a dealt owner map: per thread, its meeting places beyond one block per thread's
    assert threadwait._meeting_places(np.array([1, 1, 0, 0, 1, 0, 0]), 2).tolist() == [3, 3]
    assert threadwait._meeting_places(np.array([0, 0, 1, 1, 2, 2]), 3).tolist() == [1, 2, 1]
    from parsnn.partition.rates import population_fluctuations
    conn = Connectivity.from_network(mixed_network(record=False))
    rank_of = np.repeat(np.where(conn.virtual, -1, 0), conn.sizes).astype(np.int32)    # every neuron on one rank
    placed = threadwait.placed_counts(conn, rank_of, 1)
    counts, extra = threadwait.rank_slot_counts(conn, placed, 0, 2, meetings=True, deal={})      # "major"'s deal
    assert extra.tolist() == [0.0, 0.0] and counts.sum() == placed.sum() - placed[conn.virtual].sum()
    free = {"fluctuation": population_fluctuations(conn), "meeting_events": 0.0}              # meetings cost nothing
    _, extra = threadwait.rank_slot_counts(conn, placed, 0, 2, meetings=True, deal=free)
    assert extra.max() >= 1                                        # the dealt map meets at more places


def test_record_shares_follow_the_owner_map(monkeypatch):
    # X (firing) -> B (silent), 4096 neurons each, on one rank: thread 0's share of the neurons and of the
    # events, which its timers hold; with every population split in halves 1/2 and 1/2, with X wholly on
    # thread 0 and B on thread 1 still 1/2 of the neurons but none of the events (all land on B)
    net = _two_pops()
    rec = {"description": net.describe(), "rank_of": [0] * net.num_nodes, "rates": {"X": 100.0, "B": 0.0}}
    monkeypatch.setattr(decomposition, "thread_owners", _split)
    assert threadwait.record_shares(rec, 2) == pytest.approx((0.5, 0.5))
    monkeypatch.setattr(decomposition, "thread_owners", _thread_major)
    assert threadwait.record_shares(rec, 2) == pytest.approx((0.5, 0.0))
    # nothing fired: the events' share falls back to 1/T
    assert threadwait.record_shares({**rec, "rates": {}}, 2) == pytest.approx((0.5, 0.5))


def test_record_shares_weigh_the_update_by_each_model_cost(monkeypatch, tmp_path):
    # 1,000 Poisson sources (24 ns per update) -> 1,000 iaf_psc_exp targets (1 ns): with the sources all on
    # thread 0 (one block per thread, as in the calibration's scatter networks) thread 0's timer holds
    # 24/25 of the update work, not the 1/2 of the neurons; without a machine every neuron weighs alike
    net = Network(0.1, name="sb")
    net.add_population("S", 1000, "poisson_source", params={"rate": 20.0})
    net.add_population("B", 1000, "iaf_psc_exp")
    net.connect("S", "B", FixedIndegree(8), weight=1.0, delay=0.1)
    rec = {"description": net.describe(), "rank_of": [0] * net.num_nodes, "rates": {"S": 20.0, "B": 0.0}}
    path = tmp_path / "m.toml"
    path.write_text(SIMPLE.format(cpn=2, upd=1.0, evt=1.0, ovh=0.0).replace("poisson_source = 1.0",
                                                                            "poisson_source = 24.0"))
    m = cluster.load_machine(str(path))
    monkeypatch.setattr(decomposition, "thread_owners", _thread_major)
    assert threadwait.record_shares(rec, 2) == pytest.approx((0.5, 0.0))
    assert threadwait.record_shares(rec, 2, m) == pytest.approx((24.0 / 25.0, 0.0))
    # the prediction's thread 0 update is the same work: slot_update_work of the owner map's counts
    conn = Connectivity.from_description(rec["description"])
    work = threadwait.slot_update_work(conn, threadwait.slot_counts(conn, np.zeros(2000, dtype=int), 1, 2), m, 3)
    assert work == pytest.approx([3 * 1000 * 24e-9, 3 * 1000 * 1e-9])
    # split halves: each thread half of either population, 1/2 however the models cost
    monkeypatch.setattr(decomposition, "thread_owners", _split)
    assert threadwait.record_shares(rec, 2, m)[0] == pytest.approx(0.5)
