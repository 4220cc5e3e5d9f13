"""parsnn.engine.decomposition (local nodes of a rank, the threads' parts) and parsnn.engine.streams
(stream ids)."""
import numpy as np
import pytest

from parsnn.engine import aligned, decomposition
from parsnn.engine.streams import purpose
from parsnn.errors import ParameterError


def test_local_nodes_and_population_ranges(mixed_network):
    net = mixed_network()
    offsets = net.offsets()
    rank_of = np.random.default_rng(3).integers(0, 3, net.num_nodes).astype(np.int32)
    rank_of[offsets["G"]:] = -1                               # spike generators: on no rank
    seen = []
    for rank in range(3):
        local, g2l = decomposition.local_nodes(rank_of, rank)
        assert np.all(np.diff(local) > 0) and np.all(rank_of[local] == rank)
        assert np.array_equal(g2l[local], np.arange(local.size)) and np.count_nonzero(g2l >= 0) == local.size
        ranges = decomposition.population_ranges(net, local, offsets)
        assert list(ranges) == ["E", "I", "P"]                # virtual populations have no range
        for name, (a, b) in ranges.items():
            off, size = offsets[name], net.populations[name].size
            assert np.all((local[a:b] >= off) & (local[a:b] < off + size))
            assert b - a == np.count_nonzero(rank_of[off:off + size] == rank)
        seen.append(local)
    assert np.array_equal(np.sort(np.concatenate(seen)), np.flatnonzero(rank_of >= 0))


def test_purpose_is_stable_and_distinct():
    # pinned: a changed id would change every network and spike train drawn from it
    assert purpose("poisson_source") == 0xc4986220e3b82951
    assert purpose("proj", 0, "E->E", "struct") == 0xafd39a2aad6b5f51
    assert 0 <= purpose("proj", 3, "EI", "struct") < 2**64
    ids = {purpose("proj", k, "EI", part) for k in range(5) for part in ("struct", "value", "split")}
    assert len(ids) == 15


SIZES = [(3, 100, 5, 1000, 17, 0, 64, 7, 1), (7,), (40, 41), (250, 6, 6, 6, 250)]


