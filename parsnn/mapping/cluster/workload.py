"""Workload of the cluster cost model: the expected per-rank work of a network, a partition and
firing rates, per second of model time, from the network's description alone (no synapse).

The network enters as a :class:`parsnn.connectivity.Connectivity`, made once by the caller; the
details beyond the connection rules (delays, neuron parameters, input devices, recorded
populations) are read from its ``description``. The partition strategies and partition metrics
are called only in :func:`_placement` and :func:`_rank_traffic`.
"""
from __future__ import annotations

import math

import numpy as np

from parsnn import neurons as neuron_models
from parsnn import synapses as synapse_models
from parsnn.connectivity import Connectivity, require
from parsnn.engine.footprint import RING_SLOT_BYTES, STATIC_SYNAPSE_BYTES
from parsnn.errors import ParameterError
from parsnn.mapping.cluster.collectives import route_probabilities
from parsnn.partition import Partition, make_map
from parsnn.partition.metrics import counts_per_rank, nohit_probabilities
from parsnn.partition.rates import neuron_rates
from parsnn.partition.rates import plastic_projections as conn_plastic_projections

#: bytes per static synapse, as the engine stores them on a rank of at most 2 x 65536 neurons
#: (parsnn.engine.footprint: 8 on larger ranks, static_synapse_bytes)
SYNAPSE_BYTES = STATIC_SYNAPSE_BYTES
PREFETCH_DISTANCE = 128                  # cython/deliver.h: PARSNN_PREFETCH synapses ahead in a row


def ring_buffers(desc: dict) -> int:
    """Input rings per neuron that the engine's default ring scheme (``per-tau``, parsnn/engine/rings.py)
    allocates for a network description: 1 when every population's excitatory and inhibitory synaptic
    time constants agree (the given value or the model's default), else 2."""
    for p in desc.get("populations", []):
        try:
            spec = neuron_models.get(p.get("model", "")).parameters
        except ParameterError:
            continue
        if "tau_syn_ex" not in spec or "tau_syn_in" not in spec:
            continue
        params = p.get("params") or {}
        if params.get("tau_syn_ex", spec["tau_syn_ex"][0]) != params.get("tau_syn_in", spec["tau_syn_in"][0]):
            return 2
    return 1


def ring_slot_bytes(desc: dict) -> int:
    """Ring-buffer bytes per neuron and delay slot for a network description (:func:`ring_buffers` rings
    of ``parsnn.engine.footprint.RING_SLOT_BYTES`` each)."""
    return RING_SLOT_BYTES * ring_buffers(desc)


def ring_working_set(wl: dict, m: int | None = None) -> np.ndarray:
    """Ring-buffer bytes each rank writes in one interval of ``m`` steps (default: the workload's min
    delay): its neurons with rings x the bytes per neuron and slot x the slots spanned by the
    interval's emission steps and the delays (at most the ring's length)."""
    m = int(wl["min_delay_steps"] if m is None else m)
    slots = min(wl["max_delay_steps"] + 1, m + wl["max_delay_steps"] - wl["min_synaptic_delay_steps"])
    return wl["ring_slot_bytes"] * slots * np.asarray(wl["ring_neurons"], dtype=float)


def _delay_bounds(delay, h: float, n_syn: float) -> tuple[int, int]:
    """(min, max) delay in steps that a projection realises (>= 1 step; a normal
    distribution's extremes over n_syn draws are mean -/+ sigma sqrt(2 ln n))."""
    if isinstance(delay, dict) and delay.get("dist") == "Normal":
        mu, sd = float(delay["mean"]), float(delay["std"])
        lo = -math.inf if delay.get("low") is None else float(delay["low"])
        hi = math.inf if delay.get("high") is None else float(delay["high"])
        z = math.sqrt(2.0 * math.log(max(n_syn, 2.0)))
        dmin, dmax = max(lo, mu - z * sd), min(hi, mu + z * sd)
    elif isinstance(delay, dict) and delay.get("dist") == "Uniform":
        dmin, dmax = float(delay["low"]), float(delay["high"])
    elif isinstance(delay, dict):
        dmin = dmax = float(delay.get("mean") or h)
    else:
        dmin = dmax = float(delay)
    return max(1, int(round(dmin / h))), max(1, int(round(dmax / h)))


