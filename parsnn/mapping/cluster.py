"""Performance model of parsnn on a cluster: per-phase time of every min-delay interval.

The engine (``parsnn.simulation.Simulation.run``) repeats, every min-delay
interval of ``m`` steps, on every rank ``r``:

1. **update** -- one Cython call advances the ``n_r`` local neurons ``m`` steps
   (plus one Poisson draw per neuron, step and Poisson input device);
2. **exchange** -- ``pack`` sorts the interval's spikes by destination rank, then
   ``MPI_Alltoall`` of one int32 count per rank and ``MPI_Alltoallv`` of the
   spikes (8-byte words; only ranks hosting targets of a neuron get its
   spikes). This timer also holds the wait for the slowest rank;
3. **deliver** -- the received spikes are sorted (``qsort``) and every synapse
   of their rows is added into the delay ring buffers.

For a network description, a partition (:mod:`parsnn.partition`), rates and a
machine (:class:`Machine`, read from a TOML file), the model gives per interval
and rank (all times in seconds)::

    t_update[r]  = o_upd + m * (sum_model n_r,model c_upd,model + n_r,poisson_inputs c_poisson)
                   (iaf_psc_exp: the vectorized kernel's cost for populations with one parameter
                   set and no Poisson input devices, the scalar kernel's for the others)
    t_deliver[r] = o_del + E_r c_evt(ws_r, u_r) + S_r (c_spk + c_cmp log2 min(P, S_r) + c_row f_mem(syn_r))
    t_pack[r]    = o_exch + copies_r c_pack + P c_peer
    busy[r]      = t_update[r] + t_deliver[r] + t_pack[r]
    compute      = max_r busy[r] + sigma e(P)                     (waiting for the slowest rank)
    t_comm(P)    = 2 o_call + T_alltoall(P) + T_alltoallv(P)       (0 for P = 1)
    t_record[0]  = recorded spikes per interval x c_rec  (rank 0 gathers and writes them; 0 elsewhere)
    critical     = compute + t_comm(P) + t_record[0];   RTF = critical / (m h)
    exchange timer of rank r = critical - t_update[r] - t_deliver[r] - t_record[r]
                               (r > 0: minus t_record[0] x 1/flushes of the run -- the
                               wait for the last flush, which ends the run, is in no exchange)

with ``E_r`` the expected synaptic events delivered on rank r in the interval
(sum over incoming projections of synapses x source rate x m h), ``S_r`` the
distinct spikes it receives (each rank's spikes arrive sorted, so the sort
merges min(P, S_r) runs; a row whose rank's synapses, 10 B each, outgrow the
caches starts with a miss, c_row), ``ws_r`` the ring-buffer bytes written in one interval
(neurons x 16 B x the slots spanned by the emission steps and the delays; the
event cost moves from the L2 to the L3 to the memory-bound cost as ws_r outgrows
the caches of a core), ``u_r`` the fraction of the events whose ring entry is not
prefetched: the engine prefetches the entry 128 synapses ahead within a row, so
the first min(L, 128) synapses of a row of L synapses on the rank are not
(L: the expected synapses of a source on rank r, given that it has any there);
the memory-served share of those events costs ``event_ns.memory_no_prefetch``,
the rest ``event_ns.memory``. ``sigma e(P)`` is the expected maximum over P ranks
of the fluctuation of a rank's work per interval, with e(P) the expected maximum
of P standard normal variables and sigma^2 (the largest over ranks) the sum of: the Poisson fluctuation of
the delivery work that differs between ranks (c_evt^2 E_r: a spike's synapses
split at random over the ranks; the spike count itself is common to all ranks),
and machine noise, measured without the simulator (``noise.sigma_rel`` x busy and
``noise.sigma_us``: two ranks doing identical fixed work per interval, the wait of
the faster one; analysis/cost_model_noisebench.c).

Communication (LogGP/Hockney terms: latency alpha, CPU overhead o per message and
side, time per byte beta; shared-memory values within a node, network values
between nodes; ranks are placed in blocks of ``cores_per_node``):

- ``MPI_Alltoall`` of P int32 counts, MPICH's default selection: for P < 8 all
  P-1 pairs at once (fixed + alpha + (P-1) 2o); for P >= 8 Bruck's algorithm,
  ceil(log2 P) rounds of alpha + 2o + (P/2) 4 B beta plus packing of P/2 blocks;
  in rounds whose partner lies on another node every rank of the node sends
  through the node's one network interface (bandwidth shared by the node);
- ``MPI_Alltoallv`` of the spikes (MPICH "scattered": only non-empty messages,
  at most 32 outstanding, one wait per batch): the slowest sender of the
  interval sets the pace. A rank that has at least one spike in the interval
  (probability pi_r = 1 - exp(-m h Lambda_r)) sends to D_r ranks on average, so
  the expected maximum over ranks of the send cost s o + (ceil(s / 32) - 1) alpha
  (a wait per further batch; the first batch's is the latency added below) is
  sum_k c_(k) pi_(k) prod_{j<k} (1 - pi_(j)) over the ranks sorted by cost. Receive
  overheads, bytes, the node's message rate, one network latency and the
  call's fixed cost are added.
  With PD14 every spike has targets on nearly every rank, so a rank that spikes
  sends ~P messages: at large P this term, not the compute, sets the interval.

Ranks beyond the cores of the machine (``oversubscription.cores``) share cores and
serialize: rank r runs on core r mod cores, a core runs its ranks' work one after
the other (compute = max over cores of the sum of their busy times), and every
interval pays, per extra rank on the most crowded core (ceil(P / cores) - 1; the
cores switch in parallel), the time a waiting rank busy-polls before MPICH
yields its core and the switch (``yield_us``, fitted on one oversubscribed run).

The machine's constants are data (``machines/*.toml``); :func:`load_machine`
reads them, :func:`predict` gives one prediction, :func:`sweep` a strong-scaling
curve and :func:`crossover` the rank count from which the exchange outweighs
the computation.
"""
from __future__ import annotations

