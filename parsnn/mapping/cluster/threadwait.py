"""The wait for the slowest thread of a rank, per min-delay interval: the team's meeting (or the OpenMP
region's join) starts when the last thread finishes its share, so thread 0, whose timers the engine
reports, waits ``E[max_k w_k] - E[w_0]`` beyond its own update and delivery, outside every timer.

``w_k`` is thread k's work in one interval (its update and its delivery). Its mean follows from the
owner map (which thread owns which neurons: :func:`parsnn.engine.decomposition.thread_owners`, called,
not copied, so the model follows the engine's rule): the neurons, Poisson inputs and synaptic events
of every thread (:func:`slot_counts`, :func:`slot_work`). Its fluctuation from interval to interval
(:func:`work_covariance`) has three parts, as seconds squared:

- the source populations' spike counts per interval ``x_i`` (measured: a run's counts in every interval,
  :func:`parsnn.mapping.cluster.runs.interval_spike_counts`; else Poisson, covariance ``C = diag`` of the
  mean counts): thread k receives ``R[s, k]`` events per spike of population s, so its work moves by
  ``c (x_i - mean) R`` in interval i (covariance ``c^2 R^T C R``); a fluctuation that all threads share in
  proportion cancels in the wait, one that hits the populations of one thread does not;
- which neurons of a population spike: each event goes to thread k with its share ``p_k`` of the
  rank's events ``E`` (multinomial): ``c^2 E (diag p - p p^T)``;
- machine noise, independent per core: ``(sigma_rel w_k)^2 + sigma_us^2`` (:func:`noise_constants`:
  the machine file's relative ``[noise] sigma_rel``, measured between ranks on the same cores, used for
  threads as an assumption; no absolute part unless ``[threads] sigma_us`` gives one).

``c`` is a thread's seconds per event. For two threads ``D = w_1 - w_0`` is normal and the wait is
``E[max(0, D)] = d Phi(d / s) + s phi(d / s)`` (:func:`expected_wait`), averaged over the measured
intervals' shifts of ``d`` where there are counts (bursts are rare and large: not a normal variable);
for more threads the counts enter through their covariance and the expectation is taken over a fixed
set of normal draws (deterministic).
"""
from __future__ import annotations

import math

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.engine import decomposition

#: normal draws per rank for the wait of more than two threads (fixed seed: the prediction is deterministic)
WAIT_DRAWS = 2048


def placed_counts(conn: Connectivity, rank_of: np.ndarray, P: int) -> np.ndarray:
    """n[s, r]: nodes of population s placed on rank r (virtual populations included: they hold local
    indices on the rank, as :func:`parsnn.engine.decomposition.local_nodes` gives them)."""
    rank_of = np.asarray(rank_of)
    out = np.zeros((len(conn.names), P), dtype=np.int64)
    for s in range(len(conn.names)):
        part = rank_of[int(conn.offsets[s]):int(conn.offsets[s]) + int(conn.sizes[s])]
        out[s] = np.bincount(part[part >= 0], minlength=P)[:P]
    return out


def slot_counts(conn: Connectivity, rank_of: np.ndarray, P: int, T: int) -> np.ndarray:
    """n[s, r T + k]: neurons of population s on rank r that thread k owns, by the engine's owner map
    (:func:`~parsnn.engine.decomposition.thread_owners` of the rank's population ranges; a rank's local
    nodes are its gids ascending, so every population is one contiguous range)."""
    placed = placed_counts(conn, rank_of, P)
    order = np.argsort(np.asarray(conn.offsets), kind="stable")
    weights, deal = decomposition.node_weights(conn), owner_inputs(conn)
    return np.concatenate([rank_slot_counts(conn, placed, r, T, order, weights, deal) for r in range(P)], axis=1) \
        if P > 0 else np.zeros((len(conn.names), 0), dtype=np.int64)


def owner_inputs(conn: Connectivity) -> dict:
    """What the engine's default owner rule (:data:`parsnn.engine.decomposition.OWNER_RULES`, first) needs
    beyond the nodes' weights, as :func:`parsnn.engine.decomposition.population_ranges` gives it: for "mixed"
    the populations' fluctuation vectors and the cost of a meeting place."""
    if decomposition.OWNER_RULES[0] != "mixed":
        return {}
    from parsnn.partition.rates import population_fluctuations, thread_meeting_events
    return {"fluctuation": population_fluctuations(conn), "meeting_events": thread_meeting_events()}