def _min_max_delay(desc: dict, conn: Connectivity) -> tuple[int, int]:
    """(min, max) delay in steps over the projections with synapses (no projection: 1 ms, 1 step)."""
    K = conn.expected_synapses()
    lo, hi = [], []
    for j, q in enumerate(desc["projections"]):
        if K[j] <= 0:
            continue
        a, b = _delay_bounds(q.get("delay"), float(desc.get("resolution", 0.1)), float(K[j]))
        lo.append(a)
        hi.append(b)
    if not lo:
        return max(1, int(round(1.0 / float(desc.get("resolution", 0.1))))), 1
    return min(lo), max(hi)


def _scalar_exp_populations(desc: dict) -> set:
    """iaf_psc_exp populations updated by the engine's scalar kernel: those with Poisson input
    devices or with neuron-dependent update parameters (a distribution or array for any
    parameter but the initial V_m, or a DC amplitude per neuron). The others use the
    vectorized kernel (cython/update.h: one parameter set, no devices)."""
    exp = {p["name"]: p for p in desc.get("populations", []) if p.get("model") == "iaf_psc_exp"}
    out = {name for name, p in exp.items()
           if any(isinstance(v, (dict, list)) for k, v in (p.get("params") or {}).items() if k != "V_m")}
    out |= {d["target"] for d in desc.get("poisson_inputs", [])}
    out |= {d["target"] for d in desc.get("dc_inputs", []) if isinstance(d.get("amplitude"), (dict, list))}
    return out & set(exp)



def _facilitations(conn: Connectivity, R: np.ndarray, plastic_events: np.ndarray) -> np.ndarray:
    """Facilitations per second on every rank (post spikes read by a plastic synapse: each spike of a neuron is read
    once by every plastic synapse onto it, at that synapse's next presynaptic spike). Stationary: the plastic synapses
    onto each population's neurons on the rank times their rate (``R``: S x P, the spikes each population emits from
    each rank); a run's measured count where the connectivity carries it (``conn.facilitation_ratio``, facilitations per
    plastic event: early in a run the archives are still filling and the reads lag the post spikes), as that ratio
    times the rank's plastic events."""
    if conn.facilitation_ratio is not None:
        return np.asarray(plastic_events, dtype=float) * float(conn.facilitation_ratio)
    K = conn.expected_synapses()
    plastic = conn_plastic_projections(conn)
    sizes = np.maximum(conn.sizes.astype(float), 1.0)
    fac = np.zeros(R.shape[1])
    for j in range(K.size):
        t = conn.tgt[j]
        if plastic[j] and not conn.virtual[t]:
            fac += K[j] / sizes[t] * R[t]
    return fac


def spike_events(conn: Connectivity, spike_counts: dict) -> tuple[float, float]:
    """(events through plastic synapses, all events) that the populations' spike counts ({population: spikes}) send:
    per projection, the source population's spikes x its expected synapses per source neuron."""
    K = conn.expected_synapses()
    is_plastic = plastic_projections(conn.description)
    plastic = total = 0.0
    for j in range(K.size):
        s = conn.src[j]
        ev = float(spike_counts.get(conn.names[s], 0)) * K[j] / max(float(conn.sizes[s]), 1.0)
        total += ev
        if is_plastic[j]:
            plastic += ev
    return plastic, total


def plastic_projections(desc: dict) -> np.ndarray:
    """Boolean per projection of the description: its synapse model is plastic (its events pay the
    weight update, ``compute.plastic_event_ns`` of the machine, on top of a static event)."""
    return synapse_models.plastic_mask(desc.get("projections", []))


