"""Neurons -> cores: how many neurons a core holds, and which neurons go to which core.

A core holds at most ``core.neurons`` neurons and ``core.synapse_memory_bytes / core.synapse_bytes``
synapses (a neuron's in-degree K_in is stored on its core), so
``n_core = min(neurons, floor(syn_per_core / max K_in))`` and ``C = ceil(N / n_core)`` cores (more
with ``cores=``); in general every neuron takes the share ``max(1 / n_core, K_in / syn_per_core)``
of a core and C is the summed share. Neurons are split over the C cores with the MPI runs'
partitioner (:func:`parsnn.partition.partition`: ``graph``, ``block`` or ``round_robin``); above
``GRAPH_MAX_PARTS`` cores ``graph`` partitions into super-cores that are then cut into contiguous
cores. If a core then exceeds a limit, C grows and the split is redone. ``placement="population"``
cuts every population into the fewest equal slices that fit a core (sPyNNaker never mixes
populations on a core). SpiNNaker ``mode="split"``: a neuron core's synapse memory is that of its
synapse cores together (``syn_scale``).

Fan-in (``enforce_fan_in``): k neurons of population t on a core see
``sum_s N_s (1 - p0[s, k])`` distinct sources (p0: probability that a source neuron has no synapse
on them, :func:`parsnn.partition.metrics.nohit_probabilities`); every population's neurons per core
are capped so that this stays within ``[core] fan_in``, then the split is redone with smaller cores
while a core that mixes populations still exceeds it.

This module is the mapping's one user of the partition code (the partitioner, expected rates,
no-hit probabilities and per-rank counts), all on a :class:`parsnn.connectivity.Connectivity`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from parsnn.partition.metrics import counts_per_rank, nohit_probabilities
from parsnn.partition.rates import neuron_rates
from parsnn.connectivity import Connectivity, require
from parsnn.errors import ParameterError
from parsnn.mapping.neuromorphic.hardware import Hardware, load_hardware
from parsnn.partition import partition

GRAPH_MAX_PARTS = 1000        # at most this many METIS parts of the neuron graph
GRAPH_CORES_PER_PART = 8      # graph: METIS parts (super-cores) of about this many cores, packed into cores
FAN_IN_ATTEMPTS = 12          # enforce_fan_in: re-splits with smaller cores until no core exceeds the fan-in
MAX_CORES = 20000             # dense core-pair matrices above this would not fit comfortably


def placed_rates(conn: Connectivity, rates=None) -> np.ndarray:
    """Per-neuron rates (spikes/s) from None (the model's expected rates) or ``rates`` (as in
    :func:`parsnn.partition.rates.neuron_rates`), 0 for spike generators (they are never sent)."""
    r = neuron_rates(conn, rates).copy()
    r[~conn.placeable] = 0.0
    return r


def indegrees(conn) -> np.ndarray:
    """Mean in-degree (synapses stored per neuron) of every population."""
    K = conn.expected_synapses()
    k_in = np.zeros(len(conn.names))
    np.add.at(k_in, conn.tgt, K)
    return k_in / np.maximum(conn.sizes, 1)


def neurons_per_core(conn: Connectivity, hw: Hardware, npc=None, syn_scale: int = 1) -> int:
    """The most neurons on one core of the network ``conn``: ``npc`` (default the target's ``[core] neurons``),
    fewer if the synapse memory (times ``syn_scale``: split mode spreads a slice's rows over its synapse
    cores) cannot hold that many of the neurons with the largest in-degree."""
    require(conn, "conn", "neurons_per_core")
    cap = int(npc or hw["core"]["neurons"])
    syn = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    kin = indegrees(conn)[~conn.virtual]
    kmax = float(kin.max()) if kin.size else 0.0
    if kmax > 0:
        cap = min(cap, int(syn // kmax))
    if cap < 1:
        raise ParameterError(f"a neuron with {kmax:.0f} synapses does not fit the {hw.name} core's synapse memory")
    return cap


def core_shares(conn, hw, npc=None, syn_scale: int = 1) -> np.ndarray:
    """Every neuron's share of one core: max(1 / neurons per core, K_in / synapses per core); 0 if virtual."""
    syn_cap = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    w = np.maximum(1.0 / float(npc or hw["core"]["neurons"]), indegrees(conn)[conn.pop_of] / syn_cap)
    w[np.repeat(conn.virtual, conn.sizes)] = 0.0
    return w


def min_cores(conn: Connectivity, target) -> int:
    """The fewest cores of ``target`` that hold the network ``conn``."""
    require(conn, "conn", "min_cores")
    return max(1, math.ceil(float(core_shares(conn, load_hardware(target)).sum()) - 1e-9))


def fan_in_neurons_per_core(conn: Connectivity, cap: int, kmax: int) -> np.ndarray:
    """Per population t of ``conn``, the most neurons of t (<= kmax) that one core can hold while the expected
    number of distinct presynaptic sources (input axons) stays <= cap; 0 if even one neuron exceeds it."""
    require(conn, "conn", "fan_in_neurons_per_core")
    S = len(conn.names)
    out = np.zeros(S, dtype=np.int64)
    ks = np.arange(1, kmax + 1, dtype=np.int64)
    for t in np.flatnonzero(~conn.virtual):           # one probe per population (S is small)
        counts = np.zeros((S, ks.size), dtype=np.int64)
        counts[t] = ks
        fi = conn.sizes.astype(float) @ (1.0 - nohit_probabilities(conn, counts))
        ok = np.flatnonzero(fi <= cap + 1e-9)
        out[t] = ks[ok[-1]] if ok.size else 0
    return out


def population_cores(conn, w) -> tuple[np.ndarray, int]:
    """sPyNNaker's splitting: every population on its own cores, cut into the fewest equal slices whose
    summed share ``w`` fits one core (cores never hold two populations). Returns (core_of, cores)."""
    sizes = conn.sizes.astype(np.int64)
    real = ~conn.virtual
    wsum = np.bincount(conn.pop_of, weights=w, minlength=len(sizes))
    k = np.where(real & (sizes > 0), np.maximum(1, np.ceil(wsum - 1e-9)), 0).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    p = conn.pop_of
    local = np.arange(p.size, dtype=np.int64) - off[p]
    core_of = first[p] + (local * k[p]) // np.maximum(sizes[p], 1)
    core_of[~real[p]] = -1
    return core_of.astype(np.int64), int(k.sum())


def split_cores(conn, ncores: int, placement: str, w, w_pack=None) -> tuple[np.ndarray, int]:
    """neuron -> core map (int64, -1 for spike generators) with the MPI partitioner, and the core count.

    ``w``: each neuron's share of a core (max of 1/neurons-cap and K_in/synapse-cap). ``block`` and
    ``round_robin`` partition into ``ncores`` parts directly; ``graph`` partitions into super-cores
    of about ``GRAPH_CORES_PER_PART`` cores (METIS balances expected cost, not neurons) and packs
    each one, in gid order, into cores that fit. Any core over a limit is cut into pieces that fit."""
    if placement == "graph" and ncores > 1:
        b = max(GRAPH_CORES_PER_PART, math.ceil(ncores / GRAPH_MAX_PARTS))
        sup = max(1, math.ceil(ncores / b))
        opts = {"clusters_per_rank": 4} if sup > 100 else {}
        top = partition(conn, sup, "graph", **opts).rank_of.astype(np.int64)
        # pack each super-core into cores of load <= 1 (w_pack: scaled up when more cores were asked for)
        return _pack_overfull(top, w if w_pack is None else w_pack, force=True)
    core_of = partition(conn, ncores, placement).rank_of.astype(np.int64)
    return _pack_overfull(core_of, w)


@numba.njit(cache=True)
def _pack_kernel(order, core_of, w):
    """Walk the neurons core by core (in gid order) and open a new core whenever the load would pass 1."""
    out = np.empty(order.shape[0], dtype=np.int64)
    cur = -1
    prev_core = -1
    load = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        c = core_of[i]
        if c != prev_core or load + w[i] > 1.0 + 1e-9:
            cur += 1
            load = 0.0
            prev_core = c
        load += w[i]
        out[k] = cur
    return out, cur + 1


def _pack_overfull(core_of, w, force=False):
    """Split the cores whose summed load w exceeds 1 into contiguous pieces; returns (core_of, cores)."""
    ok = core_of >= 0
    load = np.bincount(core_of[ok], weights=w[ok])
    if load.max() <= 1.0 + 1e-9 and not force:
        return core_of, int(core_of.max()) + 1
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((idx, core_of[idx]))]
    new, C = _pack_kernel(order.astype(np.int64), core_of.astype(np.int64), w.astype(np.float64))
    out = np.full(core_of.size, -1, dtype=np.int64)
    out[order] = new
    return out, int(C)