def _meeting_places(owner: np.ndarray, T: int) -> np.ndarray:
    """Per thread, the places in the local order where its nodes meet another thread's."""
    idx = np.flatnonzero(owner[1:] != owner[:-1])
    return (np.bincount(owner[idx], minlength=T) + np.bincount(owner[idx + 1], minlength=T))[:T]


def rank_slot_counts(conn: Connectivity, placed: np.ndarray, r: int, T: int, order=None, weights=None,
                     deal=None, meetings: bool = False):
    """n[s, k]: neurons of population s on rank r that thread k owns (S x T; ``placed`` from
    :func:`placed_counts`, ``order`` the populations by offset, ``weights`` the engine's
    :func:`~parsnn.engine.decomposition.node_weights`, ``deal`` :func:`owner_inputs`; all computed when not
    given), under the engine's default owner rule. Only the populations placed on the rank are visited: a rank
    of a large sheet holds few of them. ``meetings``: also (as a pair) each thread's meeting places beyond those of
    "major"'s deal (one block per thread: 1 for the first and last thread, 2 for the others), which the
    calibration's thread efficiencies already hold."""
    order = np.argsort(np.asarray(conn.offsets), kind="stable") if order is None else order
    weights = decomposition.node_weights(conn) if weights is None else weights
    deal = owner_inputs(conn) if deal is None else deal
    pos, ranges = 0, {}
    for s in order[placed[order, r] > 0]:
        c = int(placed[s, r])
        if not conn.virtual[s]:
            ranges[conn.names[s]] = (pos, pos + c)
        pos += c
    rule = decomposition.PopulationRanges(ranges, weights, decomposition.OWNER_RULES[0],
                                          {k: v for k, v in deal.get("fluctuation", {}).items() if k in ranges},
                                          deal.get("meeting_events", 0.0))
    owner = decomposition.thread_owners(rule, pos, T)[0] if T > 1 else np.zeros(pos, np.int32)
    out = np.zeros((len(conn.names), T), dtype=np.int64)
    index = {name: i for i, name in enumerate(conn.names)}
    for name, (a, b) in ranges.items():
        out[index[name]] = np.bincount(owner[a:b], minlength=T)[:T]
    if not meetings:
        return out
    if T < 2 or pos == 0:
        return out, np.zeros(T)
    major = decomposition.thread_owners(decomposition.PopulationRanges(ranges, weights), pos, T)[0]
    return out, np.maximum(_meeting_places(owner, T) - _meeting_places(major, T), 0).astype(float)


def row_matrices(conn: Connectivity, plastic: np.ndarray):
    """(M, M_plastic), sparse S x S: ``M[s, t]`` the expected synapses from one neuron of population s onto
    one neuron of population t (virtual targets left out), ``M_plastic`` those of plastic projections: the
    expected targets on slot j of one spike of s are ``(M @ counts)[s, j]``."""
    from scipy import sparse
    K = conn.expected_synapses()
    sizes = np.maximum(conn.sizes.astype(float), 1.0)
    src, tgt = np.asarray(conn.src), np.asarray(conn.tgt)
    keep = ~np.asarray(conn.virtual, dtype=bool)[tgt]
    val = np.where(keep, K / sizes[src] / sizes[tgt], 0.0)
    S = len(conn.names)
    M = sparse.csr_matrix((val, (src, tgt)), shape=(S, S))
    Mp = sparse.csr_matrix((np.where(np.asarray(plastic, dtype=bool), val, 0.0), (src, tgt)), shape=(S, S))
    return M, Mp


