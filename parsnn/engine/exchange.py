"""Spike exchange between ranks (NEST's event delivery manager, MPI part).

At build time every rank tells the owner of each source it has synapses from that it needs
that source's spikes (:func:`build_routes`, one ``Alltoall`` + ``Alltoallv``), so a spike is sent
only to the ranks that host targets. During the run, the step loop in ``cython/engine.pyx`` moves the spikes
of each min-delay interval with ONE collective: a fixed-size ``MPI_Alltoall`` whose per-destination
block carries its spike count in its first word and adapts to the traffic, plus an overflow round
(a second ``Alltoall``) only in intervals where some block was too small, as NEST does.

Two per-run choices (:func:`setup_exchange`):

- the **scheme**: ``alltoall`` (above), or ``neighbor``: ``MPI_Neighbor_alltoallv`` on a
  distributed-graph communicator made from the routes (out-edges: the ranks that host targets of
  this rank's neurons; in-edges: the ranks whose neurons have targets here), with a block per edge
  and the codes beyond a block sent point-to-point to that neighbour only, so the cost grows with a
  rank's neighbours, not with P. ``auto`` takes ``neighbor`` when every rank has at most P/4
  neighbours each way (and P >= 4): a rule of thumb, not measured (it needs more cores than the
  test machine has). The spikes do not depend on the scheme.
- the **wait policy** (``mpi_wait``): ``poll`` calls the blocking collective (MPICH busy-polls
  inside it); ``yield`` starts the non-blocking one and tests it, :data:`DEFAULT_WAIT_POLLS` times,
  then with a ``sched_yield`` between tests; ``sleep`` (the default: the best of the three on the
  loaded test machine, ``benchmarks/mpi_wait_pd14.py``) yields as many times and then sleeps between
  tests (1 to 64 us, doubling). A rank that waits for a slower one then leaves its core to other
  work on a shared machine.
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
    me = comm.Get_rank()
    in_ranks = np.unique(owners)
    out_ranks = np.unique(req_rank)
    st.route_in = in_ranks[in_ranks != me].astype(np.int32)       # whose neurons target mine
    st.route_out = out_ranks[out_ranks != me].astype(np.int32)    # who hosts targets of mine
    return int(needed.size)


#: the exchange schemes by the name a run asks for (stored in the run file's run_info ``exchange``)
SCHEMES = {"alltoall": "alltoall_fixed_block", "neighbor": "neighbor_alltoallv_fixed_block"}
#: what a run may ask for: a scheme, or ``auto``
EXCHANGE_CHOICES = ("alltoall", "neighbor", "auto")
#: the wait policies (see the module docstring) and the default
WAIT_CHOICES = ("poll", "yield", "sleep")
DEFAULT_WAIT = "sleep"
#: tests of the non-blocking collective before a ``yield`` / ``sleep`` wait backs off
DEFAULT_WAIT_POLLS = 100
#: default first block size (words per destination: one header word and block - 1 spike codes)
DEFAULT_BLOCK = 32


def check_choices(exchange: str, mpi_wait: str, wait_polls: int):
    """ParameterError unless ``exchange`` / ``mpi_wait`` / ``wait_polls`` are allowed values."""
    from parsnn.errors import ParameterError
    if exchange not in EXCHANGE_CHOICES:
        raise ParameterError(f"exchange must be one of {', '.join(EXCHANGE_CHOICES)}, got {exchange!r}")
    if mpi_wait not in WAIT_CHOICES:
        raise ParameterError(f"mpi_wait must be one of {', '.join(WAIT_CHOICES)}, got {mpi_wait!r}")
    if isinstance(wait_polls, bool) or not isinstance(wait_polls, (int, np.integer)) or not 0 <= wait_polls <= 10**9:
        raise ParameterError(f"mpi_wait_polls must be an integer in [0, 10^9], got {wait_polls!r}")


def choose_scheme(comm, requested: str, route_in, route_out) -> tuple[str, int]:
    """(``alltoall`` or ``neighbor``, the largest neighbour count over the ranks) for the run's
    ``requested`` scheme (collective): ``auto`` is ``neighbor`` when P >= 4 and every rank has at
    most P/4 in- and out-neighbours."""
    size = comm.Get_size()
    k = comm.allreduce(max(len(route_in), len(route_out)), op=MPI.MAX) if size > 1 else 0
    if requested != "auto":
        return requested, int(k)
    return ("neighbor" if size >= 4 and 4 * k <= size else "alltoall"), int(k)


def setup_exchange(st, comm, min_delay_steps: int, num_sources: int, num_generator_spikes: int,
                   block: int | None = None, adapt: bool = True, scheme: str = "alltoall",
                   mpi_wait: str = DEFAULT_WAIT, wait_polls: int = DEFAULT_WAIT_POLLS):
    """Attach the exchange to ``st``: the receive buffer that delivery reads and the fixed-block
    ``Alltoall`` (``scheme="alltoall"``) or neighbourhood exchange (``"neighbor"``: a graph
    communicator from the routes ``st.route_in`` / ``st.route_out`` of :func:`build_routes`; collective)
    over ``comm`` done by the step loop (``cython/engine.pyx``), waiting by ``mpi_wait``.

    ``num_sources``: sources whose spikes this rank receives (from :func:`build_routes`);
    ``num_generator_spikes``: spike-generator spikes delivered here (they share the receive buffer).
    ``block``: first block size in words (>= 2; default :data:`DEFAULT_BLOCK`); ``adapt``: let the
    block follow the traffic (off only to test the overflow round)."""
    m = min_delay_steps
    st.recvbuf = np.zeros(max(num_sources * m + num_generator_spikes, 1), dtype=np.uint64)
    st.n_recv = 0
    st.set_comm(comm, DEFAULT_BLOCK if block is None else int(block), bool(adapt))
    st.set_wait(mpi_wait, int(wait_polls))
    if scheme == "neighbor" and comm.Get_size() > 1:
        src, dst = np.asarray(st.route_in).tolist(), np.asarray(st.route_out).tolist()
        graph = comm.Create_dist_graph_adjacent(src, dst, reorder=False)
        st.set_neighbors(graph, src, dst)
