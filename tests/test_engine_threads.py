"""Threads per rank and the one-collective exchange: results independent of the layout.

Serial part (plain pytest): 1 rank x 1, 2, 3 threads in process, the synapse table split per
thread, errors for a bad thread count. MPI part (``mpiexec -n 2|3 python -m pytest --with-mpi -m mpi``):
R ranks x 1 and 2 threads under every partition strategy against the serial 1 x 1 reference, and
the exchange's overflow round (tiny, fixed blocks) against the default. Command-line layouts
1x1, 1x2, 2x1, 2x2, 3x1 of PD14 and Brunel are the slow end-to-end part.
"""
import h5py
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.connectivity import Connectivity
from parsnn.engine import Simulation
from parsnn.errors import ParameterError
from parsnn.partition import partition

SEED = 77
STRATEGIES = ["round_robin", "block", "population", "graph"]


def _run(net, comm=MPI.COMM_SELF, t=200.0, **kw):
    sim = Simulation(net, seed=SEED, comm=comm, **kw)
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0      # parallel regions even for this small network
    sim.run(t)
    return sim


def _assert_same(ref, got, label=""):
    sa, sb = ref.spikes(), got.spikes()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert np.array_equal(sa[k][0], sb[k][0]), (label, k)
        assert np.array_equal(sa[k][1], sb[k][1]), (label, k)
    va, vb = ref.voltages(), got.voltages()
    assert va.keys() == vb.keys()
    for k in va:
        assert np.array_equal(va[k][2], vb[k][2]), (label, k)     # bitwise


@pytest.fixture(scope="module")
def serial(mixed_network):
    return _run(mixed_network())


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_serial_spikes_and_voltages(serial, mixed_network, threads):
    sim = _run(mixed_network(), threads=threads)
    assert sum(len(t) for t, _ in sim.spikes().values()) > 500
    _assert_same(serial, sim, f"1x{threads}")
    assert sim.st.n_events == serial.st.n_events
    assert np.array_equal(np.asarray(sim.st.n_fired), np.asarray(serial.st.n_fired))
    # every thread counts the events it delivered (EngineState.t_events): together all the rank's events
    per_thread = np.asarray(sim.st.t_events)
    assert per_thread.size == threads and np.all(per_thread > 0) and per_thread.sum() == sim.st.n_events
    assert np.asarray(serial.st.t_events).tolist() == [serial.st.n_events]


@pytest.mark.parametrize("threads", [2, 3])
def test_mixed_owners_give_the_serial_spikes(serial, mixed_network, threads, monkeypatch):
    """thread_owners="mixed": blocks dealt to the threads (a thread may own several parts of a population, its update
    segments cut there); the spikes and V_m are the serial ones, bit for bit. Meeting places cost nothing here, so
    that the small network's deal is not "major"'s (with their cost it is)."""
    import parsnn.partition.rates as rates
    monkeypatch.setattr(rates, "thread_meeting_events", lambda *a: 0.0)
    sim = _run(mixed_network(), threads=threads, thread_owners="mixed")
    _assert_same(serial, sim, f"1x{threads} mixed")
    assert sim.st.n_events == serial.st.n_events
    owner = np.asarray(sim.st.owner)
    runs = owner[np.concatenate([[0], np.flatnonzero(owner[1:] != owner[:-1]) + 1])]
    assert np.bincount(runs).max() >= 2                                   # a thread owns two separate parts
    assert np.asarray(sim.st.toff).tolist() == [0, *np.cumsum(np.bincount(owner, minlength=threads)).tolist()]
    seg = np.asarray(sim.st.segments)
    assert seg[0, 0] == 0 and np.all(seg[1:, 0] == seg[:-1, 1])           # the segments still tile the nodes
    for s0, s1, _, _ in seg:
        assert np.unique(owner[s0:s1]).size == 1                         # one owner per segment
    assert sim.pop_local.fluctuation and sim.output_layout()["run_info"]["thread_owners"] == "mixed"


@pytest.mark.parametrize("threads", [2, 3])
def test_split_owners_give_the_serial_spikes_and_share_every_population(serial, mixed_network, threads):
    """thread_owners="split": every population shared by the threads (each about 1/T of it), every
    spike's sub-rows shared alike; the spikes and V_m are the serial ones, bit for bit."""
    sim = _run(mixed_network(), threads=threads, thread_owners="split")
    _assert_same(serial, sim, f"1x{threads} split")
    assert sim.st.n_events == serial.st.n_events
    owner = np.asarray(sim.st.owner)
    for name, (a, b) in sim.pop_local.items():
        counts = np.bincount(owner[a:b], minlength=threads)
        assert np.all(np.abs(counts - (b - a) / threads) <= 16), (name, counts)     # within a line
    assert np.asarray(sim.st.toff).tolist() == [0, *np.cumsum(np.bincount(owner, minlength=threads)).tolist()]
    assert sim.output_layout()["run_info"]["thread_owners"] == "split"


