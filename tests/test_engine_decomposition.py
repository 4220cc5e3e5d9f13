"""parsnn.engine.decomposition (local nodes of a rank) and parsnn.engine.streams (stream ids)."""
import numpy as np

from parsnn.engine import decomposition
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
