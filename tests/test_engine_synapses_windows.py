"""16-bit synapse targets beyond 65,536 neurons per rank (parsnn.engine.synapses.TargetBlocks): each
thread's neurons cut into windows of at most 65,536, targets stored relative to their window's first
neuron; the spikes of 2 ranks x 1 thread (the same synapses, checksum, spikes and voltages as with
local indices on a small network: tests/test_engine_synapses.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine.aligned import SPLIT_ITEMS
from parsnn.engine import Simulation
from parsnn.engine import synapses as engine_synapses
from parsnn.network import FixedIndegree, Network, Normal, Uniform

SEED = 7
PD14_SIZES = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]      # full scale: 77,169 neurons


def _ranges(sizes):
    ends = np.cumsum(sizes)
    return {f"p{k}": (int(e - s), int(e)) for k, (s, e) in enumerate(zip(sizes, ends))}


def _check_blocks(blocks, pop_local, n, threads):
    """Every neuron's block is one of its owner's windows, it lies within 65,536 of the block's base,
    the blocks follow each other along the local nodes, and each thread owns one block of nodes cut
    on a 16-node line, within a line of n / threads (equal weights)."""
    idx = np.arange(n)
    owner = blocks.block // blocks.W
    rel = idx - blocks.base[blocks.block]
    assert rel.min() >= 0 and rel.max() < engine_synapses.NARROW_MAX_LOCAL
    assert np.all(np.diff(blocks.block) >= 0) and np.all(np.diff(owner) >= 0)     # thread-major
    cuts = np.flatnonzero(np.diff(owner)) + 1
    assert np.all(cuts % SPLIT_ITEMS == 0)
    got = np.bincount(owner, minlength=threads)
    assert np.all(np.abs(got - n / threads) <= SPLIT_ITEMS)


@pytest.mark.parametrize("threads,windows", [(1, 2), (2, 1), (4, 1)])
def test_full_pd14_rank_needs_two_windows_on_one_thread(threads, windows):
    pop_local = _ranges(PD14_SIZES)
    blocks = engine_synapses.TargetBlocks(pop_local, sum(PD14_SIZES), threads)
    assert blocks.dtype == np.uint16 and blocks.W == windows and blocks.base.size == threads * windows
    _check_blocks(blocks, pop_local, sum(PD14_SIZES), threads)


def test_blocks_of_small_and_single_population_ranks():
    small = engine_synapses.TargetBlocks(_ranges([30000, 8000]), 38000, 2)       # local indices, as before
    assert small.W == 1 and not small.relative and small.base.tolist() == [0, 0]
    single = engine_synapses.TargetBlocks(_ranges([70000]), 70000, 2)            # two blocks of ~35,000
    assert single.W == 1 and single.base.tolist() == [0, 34992]                  # cut on a 16-node line
    _check_blocks(single, _ranges([70000]), 70000, 2)
    wide = engine_synapses.TargetBlocks(_ranges([140000]), 140000, 2)            # beyond 2 x 65,536: uint32
    assert wide.dtype == np.uint32 and wide.W == 1 and not wide.relative


def big_network() -> Network:
    """70,000 neurons (E 56,008, I 13,992: I starts inside a 16-neuron line, so the thread that ends E
    starts I) with few synapses, driven by Poisson input."""
    net = Network(0.1, name="big")
    net.add_population("E", 56008, "iaf_psc_exp", params=dict(V_m=Uniform(-70, -55), tau_syn_ex=0.5,
                                                              tau_syn_in=0.5))
    net.add_population("I", 13992, "iaf_psc_exp", params=dict(V_m=Uniform(-70, -55)))
    net.connect("E", "E", FixedIndegree(3), weight=Normal(80, 8, 0, 1e9), delay=Normal(1.5, 0.75, 0.1))
    net.connect("E", "I", FixedIndegree(3), weight=90.0, delay=1.0)
    net.connect("I", "E", FixedIndegree(2), weight=-200.0, delay=Uniform(0.5, 2.0))
    net.add_poisson("E", 8000.0, 40.0, 1.5)
    net.add_poisson("I", 8000.0, 40.0, 1.0)
    net.record_spikes(["E", "I"])
    return net


_TWO_RANKS = """
import sys
import numpy as np
from mpi4py import MPI
sys.path.insert(0, {tests!r})
from parsnn.engine import Simulation
from test_engine_synapses_windows import SEED, big_network
sim = Simulation(big_network(), seed=SEED, comm=MPI.COMM_WORLD, partition="round_robin")
sim.run({t!r})
spikes = sim.spikes()
if MPI.COMM_WORLD.rank == 0:
    np.savez({out!r}, **{{k + "_t": v[0] for k, v in spikes.items()}}, **{{k + "_i": v[1] for k, v in spikes.items()}})
"""


def test_a_70000_neuron_rank_on_two_threads_stores_16bit_targets_like_two_ranks(tmp_path):
    """1 x 2 threads on 70,000 neurons: 16-bit targets relative to the first neuron of each thread's
    window (each thread owns one block of about 35,000 neurons: one window each, thread 1's targets
    stored relative to its first neuron), the spikes of 2 ranks x 1 thread bit for bit; 1 x 1 (two
    windows, the second relative to 65,536) the same."""
    t_sim = 40.0
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        pytest.skip("no mpiexec next to the Python interpreter")
    out = tmp_path / "two_ranks.npz"
    script = tmp_path / "two_ranks.py"
    script.write_text(_TWO_RANKS.format(tests=os.path.dirname(__file__), t=t_sim, out=str(out)))
    subprocess.run([mpiexec, "-n", "2", sys.executable, str(script)], check=True, timeout=600,
                   capture_output=True)
    ref = np.load(out)
    for threads, windows in ((2, 1), (1, 2)):
        sim = Simulation(big_network(), seed=SEED, comm=MPI.COMM_SELF, threads=threads)
        sim.build()
        st = sim.st
        assert st.n_loc == 70000 and st.tgt16 and st.syn_W == windows
        toff = np.asarray(st.toff)
        assert np.asarray(st.syn_base).tolist() == ([0, int(toff[1])] if threads == 2 else [0, 65536])
        assert threads == 1 or 30000 < toff[1] < 40000
        assert np.asarray(st.syn_tgt16).size == sim.num_local_synapses == 56008 * (3 + 2) + 13992 * 3
        sim.run(t_sim)
        spikes = sim.spikes()
        assert sum(v[0].size for v in spikes.values()) > 1000
        for k, (times, ids) in spikes.items():
            assert np.array_equal(times, ref[k + "_t"]) and np.array_equal(ids, ref[k + "_i"]), (threads, k)