def test_bad_owner_rule_is_refused(mixed_network):
    with pytest.raises(ParameterError, match="thread_owners"):
        Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, threads=2, thread_owners="rows")


def test_threads_give_the_serial_network_under_v1(mixed_network):
    """The old realisation scheme stays layout-independent too: 1 x 1 and 1 x 3 threads simulate the
    same spikes and voltages, and its network differs from v2's."""
    ref = _run(mixed_network(), realisation="v1")
    sim = _run(mixed_network(), realisation="v1", threads=3)
    _assert_same(ref, sim, "v1 1x3")
    v2 = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, realisation="v2")
    v2.build()
    assert not np.array_equal(ref._syn_arrays[2], v2._syn_arrays[2])


def test_synapse_rows_are_split_by_owning_thread(serial, mixed_network):
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, threads=3)
    sim.build()
    st, T = sim.st, 3
    ptr, tgt = np.asarray(st.syn_ptr), np.asarray(st.syn_tgt16 if st.tgt16 else st.syn_tgt)
    assert st.tgt16 and tgt.size == sim.num_local_synapses      # 530 local neurons: 16-bit targets
    owner, toff = np.asarray(st.owner), np.asarray(st.toff)
    # thread-major (decomposition.thread_owners): thread k owns the one block toff[k] .. toff[k+1]-1,
    # cut on 16-node lines (one cache line of the int32 state) where the expected work (update plus
    # incoming events, sim.pop_local.weight) is nearest k / 3 of the total
    assert toff[0] == 0 and toff[-1] == 530 and np.all(toff[1:-1] % 16 == 0)
    assert np.array_equal(owner, np.repeat(np.arange(T), np.diff(toff)))
    work = np.concatenate([np.full(b - a, sim.pop_local.weight[name]) for name, (a, b) in sim.pop_local.items()])
    per_thread = np.add.reduceat(work, toff[:-1])
    assert np.all(np.abs(per_thread - work.sum() / T) <= 16 * work.max())         # within a line's work
    assert toff.tolist() == [0, 176, 352, 530]      # pinned (here the same cuts as by node count)
    row = np.asarray(st.syn_row)        # gid -> compact row (the sources with synapses here; else the empty last row)
    R = (ptr.size - 1) // T - 1         # rows of sources with synapses here; row R: the empty one
    assert row.size == sim.num_nodes and (ptr.size - 1) % T == 0 and row.max() <= R
    assert ptr[-1] == ptr[-1 - T]       # the last row is empty
    for g in range(sim.num_nodes):
        for th in range(T):
            sub = tgt[ptr[row[g] * T + th]:ptr[row[g] * T + th + 1]]
            assert np.all(owner[sub] == th)
    # the whole table is the serial one; every row keeps its serial order per target thread
    p1, t1, w1, d1 = serial._syn_arrays
    p3, t3, w3, d3 = sim._syn_arrays
    assert np.array_equal(p1, p3)
    for g in np.flatnonzero(np.diff(p1) > 0):
        a, b = p1[g], p1[g + 1]
        order = np.argsort(owner[t1[a:b]], kind="stable")
        assert np.array_equal(t1[a:b][order], t3[a:b])
        assert np.array_equal(w1[a:b][order].view(np.int32), w3[a:b].view(np.int32))
        assert np.array_equal(d1[a:b][order], d3[a:b])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_count_is_refused(mixed_network, bad):
    with pytest.raises(ParameterError, match="threads must be an integer in"):
        Simulation(mixed_network(), comm=MPI.COMM_SELF, threads=bad)


@pytest.mark.parametrize("bad", ["0", "-2", "x", "1.5"])
def test_cli_refuses_a_bad_thread_count(run_cli, bad):
    proc = run_cli(1, ["brunel", "--t-sim", "10", "--threads", bad, "--no-progress"], check=False)
    assert proc.returncode != 0
    assert "--threads must be an integer >= 1" in proc.stderr


def test_run_file_names_the_exchange_and_threads(run_cli, tmp_path):
    import json
    out = tmp_path / "r.h5"
    run_cli(2, ["brunel", "--scale", "0.05", "--t-sim", "20", "--threads", "2", "--out", out, "--no-progress"])
    with h5py.File(out, "r") as f:
        info = json.loads(f["parsnn"].attrs["run"])
    assert info["threads"] == 2
    assert info["exchange"]["scheme"] == "alltoall_fixed_block" and info["exchange"]["adaptive"] is True
    assert info["exchange"]["requested"] == "auto" and info["exchange"]["mpi_wait"] == "sleep"


# ------------------------------------------------------------------------------ MPI part
@pytest.mark.mpi
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_ranks_x_threads_under_every_partition(serial, mixed_network, strategy, threads):
    comm = MPI.COMM_WORLD
    net = mixed_network()
    part = partition(Connectivity.from_network(net), comm.size, strategy)
    _assert_same(serial, _run(net, comm, partition=part, threads=threads), f"{comm.size}x{threads} {strategy}")