def _placement(conn: Connectivity, P: int, partition) -> tuple[str, np.ndarray]:
    """(strategy name, rank of every node as int64) for a strategy name, a Partition or a
    node->rank array (the one place the cost model calls a partition strategy)."""
    if isinstance(partition, Partition):
        rank_of, strategy = np.asarray(partition.rank_of), partition.strategy
        if partition.nranks != P:
            raise ParameterError(f"the partition was made for {partition.nranks} ranks, not {P}")
    elif isinstance(partition, str):
        strategy, rank_of = make_map(conn, P, partition)
    else:
        strategy, rank_of = "custom", np.asarray(partition)
        if rank_of.shape != (conn.num_nodes,):
            raise ParameterError(f"partition array needs one entry per node ({conn.num_nodes})")
    return strategy, np.ascontiguousarray(rank_of, dtype=np.int64)


def generator_spikes(conn: Connectivity, rates=None) -> np.ndarray:
    """Spikes per second of every population's spike_generators (S; 0 for the others): known on every rank
    (not exchanged) and delivered by every rank that hosts targets. Their rate: ``rates`` (a dict) if it
    names the population, else the connectivity's (:attr:`~parsnn.connectivity.Connectivity.source_rates`,
    from a network's spike times), else the model's expected rate (its metadata), else 0."""
    from parsnn import registry
    known = registry.expected_rates(conn.metadata)
    known.update(conn.source_rates)
    if isinstance(rates, dict):
        known.update({k: float(v) for k, v in rates.items()})
    return np.array([float(known.get(n, 0.0)) * float(size) if v else 0.0
                     for n, size, v in zip(conn.names, conn.sizes, conn.virtual)])


def _rank_traffic(conn: Connectivity, rank_of: np.ndarray, P: int, rates) -> tuple[np.ndarray, ...]:
    """(counts, hit, R): neurons of each population on each rank (S x P), the probability that a
    spike of a population has a target on a rank (S x P), and the spikes per second each
    population emits from each rank (S x P), from the partition metrics (spike generators emit from
    no rank: :func:`generator_spikes`)."""
    r = neuron_rates(conn, rates).copy()
    r[rank_of < 0] = 0.0
    counts = counts_per_rank(conn, rank_of, P)                         # S x P
    hit = 1.0 - nohit_probabilities(conn, counts)                      # S x P
    R = np.zeros((len(conn.names), P))
    placed = rank_of >= 0
    np.add.at(R, (conn.pop_of[placed], rank_of[placed]), r[placed])
    return counts, hit, R


def _synaptic_work(conn: Connectivity, counts: np.ndarray, hit: np.ndarray, Rtot: np.ndarray, P: int) -> dict:
    """Per rank and model second: synaptic events delivered, synapses held, distinct spikes received
    (own included) and events not prefetched by the engine (the first PREFETCH_DISTANCE synapses of a row)."""
    sizes = np.maximum(conn.sizes.astype(float), 1.0)
    prate = Rtot / sizes
    # synaptic events delivered on each rank: synapses x mean source rate, split by target placement
    K = conn.expected_synapses()
    plastic = conn_plastic_projections(conn)
    events = np.zeros(P)
    plastic_events = np.zeros(P)
    history = np.zeros(P)
    plastic_tgt = np.zeros(len(conn.names), dtype=bool)
    synapses = np.zeros(P)
    row = np.zeros((len(conn.names), P))                              # synapses of one source on q
    for j in range(K.size):
        s, t = conn.src[j], conn.tgt[j]
        if conn.virtual[t]:
            continue
        events += K[j] * prate[s] * counts[t] / sizes[t]
        if plastic[j]:
            plastic_events += K[j] * prate[s] * counts[t] / sizes[t]
            history += K[j] * prate[s] * counts[t] / sizes[t] * history_share(prate[s], prate[t])
            plastic_tgt[t] = True
        synapses += K[j] * counts[t] / sizes[t]
        row[s] += K[j] / sizes[s] * counts[t] / sizes[t]
    # spikes with at least one target on q (own rank included)
    spikes_in = (Rtot[:, None] * hit).sum(axis=0)
    # events in the first PREFETCH_DISTANCE synapses of a row (not prefetched by the engine): a row on q
    # that is not empty holds row / hit synapses on average
    with np.errstate(divide="ignore", invalid="ignore"):
        row_nonempty = np.where(hit > 0, row / hit, 0.0)
    unprefetched = (Rtot[:, None] * hit * np.minimum(row_nonempty, PREFETCH_DISTANCE)).sum(axis=0)
    unprefetched = np.minimum(unprefetched, events)
    return {"events": events, "synapses": synapses, "spikes_in": spikes_in, "unprefetched": unprefetched,
            "num_synapses": float(K.sum()), "plastic_events": plastic_events, "history_windows": history,
            "plastic_targets": counts[plastic_tgt].sum(axis=0) if plastic_tgt.any() else np.zeros(P)}