def slot_work(conn: Connectivity, counts: np.ndarray, pop_spikes_per_s: np.ndarray, plastic: np.ndarray,
              matrices=None) -> dict:
    """Per slot (a rank's thread; ``counts`` from :func:`slot_counts`) and model second: synaptic events
    ``events``, plastic ones ``plastic_events``, and ``row[s, j]``: the expected targets on slot j of one
    spike of population s (``pop_spikes_per_s[s]``: the spikes population s emits per second;
    ``plastic``: per projection, its synapses are plastic; ``matrices``: :func:`row_matrices`, made if not
    given)."""
    M, Mp = row_matrices(conn, plastic) if matrices is None else matrices
    c = np.asarray(counts, dtype=float)
    row, row_pl = np.asarray(M @ c), np.asarray(Mp @ c)
    r = np.asarray(pop_spikes_per_s, dtype=float)
    return {"row": row, "events": r @ row, "plastic_events": r @ row_pl}


def population_update_costs(conn: Connectivity, machine, m: int = 1) -> np.ndarray:
    """Seconds of neuron updates per interval of ``m`` steps of one neuron of each population on ``machine``:
    its model's update cost (the vectorized or the scalar iaf_psc_exp kernel as the engine picks it) plus
    one Poisson draw per step and Poisson input device; 0 for virtual populations."""
    from parsnn.mapping.cluster.workload import _neurons_per_model
    S = len(conn.names)
    models, pois = _neurons_per_model(conn.description or {}, conn, np.eye(S), S)
    cost = sum(n * machine.update_cost(k) for k, n in models.items()) + np.zeros(S)
    return m * (cost + pois * machine.ns("poisson_input_ns", default=0.0))


def slot_update_work(conn: Connectivity, counts: np.ndarray, machine, m: int = 1, costs=None) -> np.ndarray:
    """Seconds of neuron updates per interval of ``m`` steps of every slot (``counts`` from
    :func:`slot_counts`): its neurons at their model's update cost on ``machine``
    (:func:`population_update_costs`, or ``costs`` given for ``m``) plus its Poisson input draws; no fixed cost."""
    costs = population_update_costs(conn, machine, m) if costs is None else costs
    return costs @ np.asarray(counts, dtype=float)


def record_shares(res: dict, T: int, machine=None) -> tuple[float, float]:
    """(thread 0's share of the update work, its share of the synaptic events) of the network of a 1-rank
    run record ``res`` (its description, ``rank_of`` and measured ``rates``) under the engine's owner map
    with ``T`` threads: the parts of the update and the delivery that thread 0's timers hold (1/T each
    when every population is split evenly; not so with one block per thread). With ``machine``, the update
    share weighs every neuron by its model's update cost there (:func:`slot_update_work`, as the
    prediction gives thread 0's update: a Poisson source costs ~28 iaf_psc_exp updates on the Xeon, and the
    scatter networks put all of theirs on thread 0); without one, or without a cost for one of the
    models, every neuron weighs alike."""
    from parsnn.errors import ParameterError
    conn = Connectivity.from_description(res["description"])
    counts = slot_counts(conn, np.asarray(res["rank_of"]), 1, T)
    neurons = counts[~np.asarray(conn.virtual, dtype=bool)].sum(axis=0).astype(float)
    if machine is not None:
        try:
            neurons = slot_update_work(conn, counts, machine)
        except ParameterError:
            pass
    rates = res.get("rates") or {}
    spikes = np.array([float(rates.get(name, 0.0)) * float(conn.sizes[s]) for s, name in enumerate(conn.names)])
    events = slot_work(conn, counts, spikes, np.zeros(conn.src.size, dtype=bool))["events"]
    share_u = neurons[0] / neurons.sum() if neurons.sum() > 0 else 1.0 / T
    share_d = events[0] / events.sum() if events.sum() > 0 else 1.0 / T
    return float(share_u), float(share_d)


