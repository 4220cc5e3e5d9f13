"""Plastic synapses of one rank (NEST's STDP connections and ArchivingNode).

Every rank builds only the plastic synapses onto its own neurons, with the same connect kernels
and random streams as static ones (so a projection's synapses are the same whether it is static or
plastic), into one store of rows grouped by (projection, source): weight (float64: a constant
initial weight is kept exactly, a drawn one is the float32 draw), target local index (uint16 on a
rank with at most 65,536 local nodes, else uint32) and delay (uint16 steps, kept once per
projection if all its synapses have one); :mod:`parsnn.engine.plastic_store` draws it without a
second copy of the synapses. Each row is split into one sub-row per thread (the synapses onto the neurons
the thread owns: the k-th block of the local neurons, as for static rows); rows are in target order,
so the sub-rows are consecutive slices and the store is the same for any number of threads, only
the row pointer has T entries per row. Each (projection, source) has one Kplus and one last spike time; each local
neuron with plastic inputs has a post-spike archive, its Kminus (time constant ``tau_minus``, a
neuron parameter), the number of plastic synapses onto it and their largest delay. The kernels
are in ``cython/plastic.h`` (see there for the rule and the call sites).

:func:`weights` returns the weights in a layout-independent order; :func:`local_state` and
:func:`apply_state` carry the dynamic state through a checkpoint.

*Weight power* (``weight_power``, :data:`WEIGHT_POWERS`): how stdp_pl_synapse_hom's facilitation computes
w^mu. ``newton`` (the default): for mu = 0.4 (hpc_benchmark's), the fifth root of w^2 by Newton's method in
plain IEEE arithmetic (``parsnn_root25`` in cython/plastic.h): within 1.3 ulp of the exact value, the same
bits on every machine and C library, 5.6 against glibc's 9.7 ns per call (benchmarks/results/pow19); any other
mu, and stdp_synapse, keep pow. ``libm``: the C library's pow for every mu, as NEST calls it (on the same
machine, NEST's bits; the arithmetic of parsnn before session 19). The two give weights up to 1 ulp apart per
facilitation, so spikes may differ after long runs; each is the same for any ranks, threads and partition.
The run file records the one used (``run_info["plasticity"]``).
"""
from __future__ import annotations

import numpy as np

from parsnn import _engine as engine_kernels
from parsnn import synapses as synapse_models
from parsnn.engine import plastic_store
from parsnn.engine.neurons import draw_parameter
from parsnn.engine.streams import DEFAULT_REALISATION, REALISATIONS
from parsnn.errors import ParameterError

#: the ways stdp_pl_synapse_hom's facilitation computes w^mu (Simulation's ``weight_power``; module docstring)
WEIGHT_POWERS = tuple(engine_kernels.WEIGHT_POWERS)
DEFAULT_WEIGHT_POWER = "newton"
#: the weight power of a run or checkpoint that names none (written before it was recorded)
UNRECORDED_WEIGHT_POWER = "libm"


def check_weight_power(name) -> str:
    """The weight power's name, or ParameterError naming the allowed ones."""
    if name not in WEIGHT_POWERS:
        raise ParameterError(f"weight_power must be one of {', '.join(WEIGHT_POWERS)}, got {name!r}")
    return name


