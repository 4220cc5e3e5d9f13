"""Tests that run on several ranks: mpiexec -n 2|3 python -m pytest --with-mpi -m mpi tests/test_engine_exchange.py

Each test compares a distributed run on COMM_WORLD with the serial reference
computed on COMM_SELF by every rank, so the same test checks 2 and 3 ranks.
"""
import os

import numpy as np
import pytest
from mpi4py import MPI

from parsnn.network import AllToAll, Network, OneToOne
from parsnn.engine import Simulation


pytestmark = pytest.mark.mpi
SEED = 2024


def _random_partition(net, size):
    rng = np.random.default_rng(99)              # same on every rank
    return rng.integers(0, size, net.num_nodes).astype(np.int32)


def _run(net, comm, partition="round_robin", t=250.0):
    sim = Simulation(net, seed=SEED, comm=comm, partition=partition)
    sim.run(t)
    return sim


@pytest.fixture(scope="module")
def serial(mixed_network):
    return _run(mixed_network(), MPI.COMM_SELF)


@pytest.mark.parametrize("partition", ["round_robin", "block", "random"])
def test_spikes_identical_to_serial(serial, partition, mixed_network):
    comm = MPI.COMM_WORLD
    net = mixed_network()
    part = _random_partition(net, comm.size) if partition == "random" else partition
    dist = _run(net, comm, part)
    ref, got = serial.spikes(), dist.spikes()
    assert set(ref) == set(got)
    assert sum(len(t) for t, _ in ref.values()) > 500      # the network is active
    for name in ref:
        assert np.array_equal(ref[name][0], got[name][0]), name
        assert np.array_equal(ref[name][1], got[name][1]), name
    # the engine's spike counts (summed over ranks) match the recorded spikes on every rank
    counts = dist.performance()["spike_counts"]
    assert counts.tolist() == [len(got[n][0]) if n in got else 0 for n in net.populations]


def test_voltages_identical_to_serial(serial, mixed_network):
    dist = _run(mixed_network(), MPI.COMM_WORLD, "block")
    ref, got = serial.voltages(), dist.voltages()
    for name in ref:
        for a, b in zip(ref[name], got[name]):
            assert np.array_equal(a, b), name


def _synapse_table(sim):
    """All synapses of the run as a sorted (source, target, weight bits, delay) table on every rank."""
    ptr, tgt, w, d = sim._syn_arrays
    src = np.repeat(np.arange(ptr.size - 1, dtype=np.int64), np.diff(ptr))
    rows = np.stack([src, sim.local_gids[tgt].astype(np.int64), w.view(np.int32).astype(np.int64),
                     d.astype(np.int64)], axis=1)
    rows = np.concatenate(sim.comm.allgather(rows)) if sim.comm.size > 1 else rows
    return rows[np.lexsort(rows.T[::-1])]


def test_network_identical_to_serial(serial, mixed_network):
    dist = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_WORLD, partition="round_robin")
    dist.build()
    assert dist.num_synapses == serial.num_synapses
    assert np.array_equal(_synapse_table(dist), _synapse_table(serial))
    # each rank holds only synapses onto its own neurons
    ptr, tgt, _, _ = dist._syn_arrays
    assert np.all(dist.rank_of[dist.local_gids[tgt]] == dist.comm.rank)


