"""parsnn.engine.decomposition (local nodes of a rank, the threads' parts) and parsnn.engine.streams
(stream ids)."""
import numpy as np
import pytest

from parsnn.engine import aligned, decomposition
from parsnn.engine.streams import purpose


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
def test_no_cache_line_has_two_owning_threads(threads, sizes, first):
    pop_local = _ranges(sizes, first)                # first > 0: the populations start off a line
    n = first + sum(sizes)
    owner, toff = decomposition.thread_owners(pop_local, n, threads)
    items = aligned.SPLIT_ITEMS
    assert items == 16                                # int32 refractory counters: 16 in a 64-byte line
    for line in range(first // items, -(-n // items)):
        assert np.unique(owner[max(line * items, first):(line + 1) * items]).size == 1
    assert np.array_equal(np.diff(toff), np.bincount(owner[first:], minlength=threads)
                          + np.bincount(owner[:first], minlength=threads))
    segments = np.array([(a, b, 0, 0) for a, b in pop_local.values()], dtype=np.int64)
    bounds = decomposition.segment_parts(segments, owner, threads)    # each thread's nodes contiguous
    for (a, b), bd in zip(pop_local.values(), bounds):
        sizes_here = np.diff(bd, axis=1).ravel()
        assert sizes_here.sum() == b - a
        if b - a >= items * threads:                 # every thread a part, at most a line off equal
            assert np.all(np.abs(sizes_here - (b - a) / threads) <= items)
        elif b > a and a // items == (b - 1) // items:     # inside one line: whole to one thread
            assert np.count_nonzero(sizes_here) == 1


def test_split_points_round_to_lines():
    assert decomposition.thread_parts(100, 2).tolist() == [0, 50, 100]           # the equal split
    owner, _ = decomposition.thread_owners(_ranges([100]), 100, 2)
    assert np.flatnonzero(np.diff(owner)).tolist() == [47]                       # 50 -> 48 (nearer)
    owner, _ = decomposition.thread_owners(_ranges([100], 5), 105, 2)
    assert np.flatnonzero(np.diff(owner[5:])).tolist() == [42]                   # 55 -> 48
    # who owns the next population's first nodes: the thread of the last ones before them
    owner, _ = decomposition.thread_owners(_ranges([100, 3, 100]), 203, 2)
    assert owner[99] == owner[100] == owner[102] == owner[103]


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("size", [3, 7, 20, 40, 1000])
def test_many_populations_keep_the_threads_balanced(threads, size):
    _, toff = decomposition.thread_owners(_ranges([size] * 200), 200 * size, threads)
    assert np.ptp(np.diff(toff)) <= 2 * aligned.SPLIT_ITEMS         # within two lines of each other