import copy
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from parsnn import partition_metrics as pm
from parsnn.errors import ParameterError

#: keys of the dict returned by :func:`predict`
PREDICTION_KEYS = ("machine", "model", "ranks", "nodes", "ranks_per_node", "partition", "min_delay_steps",
                   "interval_ms", "intervals_per_model_s", "per_rank", "phases", "exchange_terms",
                   "critical_path_s", "compute_s", "exchange_s", "rtf", "exchange_fraction", "dominant",
                   "oversubscribed", "workload")
#: phases reported per rank (seconds per interval), as the engine's timers
PHASES = ("update", "exchange", "deliver")
BYTES_PER_SPIKE = pm.BYTES_PER_SPIKE
RING_BYTES_PER_NEURON_SLOT = 16          # ring_ex + ring_in, float64 each
SYNAPSE_BYTES = 10                       # int32 target, float32 weight, uint16 delay
PREFETCH_DISTANCE = 128                  # cython/deliver.h: PARSNN_PREFETCH synapses ahead in a row


# ---------------------------------------------------------------------------
# machine descriptions
# ---------------------------------------------------------------------------

def available_machines() -> list[str]:
    """Names of the machine descriptions shipped in ``parsnn/mapping/machines``."""
    d = resources.files("parsnn.mapping").joinpath("machines")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


def _read_toml(name_or_path: str) -> tuple[dict, str]:
    if os.path.exists(name_or_path):
        with open(name_or_path, "rb") as f:
            return tomllib.load(f), os.path.abspath(name_or_path)
    name = name_or_path[:-5] if name_or_path.endswith(".toml") else name_or_path
    res = resources.files("parsnn.mapping").joinpath("machines", name + ".toml")
    if not res.is_file():
        raise ParameterError(f"unknown machine '{name_or_path}': not a file and not one of "
                             f"{', '.join(available_machines())}")
    with res.open("rb") as f:
        return tomllib.load(f), str(res)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@dataclass