@pytest.mark.parametrize("delay_steps", [1, 7])
def test_delay_across_ranks(delay_steps):
    """A spike emitted in step t with delay d reaches a neuron on another rank in step t + d."""
    comm = MPI.COMM_WORLD
    net = Network(0.1)
    par = dict(E_L=0.0, V_th=20.0, V_reset=0.0, V_m=0.0, tau_m=20.0, t_ref=2.0)
    net.add_population("A", 1, "iaf_psc_delta", params=par)
    net.add_population("B", 1, "iaf_psc_delta", params=par)
    net.add_population("G", 1, "spike_generator", spike_times=[[3.0]])
    net.connect("G", "A", AllToAll(), weight=50.0, delay=0.2)        # A fires at once
    net.connect("A", "B", OneToOne(), weight=1.0, delay=delay_steps * 0.1)
    net.record_spikes(["A"])
    net.record_voltage("B", [0], 0.1)
    part = np.array([0, comm.size - 1, -1], dtype=np.int32)          # A and B on different ranks
    sim = Simulation(net, seed=1, comm=comm, partition=part)
    sim.run(10.0)
    (ta, _), = sim.spikes().values()
    t_emit = int(round(ta[0] / 0.1)) - 1           # step in which A fired
    assert t_emit == 30 - 1 + 2                    # generator at 3.0 ms (step 29) + 2 steps delay
    times, _, v = sim.voltages()["B"]
    first = int(np.flatnonzero(v[:, 0] != 0.0)[0])
    step_of_first = int(round(times[first] / 0.1)) - 1
    assert step_of_first == t_emit + delay_steps
    assert v[first, 0] == 1.0
    if comm.size > 1:
        # A's spikes are sent only to the rank that hosts B
        st = sim.st
        if comm.rank == 0:
            i = sim.st.g2l[0]
            assert list(np.asarray(st.dst_rank)[st.dst_ptr[i]:st.dst_ptr[i + 1]]) == [comm.size - 1]


def test_spikes_sent_only_to_target_ranks():
    """Neurons without targets on a rank never send it anything."""
    comm = MPI.COMM_WORLD
    if comm.size < 2:
        pytest.skip("needs >= 2 ranks")
    net = Network(0.1)
    net.add_population("src", 20, "iaf_psc_exp", params=dict(I_e=500.0))
    net.add_population("tgt", 20, "iaf_psc_exp")
    net.connect("src", "tgt", OneToOne(), weight=10.0, delay=1.0)
    part = np.zeros(40, dtype=np.int32)
    part[20:] = comm.size - 1                  # all targets on the last rank
    sim = Simulation(net, seed=3, comm=comm, partition=part)
    sim.build()
    st = sim.st
    if comm.rank == 0:
        assert set(np.asarray(st.dst_rank).tolist()) == {comm.size - 1}
        assert len(st.dst_rank) == 20
    sim.run(50.0)
    assert st.n_delivered_spikes > 0 if comm.rank == comm.size - 1 else st.n_delivered_spikes == 0


def test_build_time_parameter_error_is_raised_on_every_rank():
    """Per-neuron values drawn during the build can be invalid on one rank only; every
    rank must still raise the same error (no rank left waiting in a collective)."""
    from parsnn.errors import ParameterError
    from parsnn.network import Uniform
    comm = MPI.COMM_WORLD
    net = Network(0.1)
    net.add_population("A", 50, "iaf_psc_exp", params=dict(V_th=-50.0, V_reset=Uniform(-70.0, -30.0)))
    net.add_population("B", 10, "iaf_psc_exp")
    part = np.zeros(60, dtype=np.int32)
    part[50:] = comm.size - 1                     # all of A on rank 0
    sim = Simulation(net, seed=1, comm=comm, partition=part)
    with pytest.raises(ParameterError, match="V_reset must be < V_th"):
        sim.build()


def test_spikes_identical_under_partition_strategies(serial, mixed_network):
    """population and graph placements give the serial spike trains, and the remote deliveries
    predicted from the partition and the measured rates match the engine's count."""
    from parsnn.partition import partition
    from parsnn.connectivity import Connectivity
    from parsnn.partition.measured import measured_metrics
    comm = MPI.COMM_WORLD
    ref = serial.spikes()
    for strategy in ("population", "graph"):
        net = mixed_network()
        part = partition(Connectivity.from_network(net), comm.size, strategy)
        dist = _run(net, comm, part)
        assert dist.partition_name == strategy
        got = dist.spikes()
        for name in ref:
            assert np.array_equal(ref[name][0], got[name][0]), (strategy, name)
            assert np.array_equal(ref[name][1], got[name][1]), (strategy, name)
        m = measured_metrics(dist)
        pred = m["prediction"]
        if comm.size > 1:
            assert pred["counted_remote_deliveries"] > 0
            assert abs(pred["relative_error"]) < 0.10, (strategy, pred["relative_error"])
        else:
            assert pred["counted_remote_deliveries"] == 0


