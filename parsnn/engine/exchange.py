"""Spike exchange between ranks (NEST's event delivery manager, MPI part).

At build time every rank tells the owner of each source it has synapses from that it needs
that source's spikes (:func:`build_routes`, one ``Alltoall`` + ``Alltoallv``), so a spike is sent
only to the ranks that host targets. During the run, :class:`SpikeExchange` moves the spikes of
one min-delay interval: the kernel packs them per destination rank, the counts go by
``Alltoall`` and the spikes by ``Alltoallv`` into the receive buffer that delivery reads.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from parsnn import _engine as engine_kernels


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


class SpikeExchange:
    """Send and receive buffers of one min-delay interval and their exchange.

    ``num_sources``: sources whose spikes this rank receives (from :func:`build_routes`);
    ``num_generator_spikes``: spike-generator spikes delivered here (they share the receive buffer).
    The buffers are attached to ``st``, where the pack and deliver kernels use them."""

    def __init__(self, st, comm, min_delay_steps: int, num_sources: int, num_generator_spikes: int):
        m = min_delay_steps
        self.comm = comm
        self.size = comm.Get_size()
        self.sendbuf = np.zeros(max(len(st.dst_rank) * m, 1), dtype=np.uint64)
        self.recvbuf = np.zeros(max(num_sources * m + num_generator_spikes, 1), dtype=np.uint64)
        st.sendbuf, st.recvbuf = self.sendbuf, self.recvbuf
        self.scount = np.zeros(self.size, dtype=np.int32)
        self.sdispl = np.zeros(self.size, dtype=np.int32)
        self.rcount = np.zeros(self.size, dtype=np.int32)
        self.rdispl = np.zeros(self.size, dtype=np.int32)
        st.scount, st.sdispl, st.rcount, st.rdispl = self.scount, self.sdispl, self.rcount, self.rdispl
        self._send_spec = [self.sendbuf, (self.scount, self.sdispl), MPI.UINT64_T]
        self._recv_spec = [self.recvbuf, (self.rcount, self.rdispl), MPI.UINT64_T]

    def exchange(self, st) -> int:
        """Pack the interval's spikes, exchange them (collective on several ranks) and return the
        number of spikes in the receive buffer."""
        P = self.size
        total = engine_kernels.pack(st, P)
        if P > 1:
            self.comm.Alltoall(self.scount, self.rcount)
            nrecv = engine_kernels.recv_displacements(st, P)
            self.comm.Alltoallv(self._send_spec, self._recv_spec)
        else:
            self.recvbuf[:total] = self.sendbuf[:total]
            nrecv = total
        return nrecv
