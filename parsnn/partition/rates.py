"""Expected firing rates and compute costs of the populations of a :class:`Connectivity`.

Rates: the model's expected rates (:func:`parsnn.registry.expected_rates`), the rate parameter of
poisson_source populations, 0 for spike generators (they are never sent), else ``DEFAULT_RATE``.

Costs (for the balance of the placement strategies and of the metrics) come from the one cost
model, :mod:`parsnn.mapping.cluster`: the ``[balance]`` weights of a machine description
(:meth:`parsnn.machines.Machine.balance_costs`; seconds per neuron update per step, per
synaptic event and, on top of that, per event through a plastic synapse; only their ratios matter
for the balance).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from parsnn import registry
from parsnn import synapses as synapse_models
from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError

BALANCE_MACHINE = "epyc_zen5_kvm_2core_2026_11_22"     # machine description whose [balance] weights the partitioner uses
DEFAULT_RATE = 5.0                   # spikes/s where a model gives no expected rate


def population_rates(conn: Connectivity, default: float = DEFAULT_RATE) -> np.ndarray:
    """Expected rate (spikes/s) of every population.

    From the network's model (:func:`parsnn.registry.expected_rates`: the rates its metadata
    carries, else its model's expected rates), the rate parameter for poisson_source populations,
    0 for spike generators (they are never sent), else ``default``."""
    known = registry.expected_rates(conn.metadata)
    known.update(conn.source_rates)
    out = np.empty(len(conn.names))
    for i, name in enumerate(conn.names):
        out[i] = 0.0 if conn.virtual[i] else float(known.get(name, default))
    return out


def neuron_rates(conn: Connectivity, rates=None) -> np.ndarray:
    """Per-neuron rates (float64 [N]) from None (expected population rates), a
    {population: rate} dict, a per-population array or a per-neuron array."""
    if rates is None:
        return np.repeat(population_rates(conn), conn.sizes)
    if isinstance(rates, dict):
        base = population_rates(conn)
        for k, v in rates.items():
            base[conn.names.index(k)] = float(v)
        return np.repeat(base, conn.sizes)
    r = np.asarray(rates, dtype=np.float64)
    if r.shape == (len(conn.names),):
        return np.repeat(r, conn.sizes)
    if r.shape != (conn.num_nodes,):
        raise ParameterError(f"rates must be per population ({len(conn.names)}) or per neuron "
                             f"({conn.num_nodes}), got shape {r.shape}")
    return r


def population_mean_rates(conn: Connectivity, rates=None) -> np.ndarray:
    """Mean rate (spikes/s) of every population for ``rates`` as in :func:`neuron_rates`
    (None: the expected population rates)."""
    if rates is None:
        return population_rates(conn)
    r = neuron_rates(conn, rates)
    return np.add.reduceat(r, conn.offsets) / conn.sizes if r.size else r


@lru_cache(maxsize=None)
def balance_costs(machine: str = BALANCE_MACHINE) -> tuple[float, float, float, float]:
    """(seconds per neuron update per step of ``update_step_ms``, ``update_step_ms``, seconds per
    synaptic event, seconds a plastic synapse's event costs on top of it): the load-balance weights
    of the cost model's machine description ``machine``."""
    from parsnn.machines import load_machine
    b = load_machine(machine).balance_costs()
    return b["update_s"], b["update_step_ms"], b["event_s"], b["plastic_event_s"]


def plastic_projections(conn: Connectivity) -> np.ndarray:
    """Boolean per projection of ``conn``: its synapse model (in ``conn.description``) is plastic;
    all False without a description."""
    projections = (conn.description or {}).get("projections", [])
    if not projections:
        return np.zeros(conn.src.size, dtype=bool)
    if len(projections) != conn.src.size:
        raise ValueError(f"the description has {len(projections)} projections, the connectivity {conn.src.size}")
    return synapse_models.plastic_mask(projections)


def population_costs(conn: Connectivity, rates=None) -> np.ndarray:
    """Expected compute cost of one neuron of every population, in seconds of
    wall time per second of model time: updates plus incoming synaptic events, the events through
    plastic synapses (the projections' synapse models in ``conn.description``) at their extra
    weight update cost as well."""
    update_s, update_step_ms, event_s, plastic_s = balance_costs()
    pr = population_mean_rates(conn, rates)
    steps_per_s = 1000.0 / conn.resolution
    upd = update_s * (conn.resolution / update_step_ms) * steps_per_s   # per neuron per model second
    K = conn.expected_synapses()
    rate_in = K * pr[conn.src]                       # events per model second of each projection
    events = np.zeros(len(conn.names))
    np.add.at(events, conn.tgt, rate_in)
    cost = upd + event_s * events / conn.sizes
    plastic = plastic_projections(conn)
    if plastic.any():
        extra = np.zeros(len(conn.names))
        np.add.at(extra, conn.tgt[plastic], rate_in[plastic])
        cost = cost + plastic_s * extra / conn.sizes
    cost[conn.virtual] = 0.0
    return cost


def thread_meeting_events(machine: str = BALANCE_MACHINE) -> float:
    """What one more place where two threads' neurons meet in a rank's local order costs per min-delay interval,
    in synaptic events (``[balance] thread_meeting_events`` of the machine description; 0 without one): the owner
    rule "mixed" weighs the meeting places it makes against the waits it saves
    (:func:`parsnn.engine.decomposition.mixed_owners`)."""
    from parsnn.machines import load_machine
    return float(load_machine(machine).balance_costs().get("thread_meeting_events", 0.0))


def population_fluctuations(conn: Connectivity, rates=None, interval_ms: float | None = None) -> dict:
    """{population: vector over the source populations}: how the synaptic events onto one neuron of the population
    fluctuate from one interval of ``interval_ms`` (default: the resolution) to the next, per source population X:
    X's events per spike onto the neuron (its projections' expected synapses / (N_X N_Y), an event through a plastic
    synapse weighed as ``1 + plastic_event_s / event_s`` static ones) times the standard deviation of X's spike count
    in an interval (Poisson: the square root of its expected spikes). For a set of neurons the vector sums over them;
    the squared distance between two threads' sums is the variance of the difference of their events per interval
    (independent Poisson counts), which :func:`parsnn.engine.decomposition.mixed_owners` makes small. Virtual
    populations (devices) are left out as targets; as sources they count at their rates."""
    _, _, event_s, plastic_s = balance_costs()
    pr = population_mean_rates(conn, rates)
    dt = (conn.resolution if interval_ms is None else float(interval_ms)) * 1e-3
    K = conn.expected_synapses() * np.where(plastic_projections(conn), 1.0 + plastic_s / event_s, 1.0)
    S = len(conn.names)
    F = np.zeros((S, S))
    np.add.at(F, (conn.src, conn.tgt), K)
    sizes = np.maximum(np.asarray(conn.sizes, dtype=float), 1.0)
    F /= sizes[:, None] * sizes[None, :]                               # [X, Y]: events per X spike per Y neuron
    sd = np.sqrt(np.maximum(pr * np.asarray(conn.sizes, dtype=float) * dt, 0.0))     # spike count sd per interval
    return {name: F[:, y] * sd for y, name in enumerate(conn.names) if not conn.virtual[y]}