# ------------------------------------------------------------------ schemes and wait policies
@pytest.mark.parametrize("scheme, wait", [("neighbor", "poll"), ("neighbor", "yield"), ("neighbor", "sleep"),
                                          ("alltoall", "yield"), ("alltoall", "sleep")])
@pytest.mark.parametrize("block", [None, 2])
def test_schemes_and_wait_policies_give_the_serial_spikes(serial, mixed_network, scheme, wait, block):
    """Neighbourhood or alltoall exchange, any wait policy, default blocks or blocks of one code
    (nearly every interval overflows into the point-to-point / second-collective round): the
    spikes and voltages are the serial ones."""
    comm = MPI.COMM_WORLD
    net = mixed_network()
    sim = Simulation(net, seed=SEED, comm=comm, partition=_random_partition(net, comm.size), exchange=scheme,
                     mpi_wait=wait, mpi_wait_polls=3, _exchange_block=block, _exchange_adapt=block is None)
    sim.run(250.0)
    assert sim.exchange_scheme == scheme
    ref, got = serial.spikes(), sim.spikes()
    for name in ref:
        assert np.array_equal(ref[name][0], got[name][0]), name
        assert np.array_equal(ref[name][1], got[name][1]), name
    rv, gv = serial.voltages(), sim.voltages()
    for name in rv:
        assert np.array_equal(rv[name][2], gv[name][2]), name
    rounds = comm.allreduce(int(sim.st.n_overflow_rounds))
    assert (rounds > 100) == (block == 2 and comm.size > 1)
    if wait == "poll" or comm.size == 1:
        assert sim.st.n_wait_yields == sim.st.n_wait_sleeps == 0


@pytest.mark.skipif(not os.path.exists("/proc/self/timerslack_ns"), reason="needs Linux's /proc timer slack")
@pytest.mark.parametrize("wait", ["sleep", "poll"])
def test_sleep_wait_budget_is_the_measured_sleep_cost_and_the_timer_slack_comes_back(mixed_network, wait):
    """``sleep`` measures what a 1 us nanosleep costs here (at least 1 us), yields for that long (clipped to
    2-200 us) before sleeping and says so in run_info; the step loop's 1 ns timer slack is undone when it
    returns. ``poll`` measures nothing."""
    def slack():
        with open("/proc/self/timerslack_ns") as f:
            return int(f.read())
    before = slack()
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_WORLD, mpi_wait=wait)
    sim.run(20.0)
    info = sim.output_layout()["run_info"]["exchange"]
    if wait == "sleep":
        assert info["sleep_cost_us"] >= 1.0
        assert info["mpi_wait_yield_us"] == min(max(info["sleep_cost_us"], 2.0), 200.0)
    else:
        assert info["sleep_cost_us"] is None and info["mpi_wait_yield_us"] is None
    assert slack() == before


def test_neighbor_graph_follows_the_routes():
    """The graph communicator's edges are the routes: a chain 0 -> 1 -> ... -> P-1 of one neuron per
    rank gives every rank at most one in- and one out-neighbour; the neighbour exchange delivers
    along it, and auto picks neighbor only from 4 ranks up (P/4 neighbours)."""
    comm = MPI.COMM_WORLD
    P = comm.size
    net = Network(0.1)
    for r in range(P):
        net.add_population(f"N{r}", 1, "iaf_psc_delta", params=dict(E_L=0.0, V_th=1.0, V_reset=0.0, V_m=0.0,
                                                                      t_ref=0.5, I_e=2000.0 if r == 0 else 0.0))
    for r in range(P - 1):
        net.connect(f"N{r}", f"N{r + 1}", OneToOne(), weight=5.0, delay=1.0)
    net.record_spikes()
    part = np.arange(P, dtype=np.int32)
    sims = {s: Simulation(net, seed=1, comm=comm, partition=part, exchange=s) for s in ("neighbor", "auto")}
    for sim in sims.values():
        sim.run(20.0)
    st = sims["neighbor"].st
    assert np.asarray(st.route_out).tolist() == ([comm.rank + 1] if comm.rank < P - 1 else [])
    assert np.asarray(st.route_in).tolist() == ([comm.rank - 1] if comm.rank > 0 else [])
    auto = sims["auto"].exchange_decision
    assert auto["rule"] == ("neighbor" if P >= 4 else "alltoall")
    if auto["by"] == "cost_model":           # this machine has a calibration: the model's cheaper scheme
        a, n = auto["alltoall_us"], auto["neighbor_us"]
        assert sims["auto"].exchange_scheme == ("neighbor" if n < a else "alltoall") or n == a     # (rounded)
        assert auto["machine"] and "cost model" in auto["reason"]
    else:
        assert auto["by"] == "rule" and sims["auto"].exchange_scheme == auto["rule"]
    assert sims["neighbor"].exchange_decision["by"] == "request"
    assert sims["neighbor"].max_neighbours == (1 if P > 1 else 0)
    a, b = sims["neighbor"].spikes(), sims["auto"].spikes()
    assert len(a[f"N{P - 1}"][0]) > 5                          # the chain carried spikes to its end
    for k in a:
        assert np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1])