def core_counts(conn, core_of, ncores) -> np.ndarray:
    """n[s, q]: neurons of population s on core q."""
    return counts_per_rank(conn, np.where(core_of < 0, 0, core_of), ncores) * 1


@dataclass
class CoreSplit:
    """The neuron -> core split of a network on a target (:func:`split_into_cores`)."""
    core_of: np.ndarray        # int64 [N]: core of every neuron (-1 for spike generators)
    cores: int                 # neuron cores
    counts: np.ndarray         # float64 [S, C]: neurons of population s on core q
    p0: np.ndarray             # [S, C]: probability that a neuron of s has no synapse on core q
    fan_in: np.ndarray         # [C]: expected distinct sources (input axons) per core
    fan_in_cap: int            # the target's [core] fan_in (0: no limit)
    neurons_cap: int           # the most neurons on one core
    synapses_cap: float        # the most synapses on one (neuron) core
    synapses: np.ndarray       # [C]: expected synapses stored per core


def _core_loads(conn, hw, npc, syn_scale, enforce_fan_in):
    """(neurons per core cap, synapses per core cap, every neuron's share of a core, fan-in cap); with
    ``enforce_fan_in`` the share is at least 1 / (neurons of its population that fit the fan-in)."""
    ncap = neurons_per_core(conn, hw, npc, syn_scale)
    syn_cap = hw["core"]["synapse_memory_bytes"] / hw["core"]["synapse_bytes"] * syn_scale
    # each neuron's share of a core: neurons and synapse memory; their sum is the minimum core count
    w = core_shares(conn, hw, npc, syn_scale)
    fan_in_cap = int(hw.get("core", "fan_in", 0) or 0)
    if enforce_fan_in and fan_in_cap:
        k_fit = fan_in_neurons_per_core(conn, fan_in_cap, int(ncap))
        bad = [conn.names[t] for t in np.flatnonzero((k_fit == 0) & ~conn.virtual)]
        if bad:
            raise ParameterError(f"one neuron of {', '.join(bad)} already has more than {fan_in_cap} expected "
                                 f"input axons on {hw.name}: the fan-in limit cannot be met without axon sharing")
        share = np.where(k_fit > 0, 1.0 / np.maximum(k_fit, 1), 0.0)[conn.pop_of]
        w = np.maximum(w, share)
        w[np.repeat(conn.virtual, conn.sizes)] = 0.0
    return ncap, syn_cap, w, fan_in_cap