def history_share(r_pre, r_post):
    """The share of a plastic synapse's events whose facilitation window searches the target's history (three or more
    post spikes since the source's last spike: the dense record holds the two newest), for independent Poisson trains
    at ``r_pre`` and ``r_post`` spikes/s: (r_post / (r_pre + r_post))^3. Stationary: early in a run the archives are
    still filling (at hpc_benchmark scale 1 the share reaches ~1/8 after ~400 ms: analysis/results/plastic_ws23/)."""
    r_pre, r_post = np.asarray(r_pre, dtype=float), np.asarray(r_post, dtype=float)
    tot = r_pre + r_post
    return np.where(tot > 0, (r_post / np.where(tot > 0, tot, 1.0)) ** 3, 0.0)


def _one_device_alpha_populations(desc: dict) -> set:
    """iaf_psc_alpha populations with exactly one Poisson input device per neuron (one ``add_poisson`` onto them):
    the engine draws their inputs on its one-device path inside the kernel (``parsnn_pone_input``; hpc_benchmark)."""
    alpha = {p["name"] for p in desc.get("populations", []) if p.get("model") == "iaf_psc_alpha"}
    devices = {}
    for d in desc.get("poisson_inputs", []):
        devices[d["target"]] = devices.get(d["target"], 0) + 1
    return {name for name in alpha if devices.get(name) == 1}


def _neurons_per_model(desc: dict, conn: Connectivity, counts: np.ndarray, P: int) -> tuple[dict, np.ndarray]:
    """({neuron model: neurons on each rank}, Poisson input devices on each rank); iaf_psc_exp
    populations that the engine cannot update with its vectorized kernel count as 'iaf_psc_exp_scalar',
    iaf_psc_alpha populations with one Poisson input device per neuron as 'iaf_psc_alpha_pone' (kernel and input in
    one cost: their devices are not counted as Poisson inputs)."""
    scalar = _scalar_exp_populations(desc)
    pone = _one_device_alpha_populations(desc)
    models = {}
    for s, name in enumerate(conn.names):
        if conn.virtual[s]:
            continue
        key = conn.models[s] + ("_scalar" if name in scalar else "_pone" if name in pone else "")
        models.setdefault(key, np.zeros(P))
        models[key] += counts[s]
    pois = np.zeros(P)
    index = {n: i for i, n in enumerate(conn.names)}
    for d in desc.get("poisson_inputs", []):
        if d["target"] not in pone:
            pois += counts[index[d["target"]]]
    return models, pois