@pytest.mark.parametrize("kw, message", [({"exchange": "ring"}, "exchange must be one of alltoall, neighbor, auto"),
                                         ({"mpi_wait": "nap"}, "mpi_wait must be one of poll, yield, sleep"),
                                         ({"mpi_wait_polls": -1}, r"mpi_wait_polls must be an integer in \[0")])
def test_bad_exchange_choices_are_refused(mixed_network, kw, message):
    from parsnn.errors import ParameterError
    with pytest.raises(ParameterError, match=message):
        Simulation(mixed_network(), comm=MPI.COMM_WORLD, **kw)


def test_graph_communicator_is_freed_by_finish_close_and_with(mixed_network):
    """Two simulations after each other in one process under the neighbourhood exchange: each makes
    its graph communicator and frees it at finish() (its handle becomes MPI_COMM_NULL, the step loop
    stops using it); both give the same spikes. A run after finish() makes a new one, close() frees
    it, and so does leaving a ``with`` block by an exception."""
    comm = MPI.COMM_WORLD
    if comm.size < 2:
        pytest.skip("needs >= 2 ranks")
    got = []
    for _ in range(2):
        sim = Simulation(mixed_network(), seed=SEED, comm=comm, partition="block", exchange="neighbor")
        sim.run(60.0)
        graph = sim._graph
        assert graph is not None and graph.Get_topology() == MPI.DIST_GRAPH and sim.st.x_neighbor
        got.append(sim.spikes())
        sim.finish()
        assert sim._graph is None and graph == MPI.COMM_NULL and not sim.st.x_neighbor
    for name in got[0]:
        assert np.array_equal(got[0][name][0], got[1][name][0]) and np.array_equal(got[0][name][1], got[1][name][1])
    sim.run(20.0)                               # after finish(): a new graph communicator
    graph = sim._graph
    assert graph is not None and graph != MPI.COMM_NULL and sim.st.x_neighbor
    sim.close()
    assert graph == MPI.COMM_NULL and sim._graph is None
    sim.close()                                 # twice: nothing left to free
    with pytest.raises(RuntimeError, match="stop here"):
        with Simulation(mixed_network(), seed=SEED, comm=comm, exchange="neighbor") as other:
            other.run(10.0)
            graph = other._graph
            raise RuntimeError("stop here")
    assert graph == MPI.COMM_NULL


def test_a_stopped_run_frees_its_graph_communicator(mixed_network, capsys):
    """The CLI's end of a run stopped by a signal (parsnn.cli.stop.report) frees the graph communicator."""
    from types import SimpleNamespace
    from parsnn.cli import stop
    comm = MPI.COMM_WORLD
    if comm.size < 2:
        pytest.skip("needs >= 2 ranks")
    sim = Simulation(mixed_network(), seed=SEED, comm=comm, exchange="neighbor")
    sim.run(20.0)
    graph, sim.stopped = sim._graph, "SIGUSR1"
    assert stop.report(sim, SimpleNamespace(t_sim=100.0)) == 3
    assert graph == MPI.COMM_NULL and sim._graph is None