def _first_core_count(w, cores, neurons, hw):
    """(cores to split into, shares to pack with): the summed share, or ``cores`` if more were asked for
    (graph then packs every neuron as a larger share)."""
    load = float(w.sum())
    C = max(1, math.ceil(load - 1e-9))
    w_pack = w
    if cores and cores > load:     # more cores than needed: graph packs every neuron as a larger share
        w_pack = w * (cores / load)
        C = int(cores)
    if C > MAX_CORES:
        raise ParameterError(f"the network needs {C} cores of {hw.name}; at most {MAX_CORES} are supported")
    return min(C, neurons), w_pack


def split_into_cores(conn: Connectivity, hw: Hardware, placement: str, cores=None, npc=None, syn_scale: int = 1,
                     enforce_fan_in: bool = False) -> CoreSplit:
    """Split the network's neurons into cores of ``hw`` (see the module docstring); with ``enforce_fan_in``
    re-split with smaller cores until no core exceeds the fan-in, or fail."""
    N = int(conn.placeable.sum())
    ncap, syn_cap, w, fan_in_cap = _core_loads(conn, hw, npc, syn_scale, enforce_fan_in)
    C, w_pack = _first_core_count(w, cores, N, hw)
    enforce = bool(enforce_fan_in and fan_in_cap)
    for attempt in range(FAN_IN_ATTEMPTS if enforce else 1):
        if placement == "population":
            core_of, C = population_cores(conn, w_pack)
        else:
            core_of, C = split_cores(conn, C, placement, w, w_pack)
        n = core_counts(conn, core_of, C).astype(np.float64)          # [S, C]
        p0 = nohit_probabilities(conn, n.astype(np.int64))
        fan_in = conn.sizes.astype(float) @ (1.0 - p0)                 # expected distinct sources per core
        if not enforce or fan_in.max() <= fan_in_cap + 1e-9:
            break
        # cores that mix populations draw on the union of their sources: the per-population cap is not
        # enough; shrink every core by the overshoot and split again
        grow = min(2.0, float(fan_in.max()) / fan_in_cap) + 0.01
        w_pack = w_pack * grow
        C = min(N, max(C + 1, math.ceil(float(w_pack.sum()) - 1e-9)))
        if C > MAX_CORES:
            break
    if enforce and fan_in.max() > fan_in_cap + 1e-9:
        raise ParameterError(f"placement '{placement}' could not keep the input axons within {fan_in_cap} per core "
                             f"on {hw.name} ({fan_in.max():.0f} after {attempt + 1} splits); placement "
                             f"'population' keeps every core's fan-in within the limit")
    if C > MAX_CORES:
        raise ParameterError(f"the network needs {C} cores of {hw.name}; at most {MAX_CORES} are supported")
    return CoreSplit(core_of, C, n, p0, fan_in, fan_in_cap, ncap, syn_cap, indegrees(conn) @ n)
