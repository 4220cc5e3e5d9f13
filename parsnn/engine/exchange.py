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
  rank's neighbours, not with P. ``auto`` keeps the Alltoall when some rank exchanges with every
  other rank (nothing to save), else asks the cost model (:func:`choose_scheme`:
  :func:`parsnn.mapping.cluster.collectives.engine_choice` with this machine's calibration, the
  largest neighbour counts and the node layout); on a machine without a calibration it keeps the
  rule of thumb ``neighbor`` when every rank has at most P/4 neighbours each way and P >= 4. The
  run file's run_info ``exchange`` says which was used, by what and why. The graph communicator is
  freed by :func:`free_graph` (``Simulation.finish`` / ``close``; a later run makes it again). The
  spikes do not depend on the scheme.
- the **wait policy** (``mpi_wait``): ``poll`` calls the blocking collective (MPICH busy-polls
  inside it); ``yield`` starts the non-blocking one and tests it, :data:`DEFAULT_WAIT_POLLS` times,
  then with a ``sched_yield`` between tests; ``sleep`` (the default: the best of the three on the
  loaded test machine, ``benchmarks/mpi_wait_pd14.py``) yields for as long as one short sleep costs on
  this machine (measured when the wait is set; run_info ``sleep_cost_us``, ``mpi_wait_yield_us``) and
  then sleeps between tests (1 to 64 us, doubling, with a 1 ns timer slack during the step loop). A
  rank that waits for a slower one then leaves its core to other work on a shared machine.
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


def _rule(size: int, k: int) -> str:
    """The rule of thumb of machines without a calibration: ``neighbor`` when P >= 4 and every rank
    has at most P/4 in- and out-neighbours."""
    return "neighbor" if size >= 4 and 4 * k <= size else "alltoall"


def _node_layout(comm) -> tuple[np.ndarray, int]:
    """(node index of every rank, largest ranks per node) from MPI's shared-memory split (collective;
    the split communicator is freed at once)."""
    node_comm = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        leader = node_comm.bcast(comm.Get_rank(), root=0)
        rpn = node_comm.Get_size()
    finally:
        node_comm.Free()
    leaders = np.asarray(comm.allgather(leader))
    return np.unique(leaders, return_inverse=True)[1], int(comm.allreduce(rpn, op=MPI.MAX))


def choose_scheme(comm, requested: str, route_in, route_out) -> tuple[str, int, dict]:
    """(``alltoall`` or ``neighbor``, the largest neighbour count over the ranks, the decision) for the
    run's ``requested`` scheme (collective). The decision (stored in run_info ``exchange``) has
    ``by`` (``request``, ``cost_model`` or ``rule``), ``reason``, ``rule`` (the rule of thumb's scheme)
    and, by the cost model, ``machine`` and the predicted ``alltoall_us`` / ``neighbor_us`` of one
    exchange of the first block. ``auto`` asks the cost model with this machine's calibration
    (:func:`parsnn.machines.fingerprint.find_calibration`), else takes the rule."""
    size = comm.Get_size()
    if size == 1:
        return ("alltoall" if requested == "auto" else requested), 0, {"by": "request" if requested != "auto" else "rule",
                                                                      "reason": "one rank: no exchange", "rule": "alltoall"}
    node, rpn = _node_layout(comm)
    here = node[comm.Get_rank()]
    k = max(len(route_in), len(route_out))
    off = int(np.count_nonzero(node[np.asarray(route_out, dtype=np.int64)] != here))
    k_off = max(off, int(np.count_nonzero(node[np.asarray(route_in, dtype=np.int64)] != here)))
    kk = np.array([k, k_off], dtype=np.int64)
    comm.Allreduce(MPI.IN_PLACE, kk, op=MPI.MAX)
    k, k_off = int(kk[0]), int(kk[1])
    off_node = np.zeros(int(node.max()) + 1, dtype=np.int64)
    off_node[here] = off
    comm.Allreduce(MPI.IN_PLACE, off_node, op=MPI.SUM)
    rule = _rule(size, k)
    if requested != "auto":
        return requested, k, {"by": "request", "reason": f"--exchange {requested}", "rule": rule}
    if k >= size - 1:       # a rank that talks to every other: a neighbourhood has nothing to save
        return "alltoall", k, {"by": "rule", "rule": rule,
                               "reason": f"a rank exchanges with all {size - 1} others: no neighbourhood to exploit"}
    decision = comm.bcast(_model_choice(size, k, k_off, int(off_node.max()), rpn, int(node.max()) + 1, rule)
                          if comm.Get_rank() == 0 else None, root=0)
    return decision["scheme"], k, {key: v for key, v in decision.items() if key != "scheme"}