class Machine:
    """A machine description (see ``machines/this_machine.toml`` for every key and its unit)."""
    name: str
    data: dict
    path: str = ""
    inherited: list = field(default_factory=list)

    # -- accessors, in seconds / bytes ----------------------------------------
    def _get(self, *keys, default=None):
        d = self.data
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                if default is None:
                    raise ParameterError(f"machine '{self.name}': missing key {'.'.join(keys)}")
                return default
            d = d[k]
        return d

    @property
    def cores_per_node(self) -> int:
        return int(self._get("machine", "cores_per_node"))

    @property
    def max_nodes(self) -> int:
        return int(self._get("machine", "nodes", default=1))

    @property
    def cores(self) -> int:
        """Cores available in total (ranks beyond this share cores)."""
        return int(self._get("oversubscription", "cores", default=self.cores_per_node * self.max_nodes))

    def cache_levels(self) -> tuple[float, float]:
        """(L2 bytes of a core, L2 + its share of the L3) in bytes."""
        l2 = float(self._get("machine", "l2_kib_per_core")) * 1024
        l3 = float(self._get("machine", "l3_mib_per_group")) * 2**20 / float(self._get("machine", "cores_per_l3"))
        return l2, l2 + l3

    def ns(self, *keys, default=None) -> float:
        return 1e-9 * float(self._get("compute", *keys, default=default))

    def us(self, section, key, default=None) -> float:
        return 1e-6 * float(self._get(section, key, default=default))

    def update_cost(self, model: str) -> float:
        """Seconds per neuron and step; 'iaf_psc_exp' is the engine's vectorized kernel,
        'iaf_psc_exp_scalar' its scalar one (falls back to 'iaf_psc_exp' if not given)."""
        table = self._get("compute", "update_ns")
        if model == "iaf_psc_exp_scalar" and model not in table:
            model = "iaf_psc_exp"
        if model not in table:
            raise ParameterError(f"machine '{self.name}' has no update cost for neuron model '{model}'")
        return 1e-9 * float(table[model])

    def event_cost(self, ring_bytes, unprefetched=0.0) -> np.ndarray:
        """Seconds per synaptic event when the ring-buffer slots written in one interval
        span ``ring_bytes`` on a rank: the scatter-adds hit uniformly at random, so a
        share L2/ws is served by the L2, the next (L2 + L3 share)/ws by the L3 and
        the rest by memory (``compute.event_ns`` = {l2, l3, memory, memory_no_prefetch}).
        ``unprefetched`` is the fraction of the events whose ring entry the engine did
        not prefetch (the first 128 synapses of a row): their memory-served share costs
        ``memory_no_prefetch`` (default: ``memory``), the rest ``memory``."""
        ev = self._get("compute", "event_ns")
        c2, c3, cm = (1e-9 * float(ev[k]) for k in ("l2", "l3", "memory"))
        cn = 1e-9 * float(ev.get("memory_no_prefetch", ev["memory"]))
        l2, l23 = self.cache_levels()
        ws = np.maximum(np.asarray(ring_bytes, dtype=float), 1.0)
        f2 = np.minimum(1.0, l2 / ws)
        f3 = np.minimum(1.0, l23 / ws) - f2
        u = np.clip(np.asarray(unprefetched, dtype=float), 0.0, 1.0)
        return f2 * c2 + f3 * c3 + (1.0 - f2 - f3) * (u * cn + (1.0 - u) * cm)

    def link(self, kind: str) -> dict:
        """{'alpha', 'o', 'beta'} of 'shm' (within a node) or 'inter' (between nodes), seconds."""
        sec = self._get("network", kind)
        return {"alpha": 1e-6 * float(sec["latency_us"]), "o": 1e-6 * float(sec["overhead_us"]),
                "beta": 1.0 / (1e9 * float(sec["bandwidth_gbs"]))}

    def sources(self) -> dict:
        return dict(self._get("sources", default={}) or {})

    def summary(self) -> dict:
        return {"name": self.name, "path": self.path, "inherits": self.inherited,
                "cores_per_node": self.cores_per_node, "cores": self.cores,
                "description": self._get("machine", "description", default="")}


_SCALED = {  # sections and keys multiplied by [derived] compute_scale / memory_scale / overhead_scale
    "compute_scale": [("compute", k) for k in ("spike_ns", "compare_ns", "pack_ns", "peer_ns", "poisson_input_ns")]
    + [("compute", "update_ns", "*"), ("compute", "event_ns", "l2"), ("compute", "event_ns", "l3"),
       ("compute", "event_ns", "memory")],    # prefetched: latency hidden, bound by the loop like a cache hit
    "memory_scale": [("compute", "event_ns", "memory_no_prefetch"), ("compute", "row_miss_ns")],
    "overhead_scale": [("overhead", k) for k in ("update_us", "deliver_us", "exchange_us", "collective_call_us")]
    + [("collectives", k) for k in ("alltoall_fixed_us", "alltoallv_fixed_us", "bruck_round_us", "bruck_block_ns")]
    + [("network", "shm", "latency_us"), ("network", "shm", "overhead_us")],
}


def load_machine(name_or_path) -> Machine:
    """A :class:`Machine` from a shipped name (``this_machine``, ``jureca_dc``, ...) or a TOML path.

    A file may start with ``inherit = "other"``: it then holds only what differs, and
    ``[derived] compute_scale`` / ``overhead_scale`` multiply the inherited per-core
    compute costs / per-interval software overheads (e.g. a slower core); ``memory_scale``
    multiplies the latency-bound costs (an event whose ring entry was not prefetched, the first
    miss of a synapse row). A prefetched memory-served event counts as compute: the prefetch hides
    the latency, and on this machine it costs about what an L2 or L3 hit does."""
    if isinstance(name_or_path, Machine):
        return name_or_path
    data, path = _read_toml(str(name_or_path))
    chain = []
    if "inherit" in data:
        base = load_machine(data["inherit"])
        chain = [base.name] + base.inherited
        derived = dict(data.get("derived", {}))
        scaled = copy.deepcopy(base.data)
        for factor_key, targets in _SCALED.items():
            f = float(derived.get(factor_key, 1.0))
            for tgt in targets:
                sec = scaled.get(tgt[0], {})
                if len(tgt) == 3:
                    tab = sec.get(tgt[1], {})
                    for k in (tab if tgt[2] == "*" else [tgt[2]] if tgt[2] in tab else []):
                        tab[k] = float(tab[k]) * f
                elif tgt[1] in sec:
                    sec[tgt[1]] = float(sec[tgt[1]]) * f
        own = {k: v for k, v in data.items() if k not in ("inherit", "sources")}
        merged = _merge(scaled, own)
        merged["sources"] = {**data.get("sources", {}), f"inherited from {base.name}": base.sources()}
        data = merged
    name = data.get("machine", {}).get("name") or os.path.splitext(os.path.basename(path))[0]
    m = Machine(name=name, data=data, path=path, inherited=chain)
    _validate_machine(m)
    return m


