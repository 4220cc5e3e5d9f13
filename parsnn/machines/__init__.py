"""Machine descriptions: the per-operation costs of a machine, used by the cluster cost model
(:mod:`parsnn.mapping.cluster`) and, for its load balance, by the partitioner
(:func:`parsnn.partition.rates.balance_costs`): TOML files, inheritance, validation.

A machine is data (``parsnn/machines/*.toml``; ``epyc_zen5_kvm_2core_2026_11_22.toml`` documents every key
and its unit). :func:`load_machine` reads a shipped name or a path; a file may inherit another
and scale its costs (``[derived]``). :class:`Machine` gives the constants in seconds and bytes.
"""
from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from parsnn.errors import ParameterError
from parsnn import neurons as neuron_models


def available_machines() -> list[str]:
    """Names of the machine descriptions shipped in ``parsnn/machines``."""
    d = resources.files("parsnn.machines")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


def _read_toml(name_or_path: str) -> tuple[dict, str]:
    """(parsed TOML, absolute path) of a file path or a shipped machine name."""
    if os.path.exists(name_or_path):
        with open(name_or_path, "rb") as f:
            return tomllib.load(f), os.path.abspath(name_or_path)
    name = name_or_path[:-5] if name_or_path.endswith(".toml") else name_or_path
    res = resources.files("parsnn.machines").joinpath(name + ".toml")
    if not res.is_file():
        raise ParameterError(f"unknown machine '{name_or_path}': not a file and not one of "
                             f"{', '.join(available_machines())}")
    with res.open("rb") as f:
        return tomllib.load(f), str(res)


def _merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in, recursively (tables merge, other values replace)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@dataclass
class Machine:
    """A machine description (see ``parsnn/machines/epyc_zen5_kvm_2core_2026_11_22.toml`` for every key and its unit)."""
    name: str
    data: dict
    path: str = ""
    inherited: list = field(default_factory=list)

    # -- accessors, in seconds / bytes ----------------------------------------
    def _get(self, *keys, default=None):
        """The value at ``keys`` (a path of table names); ``default`` if missing, else an error."""
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
        """Cores of one node (ranks are placed in blocks of this size)."""
        return int(self._get("machine", "cores_per_node"))

    @property
    def max_nodes(self) -> int:
        """Nodes of the machine (1 if not given)."""
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
        """A ``[compute]`` cost given in ns, in seconds."""
        return 1e-9 * float(self._get("compute", *keys, default=default))

    def us(self, section, key, default=None) -> float:
        """A cost of ``section`` given in us, in seconds."""
        return 1e-6 * float(self._get(section, key, default=default))

    def update_cost(self, model: str) -> float:
        """Seconds per neuron and step; 'iaf_psc_exp' is the engine's vectorized kernel,
        'iaf_psc_exp_scalar' its scalar one (falls back to 'iaf_psc_exp' if not given), 'iaf_psc_alpha_pone' the
        iaf_psc_alpha kernel with one Poisson input device per neuron, input included (falls back to an ``[assumed]
        update_ns`` value, else to 'iaf_psc_alpha' plus ``poisson_input_ns``); models
        without a calibrated cost take the ``[assumed] update_ns`` one if the file has one, else the
        neuron model's own assumption (``NeuronModel.assumed_update_cost``: a ratio to a calibrated
        model's cost)."""
        table = self._get("compute", "update_ns")
        if model == "iaf_psc_exp_scalar" and model not in table:
            model = "iaf_psc_exp"
        if model == "iaf_psc_alpha_pone" and model not in table:
            assumed = self._get("assumed", "update_ns", default={})
            if model in assumed:
                return 1e-9 * float(assumed[model])
            return self.update_cost("iaf_psc_alpha") + self.ns("poisson_input_ns", default=0.0)
        if model in table:
            return 1e-9 * float(table[model])
        assumed = self._get("assumed", "update_ns", default={})
        if model in assumed:
            return 1e-9 * float(assumed[model])
        relative = neuron_models.get(model).assumed_update_cost if model in neuron_models.names() else None
        if relative is None:
            raise ParameterError(f"machine '{self.name}' has no update cost for neuron model '{model}'")
        base, ratio, _source = relative
        return ratio * self.update_cost(base)

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

    def balance_costs(self) -> dict:
        """The weights of a partitioner's load balance (``[balance]``; only their ratio matters):
        ``update_s`` seconds per neuron update per step of ``update_step_ms`` (scale it by
        resolution / update_step_ms for another step), ``event_s`` seconds per synaptic event and
        ``plastic_event_s`` seconds an event through a plastic synapse costs on top of that (0 when
        the file has none), ``thread_meeting_events`` what a place where two threads' neurons meet costs per
        interval, in events (0 when the file has none; the owner rule "mixed"). The values are the machine
        file's, as written (no unit conversion), so that a partitioner reading them computes exactly what it
        computed with its own constants."""
        return {"update_s": float(self._get("balance", "update_s")),
                "update_step_ms": float(self._get("balance", "update_step_ms")),
                "event_s": float(self._get("balance", "event_s")),
                "plastic_event_s": float(self._get("balance", "plastic_event_s", default=0.0)),
                "thread_meeting_events": float(self._get("balance", "thread_meeting_events", default=0.0))}

    def sources(self) -> dict:
        """Where the machine's figures come from (the ``[sources]`` table)."""
        return dict(self._get("sources", default={}) or {})

    def bounds(self):
        """(low, high): copies of this machine with every constant of its ``[spread]`` table (dotted
        path = [smallest, largest] value over the calibration's batches) at its smallest / largest
        value; None when the file has no spread (one batch, or not a calibration)."""
        spread = self.data.get("spread") or {}
        if not spread:
            return None
        out = []
        for side in (0, 1):
            d = copy.deepcopy(self.data)
            for dotted, pair in spread.items():
                *head, last = dotted.split(".")
                t = d
                for k in head:
                    t = t.setdefault(k, {})
                t[last] = float(pair[side])
            out.append(Machine(name=f"{self.name} ({'low' if side == 0 else 'high'})", data=d, path=self.path,
                               inherited=self.inherited))
        return tuple(out)

    def summary(self) -> dict:
        """Name, path, inheritance chain, cores and description."""
        return {"name": self.name, "path": self.path, "inherits": self.inherited,
                "cores_per_node": self.cores_per_node, "cores": self.cores,
                "description": self._get("machine", "description", default="")}