def workload(conn: Connectivity, ranks: int, partition="round_robin", rates=None,
             min_delay_steps: int | None = None) -> dict:
    """Per-rank expected work of ``conn`` placed on ``ranks`` ranks, per second of model time.

    ``conn``: the network's :class:`~parsnn.connectivity.Connectivity` (its ``description`` gives
    the delays, neuron parameters, input devices and recorded populations);
    ``partition``: strategy name, Partition or node->rank array; ``rates``: as in
    :func:`parsnn.partition.metrics.expected_metrics` (None: the model's expected rates).

    Returns numpy arrays over ranks: ``neurons`` ({model: count}), ``poisson_inputs``,
    ``events_per_s`` (synaptic events delivered, spike generators' included: :func:`generator_spikes`),
    ``plastic_events_per_s`` (those of them through
    plastic synapses), ``facilitations_per_s`` (post spikes read by plastic synapses: :func:`_facilitations`),
    ``history_windows_per_s`` (plastic events whose facilitation window searches the target's history: a run's
    count per plastic event, ``conn.history_window_ratio``, else :func:`history_share`), ``plastic_targets``
    (neurons of the populations plastic projections end in),
    ``spikes_in_per_s`` (distinct spikes
    received, own included), ``spikes_out_per_s``, ``copies_per_s`` (spike words packed,
    own rank included), ``ring_neurons`` (neurons with ring buffers), ``ring_slot_bytes`` (ring bytes per
    neuron and delay slot: :func:`ring_slot_bytes`); the P x P matrices ``spikes_to_per_s`` (spikes from
    r needing delivery on q, r != q) and ``route_probability`` (r routes spikes to q: neighbours of
    the neighbourhood exchange); ``rank_of`` (the node->rank map used), ``population_spikes_per_s`` (the
    spikes each population emits, network-wide); and ``min_delay_steps``, ``max_delay_steps``."""
    P = int(ranks)
    if P < 1:
        raise ParameterError(f"ranks must be >= 1, got {ranks}")
    desc = require(conn, "conn", "workload").description
    strategy, rank_of = _placement(conn, P, partition)
    counts, hit, R = _rank_traffic(conn, rank_of, P, rates)
    Rtot = R.sum(axis=1)
    gen = generator_spikes(conn, rates)
    work = _synaptic_work(conn, counts, hit, Rtot + gen, P)
    spikes_out = R.sum(axis=0)
    to = R.T @ hit                                                     # [r, q]
    np.fill_diagonal(to, 0.0)
    own = np.einsum("sr,sr->r", R, hit)
    copies = to.sum(axis=1) + own
    facilitations = _facilitations(conn, R, work["plastic_events"])
    history = (work["plastic_events"] * float(conn.history_window_ratio) if conn.history_window_ratio is not None
               else work["history_windows"])
    models, pois = _neurons_per_model(desc, conn, counts, P)
    dmin, dmax = _min_max_delay(desc, conn)
    dsyn = dmin
    if min_delay_steps is not None:
        dmin = int(min_delay_steps)
    n_ring = sum(v for k, v in models.items() if k.startswith("iaf"))
    n_ring = n_ring if isinstance(n_ring, np.ndarray) else np.zeros(P)
    index = {n: i for i, n in enumerate(conn.names)}
    return {
        "ranks": P, "strategy": strategy, "resolution": float(desc.get("resolution", 0.1)),
        "model": desc.get("metadata", {}).get("model") or desc.get("name", ""),
        "neurons": models, "poisson_inputs": pois, "events_per_s": work["events"],
        "plastic_events_per_s": work["plastic_events"],
        "facilitations_per_s": facilitations, "history_windows_per_s": history,
        "plastic_targets": np.asarray(work["plastic_targets"], dtype=float),
        "spikes_in_per_s": work["spikes_in"], "spikes_out_per_s": spikes_out, "copies_per_s": copies,
        "spikes_to_per_s": to, "route_probability": route_probabilities(counts, hit), "ring_neurons": n_ring.astype(float), "synapses": work["synapses"],
        "events_unprefetched_per_s": work["unprefetched"],
        "min_delay_steps": int(dmin), "max_delay_steps": int(dmax), "min_synaptic_delay_steps": int(dsyn),
        "ring_slot_bytes": ring_slot_bytes(desc),
        "num_neurons": int(conn.sizes[~conn.virtual].sum()), "num_synapses": work["num_synapses"],
        "spikes_per_s": float(Rtot.sum()), "events_total_per_s": float(work["events"].sum()),
        "recorded_spikes_per_s": float(sum(Rtot[index[n]] for n in desc.get("spike_recorder", []) if n in index)),
        "recorded_populations": sum(1 for n in desc.get("spike_recorder", []) if n in index),
        "rank_of": rank_of, "population_spikes_per_s": Rtot, "generator_spikes_per_s": float(gen.sum()),
    }