def _validate_machine(m: Machine):
    for keys in (("machine", "cores_per_node"), ("compute", "update_ns"), ("compute", "event_ns", "l2"),
                 ("compute", "event_ns", "l3"), ("compute", "event_ns", "memory"), ("compute", "spike_ns"),
                 ("overhead", "update_us"), ("overhead", "deliver_us"), ("overhead", "exchange_us"),
                 ("overhead", "collective_call_us"),
                 ("network", "shm", "latency_us"), ("network", "inter", "latency_us")):
        m._get(*keys)
    if m.cores_per_node < 1:
        raise ParameterError(f"machine '{m.name}': cores_per_node must be >= 1")


# ---------------------------------------------------------------------------
# workload of a partition (from the description alone)
# ---------------------------------------------------------------------------

def _description(net) -> dict:
    if isinstance(net, dict):
        return net
    return net.describe()


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


def _min_max_delay(desc: dict, conn) -> tuple[int, int]:
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


def workload(net, ranks: int, partition="round_robin", rates=None, min_delay_steps: int | None = None) -> dict:
    """Per-rank expected work of ``net`` placed on ``ranks`` ranks, per second of model time.

    ``net``: a :class:`parsnn.network.Network` or its ``describe()`` dict;
    ``partition``: strategy name, Partition or node->rank array; ``rates``: as in
    :func:`parsnn.partition_metrics.expected_metrics` (None: the model's expected rates).

    Returns numpy arrays over ranks: ``neurons`` ({model: count}), ``poisson_inputs``,
    ``events_per_s`` (synaptic events delivered), ``spikes_in_per_s`` (distinct spikes
    received, own included), ``spikes_out_per_s``, ``copies_per_s`` (spike words packed,
    own rank included), ``ring_neurons`` (neurons with ring buffers); the P x P matrix ``spikes_to_per_s`` (spikes from
    r needing delivery on q, r != q); and ``min_delay_steps``, ``max_delay_steps``."""
    from parsnn.partition import Partition, make_map
    P = int(ranks)
    if P < 1:
        raise ParameterError(f"ranks must be >= 1, got {ranks}")
    desc = _description(net)
    conn = pm.Connectivity.from_description(desc)
    if isinstance(partition, Partition):
        rank_of, strategy = np.asarray(partition.rank_of), partition.strategy
        if partition.nranks != P:
            raise ParameterError(f"the partition was made for {partition.nranks} ranks, not {P}")
    elif isinstance(partition, str):
        strategy, rank_of = make_map(conn if isinstance(net, dict) else net, P, partition)
    else:
        strategy, rank_of = "custom", np.asarray(partition)
        if rank_of.shape != (conn.num_nodes,):
            raise ParameterError(f"partition array needs one entry per node ({conn.num_nodes})")
    rank_of = np.ascontiguousarray(rank_of, dtype=np.int64)
    r = pm.neuron_rates(conn, rates).copy()
    r[rank_of < 0] = 0.0
    counts = pm.counts_per_rank(conn, rank_of, P)                      # S x P
    p0 = pm.nohit_probabilities(conn, counts)                          # S x P
    hit = 1.0 - p0
    S = len(conn.names)
    R = np.zeros((S, P))
    placed = rank_of >= 0
    np.add.at(R, (conn.pop_of[placed], rank_of[placed]), r[placed])
    Rtot = R.sum(axis=1)
    sizes = np.maximum(conn.sizes.astype(float), 1.0)
    prate = Rtot / sizes
    # synaptic events delivered on each rank: synapses x mean source rate, split by target placement
    K = conn.expected_synapses()
    events = np.zeros(P)
    synapses = np.zeros(P)
    row = np.zeros((len(conn.names), P))                              # synapses of one source on q
    for j in range(K.size):
        s, t = conn.src[j], conn.tgt[j]
        if conn.virtual[t]:
            continue
        events += K[j] * prate[s] * counts[t] / sizes[t]
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
    spikes_out = R.sum(axis=0)
    to = R.T @ hit                                                     # [r, q]
    np.fill_diagonal(to, 0.0)
    own = np.einsum("sr,sr->r", R, hit)
    copies = to.sum(axis=1) + own
    # neurons per model and Poisson input devices per rank; iaf_psc_exp populations that the
    # engine cannot update with its vectorized kernel count as 'iaf_psc_exp_scalar'
    scalar = _scalar_exp_populations(desc)
    models = {}
    for s, name in enumerate(conn.names):
        if conn.virtual[s]:
            continue
        key = conn.models[s] + ("_scalar" if name in scalar else "")
        models.setdefault(key, np.zeros(P))
        models[key] += counts[s]
    pois = np.zeros(P)
    index = {n: i for i, n in enumerate(conn.names)}
    for d in desc.get("poisson_inputs", []):
        pois += counts[index[d["target"]]]
    dmin, dmax = _min_max_delay(desc, conn)
    dsyn = dmin
    if min_delay_steps is not None:
        dmin = int(min_delay_steps)
    n_ring = sum(v for k, v in models.items() if k.startswith("iaf"))
    n_ring = n_ring if isinstance(n_ring, np.ndarray) else np.zeros(P)
    return {
        "ranks": P, "strategy": strategy, "resolution": float(desc.get("resolution", 0.1)),
        "model": desc.get("metadata", {}).get("model") or desc.get("name", ""),
        "neurons": models, "poisson_inputs": pois, "events_per_s": events, "spikes_in_per_s": spikes_in,
        "spikes_out_per_s": spikes_out, "copies_per_s": copies, "spikes_to_per_s": to,
        "ring_neurons": n_ring.astype(float), "synapses": synapses, "events_unprefetched_per_s": unprefetched,
        "min_delay_steps": int(dmin), "max_delay_steps": int(dmax), "min_synaptic_delay_steps": int(dsyn),
        "num_neurons": int(conn.sizes[~conn.virtual].sum()), "num_synapses": float(K.sum()),
        "spikes_per_s": float(Rtot.sum()), "events_total_per_s": float(events.sum()),
        "recorded_spikes_per_s": float(sum(Rtot[index[n]] for n in desc.get("spike_recorder", []) if n in index)),
    }


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------

