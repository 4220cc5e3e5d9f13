"""Spike exchange between ranks (NEST's event delivery manager, MPI part).

At build time every rank tells the owner of each source it has synapses from that it needs
that source's spikes (:func:`build_routes`, one ``Alltoall`` + ``Alltoallv``), so a spike is sent
only to the ranks that host targets. During the run, the step loop in ``cython/engine.pyx`` moves the spikes
of each min-delay interval with ONE collective: a fixed-size ``MPI_Alltoall`` whose per-destination
block carries its spike count in its first word and adapts to the traffic, plus an overflow round
(a second ``Alltoall``) only in intervals where some block was too small, as NEST does.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI



def displacements(counts: np.ndarray) -> np.ndarray:
    """Exclusive prefix sum of ``counts`` (MPI displacements), in the dtype of ``counts``."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(counts.dtype)


def build_routes(st, comm, rank_of: np.ndarray, has_targets: np.ndarray, g2l: np.ndarray, n: int) -> int:
    """Which ranks need each local neuron's spikes (collective).

    ``has_targets[g]``: this rank has synapses from node ``g``; ``n``: number of local nodes. Sets ``st.dst_rank`` /
    ``st.dst_ptr`` (for local neuron i, the ranks ``dst_rank[dst_ptr[i]:dst_ptr[i+1]]``, ascending)
    and ``st.g2l``; returns the number of (non-virtual) sources whose spikes this rank receives."""
    size = comm.Get_size()
    virtual = rank_of < 0
    needed = np.flatnonzero(has_targets & ~virtual)
    owners = rank_of[needed]
    order = np.argsort(owners, kind="stable")
    needed = needed[order].astype(np.int64)
    scounts = np.bincount(owners, minlength=size).astype(np.int64)
    rcounts = np.empty(size, dtype=np.int64)
    comm.Alltoall(scounts, rcounts)
    requested = np.empty(int(rcounts.sum()), dtype=np.int64)
    comm.Alltoallv([needed, (scounts, displacements(scounts)), MPI.INT64_T],
                   [requested, (rcounts, displacements(rcounts)), MPI.INT64_T])
    req_rank = np.repeat(np.arange(size, dtype=np.int32), rcounts)
    req_local = g2l[requested].astype(np.int64)
    order = np.lexsort((req_rank, req_local))
    st.dst_rank = np.ascontiguousarray(req_rank[order])
    st.dst_ptr = np.concatenate([[0], np.cumsum(np.bincount(req_local, minlength=n))]).astype(np.int64)
    st.g2l = g2l
    return int(needed.size)


#: the exchange scheme (stored in the run file's run_info as ``exchange``)
SCHEME = "alltoall_fixed_block"
#: default first block size (words per destination: one header word and block - 1 spike codes)
DEFAULT_BLOCK = 32


def setup_exchange(st, comm, min_delay_steps: int, num_sources: int, num_generator_spikes: int,
                   block: int | None = None, adapt: bool = True):
    """Attach the exchange to ``st``: the receive buffer that delivery reads and the fixed-block
    ``Alltoall`` over ``comm`` done by the step loop (``cython/engine.pyx``).

    ``num_sources``: sources whose spikes this rank receives (from :func:`build_routes`);
    ``num_generator_spikes``: spike-generator spikes delivered here (they share the receive buffer).
    ``block``: first block size in words (>= 2; default :data:`DEFAULT_BLOCK`); ``adapt``: let the
    block follow the traffic (off only to test the overflow round)."""
    m = min_delay_steps
    st.recvbuf = np.zeros(max(num_sources * m + num_generator_spikes, 1), dtype=np.uint64)
    st.n_recv = 0
    st.set_comm(comm, DEFAULT_BLOCK if block is None else int(block), bool(adapt))