_SCALED = {  # sections and keys multiplied by [derived] compute_scale / memory_scale / overhead_scale
    "compute_scale": [("compute", k) for k in ("spike_ns", "compare_ns", "pack_ns", "peer_ns", "poisson_input_ns",
                                               "plastic_event_ns", "facilitation_ns")]
    + [("compute", "update_ns", "*"), ("assumed", "update_ns", "*"), ("compute", "event_ns", "l2"), ("compute", "event_ns", "l3"),
       ("compute", "event_ns", "memory")],    # prefetched: latency hidden, bound by the loop like a cache hit
    "memory_scale": [("compute", "event_ns", "memory_no_prefetch"), ("compute", "row_miss_ns")],
    "overhead_scale": [("overhead", k) for k in ("update_us", "deliver_us", "exchange_us", "collective_call_us")]
    + [("collectives", k) for k in ("alltoall_fixed_us", "alltoallv_fixed_us", "bruck_round_us", "bruck_block_ns",
                                    "neighbor_fixed_us", "neighbor_edge_us")]
    + [("network", "shm", "latency_us"), ("network", "shm", "overhead_us")],
}


#: tables a machine file does not inherit: which machine it is, how it was calibrated, its batches' spread
_NOT_INHERITED = ("fingerprint", "calibration", "spread")


def _scaled_base(base: Machine, derived: dict) -> dict:
    """A copy of ``base``'s data with the ``[derived]`` factors applied (see :data:`_SCALED`)."""
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
    return scaled


def load_machine(name_or_path) -> Machine:
    """A :class:`Machine` from a shipped name (``epyc_zen5_kvm_2core_2026_11_22``, ``jureca_dc``, ...) or a TOML path.

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
        scaled = _scaled_base(base, dict(data.get("derived", {})))
        own = {k: v for k, v in data.items() if k not in ("inherit", "sources")}
        for k in _NOT_INHERITED:       # the base's identity and error bars are not the derived machine's
            scaled.pop(k, None)
        merged = _merge(scaled, own)
        merged["sources"] = {**data.get("sources", {}), f"inherited from {base.name}": base.sources()}
        data = merged
    name = data.get("machine", {}).get("name") or os.path.splitext(os.path.basename(path))[0]
    m = Machine(name=name, data=data, path=path, inherited=chain)
    _validate_machine(m)
    return m


def _validate_machine(m: Machine):
    """Raise a ParameterError if a key the model needs is missing or cores_per_node < 1."""
    for keys in (("machine", "cores_per_node"), ("compute", "update_ns"), ("compute", "event_ns", "l2"),
                 ("compute", "event_ns", "l3"), ("compute", "event_ns", "memory"), ("compute", "spike_ns"),
                 ("overhead", "update_us"), ("overhead", "deliver_us"), ("overhead", "exchange_us"),
                 ("overhead", "collective_call_us"),
                 ("network", "shm", "latency_us"), ("network", "inter", "latency_us")):
        m._get(*keys)
    if m.cores_per_node < 1:
        raise ParameterError(f"machine '{m.name}': cores_per_node must be >= 1")