def work_covariance(row: np.ndarray, C, events: np.ndarray, c_evt: float, work: np.ndarray,
                    sigma_rel: float = 0.0, sigma_us: float = 0.0) -> np.ndarray:
    """T x T covariance (seconds^2) of the threads' work per interval on one rank (see the module's
    equation): ``row`` (S x T) events per spike of each population on each thread, ``C`` (S x S) the
    populations' spike count covariance per interval (a vector: its diagonal; None: left out, e.g.
    given as measured shifts to :func:`expected_wait`), ``events`` (T) the threads' events per interval,
    ``c_evt`` seconds per event of a thread, ``work`` (T) the threads' mean work (s), machine noise
    ``sigma_rel`` (relative) and ``sigma_us`` (absolute, microseconds)."""
    events = np.asarray(events, dtype=float)
    E = float(events.sum())
    p = events / E if E > 0 else np.zeros_like(events)
    if C is None:
        counts_part = 0.0
    else:
        C = np.asarray(C, dtype=float)
        counts_part = row.T @ (C[:, None] * row) if C.ndim == 1 else row.T @ C @ row
    cov = c_evt ** 2 * (counts_part + E * (np.diag(p) - np.outer(p, p)))
    noise = (sigma_rel * np.asarray(work, dtype=float)) ** 2 + (sigma_us * 1e-6) ** 2
    return cov + np.diag(noise)


def expected_wait(mean: np.ndarray, cov: np.ndarray, shifts: np.ndarray | None = None) -> float:
    """E[max_k w_k] - E[w_0] (seconds) for normal thread works ``w`` of means ``mean`` (T) and covariance
    ``cov`` (T x T): thread 0's wait for the slowest thread. ``shifts`` (intervals x T, zero mean): measured
    moves of the means from interval to interval, averaged over (two threads; for more, their covariance
    is added to ``cov``). Exact for two threads; for more, over :data:`WAIT_DRAWS` fixed draws. 0 for one
    thread."""
    mean = np.asarray(mean, dtype=float)
    T = mean.size
    if T < 2:
        return 0.0
    cov = np.asarray(cov, dtype=float)
    if T == 2:
        d = mean[1] - mean[0] + (np.zeros(1) if shifts is None else np.asarray(shifts)[:, 1] - np.asarray(shifts)[:, 0])
        s = math.sqrt(max(0.0, cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]))
        if s <= 0.0:
            return float(np.mean(np.maximum(0.0, d)))
        z = d / s
        from scipy.special import ndtr
        return float(np.mean(d * ndtr(z) + s * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)))
    if shifts is not None and len(shifts) > 1:
        cov = cov + np.cov(np.asarray(shifts, dtype=float), rowvar=False)
    lam, vec = np.linalg.eigh(cov)
    L = vec * np.sqrt(np.maximum(lam, 0.0))
    z = np.random.default_rng(0).standard_normal((WAIT_DRAWS, T))
    w = mean + z @ L.T
    return float(np.mean(np.max(w - w[:, :1], axis=1)))


