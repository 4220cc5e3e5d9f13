"""The plastic store drawn straight into its arrays (parsnn.engine.plastic_store): it holds exactly
the synapses that drawing each projection as a whole (parsnn.engine.synapses.draw_projection, the
static build's draws) gives, for any block size and thread count, in its compact layout (uint16 or
uint32 targets, one delay per projection or one per synapse), and the layouts simulate alike."""
from __future__ import annotations

import numpy as np
import pytest

from parsnn.engine import plastic_store
from parsnn.engine.decomposition import population_ranges
from parsnn.engine.plasticity import PlasticSynapses
from parsnn.engine.synapses import _list_plan, draw_projection
from parsnn.network import FromList, Normal, Uniform

SEED, SCHEME = 17, 2


@pytest.fixture
def mixed(load_script):
    """The mixed STDP network of scripts/plastic_fingerprints.py (every kind of plastic projection):
    ``mixed(big=0)``."""
    script = load_script("scripts/plastic_fingerprints.py")
    return lambda big=0: script.network("mixed", big)[0]


def reference(net, k, local, offsets, pop_local, T):
    """Projection k's sub-row bounds, targets, float64 weights and delays as the store held them
    before it was drawn in place: the whole projection drawn at once (or the list's plan)."""
    proj = net.projections[k]
    soff, nsrc = offsets[proj.source], net.populations[proj.source].size
    if isinstance(proj.rule, FromList):
        pl = _list_plan(net, proj, local, offsets, pop_local, net.resolution, T)
        counts = np.bincount((pl["list_src"] - soff) * T + pl["list_th"], minlength=nsrc * T)
        ptr = np.concatenate([[0], np.cumsum(counts)])
        order = np.lexsort((np.arange(counts.sum()), pl["list_th"], pl["list_src"]))    # by sub-row, stable
        return ptr, pl["list_tgt"][order], pl["list_w"][order].astype(np.float64), pl["list_d"][order]
    ptr, tgt, w, d, _, _ = draw_projection(net, k, local, offsets, pop_local, SEED, net.resolution, T, SCHEME)
    ptr = ptr[soff * T:(soff + nsrc) * T + 1]
    w64 = w.astype(np.float64) if isinstance(proj.weight, (Normal, Uniform)) else np.full(tgt.size, float(proj.weight))
    return ptr - ptr[0], tgt, w64, d


def check_store(net, local, T):
    """Build the store onto ``local`` with T threads and compare it with :func:`reference`."""
    offsets = net.offsets()
    pop_local = population_ranges(net, local, offsets)
    pl = PlasticSynapses(net, local, offsets, pop_local, SEED, net.resolution, T, SCHEME)
    a = pl.arrays
    all_tgt, all_d = [], []
    for j, k in enumerate(pl.projections):
        ptr, tgt, w, d = reference(net, k, local, offsets, pop_local, T)
        nsrc = net.populations[net.projections[k].source].size
        mine = a["ptr"][a["row_off"][j]:a["row_off"][j] + nsrc * T + 1]
        assert np.array_equal(mine - mine[0], ptr), k
        lo, hi = int(mine[0]), int(mine[-1])
        assert np.array_equal(a["tgt"][lo:hi].astype(np.uint32), tgt), k
        assert np.array_equal(a["w"][lo:hi].view(np.uint64), w.view(np.uint64)), k
        assert np.array_equal(pl.synapse_delays(j), d), k
        all_tgt.append(tgt)
        all_d.append(d)
    tgt, d = np.concatenate(all_tgt).astype(np.int64), np.concatenate(all_d).astype(np.int32)
    assert np.array_equal(a["n_incoming"], np.bincount(tgt, minlength=local.size))
    max_delay = np.zeros(local.size, dtype=np.int32)
    np.maximum.at(max_delay, tgt, d)
    assert np.array_equal(a["max_delay"], max_delay)
    assert (pl.dmin, pl.dmax) == (int(d.min()), int(d.max()))
    return pl


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("block, keep", [(plastic_store.BLOCK_SYNAPSES, 0.25), (40, 1e9), (25, 0.0)])
def test_store_holds_what_drawing_each_projection_whole_gives(monkeypatch, mixed, threads, block, keep):
    """One block per projection, many small blocks with their counts kept, and counted again."""
    monkeypatch.setattr(plastic_store, "BLOCK_SYNAPSES", block)
    monkeypatch.setattr(plastic_store, "KEEP_COUNTS_BYTES", keep)
    net = mixed()
    for local in (np.arange(net.num_nodes, dtype=np.int64), np.arange(1, net.num_nodes, 2, dtype=np.int64)):
        pl = check_store(net, local, threads)
        a = pl.arrays
        assert a["tgt"].dtype == np.uint16
        # drawn delays and the list's several are kept per synapse, a constant delay once
        assert list(a["dconst"]) == [0, 13, 0, 7, 0]
        assert a["d"].size == sum(pl.row_ptr(j)[-1] - pl.row_ptr(j)[0] for j in (0, 2, 4))