@pytest.mark.mpi
@pytest.mark.parametrize("rule", ["split", "mixed"])
@pytest.mark.parametrize("strategy", ["round_robin", "population"])
def test_ranks_x_split_owners(serial, mixed_network, strategy, rule, monkeypatch):
    import parsnn.partition.rates as rates
    monkeypatch.setattr(rates, "thread_meeting_events", lambda *a: 0.0)     # "mixed": not "major"'s deal
    comm = MPI.COMM_WORLD
    net = mixed_network()
    part = partition(Connectivity.from_network(net), comm.size, strategy)
    _assert_same(serial, _run(net, comm, partition=part, threads=2, thread_owners=rule),
                 f"{comm.size}x2 {rule} {strategy}")


@pytest.mark.mpi
@pytest.mark.parametrize("adapt", [False, True])
def test_overflow_round_gives_identical_spikes(serial, mixed_network, adapt):
    """Blocks of one spike code: nearly every interval needs the overflow round (fixed block), or
    the first bursts grow the block (adaptive); the spikes stay the serial ones."""
    comm = MPI.COMM_WORLD
    sim = _run(mixed_network(), comm, partition="block", _exchange_block=2, _exchange_adapt=adapt)
    _assert_same(serial, sim, f"overflow adapt={adapt}")
    rounds = comm.allgather(int(sim.st.n_overflow_rounds))
    assert len(set(rounds)) == 1                       # every rank takes part in every round
    if comm.size > 1:
        assert rounds[0] > (100 if not adapt else 0)
        assert (sim.st.x_block > 2) == adapt


# ------------------------------------------------------------------------------ command line
def _file_state(path):
    """(spikes {population: (times, ids)}, every dataset of the V_m reports {path: values}) of a run file."""
    from parsnn.runfile import RunFile, schema
    with RunFile(path) as run:
        spikes = run.spikes()
    volts = {}
    with h5py.File(path, "r") as f:
        if schema.REPORT in f:
            f[schema.REPORT].visititems(lambda name, obj: volts.__setitem__(name, obj[()])
                                        if isinstance(obj, h5py.Dataset) else None)
    return spikes, volts


CASES = {
    "pd14": ["pd14", "--n-scaling", "0.02", "--t-sim", "200", "--record-v", "3"],
    "brunel": ["brunel", "--regime", "A", "--scale", "0.1", "--t-sim", "150", "--record-v", "3"],
}


@pytest.mark.slow
@pytest.mark.parametrize("model", list(CASES))
def test_cli_layouts_ranks_x_threads(tmp_path, run_cli, model):
    results = {}
    for strategy in STRATEGIES:
        for ranks, threads in [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1)]:
            if strategy != "round_robin" and ranks == 1 and threads == 1:
                continue
            out = tmp_path / f"{strategy}_{ranks}x{threads}.h5"
            run_cli(ranks, [*CASES[model], "--seed", "5", "--partition", strategy, "--threads", threads,
                            "--out", out, "--no-progress"])
            results[(strategy, ranks, threads)] = _file_state(out)
    ref_spikes, ref_v = results[("round_robin", 1, 1)]
    assert sum(len(t) for t, _ in ref_spikes.values()) > 500 and ref_v
    for key, (spikes, volts) in results.items():
        assert spikes.keys() == ref_spikes.keys() and volts.keys() == ref_v.keys(), key
        for n in spikes:
            assert np.array_equal(spikes[n][0], ref_spikes[n][0]), key
            assert np.array_equal(spikes[n][1], ref_spikes[n][1]), key
        for n in volts:
            assert np.array_equal(volts[n], ref_v[n]), key


@pytest.mark.mpi
def test_recording_buffers_grow_on_one_rank_only():
    """All neurons on rank 0 fire fast: its spike record grows inside the step loop while the other
    ranks keep exchanging (no rank leaves the loop alone); spikes equal the serial run."""
    from parsnn.network import Network, OneToOne
    comm = MPI.COMM_WORLD

    def net():
        n = Network(0.1)
        n.add_population("N", 200, "iaf_psc_exp", params=dict(I_e=900.0, t_ref=0.5))
        n.add_population("M", 5, "iaf_psc_exp")
        n.connect("N", "N", OneToOne(), weight=1.0, delay=1.0)
        n.record_spikes("N")
        return n
    part = np.zeros(205, dtype=np.int32)
    part[200:] = comm.size - 1
    got = Simulation(net(), seed=1, comm=comm, partition=part, flush_ms=1e6, threads=2)
    got.build()
    got.st.par_min_updates = got.st.par_min_events = 0
    got.run(1000.0)
    ref = Simulation(net(), seed=1, comm=MPI.COMM_SELF, flush_ms=1e6)
    ref.run(1000.0)
    assert got.recorder.rec_step.shape[0] > 200 * 10 * 16 if comm.rank == 0 else True
    assert len(ref.spikes()["N"][0]) > 200 * 10 * 16
    _assert_same(ref, got)
