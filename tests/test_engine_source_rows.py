"""The static table's compact source rows (parsnn.engine.source_rows): a rank keeps sub-row and delay-run
pointers only for the sources of the populations with synapses on it, not (all nodes x blocks), and
reads and delivers exactly the rows of the all-nodes layout."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation, decomposition
from parsnn.engine import synapses as engine_synapses
from parsnn.engine.footprint import row_pointer_bytes
from parsnn.engine.source_rows import SourceRows
from parsnn.network import FixedIndegree, FixedTotalNumber, Network


def _sheet(quiet: int = 200_000, plastic: bool = False) -> Network:
    """A -> B and B -> A, plus a large population Z with no static projection from or onto it (with
    ``plastic``: Z -> B by STDP synapses, so Z's spikes reach the delivery, which finds no static row)."""
    net = Network(resolution=0.1)
    net.add_population("P", 50, "poisson_source", params={"rate": 800.0})
    net.add_population("A", 300)
    net.add_population("B", 400)
    net.add_population("Z", quiet, "poisson_source", params={"rate": 50.0})
    net.connect("P", "A", FixedIndegree(20), weight=60.0, delay=1.0)
    net.connect("A", "B", FixedIndegree(40), weight=30.0, delay=1.5)
    net.connect("B", "A", FixedTotalNumber(3000), weight=-20.0, delay=0.8)
    if plastic:
        net.connect("Z", "B", FixedIndegree(3), weight=5.0, delay=1.0, synapse_model="stdp_synapse")
    net.record_spikes(["P", "A", "B", "Z"] if plastic else ["A", "B"])
    return net


@pytest.mark.parametrize("threads", [1, 8])
def test_pointer_memory_does_not_scale_with_all_nodes_times_blocks(threads):
    """The sub-row and delay-run pointers hold (rows + 1) x B + 1 entries, rows = the 750 sources of the
    projecting populations, not num_nodes x B + 1 (the old layout: 2 x 200,750 x 8 x 8 bytes = 25.7 MB at
    8 threads); the gid -> row index is 4 bytes a node; footprint.row_pointer_bytes gives their bytes."""
    net = _sheet()
    sim = Simulation(net, seed=4, comm=MPI.COMM_SELF, threads=threads)
    sim.build()
    st, N, B = sim.st, net.num_nodes, threads * int(sim.st.syn_W)
    ptr, run_ptr, row = (np.asarray(a) for a in (st.syn_ptr, st.run_ptr, st.syn_row))
    assert ptr.size == run_ptr.size == 751 * B + 1
    assert row.dtype == np.int32 and row.size == N
    assert np.array_equal(row[:750], np.arange(750)) and np.all(row[750:] == 750)     # Z: the empty row
    assert ptr[-1] == ptr[750 * B] and run_ptr[-1] == run_ptr[750 * B]
    got = ptr.nbytes + run_ptr.nbytes + row.nbytes
    assert got == row_pointer_bytes(N, 750, B)
    assert got < 0.2 * 2 * 8 * (N * B + 1) if threads > 1 else got < 0.6 * 2 * 8 * (N * B + 1)
    # read back by gid: the all-nodes layout's rows (Z's empty)
    by_gid, tgt, _, _ = sim._syn_arrays
    assert by_gid.size == N + 1 and by_gid[-1] == by_gid[750] == tgt.size == sim.num_local_synapses


def test_spikes_are_thread_invariant_with_sources_without_rows():
    """Sources without static rows whose spikes reach the delivery (Z: plastic synapses only, its gids map to
    the empty row): the spikes, weights and synaptic events are those of the 1-thread run, on 3 threads,
    and the static events are those of the static rows alone."""
    runs = []
    for threads in (1, 3):
        sim = Simulation(_sheet(2000, plastic=True), seed=4, comm=MPI.COMM_SELF, threads=threads)
        sim.build()
        sim.st.par_min_updates = sim.st.par_min_events = 0
        sim.run(100.0)
        runs.append(sim)
    a, b = runs[0].spikes(), runs[1].spikes()
    assert sum(t.size for k, (t, _) in a.items() if k in "AB") > 200
    for k in a:
        assert np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1])
    assert runs[0].st.n_events == runs[1].st.n_events > 0
    row = np.asarray(runs[1].st.syn_row)
    assert np.all(row[750:] == 750)                     # Z: no static rows
    static_sources = sum(a[k][0].size for k in "PAB")
    assert runs[1].st.n_delivered_spikes > static_sources + 2000        # Z's spikes (of those with targets) too
    wa, wb = runs[0].weights(), runs[1].weights()
    assert all(np.array_equal(np.asarray(wa[k]), np.asarray(wb[k])) for k in wa)


def test_a_rank_has_rows_only_for_the_populations_that_project_onto_it():
    """A rank holding only B's neurons keeps rows for A's sources (A -> B) and no others: P projects onto
    A only, B onto A only; its table by gid is the all-nodes one."""
    net = _sheet(1000)
    offsets = net.offsets()
    local = np.arange(offsets["B"], offsets["B"] + 400, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    ptr, tgt, _, runs, _, _, blocks, rows = engine_synapses.generate_synapses(
        net, local, offsets, pop_local, 4, 0.1, {"count": 0.0, "group": 0.0}, threads=2)
    assert rows.ranges == [(offsets["A"], offsets["A"] + 300)] and rows.count == 300
    assert ptr.size == runs.ptr.size == 301 * 2 + 1 and tgt.size == 400 * 40
    full = rows.by_gid(ptr, 2)
    assert full.size == net.num_nodes * 2 + 1
    per_gid = np.diff(full[::2])
    assert per_gid[offsets["A"]:offsets["A"] + 300].sum() == 400 * 40 and per_gid.sum() == 400 * 40


def test_source_rows_index_and_by_gid():
    rows = SourceRows([(7, 10), (2, 4)], 12)
    assert rows.ranges == [(2, 4), (7, 10)] and rows.count == 5
    assert rows.index.tolist() == [5, 5, 0, 1, 5, 5, 5, 2, 3, 4, 5, 5]
    assert rows.gids().tolist() == [2, 3, 7, 8, 9] and rows.row(7) == 2 and rows.nbytes == 48
    ptr = np.array([0, 1, 1, 3, 3, 4, 6, 6, 6, 7, 8, 8, 8], dtype=np.int64)      # 5 rows + the empty one, B = 2
    full = rows.by_gid(ptr, 2)
    assert full.size == 25 and np.diff(full).tolist() == [0] * 4 + [1, 0, 2, 0] + [0] * 6 + [1, 2, 0, 0, 1, 1] + [0] * 4
    with pytest.raises(ValueError, match="entries"):
        rows.by_gid(ptr[:-2], 2)
    with pytest.raises(ValueError, match="disjoint"):
        SourceRows([(0, 5), (4, 8)], 10)
    assert SourceRows.every_node(4).index.tolist() == [0, 1, 2, 3]