def expected_max_normal(P: int) -> float:
    """E[max of P independent standard normal variables] (0 for P = 1)."""
    if P <= 1:
        return 0.0
    x = np.linspace(-8.0, 8.0 + math.sqrt(2 * math.log(P)), 4001)
    phi = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    from scipy.special import ndtr
    Phi = ndtr(x)
    f = P * x * phi * Phi ** (P - 1)
    return float(np.sum((f[1:] + f[:-1]) * np.diff(x)) * 0.5)


def _expected_max_sparse(cost: np.ndarray, prob: np.ndarray) -> float:
    """E[max_r X_r] for independent X_r = cost_r with probability prob_r, else 0."""
    order = np.argsort(-cost)
    c, p = cost[order], np.clip(prob[order], 0.0, 1.0)
    none_before = np.concatenate([[1.0], np.cumprod(1.0 - p)[:-1]])
    return float(np.sum(c * p * none_before))


def _node_layout(P: int, machine: Machine, ranks_per_node: int | None):
    """(ranks per node, nodes): blocks of ``ranks_per_node`` (default: the cores of a node);
    beyond the machine's nodes, the ranks share the nodes there are."""
    rpn = max(1, min(int(ranks_per_node or machine.cores_per_node), P))
    nodes = -(-P // rpn)
    if nodes > machine.max_nodes:
        nodes = machine.max_nodes
        rpn = -(-P // nodes)
    return rpn, nodes


def _alltoall_counts(P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """MPI_Alltoall of one int32 per rank (MPICH defaults), seconds."""
    if P == 1:
        return {"algorithm": "none", "rounds": 0, "seconds": 0.0}
    col = machine.data.get("collectives", {})
    shm, net = machine.link("shm"), machine.link("inter")
    bruck_min = int(col.get("alltoall_bruck_min_ranks", 8))
    nic_bw = 1e9 * float(machine._get("network", "inter", "nic_bandwidth_gbs",
                                      default=machine._get("network", "inter", "bandwidth_gbs")))
    fixed = 1e-6 * float(col.get("alltoall_fixed_us", 0.0))
    if P < bruck_min:
        lk = net if nodes > 1 else shm
        t = fixed + lk["alpha"] + (P - 1) * 2 * lk["o"] + (P - 1) * 4 * lk["beta"]
        return {"algorithm": "isend_irecv", "rounds": 1, "seconds": t}
    rounds = int(math.ceil(math.log2(P)))
    round_us = 1e-6 * float(col.get("bruck_round_us", 0.0))
    block_s = 1e-9 * float(col.get("bruck_block_ns", 0.0))
    t = 0.0
    for k in range(rounds):
        d = 1 << k
        nbytes = 4.0 * (P / 2.0)
        # with nodes > 1 some rank's partner is on the next node in every round: that round
        # waits for the network; min(d, rpn) ranks of each node send through its interface
        inter = nodes > 1
        lk = net if inter else shm
        tb = nbytes * lk["beta"]
        if inter:
            # ranks of a node whose partner is on another node share the node's interface
            tb = max(tb, min(d, rpn) * nbytes / nic_bw)
        t += lk["alpha"] + 2 * lk["o"] + tb + round_us + (P / 2.0) * block_s
    return {"algorithm": "bruck", "rounds": rounds, "seconds": t + fixed}


def _alltoallv_spikes(wl: dict, T: float, P: int, rpn: int, nodes: int, machine: Machine) -> dict:
    """MPI_Alltoallv of the interval's spikes (MPICH scattered), seconds; see the module docstring."""
    if P == 1:
        return {"seconds": 0.0, "max_send_messages": 0.0, "mean_send_messages": 0.0, "mean_recv_messages": 0.0}
    col = machine.data.get("collectives", {})
    throttle = max(1, int(col.get("alltoallv_throttle", 32)))
    shm, net = machine.link("shm"), machine.link("inter")
    mu = wl["spikes_to_per_s"] * T                                   # spikes r -> q per interval
    nonempty = 1.0 - np.exp(-mu)
    np.fill_diagonal(nonempty, 0.0)
    sends = nonempty.sum(axis=1)
    recvs = nonempty.sum(axis=0)
    lam = wl["spikes_out_per_s"] * T
    pi = 1.0 - np.exp(-lam)                                          # P(rank spikes in the interval)
    with np.errstate(divide="ignore", invalid="ignore"):
        D = np.where(pi > 0, sends / pi, 0.0)                        # destinations given that it spikes
    f_off = 0.0 if nodes == 1 else max(0.0, (P - rpn) / (P - 1.0))
    o_s = (1 - f_off) * shm["o"] + f_off * net["o"]
    alpha = net["alpha"] if nodes > 1 else shm["alpha"]
    # a wait per batch of `throttle` messages; the first batch's wait is the one latency added below
    send_cost = D * o_s + np.maximum(np.ceil(D / throttle) - 1.0, 0.0) * alpha
    t_send = _expected_max_sparse(send_cost, pi)
    e = expected_max_normal(P)
    t_recv = (recvs.mean() + math.sqrt(max(recvs.mean(), 0.0)) * e) * ((1 - f_off) * shm["o"] + f_off * net["o"])
    bytes_heavy = float(np.max(np.where(pi > 0, BYTES_PER_SPIKE * mu.sum(axis=1) / np.maximum(pi, 1e-300), 0.0)))
    t_bytes = bytes_heavy * ((1 - f_off) * shm["beta"] + f_off * net["beta"])
    t_nic = 0.0
    if nodes > 1:
        rate = float(machine._get("network", "inter", "nic_message_rate_mps", default=0.0))
        if rate > 0:
            node_msgs = sends.sum() * f_off / nodes
            t_nic = node_msgs / (rate * 1e6)
    any_msg = 1.0 - float(np.prod(1.0 - np.clip(pi, 0, 1)))
    fixed = 1e-6 * float(col.get("alltoallv_fixed_us", 0.0))
    t = fixed + any_msg * alpha + t_send + t_recv + t_bytes + t_nic
    return {"seconds": t, "max_send_messages": _expected_max_sparse(D, pi), "mean_send_messages": float(sends.mean()),
            "mean_recv_messages": float(recvs.mean()), "send_s": t_send, "recv_s": t_recv, "bytes_s": t_bytes,
            "nic_s": t_nic, "latency_s": any_msg * alpha, "off_node_fraction": f_off}


def predict(net, ranks: int, machine="this_machine", partition="round_robin", rates=None,
            min_delay_steps: int | None = None, ranks_per_node: int | None = None, wl: dict | None = None,
            t_sim_ms: float | None = None, flush_ms: float = 1000.0) -> dict:
    """Predicted per-phase times per min-delay interval, critical path and RTF.

    Returns a dict with the keys :data:`PREDICTION_KEYS`:

    - ``per_rank``: {'update', 'deliver', 'exchange', 'busy'}: lists over ranks, seconds per
      interval; 'exchange' is what the engine's exchange timer holds (pack, waiting for the
      slowest rank, both collectives);
    - ``phases``: {'update', 'deliver', 'exchange'}: the mean over ranks and ``*_max``;
    - ``exchange_terms``: the parts of the communication (seconds per interval);
    - ``critical_path_s`` (seconds per interval), ``compute_s`` (max busy rank plus
      fluctuations), ``exchange_s`` (communication after the slowest rank arrives),
      ``rtf``, ``exchange_fraction`` (= exchange_s / critical_path_s) and ``dominant``
      ('exchange' or 'compute');
    - ``workload``: per-interval scalars of the workload (events, spikes, messages).

    ``t_sim_ms`` (None: a long run) and ``flush_ms`` (the simulation's recording flush period)
    say how many of rank 0's recording flushes the other ranks wait for in an exchange: all but
    the last, which ends the run.
    """
    m_ = load_machine(machine)
    P = int(ranks)
    if wl is None:
        wl = workload(net, P, partition, rates, min_delay_steps)
    m = int(wl["min_delay_steps"]) if min_delay_steps is None else int(min_delay_steps)
    h = wl["resolution"]
    T = m * h * 1e-3                                                  # model seconds per interval
    rpn, nodes = _node_layout(P, m_, ranks_per_node)

    # ---- computation per rank
    upd = np.full(P, m_.us("overhead", "update_us"))
    for model, n in wl["neurons"].items():
        upd += m * n * m_.update_cost(model)
    upd += m * wl["poisson_inputs"] * m_.ns("poisson_input_ns", default=0.0)
    ev = wl["events_per_s"] * T
    sp = wl["spikes_in_per_s"] * T
    # ring-buffer slots written in one interval: emission steps x the spread of the delays
    slots = min(wl["max_delay_steps"] + 1, m + wl["max_delay_steps"] - wl["min_synaptic_delay_steps"])
    ring_ws = RING_BYTES_PER_NEURON_SLOT * slots * wl["ring_neurons"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f_np = np.where(wl["events_per_s"] > 0, wl.get("events_unprefetched_per_s", 0.0 * ev)
                        / np.maximum(wl["events_per_s"], 1e-300), 0.0)
    c_evt = m_.event_cost(ring_ws, f_np)
    # each rank's spikes arrive sorted (by step, then gid): qsort merges min(P, S) runs
    runs = np.maximum(np.minimum(float(P), sp), 1.0)
    # a received spike's synapse row starts with a cache miss when the rank's synapses
    # (10 B each) do not fit in the caches of its core
    l23 = m_.cache_levels()[1]
    syn_bytes = np.maximum(SYNAPSE_BYTES * wl["synapses"], 1.0)
    row_miss = m_.ns("row_miss_ns", default=0.0) * (1.0 - np.minimum(1.0, l23 / syn_bytes))
    dl = (m_.us("overhead", "deliver_us") + ev * c_evt
          + sp * (m_.ns("spike_ns") + m_.ns("compare_ns", default=0.0) * np.log2(runs) + row_miss))
    pack = (m_.us("overhead", "exchange_us") + wl["copies_per_s"] * T * m_.ns("pack_ns", default=0.0)
            + (P * m_.ns("peer_ns", default=0.0) if P > 1 else 0.0))
    busy = upd + dl + pack
    # fluctuation of a rank's work per interval: Poisson delivery work, plus machine noise
    # (relative to the rank's work, and absolute)
    noise_abs = m_.us("noise", "sigma_us", default=0.0)
    noise_rel = float(m_._get("noise", "sigma_rel", default=0.0))
    sigma = np.sqrt(c_evt ** 2 * ev + (noise_rel * busy) ** 2 + noise_abs ** 2)
    e = expected_max_normal(P)
    compute = float(busy.max() + e * sigma.max())

    # ---- communication
    counts = _alltoall_counts(P, rpn, nodes, m_)
    v = _alltoallv_spikes(wl, T, P, rpn, nodes, m_)
    calls = 2 * m_.us("overhead", "collective_call_us") if P > 1 else 0.0
    comm = calls + counts["seconds"] + v["seconds"]

    # ---- ranks sharing cores (oversubscription)
    cores = m_.cores
    over = P > cores
    if over:
        # ranks sharing a core serialize: rank r runs on core r mod cores, and a core runs
        # its ranks' work one after the other; a rank that waits in a collective polls, then
        # yields its core (MPICH: MPIR_CVAR_POLLS_BEFORE_YIELD): one such spin and switch per
        # interval and extra rank on a core
        per_core = np.zeros(cores)
        np.add.at(per_core, np.arange(P) % cores, busy)
        compute = float(per_core.max() + e * sigma.max())
        # the cores switch in parallel: the most crowded core's extra ranks set the cost
        comm += (math.ceil(P / cores) - 1) * m_.us("oversubscription", "yield_us", default=0.0)
    # spike recording: rank 0 gathers and writes every recorded spike (amortised per interval);
    # the other ranks wait for it in their next exchange
    rec = np.zeros(P)
    rec[0] = wl.get("recorded_spikes_per_s", 0.0) * T * m_.ns("record_ns", default=0.0)
    critical = compute + comm + float(rec[0])
    # the engine's exchange timer holds pack + waiting for the slowest rank + the collectives;
    # a rank's own update and deliver phases are short (< a time slice) and are not stretched.
    # The other ranks wait for rank 0's flush in their next exchange; the last flush ends the run
    n_flush = 1 if t_sim_ms is None else max(1, math.ceil(float(t_sim_ms) / float(flush_ms) - 1e-9))
    in_exchange = 1.0 if t_sim_ms is None else (n_flush - 1) / n_flush
    exch = critical - upd - dl - rec
    exch[1:] -= (1.0 - in_exchange) * rec[0]
    phases = {"update": float(upd.mean()), "deliver": float(dl.mean()), "exchange": float(exch.mean()),
              "update_max": float(upd.max()), "deliver_max": float(dl.max()), "exchange_max": float(exch.max())}
    exchange_s = comm
    return {
        "machine": m_.name, "model": wl.get("model", ""), "ranks": P, "nodes": nodes, "ranks_per_node": rpn,
        "partition": wl.get("strategy", ""), "min_delay_steps": m, "interval_ms": m * h,
        "intervals_per_model_s": 1.0 / T,
        "per_rank": {"update": upd.tolist(), "deliver": dl.tolist(), "exchange": exch.tolist(),
                     "record": rec.tolist(), "busy": busy.tolist()},
        "phases": phases,
        "exchange_terms": {"pack_and_fixed": float(pack.max()), "collective_calls": calls,
                           "alltoall_counts": counts["seconds"], "alltoall_algorithm": counts["algorithm"],
                           "alltoall_rounds": counts["rounds"], "alltoallv": v["seconds"],
                           "alltoallv_detail": {k: v[k] for k in v if k != "seconds"},
                           "imbalance_and_fluctuation": float(compute - busy.mean())},
        "critical_path_s": critical, "compute_s": compute, "exchange_s": exchange_s,
        "rtf": critical / T, "exchange_fraction": exchange_s / critical if critical > 0 else 0.0,
        "dominant": "exchange" if exchange_s > critical - exchange_s else "compute",
        "oversubscribed": over,
        "workload": {"events_per_interval_mean": float(ev.mean()), "spikes_in_per_interval_mean": float(sp.mean()),
                     "spikes_out_per_interval_total": float(wl["spikes_out_per_s"].sum() * T),
                     "neurons_per_rank_max": float(sum(wl["neurons"].values()).max()) if wl["neurons"] else 0.0,
                     "ring_bytes_per_interval_max": float(ring_ws.max()), "event_ns": float(c_evt.max() * 1e9),
                     "unprefetched_event_fraction": float(np.max(f_np)),
                     "imbalance": float(busy.max() / busy.mean()) if busy.mean() > 0 else 1.0},
    }


def run_inputs(f) -> dict:
    """What the model needs from a finished run (an open h5py.File or a path): its network
    description, partition map, model time and measured population rates -- from the engine's
    spike counts (every population, recorded or not), else from the recorded spikes, else none
    (``rates`` None: the expected rates). ``rates_from`` says which."""
    import h5py
    if not isinstance(f, h5py.File):
        with h5py.File(f, "r") as h:
            return run_inputs(h)
    g = f["parsnn"]
    desc = json.loads(g.attrs["parameters"])
    t_sim_ms = float(g.attrs["t_sim"])
    t_s = t_sim_ms * 1e-3
    pops = desc.get("populations", [])
    perf = g["performance"].attrs if "performance" in g else {}
    counts = np.asarray(perf["spike_counts"]) if "spike_counts" in perf else None
    rates, source = {}, "expected"
    if counts is not None and len(counts) == len(pops) and t_s > 0:
        rates = {p["name"]: float(c) / p["size"] / t_s for p, c in zip(pops, counts)
                 if p["size"] > 0 and p.get("model") != "spike_generator"}
        source = "spike_counts"
    elif "spikes" in f and t_s > 0:
        sizes = {p["name"]: p["size"] for p in pops}
        for name, grp in f["spikes"].items():
            if name in sizes and "timestamps" in grp:
                rates[name] = grp["timestamps"].shape[0] / sizes[name] / t_s
                source = "recorded_spikes"
    return {"description": desc, "rank_of": np.asarray(g["partition_map"]), "ranks": int(g.attrs["num_ranks"]),
            "t_sim_ms": t_sim_ms, "rates": rates or None, "rates_from": source}


def sweep(net, ranks, machine="this_machine", partition="round_robin", rates=None,
          min_delay_steps: int | None = None, ranks_per_node: int | None = None, keep_per_rank: bool = False):
    """:func:`predict` for every rank count in ``ranks`` (a strong-scaling curve)."""
    out = []
    for P in ranks:
        p = predict(net, int(P), machine, partition, rates, min_delay_steps, ranks_per_node)
        if not keep_per_rank:
            p = {k: v for k, v in p.items() if k != "per_rank"}
        out.append(p)
    return out


def crossover(curve: list[dict]) -> int | None:
    """Smallest rank count of a :func:`sweep` at which the exchange outweighs the computation."""
    for p in curve:
        if p["dominant"] == "exchange":
            return int(p["ranks"])
    return None


def format_table(curve: list[dict]) -> str:
    head = (f"{'ranks':>6} {'nodes':>5} {'update us':>10} {'deliver us':>10} {'exchange us':>11} "
            f"{'critical us':>11} {'RTF':>8} {'exch %':>6}  dominant")
    lines = [head, "-" * len(head)]
    for p in curve:
        ph = p["phases"]
        note = " (oversubscribed)" if p["oversubscribed"] else ""
        lines.append(f"{p['ranks']:>6} {p['nodes']:>5} {ph['update_max'] * 1e6:>10.2f} "
                     f"{ph['deliver_max'] * 1e6:>10.2f} {p['exchange_s'] * 1e6:>11.2f} "
                     f"{p['critical_path_s'] * 1e6:>11.2f} {p['rtf']:>8.3f} "
                     f"{100 * p['exchange_fraction']:>6.1f}  {p['dominant']}{note}")
    return "\n".join(lines)