def rank_threads(conn: Connectivity, wl: dict, machine, m: int, T: float, nthr: int, par, eff_upd, eff_del,
                 delivery: dict, interval_counts=None) -> dict:
    """Thread 0's update and delivery on every rank (what the engine's timers hold) and its wait for the
    slowest of the rank's ``nthr`` threads (seconds per interval), from the owner map: ``update``,
    ``deliver``, ``wait`` (arrays over ranks) and ``threads`` ({'update', 'deliver'}: P x nthr). On ranks
    whose threads do not run in parallel (``par`` 1: one thread runs every share in turn) ``update``,
    ``deliver`` and ``wait`` are 0 (the caller keeps the rank's whole work). ``delivery``: the rank's
    delivery parts from the cost model (``c_evt``, ``spikes_part``); ``interval_counts``: the
    populations' spike counts in every interval (intervals x S, populations as ``conn.names``; None:
    Poisson counts of the rates)."""
    import hashlib
    from parsnn.mapping.cluster.plasticcost import plastic_event_cost_ns
    from parsnn.mapping.cluster.workload import plastic_projections
    P = int(wl["ranks"])
    placed = placed_counts(conn, wl["rank_of"], P)
    order, weights = np.argsort(np.asarray(conn.offsets), kind="stable"), decomposition.node_weights(conn)
    deal = owner_inputs(conn)
    rates = np.asarray(wl["population_spikes_per_s"], dtype=float)
    desc = conn.description or {}
    mats = row_matrices(conn, plastic_projections(desc) if desc else np.zeros(conn.src.size, dtype=bool))
    costs = population_update_costs(conn, machine, m)
    x = None if interval_counts is None else np.asarray(interval_counts, dtype=float)
    C = rates * T if x is None else None                     # Poisson counts: the diagonal of the covariance
    x = None if x is None else x - x.mean(axis=0)
    sig_rel, sig_us = noise_constants(machine)
    out = {"update": np.zeros(P), "deliver": np.zeros(P), "wait": np.zeros(P),
           "threads": {"update": np.zeros((P, nthr)), "deliver": np.zeros((P, nthr))}}
    e_upd, e_del, par = (np.broadcast_to(np.asarray(v, dtype=float), (P,)) for v in (eff_upd, eff_del, par))
    done = {}                 # ranks alike (same thread counts, event cost, spikes) wait alike
    pl_ns = np.broadcast_to(plastic_event_cost_ns(machine, wl, par), (P,))
    for r in range(P):
        counts, extra = rank_slot_counts(conn, placed, r, nthr, order, weights, deal, meetings=True)
        work = slot_work(conn, counts, rates, None, mats)
        ev, pev = work["events"] * T, work["plastic_events"] * T
        c = float(delivery["c_evt"][r]) / e_del[r]
        # the update of a thread whose nodes meet another's at more places than under one block per thread (the
        # rule "mixed"): [balance] thread_meeting_events events more per place and interval
        u = (machine.us("overhead", "update_us") + slot_update_work(conn, counts, machine, m, costs) / e_upd[r]
             + extra * float(deal.get("meeting_events", 0.0)) * c)
        d = (machine.us("overhead", "deliver_us") + ev * c + float(delivery["spikes_part"][r])
             + pev * float(pl_ns[r]))             # the plastic extra: no thread efficiency (predict._delivery_time)
        out["threads"]["update"][r], out["threads"]["deliver"][r] = u, d
        if par[r] <= 1:
            continue
        out["update"][r], out["deliver"][r] = u[0], d[0]
        key = (hashlib.sha1(counts.tobytes()).hexdigest(), round(c * 1e12), round(float(d[0]) * 1e9),
               round(float(u[0]) * 1e9))
        if key not in done:
            row = work["row"]
            cov = work_covariance(row, C, ev, c, u + d, sig_rel, sig_us)
            done[key] = expected_wait(u + d, cov, None if x is None else c * (x @ row))
        out["wait"][r] = done[key]
    return out


def noise_constants(machine) -> tuple[float, float]:
    """(relative, absolute us) noise of one thread's work per interval: ``[threads] sigma_rel`` /
    ``sigma_us`` where the machine file gives them (``parsnn calibrate`` measures ``sigma_rel``:
    :func:`fit_sigma_rel`), else the machine's relative ``[noise] sigma_rel``
    (measured by noisebench between two ranks on the same two cores; that a core's relative noise is the
    same for a thread as for a rank is an assumption) and no absolute part: the team's meeting on an
    inactive network (``team_us``, wait for the other thread included) measured about 1 us where
    ``[noise] sigma_us`` (fitted for MPI ranks at 17 us and 3 ms of work) would make a thread wait
    e(2) sigma_us, several us."""
    th, noise = machine.data.get("threads") or {}, machine.data.get("noise") or {}
    return float(th.get("sigma_rel", noise.get("sigma_rel", 0.0))), float(th.get("sigma_us", 0.0))


def fit_sigma_rel(c: dict) -> float | None:
    """The threads' relative noise measured by a calibration (``c``: its fitted constants): on each
    scatter network on 1 rank x 2 threads vs 1 x 1 (``thread_wait_us_i``: the wall time per interval
    outside the timers, 2 threads minus 1; ``thread_work_us_i``: thread 0's work per interval) the wait
    beyond the team's meeting (``thread_team_us``) is E[max(0, D)] for two threads of equal expected
    work, sigma / sqrt(pi) (:func:`expected_wait`), so sigma_rel = wait sqrt(pi) / work; the median over
    the networks (a negative wait counts as 0). None without those keys."""
    team = c.get("thread_team_us")
    pts = [(c[k], c["thread_work_us_" + k[15:]]) for k in c
           if k.startswith("thread_wait_us_") and "thread_work_us_" + k[15:] in c]
    pts = [(w, x) for w, x in pts if x == x and w == w and x > 0]
    if team is None or not pts:
        return None
    return float(np.median([max(0.0, w - team) * math.sqrt(math.pi) / x for w, x in pts]))