def test_targets_are_uint32_beyond_65536_local_nodes(mixed):
    net = mixed(big=70_000)
    pl = check_store(net, np.arange(net.num_nodes, dtype=np.int64), 2)
    assert pl.arrays["tgt"].dtype == np.uint32
    m = pl.memory()
    assert m["per_synapse"] == pl.num_local * 12 + 2 * m["stored_delays"]


def test_hpc_benchmark_store_is_10_bytes_per_synapse():
    """hpc_benchmark's E->E synapses: weight and uint16 target, their one delay once."""
    from parsnn.models import hpc_benchmark
    net = hpc_benchmark.build_network(scale=0.02)
    pl = check_store(net, np.arange(0, net.num_nodes, 2, dtype=np.int64), 2)
    m = pl.memory()
    assert m["synapses"] == 90 * hpc_benchmark.derived(0.02)["C_E"]
    assert m["stored_delays"] == 0 and m["per_synapse"] == 10 * m["synapses"]


def run_mixed(net):
    """Spikes and weights of the mixed network ``net`` after 200 ms (one rank)."""
    from mpi4py import MPI

    from parsnn.engine import Simulation
    sim = Simulation(net, seed=SEED, comm=MPI.COMM_SELF, threads=2, realisation="v2")
    sim.run(200.0)
    return sim.spikes(), sim.weights()


def test_store_layouts_simulate_alike(monkeypatch, mixed):
    """uint32 targets and every delay stored per synapse give the spikes and weights of the compact layout."""
    spikes, weights = run_mixed(mixed())
    assert sum(t.size for t, _ in spikes.values()) > 100
    assert np.unique(weights["E-F"][2]).size > 10          # the one initial weight has changed
    monkeypatch.setattr(plastic_store, "UINT16_NODES", 0)
    monkeypatch.setattr(plastic_store, "ONE_DELAY_ONCE", False)
    spikes2, weights2 = run_mixed(mixed())
    for name in spikes:
        for x, y in zip(spikes[name], spikes2[name]):
            assert np.array_equal(x, y)
    for key in weights:
        for x, y in zip(weights[key], weights2[key]):
            assert np.array_equal(x, y)



@pytest.mark.parametrize("threads", [1, 3])
def test_build_scratch_covers_the_projection_sources_only(monkeypatch, mixed, threads):
    """Passes 1 and 2 count and place through a scratch of T x the projection's sources (not T x all
    nodes, issue 13), and the kernels refuse a scratch that does not cover the sources."""
    seen = []
    count, draw = plastic_store.count_plan, plastic_store.draw_plan

    def counting(plan, seed, per_source, first=0):
        seen.append(("count", per_source.size, plan["nsrc"], first, plan["soff"]))
        if plan["nsrc"] > 1 and plan["tb"][-1] > plan["tb"][0]:
            with pytest.raises(ValueError, match="cover"):
                count(plan, seed, np.zeros(per_source.size - threads, np.int64), first)
        return count(plan, seed, per_source, first)

    def drawing(plan, seed, h, fill, *args, first=0):
        seen.append(("draw", fill.size, plan["nsrc"], first, plan["soff"]))
        return draw(plan, seed, h, fill, *args, first=first)

    monkeypatch.setattr(plastic_store, "count_plan", counting)
    monkeypatch.setattr(plastic_store, "draw_plan", drawing)
    net = mixed(big=300)
    check_store(net, np.arange(0, net.num_nodes, 2, dtype=np.int64), threads)
    assert {kind for kind, *_ in seen} == {"count", "draw"}
    for kind, size, nsrc, first, soff in seen:
        assert (size, first) == (threads * nsrc, soff), kind
        assert size < threads * net.num_nodes


def test_store_row_bounds_are_the_counted_ones(mixed):
    """allocate writes every projection's sub-row bounds in place: the cumulated counts after its
    first synapse, and row_off the start of its bounds."""
    net = mixed()
    c1 = plastic_store.Counted(0, 0, 2, np.array([1, 0, 3, 2], dtype=np.int64))
    c2 = plastic_store.Counted(1, 5, 1, np.array([4, 0], dtype=np.int64), one_delay=False)
    a = plastic_store.allocate([c1, c2], net.num_nodes)
    assert list(a["ptr"]) == [0, 1, 1, 4, 6, 6, 10, 10]
    assert list(a["row_off"]) == [0, 5] and list(a["syn_off"]) == [0, 6, 10]
    assert a["w"].size == 10 and a["d"].size == 4 and list(a["d_base"]) == [0, 6]
