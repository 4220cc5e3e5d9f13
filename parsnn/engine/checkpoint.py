"""Exact checkpoint and restore of a Simulation, on any number of ranks.

At an interval boundary every spike of the past intervals has been exchanged and delivered, so
the whole dynamic state is per node: the neuron state (V_m relative to E_L, i_ex, i_in, the
refractory counter), the spikes emitted so far (``n_fired``) and the ring buffers (input already
scheduled for the next D steps). :func:`save` gathers it on rank 0 in node-id order and writes it
with :mod:`parsnn.runfile.checkpoint`; :func:`restore` reads it on rank 0, checks it against the
simulation (network description, seed, resolution, parsnn version, connectivity checksum) and
scatters every rank its nodes' rows. Everything else (parameters, propagators, synapses,
Poisson draws, which are counter-based per step) is rebuilt from the seed; the spike generators'
cursor is recomputed from the step.

Ring buffers: the engine reads the input of step t from slot ``t % D`` (slot-major array
``ring[slot * ring_n + i]``, slot stride ``ring_n >= n_loc``: whole cache lines). A checkpoint at
step T stores, per node, column k = the slot of step T + k (k = 0..D-1); restore puts column k
back into slot ``(T + k) % D'`` of the new layout, so it does not depend on the D-rotation, the
rank count or the local order. With one ring for both receptors (:mod:`parsnn.engine.rings`,
per-tau) ``ring_in``, ``i_in`` and ``dI_in`` are stored as zeros and the totals in the ``_ex``
fields; restoring a two-ring checkpoint into a one-ring simulation adds the ``_in`` fields to the
``_ex`` ones (one ring is only used when both receptors share their propagators, so the sum decays
as the two parts would), so either continues the other.

Connectivity checksum (:func:`connectivity_checksum`): every synapse (source gid, target gid,
float32 weight bits, delay in steps) is hashed with splitmix64 (``mix(mix(src << 32 ^ tgt) ^
(weight bits << 16 | delay))``, a second lane mixes once more), and the hashes are summed modulo
2^64 over all synapses of all ranks (two lanes: 128 bits; one pass of the Cython kernel
cython/checksum.pyx). A sum does
not depend on the order of the synapses, so the value is the same for any rank count and
partition; with the synapse count it is stored in the checkpoint and compared on restore.
"""
from __future__ import annotations

import time

import numpy as np

from parsnn.engine import aligned, plasticity
from parsnn import _checksum as checksum_kernels
from parsnn.errors import ParameterError
from parsnn.runfile import checkpoint as checkpoint_file

_MASK64 = (1 << 64) - 1


def _local_hash_sums(sim) -> tuple[int, int]:
    """The two lanes' sums (mod 2^64) of the hashes of this rank's synapses (Cython kernel)."""
    tgt, weight, runs = sim._syn_store
    ptr, blocks, rows = sim._syn_blocks    # sub-rows by (compact source row, block), targets relative to a base
    sources = np.append(rows.gids(), 0)     # the gid of every compact row (the last, empty row: any)
    return checksum_kernels.hash_sums(np.ascontiguousarray(ptr, dtype=np.int64), tgt, weight.view(np.uint32),
                                      runs.d, runs.n, np.ascontiguousarray(sim.local_gids, dtype=np.int64),
                                      np.ascontiguousarray(blocks.base, dtype=np.int64), sources)


def connectivity_checksum(sim) -> dict:
    """{"count": number of synapses, "hash": 32 hex digits} of the built simulation, the same for
    any rank count and partition (collective; computed once and cached)."""
    cached = getattr(sim, "_connectivity_checksum", None)
    if cached is not None:
        return cached
    lanes = sim.comm.allgather(_local_hash_sums(sim)) if sim.size > 1 else [_local_hash_sums(sim)]
    first = sum(a for a, _ in lanes) & _MASK64
    second = sum(b for _, b in lanes) & _MASK64
    sim._connectivity_checksum = {"count": int(sim.num_synapses), "hash": f"{first:016x}{second:016x}"}
    return sim._connectivity_checksum