def _ranges(sizes, first=0):
    ends = first + np.cumsum(sizes)
    return {f"p{k}": (int(e - s), int(e)) for k, (s, e) in enumerate(zip(sizes, ends))}


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("first", [0, 5])
def test_each_thread_owns_one_block_cut_on_lines(threads, sizes, first):
    pop_local = _ranges(sizes, first)                # first > 0: the populations start off a line
    n = first + sum(sizes)
    owner, toff = decomposition.thread_owners(pop_local, n, threads)
    items = aligned.SPLIT_ITEMS
    assert items == 16                                # int32 refractory counters: 16 in a 64-byte line
    assert toff[0] == 0 and toff[-1] == n and np.all(np.diff(toff) >= 0)
    assert np.array_equal(owner, np.repeat(np.arange(threads), np.diff(toff)))     # thread-major blocks
    assert all(c % items == 0 for c in toff[1:-1] if c < n)                         # cuts on line bounds
    for line in range(-(-n // items)):                # so no cache line has two owning threads
        assert np.unique(owner[line * items:(line + 1) * items]).size == 1
    # equal weights: every cut is the line bound nearest k n / T, so every block within a line of n / T
    assert np.all(np.abs(np.diff(toff) - n / threads) <= items)
    segments = np.array([(a, b, 0, 0) for a, b in pop_local.values()], dtype=np.int64)
    bounds = decomposition.segment_parts(segments, owner, threads)    # each thread's nodes contiguous
    for (a, b), bd in zip(pop_local.values(), bounds):
        assert np.diff(bd, axis=1).sum() == b - a
        for k in range(threads):
            assert np.all(owner[bd[k, 0]:bd[k, 1]] == k)


def test_cuts_round_to_the_nearest_line():
    owner, _ = decomposition.thread_owners(_ranges([100]), 100, 2)
    assert np.flatnonzero(np.diff(owner)).tolist() == [47]                       # 50 -> 48 (nearer)
    owner, _ = decomposition.thread_owners(_ranges([100], 5), 105, 2)
    assert np.flatnonzero(np.diff(owner)).tolist() == [47]                       # 52.5 -> 48
    _, toff = decomposition.thread_owners(_ranges([8]), 8, 2)                    # less than a line
    assert toff.tolist() == [0, 0, 8] or toff.tolist() == [0, 8, 8]
    _, toff = decomposition.thread_owners(_ranges([40]), 40, 4)                 # more threads than lines
    assert toff[0] == 0 and toff[-1] == 40 and np.all(np.diff(toff) >= 0)


def test_cuts_balance_the_weights():
    """A hand-made rank: 64 nodes weighing 3 then 64 weighing 1 (total 256). Two threads: the line
    bound nearest the half weight 128 is 48 (144), not 64 (the node count's half, 192); three
    threads: 85.3 and 170.7 -> 32 (96, not 16: 48 or 48: 144) and 64 (192, not 48: 144 or 80: 208)."""
    pop_local = decomposition.PopulationRanges({"a": (0, 64), "b": (64, 128)}, {"a": 3.0, "b": 1.0})
    _, toff = decomposition.thread_owners(pop_local, 128, 2)
    assert toff.tolist() == [0, 48, 128]
    _, toff = decomposition.thread_owners(pop_local, 128, 3)
    assert toff.tolist() == [0, 32, 64, 128]
    _, toff = decomposition.thread_owners(dict(pop_local), 128, 2)               # no weights: node count
    assert toff.tolist() == [0, 64, 128]
    # a population that weighs nothing still counts its nodes alike when nothing weighs
    zero = decomposition.PopulationRanges({"a": (0, 64)}, {"a": 0.0})
    assert decomposition.thread_owners(zero, 64, 2)[1].tolist() == [0, 32, 64]


def test_split_rule_shares_every_population():
    """Rule "split": each population cut into one part per thread on 16-node lines (a population
    starting inside a line continues with the thread owning that line); toff: the spike buffers'
    offsets (the threads' node counts); each thread's nodes of a population one contiguous range."""
    ranges = {"a": (0, 100), "b": (100, 1000), "c": (1000, 1010), "d": (1010, 4000)}
    pop_local = decomposition.PopulationRanges(ranges, {k: 1.0 for k in ranges}, "split")
    owner, toff = decomposition.thread_owners(pop_local, 4000, 2)
    assert toff.tolist() == [0, int(np.sum(owner == 0)), 4000]
    for name, (a, b) in ranges.items():
        part = owner[a:b]
        if b - a >= 32:
            assert abs(int(np.sum(part == 0)) - (b - a) / 2) <= 16, name
        assert np.count_nonzero(np.diff(part)) <= 1, name             # one range per thread
    inner = [i for i in np.flatnonzero(np.diff(owner)) + 1 if i not in (100, 1000, 1010)]
    assert all(i % aligned.SPLIT_ITEMS == 0 for i in inner)
    major = decomposition.thread_owners(decomposition.PopulationRanges(ranges, {k: 1.0 for k in ranges}), 4000, 2)[0]
    assert np.count_nonzero(np.diff(major)) == 1                        # the default: one block per thread
    with pytest.raises(ParameterError, match="thread_owners"):
        decomposition.PopulationRanges(ranges, None, "rows")


def test_mixed_rule_deals_blocks_so_every_source_falls_on_every_thread():
    """Rule "mixed": two populations of equal weight, each driven by its own source population (orthogonal
    fluctuation vectors). "major" gives each thread one population, so every burst of a source lands on one
    thread; "mixed" deals the 4 x T blocks so that each thread holds about 1/T of both, at the price of meeting
    places; with a meeting place dearer than the whole variance it keeps "major"'s deal."""
    ranges = {"a": (0, 1024), "b": (1024, 2048)}
    fl = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    major = decomposition.thread_owners(decomposition.PopulationRanges(ranges, {"a": 1.0, "b": 1.0}), 2048, 2)[0]
    for T in (2, 4):
        pl = decomposition.PopulationRanges(ranges, {"a": 1.0, "b": 1.0}, "mixed", fl, meeting_events=0.0)
        owner, toff = decomposition.thread_owners(pl, 2048, T)
        assert toff.tolist() == [0, *np.cumsum(np.bincount(owner, minlength=T)).tolist()]
        for name, (a, b) in ranges.items():
            share = np.bincount(owner[a:b], minlength=T) / (b - a)
            assert np.all(np.abs(share - 1 / T) <= 0.26 / T), (T, name, share)     # a block (1/4 of a thread) at most
        cuts = np.flatnonzero(np.diff(owner)) + 1
        assert np.all(cuts % aligned.SPLIT_ITEMS == 0)                             # blocks on lines
    dear = decomposition.PopulationRanges(ranges, {"a": 1.0, "b": 1.0}, "mixed", fl, meeting_events=1e9)
    assert np.array_equal(decomposition.thread_owners(dear, 2048, 2)[0], major)
    plain = decomposition.PopulationRanges(ranges, {"a": 1.0, "b": 1.0}, "mixed")      # no vectors: "major"'s deal
    assert np.array_equal(decomposition.thread_owners(plain, 2048, 2)[0], major)


def test_split_segments_cut_where_the_owner_changes():
    seg = np.array([[0, 10, 1, 0], [10, 20, 2, 1]])
    owner = np.array([0] * 4 + [1] * 8 + [0] * 8)
    out = decomposition.split_segments(seg, owner)
    assert out.tolist() == [[0, 4, 1, 0], [4, 10, 1, 0], [10, 12, 2, 1], [12, 20, 2, 1]]
    assert decomposition.segment_parts(out, owner, 2).shape == (4, 2, 2)
    with pytest.raises(ValueError, match="not contiguous"):
        decomposition.segment_parts(seg, np.array([0] * 4 + [1] * 4 + [0] * 12), 2)


def test_population_ranges_carry_the_expected_work(mixed_network):
    net = mixed_network()
    local = np.arange(net.offsets()["G"], dtype=np.int64)
    ranges = decomposition.population_ranges(net, local, net.offsets())
    assert set(ranges.weight) == set(ranges) and all(v > 0 for v in ranges.weight.values())
    from parsnn.connectivity import Connectivity
    assert ranges.weight == decomposition.node_weights(Connectivity.from_network(net))
    plain = decomposition.population_ranges(net, local, net.offsets(), weighted=False)
    assert plain == ranges and plain.weight == {}


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("size", [3, 7, 20, 40, 1000])
def test_many_populations_keep_the_threads_balanced(threads, size):
    _, toff = decomposition.thread_owners(_ranges([size] * 200), 200 * size, threads)
    assert np.ptp(np.diff(toff)) <= 2 * aligned.SPLIT_ITEMS         # within two lines of each other


def test_threads_balance_plastic_work_not_events(populations):
    # hpc_benchmark's layout: E (plastic inputs from E) first, I after it, equal in-degrees and rates; one block
    # per thread. Counting events alone would cut at the middle of the nodes; a plastic event weighs its weight
    # update too, so thread 0 owns fewer E nodes than half of all (benchmarks/results/hpc_threads21/)
    from parsnn.connectivity import Connectivity
    from parsnn.network import FixedIndegree
    net = populations(800, 200)
    net.connect("A", "A", FixedIndegree(80), weight=1.0, synapse_model="stdp_pl_synapse_hom")
    net.connect("A", "B", FixedIndegree(80), weight=1.0)
    net.connect("B", "A", FixedIndegree(20), weight=-1.0)
    net.connect("B", "B", FixedIndegree(20), weight=-1.0)
    w = decomposition.node_weights(Connectivity.from_network(net))
    assert w["A"] - w["B"] == pytest.approx(80 * 5.0 * 1e-7)       # 80 plastic inputs at the default 5 spikes/s
    _, toff = decomposition.thread_owners(decomposition.PopulationRanges({"A": (0, 800), "B": (800, 1000)}, w), 1000, 2)
    cum = np.concatenate([[0.0], np.cumsum(np.repeat([w["A"], w["B"]], [800, 200]))])
    assert toff[1] < 500 and abs(cum[toff[1]] - cum[-1] / 2) <= aligned.SPLIT_ITEMS * w["A"]
