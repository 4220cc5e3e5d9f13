"""Cache-line-aligned neuron state (parsnn.engine.aligned): every per-neuron array the threads write
starts on a 64-byte line, the rings' slots too, and no line of them holds two threads' neurons, after
the build and after a restore."""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.engine import Simulation, aligned

SEED = 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 13, 1000])
def test_aligned_arrays(dtype, n):
    for _ in range(4):                               # several allocations: not aligned by luck
        a = aligned.zeros(n, dtype)
        assert a.dtype == dtype and a.shape == (n,) and not np.any(a)
        assert n == 0 or a.ctypes.data % 64 == 0
    src = np.arange(n + 1, dtype=dtype)[1:]          # off a line by one item
    b = aligned.copy(src)
    assert np.array_equal(b, src) and aligned.is_aligned(b) and b.dtype == dtype
    assert aligned.copy(b) is b
    assert aligned.copy(src, np.float64).dtype == np.float64


def test_ring_stride_is_whole_lines():
    assert [aligned.ring_stride(n) for n in (0, 1, 8, 9, 530, 536)] == [0, 8, 8, 16, 536, 536]


def _check_state(st):
    """Every written array aligned; rings of D slots of whole lines; one owner per line."""
    n = int(st.n_loc)
    for name in aligned.WRITTEN:
        assert np.asarray(getattr(st, name)).ctypes.data % 64 == 0, name
    assert st.ring_n % 8 == 0 and n <= st.ring_n < n + 8
    assert np.asarray(st.ring_ex).size == st.D * st.ring_n
    assert np.asarray(st.ring_in).size == (n if st.one_ring else st.D * st.ring_n)
    owner = np.asarray(st.owner)
    items = aligned.SPLIT_ITEMS
    for line in range(-(-n // items)):
        assert np.unique(owner[line * items:(line + 1) * items]).size == 1, line


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_state_is_aligned_and_lines_have_one_owner(mixed_network, threads):
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, threads=threads)
    sim.build()
    assert sim.st.n_loc % 8 != 0            # 530 neurons: the ring stride is padded
    _check_state(sim.st)
    assert np.all(np.bincount(np.asarray(sim.st.owner), minlength=threads) > 0)      # every thread has work


def test_restored_state_is_aligned(mixed_network, tmp_path):
    path = str(tmp_path / "a.ckpt.h5")
    sim = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, threads=2)
    sim.run(50.0)
    sim.checkpoint(path)
    again = Simulation(mixed_network(), seed=SEED, comm=MPI.COMM_SELF, threads=2)
    again.build()
    again.restore(path)
    _check_state(again.st)
    for name in ("V", "i_ex", "r"):
        assert np.array_equal(np.asarray(getattr(again.st, name)), np.asarray(getattr(sim.st, name)))
    assert np.array_equal(np.asarray(again.st.ring_ex), np.asarray(sim.st.ring_ex))