def _local_state(sim) -> dict:
    """This rank's per-node state, rows in local order; ring columns in future-step order."""
    st = sim.st
    n, slots, stride = int(st.n_loc), int(st.D), int(st.ring_n)
    order = (sim.t_steps + np.arange(slots)) % slots
    return {"V_m": np.asarray(st.V).copy(), "i_ex": np.asarray(st.i_ex).copy(),
            "i_in": np.asarray(st.i_in).copy(), "refractory": np.asarray(st.r).copy(),
            "n_fired": np.asarray(st.n_fired).copy(),
            "dI_ex": np.asarray(st.di_ex).copy(), "dI_in": np.asarray(st.di_in).copy(),
            "ring_ex": np.asarray(st.ring_ex).reshape(slots, stride)[order, :n].T.copy(),
            "ring_in": (np.zeros((n, slots)) if st.one_ring
                        else np.asarray(st.ring_in).reshape(slots, stride)[order, :n].T.copy())}


def gather_state(sim) -> dict | None:
    """Every node's state in node-id order on rank 0 (None elsewhere; collective)."""
    mine = (np.asarray(sim.local_gids), _local_state(sim))
    parts = sim.comm.gather(mine, root=0) if sim.size > 1 else [mine]
    if sim.rank != 0:
        return None
    state = {}
    for name, dtype in checkpoint_file.STATE_FIELDS.items():
        state[name] = np.zeros(sim.num_nodes, dtype=dtype)
    for name in checkpoint_file.RING_FIELDS:
        state[name] = np.zeros((sim.num_nodes, int(sim.st.D)), dtype=np.float64)
    for gids, values in parts:
        for name, arr in values.items():
            state[name][gids] = arr
    return state