class PlasticSynapses:
    """The plastic projections of a network on one rank: their indices, the store and the traces."""

    def __init__(self, net, local: np.ndarray, offsets: dict, pop_local: dict, seed: int, h: float,
                 threads: int = 1, scheme: int = REALISATIONS[DEFAULT_REALISATION],
                 weight_power: str = DEFAULT_WEIGHT_POWER):
        self.net, self.local, self.offsets, self.h, self.threads = net, local, offsets, h, int(threads)
        self.scheme = scheme            # realisation scheme of the draws (parsnn.engine.streams)
        self.weight_power = check_weight_power(weight_power)
        # every plastic projection of the network (the same list on every rank), and the store's: those with a
        # synapse onto this rank (a projection with none keeps no sub-row bounds, source traces or facilitation
        # table here; its sources' spikes never reach its rows)
        self.all_projections = [k for k, proj in enumerate(net.projections) if proj.plastic]
        self.dmin, self.dmax = 1 << 40, 0
        self.has_targets = np.zeros(net.num_nodes, dtype=bool)
        T = self.threads
        counted = [c for c in (plastic_store.count_projection(net, k, local, offsets, pop_local, seed, h, T, scheme)
                               for k in self.all_projections) if not c.empty]
        self.projections = [c.k for c in counted]
        a = plastic_store.allocate(counted, local.size)
        for j, c in enumerate(counted):
            lo, hi = plastic_store.fill_store(a, j, c, net.num_nodes, seed, h, T)
            self.dmin, self.dmax = min(self.dmin, lo), max(self.dmax, hi)
            self.has_targets[c.soff:c.soff + c.nsrc] |= c.rows.reshape(c.nsrc, T).sum(axis=1) > 0
        del counted
        self._arrays(a, [self._parameters(k) for k in self.projections], local, offsets, pop_local, seed)

    @property
    def active(self) -> bool:
        """True if the network has plastic projections (on any rank: every rank then runs the plastic hooks,
        which are empty where it has none, and takes part in the gathers)."""
        return bool(self.all_projections)

    def _parameters(self, k) -> dict:
        """The kernel's parameters of projection k (stdp_pl_synapse_hom's mu as mu_plus)."""
        proj = self.net.projections[k]
        model = synapse_models.get(proj.synapse_model)
        v = synapse_models.values(model, proj.synapse_params)
        return {"model": model.code, "tau_plus": v["tau_plus"], "lambda": v["lambda"], "alpha": v["alpha"],
                "mu_plus": v.get("mu_plus", v.get("mu")), "mu_minus": v.get("mu_minus", 1.0),
                "wmax": v.get("Wmax", np.inf), "soff": self.offsets[proj.source],
                "nsrc": self.net.populations[proj.source].size}

    def _arrays(self, a, params, local, offsets, pop_local, seed):
        """Complete the store ``a`` (:func:`plastic_store.allocate`, filled) with the projections'
        parameters, the sources' traces and the per-neuron trace parameters."""
        n = local.size
        a.update({key: np.array([p[key] for p in params]) for key in
                  ("model", "tau_plus", "lambda", "alpha", "mu_plus", "mu_minus", "wmax", "soff", "nsrc")})
        a["src_off"] = np.cumsum([0] + [int(p["nsrc"]) for p in params])[:-1]
        nsrc_total = int(sum(int(p["nsrc"]) for p in params))
        a["kplus"], a["tlast"] = np.zeros(nsrc_total), np.zeros(nsrc_total, dtype=np.int64)
        tau_minus = np.full(n, np.inf)
        for name in {self.net.projections[k].target for k in self.projections}:
            lo, hi = pop_local[name]
            pop = self.net.populations[name]
            tau_minus[lo:hi] = draw_parameter(pop, "tau_minus", local[lo:hi], offsets[name], seed, self.scheme)
        a["tau_minus_inv"] = 1.0 / tau_minus
        a["kminus"], a["last_t"] = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.syn_off = a.pop("syn_off")
        self.arrays = a

    def attach(self, st, min_delay_steps: int):
        """Give the engine state ``st`` the kernel's store (once the min delay is known)."""
        st.plastic_on = self.active
        if not self.active:
            return
        state = engine_kernels.PlasticState()
        state.setup(self.local.size, self.h, min_delay_steps, self.arrays, self.threads,
                    engine_kernels.WEIGHT_POWERS[self.weight_power])
        self.state = state
        self.arrays = state.arrays           # the kernel works in these (converted) arrays
        st.plastic = state

    def synapse_delays(self, j: int) -> np.ndarray:
        """The delay in steps of every local synapse of the j-th plastic projection, in row order
        (uint16; a new array)."""
        a = self.arrays
        lo, hi = int(a["ptr"][a["row_off"][j]]), int(self.row_ptr(j)[-1])
        if a["dconst"][j]:
            return np.full(hi - lo, a["dconst"][j], dtype=np.uint16)
        return a["d"][lo - a["d_base"][j]:hi - a["d_base"][j]].copy()

    def memory(self) -> dict:
        """Bytes that the plastic synapses keep on this rank, by what they are kept per: synapse
        (weight, target, stored delays), row (sub-row bounds; Kplus and last spike per (projection,
        source)), neuron (traces, counts, archive headers; the archives' entries, 20 bytes per
        archived post spike, come on top), projection (parameters, facilitation tables); with
        ``synapses`` and the total per synapse."""
        a = self.arrays
        per_synapse = sum(int(a[k].nbytes) for k in ("w", "tgt", "d"))
        per_row = sum(int(a[k].nbytes) for k in ("ptr", "kplus", "tlast"))
        per_neuron = (sum(int(a[k].nbytes) for k in ("kminus", "last_t", "tau_minus_inv", "n_incoming", "max_delay"))
                      + engine_kernels.PLASTIC_HIST_BYTES * self.local.size)
        per_projection = (sum(int(a[k].nbytes) for k in ("model", "tau_plus", "lambda", "alpha", "mu_plus", "mu_minus",
                                                       "wmax", "soff", "nsrc", "row_off", "src_off", "d_base", "dconst"))
                          + engine_kernels.PLASTIC_FTAB_BYTES * len(self.projections))
        n = self.num_local
        total = per_synapse + per_row + per_neuron + per_projection
        return {"synapses": n, "per_synapse": per_synapse, "per_row": per_row, "per_neuron": per_neuron,
                "per_projection": per_projection, "total": total, "total_per_synapse": total / max(n, 1),
                "target_bytes": int(a["tgt"].itemsize), "stored_delays": int(a["d"].size)}

    @property
    def num_local(self) -> int:
        """Plastic synapses on this rank."""
        return int(self.arrays["tgt"].size)

    @property
    def facilitations(self) -> int:
        """Facilitations on this rank since the kernel's store was attached: post spikes read by a plastic
        synapse (0 without plastic synapses). Each archived post spike is read once by every plastic
        synapse onto its neuron whose source spikes after it, so in a stationary run about plastic
        synapses x the target's rate per second; at a run's start, with empty archives, fewer
        (analysis/results/plastic_cost21/)."""
        state = getattr(self, "state", None)
        return state.facilitations() if state is not None else 0

    @property
    def history_windows(self) -> int:
        """Facilitation windows on this rank since the kernel's store was attached that searched the target's
        post-spike history (the window may hold older spikes than the two newest, which the dense record holds; 0
        without plastic synapses). Each costs misses on the history's arrays: on hpc_benchmark at scale 1 about 31 ns,
        and their share of the plastic events rises from 0 to ~0.12 over the first 400 ms, which is most of why a
        plastic event's cost grows with the run's age (analysis/results/plastic_ws23/README.md)."""
        state = getattr(self, "state", None)
        return state.history_windows() if state is not None else 0

    def row_ptr(self, j: int) -> np.ndarray:
        """The pointer over the whole rows (all threads' sub-rows) of the j-th plastic projection of the store
        (``projections[j]``): nsrc + 1 positions in the store."""
        a, T = self.arrays, self.threads
        nsrc = int(a["nsrc"][j])
        return a["ptr"][a["row_off"][j]:a["row_off"][j] + nsrc * T + 1:T]

    def local_weights(self, j: int):
        """(source population-local ids, target gids, weights) of the local synapses of the store's j-th plastic
        projection (``projections[j]``), in row order."""
        a = self.arrays
        nsrc = int(a["nsrc"][j])
        ptr = self.row_ptr(j)
        lo, hi = int(ptr[0]), int(ptr[-1])
        src = np.repeat(np.arange(nsrc, dtype=np.int64), np.diff(ptr))
        return src, self.local[a["tgt"][lo:hi].astype(np.int64)], a["w"][lo:hi]