def _model_choice(P: int, k: int, k_off: int, k_off_node: int, rpn: int, nodes: int, rule: str) -> dict:
    """The cost model's choice with this machine's calibration, or the rule without one (rank 0)."""
    from parsnn.machines import load_machine
    from parsnn.machines.fingerprint import find_calibration
    from parsnn.mapping.cluster.collectives import engine_choice
    rule_reason = f"rule of thumb (P >= 4 and 4 x max neighbours <= P): P {P}, max neighbours {k}"
    try:
        path = find_calibration()
        machine = load_machine(path) if path else None
    except Exception as e:          # a broken calibration must not stop a run: say so, take the rule
        path, machine, rule_reason = None, None, f"{rule_reason}; calibration unreadable: {e}"
    if machine is None:
        return {"scheme": rule, "by": "rule", "rule": rule,
                "reason": f"no calibration of this machine (parsnn calibrate); {rule_reason}"}
    c = engine_choice(machine, P, k, k_off, k_off_node, rpn, nodes)
    return {"scheme": c["scheme"], "by": "cost_model", "rule": rule, "machine": machine.name,
            "alltoall_us": round(c["alltoall_us"], 4), "neighbor_us": round(c["neighbor_us"], 4),
            "reason": (f"cost model ({machine.name}): one exchange of the first block, alltoall "
                       f"{c['alltoall_us']:.2f} us vs neighbor {c['neighbor_us']:.2f} us with at most {k} "
                       f"neighbours ({k_off} on other nodes), {rpn} ranks per node on {nodes} node(s)")}


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
    block follow the traffic (off only to test the overflow round). Returns the graph communicator
    of ``neighbor`` (:func:`attach_graph`; None for ``alltoall``), for :func:`free_graph`."""
    m = min_delay_steps
    st.recvbuf = np.zeros(max(num_sources * m + num_generator_spikes, 1), dtype=np.uint64)
    st.n_recv = 0
    st.set_comm(comm, DEFAULT_BLOCK if block is None else int(block), bool(adapt))
    st.set_wait(mpi_wait, int(wait_polls))
    return attach_graph(st, comm) if scheme == "neighbor" else None


def attach_graph(st, comm):
    """Make the neighbourhood exchange's distributed-graph communicator from the routes and hand it to
    the step loop (collective); returns it (None on one rank). Free it with :func:`free_graph`."""
    if comm.Get_size() == 1:
        return None
    src, dst = np.asarray(st.route_in).tolist(), np.asarray(st.route_out).tolist()
    graph = comm.Create_dist_graph_adjacent(src, dst, reorder=False)
    st.set_neighbors(graph, src, dst)
    return graph


def free_graph(st, graph) -> None:
    """Free the graph communicator of :func:`attach_graph` (this rank's handle; MPICH frees it
    locally, so a rank that ends early does not wait for the others) and stop the step loop from
    using it until :func:`attach_graph` makes a new one. Returns None (the caller's new handle)."""
    if graph is None:
        return None
    st.x_neighbor = False
    if graph != MPI.COMM_NULL:
        graph.Free()
    return None