def _phase(timers: dict, name: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``timers[name]``; returns now."""
    now = time.perf_counter()
    timers[name] = timers.get(name, 0.0) + now - t0
    return now


def save(sim, path: str) -> float:
    """Write the checkpoint of the built simulation at its current step to ``path`` (collective;
    rank 0 writes atomically). Returns the seconds it took; ``sim.checkpoint_phases`` accumulates
    them per phase (checksum, gather, write: rank 0's file write, waited for by the others)."""
    t0 = time.perf_counter()
    phases = sim.__dict__.setdefault("checkpoint_phases", {})
    checksum = connectivity_checksum(sim)
    t = _phase(phases, "checksum", t0)
    state = gather_state(sim)
    plastic = plasticity.gather_state(sim.plastic, sim.comm)      # plastic hook: weights, traces, archives
    t = _phase(phases, "gather", t)
    if sim.rank == 0:
        ckpt = checkpoint_file.Checkpoint(step=sim.t_steps, seed=sim.seed, resolution=sim.h,
                                          realisation=sim.realisation,
                                          description=sim.net.describe(), run_info=sim.run_info,
                                          connectivity=checksum, state=state, plastic=plastic)
        checkpoint_file.write(path, ckpt)
    if sim.size > 1:
        sim.comm.Barrier()
    _phase(phases, "write", t)
    return time.perf_counter() - t0


def _check(sim, ckpt, path: str) -> str | None:
    """Why ``ckpt`` cannot continue ``sim`` (None: it can)."""
    problems = checkpoint_file.differences(ckpt, description=sim.net.describe(), seed=sim.seed,
                                           resolution=sim.h, realisation=sim.realisation)
    if ckpt.num_nodes != sim.num_nodes:
        problems.append(f"number of nodes: checkpoint {ckpt.num_nodes}, this network {sim.num_nodes}")
    if sim.plastic.active:
        recorded = ((ckpt.run_info or {}).get("plasticity") or {}).get("weight_power",
                                                                      plasticity.UNRECORDED_WEIGHT_POWER)
        if recorded != sim.weight_power:
            problems.append(f"weight power: the checkpoint's run computed the facilitation's w^mu with {recorded}, "
                            f"this simulation with {sim.weight_power} (continue with weight_power={recorded!r})")
    if problems:
        return f"checkpoint '{path}' does not belong to this simulation: " + "; ".join(problems)
    return None


def _check_ring(state: dict, slots: int, path: str):
    """The ring columns fitted to ``slots`` (padded with zeros); ParameterError if input is
    scheduled beyond them."""
    for name in checkpoint_file.RING_FIELDS:
        ring = state[name]
        if ring.shape[1] > slots:
            if np.any(ring[:, slots:]):
                raise ParameterError(f"checkpoint '{path}' holds input {ring.shape[1] - 1} steps ahead; "
                                     f"this network's delays reach only {slots - 1} steps")
            state[name] = ring[:, :slots]
        elif ring.shape[1] < slots:
            state[name] = np.pad(ring, ((0, 0), (0, slots - ring.shape[1])))
    return state


def _apply(sim, step: int, state: dict):
    """Put this rank's rows (local order) into the engine state and move the clock to ``step``."""
    st = sim.st
    n, slots = int(st.n_loc), int(st.D)
    if st.one_ring:       # one ring serves both receptors: fold the inhibitory parts into the totals
        for ex, inh in (("i_ex", "i_in"), ("dI_ex", "dI_in"), ("ring_ex", "ring_in")):
            if np.any(state[inh]):
                state[ex] = state[ex] + state[inh]
            state[inh] = np.zeros_like(state[inh])
    st.V = np.ascontiguousarray(state["V_m"], dtype=np.float64)
    st.i_ex = np.ascontiguousarray(state["i_ex"], dtype=np.float64)
    st.i_in = np.ascontiguousarray(state["i_in"], dtype=np.float64)
    st.r = np.ascontiguousarray(state["refractory"], dtype=np.int32)
    st.n_fired = np.ascontiguousarray(state["n_fired"], dtype=np.int64)
    st.di_ex = np.ascontiguousarray(state["dI_ex"], dtype=np.float64)
    st.di_in = np.ascontiguousarray(state["dI_in"], dtype=np.float64)
    order = (step + np.arange(slots)) % slots
    stride = int(st.ring_n)
    for name in checkpoint_file.RING_FIELDS:
        ring = aligned.zeros(slots * stride, np.float64).reshape(slots, stride)
        ring[order, :n] = state[name].T
        setattr(st, name, ring.reshape(-1))
    if st.one_ring:
        st.ring_in = aligned.zeros(n, np.float64)
    aligned.align_state(st)                # the restored neuron state: line-aligned, as built
    st.gen_pos = int(np.searchsorted(np.asarray(st.gen_step), step, side="left"))
    sim.t_steps = step


def restore(sim, path: str) -> int:
    """Continue the built simulation from the checkpoint at ``path`` (collective): checks it (a
    ParameterError on every rank saying what differs), scatters the state. Returns its step;
    ``sim.restore_phases``: seconds per phase (checksum, read: rank 0's read and checks, scatter)."""
    phases = sim.__dict__.setdefault("restore_phases", {})
    t = time.perf_counter()
    checksum = connectivity_checksum(sim)
    t = _phase(phases, "checksum", t)
    ckpt, error = None, None
    if sim.rank == 0:
        try:
            ckpt = checkpoint_file.read(path)
            error = _check(sim, ckpt, path)
            if error is None and ckpt.connectivity != checksum:
                error = (f"checkpoint '{path}' does not belong to this simulation: connectivity checksum "
                         f"differs (checkpoint {ckpt.connectivity['count']:,} synapses, {ckpt.connectivity['hash']}; "
                         f"rebuilt {checksum['count']:,} synapses, {checksum['hash']})")
            if error is None:
                _check_ring(ckpt.state, int(sim.st.D), path)
        except ParameterError as e:
            error = str(e)
    if sim.size > 1:
        error = sim.comm.bcast(error, root=0)
    if error is not None:
        raise ParameterError(error)
    t = _phase(phases, "read", t)
    parts = None
    if sim.rank == 0:
        parts = []
        for r in range(sim.size):
            gids = np.flatnonzero(sim.rank_of == r)
            parts.append((ckpt.step, {name: arr[gids] for name, arr in ckpt.state.items()}))
    step, state = sim.comm.scatter(parts, root=0) if sim.size > 1 else parts[0]
    _apply(sim, step, state)
    plasticity.apply_state(sim.plastic, sim.comm, ckpt.plastic if sim.rank == 0 else None)   # plastic hook
    _phase(phases, "scatter", t)
    return step