def weight_key(proj) -> str:
    """The name under which the weights of plastic projection ``proj`` are reported."""
    return f"{proj.source}-{proj.target}"


def gather_weights(plastic: PlasticSynapses, comm, root: int | None = None) -> dict | None:
    """{key: (source ids, target ids, weights)} of every plastic projection, population-local ids,
    sorted by (source, target) (a stable sort: multapses, which share a rank and a row, keep their
    generation order), the same for any layout; on every rank, or only on rank ``root`` (None
    elsewhere) (collective)."""
    net = plastic.net
    mine = {}
    for j, k in enumerate(plastic.projections):            # this rank's (projections with a synapse here)
        src, tgt, w = plastic.local_weights(j)
        mine[k] = (src, tgt - plastic.offsets[net.projections[k].target], w)
    if comm.Get_size() == 1:
        parts = [mine]
    elif root is None:
        parts = comm.allgather(mine)
    else:
        parts = comm.gather(mine, root=root)
        if comm.Get_rank() != root:
            return None
    out = {}
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    for k in plastic.all_projections:
        got = [p[k] for p in parts if k in p] or [none]        # in rank order
        src, tgt, w = (np.concatenate([g[i] for g in got]) for i in range(3))
        order = np.lexsort((tgt, src))
        out[weight_key(net.projections[k])] = (src[order], tgt[order], w[order].copy())
    return out


def _source_traces(plastic: PlasticSynapses, comm) -> dict:
    """{projection key: (Kplus, last spike stamp)} per source, taken from the ranks that hold the
    source's row (the others never saw its spikes); on rank 0, None elsewhere (collective)."""
    a = plastic.arrays
    mine = {}
    for j, k in enumerate(plastic.projections):            # this rank's (projections with a synapse here)
        nsrc = int(a["nsrc"][j])
        rows = plastic.row_ptr(j)
        sl = slice(int(a["src_off"][j]), int(a["src_off"][j]) + nsrc)
        mine[k] = (np.diff(rows) > 0, a["kplus"][sl], a["tlast"][sl])
    parts = comm.gather(mine, root=0) if comm.Get_size() > 1 else [mine]
    if comm.Get_rank() != 0:
        return None
    out = {}
    net = plastic.net
    for k in plastic.all_projections:
        nsrc = net.populations[net.projections[k].source].size
        kplus, tlast = np.zeros(nsrc), np.zeros(nsrc, dtype=np.int64)
        for part in parts:
            if k in part:
                has, kp, tl = part[k]
                kplus[has], tlast[has] = kp[has], tl[has]
        out[weight_key(net.projections[k])] = (kplus, tlast)
    return out


def gather_state(plastic: PlasticSynapses, comm) -> dict | None:
    """The plastic state in a layout-independent form, on rank 0 (None elsewhere; collective):
    per projection key the weights in :func:`gather_weights` order, the sources' Kplus and last
    spike stamps; per node id the neurons' Kminus, last spike stamp and post-spike archive (CSR)."""
    if not plastic.active:
        return None
    weights = gather_weights(plastic, comm)
    traces = _source_traces(plastic, comm)
    counts, t, k, cnt = plastic.state.history()
    a = plastic.arrays
    mine = (plastic.local, counts, t, k, cnt, a["kminus"], a["last_t"])
    parts = comm.gather(mine, root=0) if comm.Get_size() > 1 else [mine]
    if comm.Get_rank() != 0:
        return None
    n = plastic.net.num_nodes
    state = {"kminus": np.zeros(n), "last_t": np.zeros(n, dtype=np.int64), "hist_count": np.zeros(n, dtype=np.int64)}
    entries = []
    for gids, counts, t, k, cnt, kminus, last_t in parts:
        state["kminus"][gids], state["last_t"][gids], state["hist_count"][gids] = kminus, last_t, counts
        owner = np.repeat(gids, counts)
        entries.append((owner, t, k, cnt))
    owner, t, k, cnt = (np.concatenate([e[i] for e in entries]) for i in range(4))
    order = np.argsort(owner, kind="stable")      # per node, in archive order
    state["hist_t"], state["hist_k"], state["hist_cnt"] = t[order], k[order], cnt[order]
    for key, (src, tgt, w) in weights.items():
        state[f"{key}/source_ids"], state[f"{key}/target_ids"], state[f"{key}/weights"] = src, tgt, w
        state[f"{key}/kplus"], state[f"{key}/tlast"] = traces[key]
    return state


def apply_state(plastic: PlasticSynapses, comm, state: dict | None):
    """Put the state of :func:`gather_state` (given on rank 0) into this rank's store (collective);
    ParameterError if it does not match the built synapses."""
    from parsnn.errors import ParameterError
    if not plastic.active:
        return
    state = comm.bcast(state, root=0) if comm.Get_size() > 1 else state
    if state is None:
        raise ParameterError("the checkpoint holds no plastic state, but the network has plastic synapses")
    a = plastic.arrays
    for j, k in enumerate(plastic.projections):
        proj = plastic.net.projections[k]
        key = weight_key(proj)
        src, tgt_gid, _ = plastic.local_weights(j)
        tgt = tgt_gid - plastic.offsets[proj.target]
        ntgt = plastic.net.populations[proj.target].size
        gkey = state[f"{key}/source_ids"].astype(np.int64) * ntgt + state[f"{key}/target_ids"].astype(np.int64)
        lkey = src * ntgt + tgt
        order = np.argsort(lkey, kind="stable")
        sorted_keys = lkey[order]
        first = np.searchsorted(sorted_keys, sorted_keys, side="left")
        pos = np.searchsorted(gkey, sorted_keys, side="left") + (np.arange(sorted_keys.size) - first)
        if pos.size and (pos.max() >= gkey.size or np.any(gkey[pos] != sorted_keys)):
            raise ParameterError(f"the checkpoint's plastic synapses of {key} differ from the rebuilt ones")
        lo = int(a["ptr"][a["row_off"][j]])
        a["w"][lo + order] = state[f"{key}/weights"][pos]
        sl = slice(int(a["src_off"][j]), int(a["src_off"][j]) + int(a["nsrc"][j]))
        a["kplus"][sl], a["tlast"][sl] = state[f"{key}/kplus"], state[f"{key}/tlast"]
    gids = plastic.local
    a["kminus"][:], a["last_t"][:] = state["kminus"][gids], state["last_t"][gids]
    counts = state["hist_count"]
    start = np.concatenate([[0], np.cumsum(counts)])
    c = counts[gids]
    idx = np.repeat(start[gids] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))   # the entries of gids, in order
    plastic.state.set_history(counts[gids], state["hist_t"][idx], state["hist_k"][idx], state["hist_cnt"][idx])
