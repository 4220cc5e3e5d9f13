"""Measurements for a calibration of the cost model: short runs of the engine on small networks
made for it, and the C micro-benchmarks of ``parsnn/machines/bench`` (MPI costs, machine noise).

Used by ``parsnn calibrate`` (:mod:`parsnn.cli.calibrate`) and ``analysis/cost_model_validation.py``.
A *spec* is a dict naming a network (:func:`calibration_network`): ``pd14``, ``brunel``, ``spikes``
(many spikes, one synapse each), ``shortrows`` / ``longrows`` (rows shorter / longer than the
engine's 128-synapse prefetch distance into a ring larger than the caches), ``scatter`` (long rows
into a ring of ``targets`` neurons: the event cost at one working set), ``hpc_benchmark``
(NEST's hpc_benchmark at a small scale, with STDP on E->E or, ``static``, without), ``delta`` and
``expscalar`` (update kernels alone), ``null`` (nothing fires: the fixed cost per interval); a spec's
``threads`` (default 1) runs it on that many OpenMP threads per rank (the thread constants), its
``prefetch`` with that prefetch distance (default ``auto``: the engine's tuner; the record's ``prefetch``
says which distance ran), its
``mpi_wait`` with that exchange wait policy (``parsnn run --mpi-wait``), its ``warmup_ms`` and
``segments`` (:func:`run_spec`) leave out a warm-up and split the measured time into segments, its
``group`` runs it interleaved with the next specs of that group (:func:`run_interleaved`, after a
re-warm of ``rewarm_ms`` before each segment).
:func:`launch` runs a list of specs in one ``mpiexec`` launch (``python -m
parsnn.mapping.cluster.measure``) and returns their run records (the dicts that
:mod:`parsnn.mapping.cluster.calibration` fits). :func:`mpibench` and :func:`noisebench` compile
and run the C benchmarks with the MPI compiler next to the Python interpreter (or on the PATH).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources

import numpy as np

from parsnn.machines.counters import busy_cores, huge_page_kib

#: noisebench arguments: two ranks, identical fixed work per interval (compute loop + row scatter,
#: as update + deliver), then MPI_Alltoall: a ~3 ms interval and a ~17 us one
#: (INTERVALS COMPUTE_US SCATTER_EVENTS ROW RING_MIB SYN_MIB)
NOISE_CONFIGS = {"long": ["1500", "1690", "643000", "312", "0.8", "20"],
                 "short": ["20000", "3.7", "6360", "1950", "7", "150"]}


def _poisson_rows(spec: dict, name: str, row_default: int):
    """Poisson sources whose rows of ``row`` synapses scatter into a ring far larger than the
    caches (targets x delays 0.1-10 ms): the memory-bound event cost."""
    from parsnn.network import FixedTotalNumber, Network, Uniform
    n_s, n_t, row = spec.get("sources", 2000), spec.get("targets", 100000), spec.get("row", row_default)
    net = Network(0.1, name=name)
    net.add_population("S", n_s, "poisson_source", params={"rate": float(spec.get("rate", 1000.0))})
    net.add_population("T", n_t, "iaf_psc_exp")
    net.connect("S", "T", FixedTotalNumber(n_s * row), weight=1e-3, delay=Uniform(0.1, 10.0))
    net.metadata = {"model": name}
    return net


#: model time (ms) the scatter networks' spike_generator sources have spikes for (their Poisson times are
#: drawn when the network is made): more than any calibration mode runs one network (warm-up, segments, re-warms)
SCATTER_SPAN_MS = 4000.0


def _poisson_times(n: int, rate_hz: float, span_ms: float, h: float, seed: int) -> list:
    """``n`` sequences of Poisson spike times (``rate_hz``, on the grid ``h``, in (0, ``span_ms``)), one per
    source, drawn with numpy (a fixed seed: every calibration's scatter network has the same spikes)."""
    rng = np.random.default_rng(seed)
    steps = int(span_ms / h)
    counts = rng.poisson(rate_hz * span_ms * 1e-3, n)
    owner = np.repeat(np.arange(n), counts)
    step = rng.integers(1, steps, counts.sum())
    key = np.unique(owner.astype(np.int64) * steps + step)           # sorted, one spike per step and source
    src, step = key // steps, key % steps
    cuts = np.searchsorted(src, np.arange(1, n))
    return [np.round(t * h, 1).tolist() for t in np.split(step.astype(float), cuts)]


def _scatter(spec: dict):
    """Sources whose long rows (``row`` synapses, default 2,048: mostly prefetched) scatter into ``targets``
    neurons through PD14's excitatory delays (normal, 1.5 +- 0.75 ms, at least 0.1 ms): the event cost at one
    ring working set (:mod:`parsnn.mapping.cluster.scatter`). The targets never fire. The sources are
    spike_generators with Poisson times (``rate``, default 20 Hz) drawn beforehand, so the update phase between
    the deliveries does nothing for them (poisson_source devices, updated every step, raised the measured cost
    per event by 1.07-1.23x: analysis/results/ev18_delivery_m167_s13.md); ``seed`` (default 7) draws them."""
    from parsnn.network import FixedTotalNumber, Network, Normal
    n_s, n_t, row = spec.get("sources", 2500), spec.get("targets", 8000), spec.get("row", 2048)
    net = Network(0.1, name="scatter")
    times = _poisson_times(n_s, float(spec.get("rate", 20.0)), SCATTER_SPAN_MS, 0.1, int(spec.get("seed", 7)))
    net.add_population("S", n_s, "spike_generator", spike_times=times)
    net.add_population("T", n_t, "iaf_psc_exp")
    net.connect("S", "T", FixedTotalNumber(n_s * row), weight=1e-3, delay=Normal(1.5, 0.75, 0.1))
    rate = sum(len(t) for t in times) / n_s / (SCATTER_SPAN_MS * 1e-3)         # the drawn times' mean rate
    net.metadata = {"model": "scatter", "expected_rates": {"S": rate, "T": 0.0}}
    return net


def _quiet_population(name: str, n: int, model: str, params=None):
    """``n`` neurons that never fire (connected to themselves with weight 0): an update kernel alone."""
    from parsnn.network import Network, OneToOne
    net = Network(0.1, name=name)
    net.add_population("A", n, model, params=params or {})
    net.connect("A", "A", OneToOne(), weight=0.0, delay=0.1)
    net.metadata = {"model": name, "expected_rates": {"A": 0.0}}
    return net


def _registered_network(model: str, options: dict):
    """A registered model's network for its command-line ``options`` (through :mod:`parsnn.registry`,
    as ``parsnn run`` builds it, recording spikes)."""
    import argparse
    from parsnn import registry
    spec = registry.get(model)
    parser = argparse.ArgumentParser(prog=model)
    spec.add_arguments(parser.add_argument_group(model))
    args = parser.parse_args([f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')}={v}"
                              for k, v in options.items() if v is not False])
    args.resolution, args.no_record, args.record_v = 0.1, False, 0
    return spec.from_args(args)


def calibration_network(spec: dict):
    """The :class:`parsnn.network.Network` of a spec (see the module docstring)."""
    model = spec["model"]
    if model == "pd14":
        return _registered_network("pd14", {"n_scaling": spec.get("n_scaling", 0.1), "k_scaling": 1.0,
                                            "bg": spec.get("bg", "dc")})
    if model == "brunel":
        return _registered_network("brunel", {"regime": spec.get("regime", "A"), "scale": spec.get("scale", 0.5)})
    if model == "hpc_benchmark":
        # NEST's hpc_benchmark at a small scale, E->E plastic or (static) not: the plastic event cost
        return _registered_network("hpc_benchmark", {"scale": spec.get("scale", 0.05),
                                                     "static": bool(spec.get("static", False))})
    if model == "spikes":
        # many spikes, one synapse each: the per-spike delivery and pack costs
        from parsnn.network import Network, OneToOne
        n = spec.get("neurons", 2000)
        net = Network(0.1, name="spikes")
        net.add_population("S", n, "poisson_source", params={"rate": float(spec.get("rate", 500.0))})
        net.add_population("T", n, "iaf_psc_exp")
        net.connect("S", "T", OneToOne(), weight=1.0, delay=0.1)
        net.record_spikes(["S"])
        net.metadata = {"model": "spikes"}
        return net
    if model == "shortrows":
        return _poisson_rows(spec, "shortrows", 16)
    if model == "longrows":
        return _poisson_rows(spec, "longrows", 2048)
    if model == "scatter":
        return _scatter(spec)
    if model == "delta":
        return _quiet_population("delta", spec.get("neurons", 10000), "iaf_psc_delta")
    if model == "expscalar":
        # one I_e per neuron, so the engine takes its scalar iaf_psc_exp kernel
        n = spec.get("neurons", 10000)
        return _quiet_population("expscalar", n, "iaf_psc_exp", {"I_e": list(np.linspace(0.0, 1.0, n))})
    if model == "alpha":
        return _quiet_population("alpha", spec.get("neurons", 10000), "iaf_psc_alpha")
    if model == "alphapoisson":
        # one Poisson input device per neuron with hpc_benchmark's drive (its description, through the registry: the
        # engine's one-device path of the iaf_psc_alpha kernel); a threshold never reached, so the update alone
        drive = _registered_network("hpc_benchmark", {"scale": 0.02, "static": True}).poisson_inputs[0]
        net = _quiet_population("alphapoisson", spec.get("neurons", 10000), "iaf_psc_alpha", {"V_th": 1e9})
        net.add_poisson("A", rate=drive.rate, weight=drive.weight, delay=drive.delay, name="ext->A")
        return net
    if model == "null":
        return _quiet_population("null", spec.get("neurons", 2), "iaf_psc_exp")
    raise ValueError(f"unknown calibration network '{model}'")


def mpi4py_call_costs(comm, n=20000) -> dict:
    """Seconds per mpi4py Alltoall(int32 counts) / Alltoallv(empty) on COMM_SELF and on ``comm``."""
    from mpi4py import MPI
    out = {}
    for name, c in (("self", MPI.COMM_SELF), ("world", comm)):
        P = c.Get_size()
        s, r, z = np.zeros(P, np.int32), np.zeros(P, np.int32), np.zeros(P, np.int32)
        spec_s = [np.zeros(max(P, 1), np.uint64), (z, z), MPI.UINT64_T]
        spec_r = [np.zeros(max(P, 1), np.uint64), (z, z), MPI.UINT64_T]
        for _ in range(2):                 # the second pass is kept (warm)
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(n):
                c.Alltoall(s, r)
            a = (time.perf_counter() - t0) / n
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(n):
                c.Alltoallv(spec_s, spec_r)
            v = (time.perf_counter() - t0) / n
        out[name] = {"alltoall_s": a, "alltoallv_s": v}
    return out


def _snapshot(sim) -> dict:
    """This rank's cumulative counters of a built Simulation: phase timers, simulate seconds, synaptic
    events, delivered spikes, facilitations, steps (differenced between the segments of a calibration run)."""
    return {**{f"timer_{k}": float(v) for k, v in sim.timers.items()}, "simulate_seconds": float(sim.simulate_seconds),
            "synaptic_events": int(sim.st.n_events), "delivered_spikes": int(sim.st.n_delivered_spikes),
            "plastic_facilitations": int(sim.plastic.facilitations),
            "plastic_history_windows": int(sim.plastic.history_windows), "steps": int(sim.t_steps)}


def segment_figures(per_rank: list[list[dict]], k0: int, k1: int, h: float, m: int) -> dict:
    """The figures of the run between snapshots ``k0`` and ``k1`` (``per_rank[rank][k]``: :func:`_snapshot`
    of every rank after the warm-up (k = 0) and after each segment): ``perf`` (per-rank timers,
    simulate seconds, synaptic events, and the RTF of the slowest rank), ``delivered_spikes`` (per rank),
    ``intervals``, ``t_sim_ms``."""
    def diff(key):
        """Per-rank difference of a counter."""
        return [r[k1][key] - r[k0][key] for r in per_rank]
    steps = per_rank[0][k1]["steps"] - per_rank[0][k0]["steps"]
    perf = {k: diff(k) for k in per_rank[0][k0] if k.startswith("timer_")}
    perf["simulate_seconds"] = diff("simulate_seconds")
    perf["synaptic_events"] = diff("synaptic_events")
    perf["plastic_facilitations"] = diff("plastic_facilitations")
    perf["plastic_history_windows"] = diff("plastic_history_windows")
    t_ms = steps * h
    perf["rtf"] = max(perf["simulate_seconds"]) / (t_ms * 1e-3) if t_ms > 0 else float("nan")
    return {"perf": perf, "delivered_spikes": diff("delivered_spikes"), "intervals": steps // m, "t_sim_ms": t_ms}


def _plan(sim, spec: dict, t_sim: float) -> tuple[int, int, int, int]:
    """(warm-up steps, segments K, steps per segment, re-warm steps before a segment) of a spec, in whole
    intervals: ``warmup_ms`` (default 0), ``segments`` (default 1) equal parts of ``t_sim``, ``rewarm_ms``
    (default 0; interleaved runs only)."""
    h, m = sim.h, sim.min_delay_steps
    steps = lambda ms: int(round(float(ms) / h)) // m * m
    K = max(1, int(spec.get("segments", 1)))
    return steps(spec.get("warmup_ms", 0.0)), K, max(m, steps(t_sim) // K // m * m), steps(spec.get("rewarm_ms", 0.0))


def _run_segments(sim, spec: dict, t_sim: float, comm) -> tuple[list, float, list]:
    """Run ``sim`` (built) for the spec's warm-up and then ``t_sim`` ms in its segments (:func:`_plan`);
    (this rank's snapshots before and after each segment, flat; wall seconds of the segments; the warm-up's
    flush, :func:`first_flush`)."""
    warm, K, seg, _ = _plan(sim, spec, t_sim)
    if warm > 0:
        sim.run(warm * sim.h)
    first = first_flush(sim) if warm > 0 else []
    chain = [_snapshot(sim)]
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(K):
        sim.run(seg * sim.h)
        chain.append(_snapshot(sim))
    comm.Barrier()
    return [x for k in range(K) for x in (chain[k], chain[k + 1])], time.perf_counter() - t0, first


def first_flush(sim) -> list:
    """[{seconds, spikes, populations}]: the record timer, the recorded spikes and populations of a run
    that wrote one flush to its run file so far (the warm-up's: the first append to its datasets,
    :func:`~parsnn.mapping.cluster.recordcost.first_flush_cost`); [] without a run file or off rank 0."""
    if sim.out is None or sim.rank != 0:
        return []
    return [{"seconds": float(sim.timers["record"]), "spikes": int(sum(sim.recorder.counts_all.values())),
             "populations": len(sim.recorder.recorded_pops)}]


def run_interleaved(jobs: list, comm) -> list:
    """Run records of ``jobs`` [(spec, t_sim), ...] measured interleaved: every network is built and warmed
    up first, then segment 1 of each in turn, segment 2 of each, ..., each segment after the spec's
    re-warm (``rewarm_ms``: its caches refilled after the others ran); a load burst of a few seconds then
    hits one segment of every network rather than every segment of one (the median over segments
    leaves it out). Records as :func:`run_spec`. Specs that differ only in their ``prefetch`` distance share one
    built network (:func:`_build_shared`), each of its segments (and warm-ups) at its own distance."""
    built = _build_shared([spec for spec, _t in jobs], comm)
    plans = [_plan(sim, spec, float(t)) for (spec, t), (_net, sim) in zip(jobs, built)]
    for (spec, _t), (_net, sim), (warm, _K, _seg, _rw) in zip(jobs, built, plans):
        if warm > 0:
            _at_distance(sim, spec)
            sim.run(warm * sim.h)
    firsts = [first_flush(sim) if plan[0] > 0 else [] for (_net, sim), plan in zip(built, plans)]
    snaps, walls = [[] for _ in jobs], [0.0] * len(jobs)
    for k in range(max(p[1] for p in plans)):
        for i, ((_net, sim), (_warm, K, seg, rewarm)) in enumerate(zip(built, plans)):
            if k >= K:
                continue
            _at_distance(sim, jobs[i][0])
            if rewarm > 0:
                sim.run(rewarm * sim.h)
            comm.Barrier()
            snaps[i].append(_snapshot(sim))
            t0 = time.perf_counter()
            sim.run(seg * sim.h)
            snaps[i].append(_snapshot(sim))
            comm.Barrier()
            walls[i] += time.perf_counter() - t0
    pages = huge_page_kib()                 # rank 0's, with every network of the group built and run
    recs = [_record(spec, net, sim, snaps[i], walls[i], comm, firsts[i]) for i, ((spec, _t), (net, sim)) in
            enumerate(zip(jobs, built))]
    for _net, sim in built:
        _drop_output(sim)
    return [r if r is None else {**r, "memory_pages": pages} for r in recs]


#: spec keys that do not change the network or its Simulation (how it is run, or its prefetch distance)
_RUN_KEYS = ("prefetch", "group", "warmup_ms", "rewarm_ms", "segments")


def _build_shared(specs: list, comm) -> list:
    """(network, built Simulation) of every spec, one build for the specs that differ only in :data:`_RUN_KEYS`
    (the scatter networks at two prefetch distances: half the builds)."""
    seen, out = {}, []
    for spec in specs:
        key = json.dumps({k: v for k, v in spec.items() if k not in _RUN_KEYS}, sort_keys=True)
        if key not in seen:
            seen[key] = _build(spec, comm)
        out.append(seen[key])
    return out


def _at_distance(sim, spec: dict) -> None:
    """Deliver with the spec's ``prefetch`` distance from now on (if it gives one): the engine's distance is
    resolved at the first run (``Simulation.prefetch_requested``), then ``st.prefetch``."""
    if "prefetch" not in spec:
        return
    d = int(spec["prefetch"])
    if sim.prefetch_info is None:
        sim.prefetch_requested = d
    else:
        sim.st.prefetch = d
        sim.prefetch_info = {"distance": d, "source": "given"}


def _build(spec: dict, comm):
    """(network, built Simulation) of a spec; with ``record_file`` in the spec the run writes its recorded
    spikes to a run file in the temporary directory, as ``parsnn run --out`` does (its flushes then cost
    what a run's do: :mod:`~parsnn.mapping.cluster.recordcost`), removed by :func:`_drop_output`."""
    from parsnn.engine import Simulation
    net = calibration_network(spec)
    out = None
    if spec.get("record_file"):
        fd, out = tempfile.mkstemp(suffix=".h5", prefix="parsnn_calib_rec_") if comm.Get_rank() == 0 else (None, None)
        if fd is not None:
            os.close(fd)
        out = comm.bcast(out, root=0)
    sim = Simulation(net, seed=55, comm=comm, partition=spec.get("partition", "round_robin"), out=out,
                     keep_spikes=True, threads=int(spec.get("threads", 1)),
                     mpi_wait=spec.get("mpi_wait", "sleep"), overwrite=out is not None,
                     prefetch=spec.get("prefetch", "auto"))
    sim.build()
    return net, sim


def _drop_output(sim) -> None:
    """Close and remove a calibration run's file (``record_file``), if it wrote one."""
    if sim.out is None:
        return
    sim.close()
    if sim.rank == 0 and os.path.exists(sim.out):
        os.remove(sim.out)


def add_figures(figs: list[dict]) -> dict:
    """The sum of segments' figures (:func:`segment_figures`): per-rank counters added, the RTF of the
    slowest rank over the summed model time."""
    perf = {k: np.sum([f["perf"][k] for f in figs], axis=0).tolist() for k in figs[0]["perf"] if k != "rtf"}
    t_ms = float(sum(f["t_sim_ms"] for f in figs))
    perf["rtf"] = max(perf["simulate_seconds"]) / (t_ms * 1e-3) if t_ms > 0 else float("nan")
    return {"perf": perf, "delivered_spikes": np.sum([f["delivered_spikes"] for f in figs], axis=0).tolist(),
            "intervals": int(sum(f["intervals"] for f in figs)), "t_sim_ms": t_ms}


def join_launches(first: dict, later: dict) -> dict:
    """One run record of a network measured in two launches (the same spec, each with its own segments): the
    segments of both in order, the figures their sum (:func:`add_figures`), everything else the first's;
    ``launches`` counts the launches joined. Every record :func:`run_spec` makes has its segments (one when
    it ran in one segment), so a one-segment launch is joined too; records without segments keep the
    first's figures."""
    segs = (first.get("segments") or []) + (later.get("segments") or [])
    out = {**first, "launches": first.get("launches", 1) + later.get("launches", 1),
           "wall_s": first.get("wall_s", 0.0) + later.get("wall_s", 0.0),
           "first_flush": (first.get("first_flush") or []) + (later.get("first_flush") or [])}
    if not segs:
        return out
    total = add_figures(segs)
    return {**out, "perf": {**first["perf"], **total["perf"]}, "segments": segs, "t_sim_ms": total["t_sim_ms"],
            "delivered_spikes": total["delivered_spikes"], "intervals": total["intervals"]}


def run_spec(spec: dict, t_sim: float, comm) -> dict | None:
    """Build and run one spec for ``t_sim`` ms on ``comm``; its run record on rank 0 (None elsewhere).

    With ``warmup_ms`` in the spec, that much model time runs first and is left out of the record (the
    first touches of the ring buffers, cold caches); with ``segments`` K, the ``t_sim`` ms run in K
    equal segments, each kept in the record's ``segments`` list (:func:`segment_figures`), the record's
    own figures being their sum."""
    net, sim = _build(spec, comm)
    comm.Barrier()
    snaps, wall, first = _run_segments(sim, spec, t_sim, comm)
    rec = _record(spec, net, sim, snaps, wall, comm, first)
    _drop_output(sim)
    return rec


def _record(spec: dict, net, sim, snaps: list, wall: float, comm, first: list | None = None) -> dict | None:
    """The run record (rank 0; None elsewhere) of a run whose measured segments lie between this rank's
    snapshots ``snaps`` (flat: before and after each segment); ``first``: its warm-up's flush
    (:func:`first_flush`), kept as ``first_flush``."""
    perf = sim.performance()
    spikes = sim.spikes()
    calls = mpi4py_call_costs(comm, spec.get("callbench_n", 20000)) if spec.get("callbench") else None
    snaps = comm.gather(snaps, root=0)
    if comm.Get_rank() != 0:
        return None
    m, K = sim.min_delay_steps, len(snaps[0]) // 2
    segs = [segment_figures(snaps, 2 * k, 2 * k + 1, sim.h, m) for k in range(K)]
    total = add_figures(segs)
    perf = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in perf.items()}
    perf.update(total["perf"])
    t_all = (sim.t_steps - sim.start_steps) * sim.h          # the spike counts include the warm-ups
    counts = {k: int(v[0].size) for k, v in spikes.items()}
    return {"spec": spec, "ranks": comm.Get_size(), "threads": sim.threads, "t_sim_ms": total["t_sim_ms"],
            "wall_s": wall, "warmup_ms": t_all - total["t_sim_ms"],
            "min_delay_steps": m, "max_delay_steps": sim.max_delay_steps,
            "rank_of": sim.rank_of.tolist(), "spike_counts": counts,
            "rates": {k: c / net.populations[k].size / (t_all * 1e-3) for k, c in counts.items()},
            "perf": perf, "delivered_spikes": total["delivered_spikes"], "intervals": total["intervals"],
            "segments": segs, "description": net.describe(), "mpi4py_calls": calls,
            "first_flush": list(first or []),
            "prefetch": {"distance": int(spec["prefetch"]), "source": "given"} if "prefetch" in spec else sim.prefetch_info,
            "started": _dt.datetime.now().isoformat(timespec="seconds")}


def _to_json(o):
    """JSON fallback for numpy values."""
    return o.tolist() if hasattr(o, "tolist") else str(o)


def worker(jobs: list, out: str):
    """Under mpiexec: run every (spec, t_sim) of ``jobs`` in turn (consecutive specs of one ``group``
    interleaved: :func:`run_interleaved`); rank 0 writes the list of run records in the jobs' order."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    records, i = [], 0
    while i < len(jobs):
        group = jobs[i][0].get("group")
        j = i + 1
        while group is not None and j < len(jobs) and jobs[j][0].get("group") == group:
            j += 1
        records += run_interleaved(jobs[i:j], comm) if j - i > 1 else [run_spec(jobs[i][0], float(jobs[i][1]), comm)]
        gc.collect()                        # this group's networks gone before the next one is built
        i = j
    if comm.Get_rank() == 0:
        with open(out, "w") as f:
            json.dump(records, f, default=_to_json)


def mpiexec_command(mpiexec: str | None = None) -> list[str]:
    """The launcher: ``mpiexec`` (a command line, e.g. 'srun --cpu-bind=cores'), else the mpiexec next
    to this Python (the project's venv), else the one on the PATH. ``-n P`` is appended by the caller."""
    if mpiexec:
        return shlex.split(mpiexec)
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return [here if os.path.exists(here) else (shutil.which("mpiexec") or "mpiexec")]


def _np_flag(cmd: list[str], P: int) -> list[str]:
    """``cmd`` with the rank count: '-n P' (mpiexec, mpirun, srun all accept it)."""
    return [*cmd, "-n", str(P)]


def launch(jobs: list, P: int, mpiexec: str | None = None, timeout: float = 900.0) -> list[dict]:
    """Run ``jobs`` [(spec, t_sim_ms), ...] in one launch on ``P`` ranks; their run records, each with
    ``busy_cores_before`` (other load on the machine just before the launch)."""
    fd, out = tempfile.mkstemp(suffix=".json", prefix="parsnn_calib_")
    os.close(fd)
    try:
        load = busy_cores()
        cmd = _np_flag(mpiexec_command(mpiexec), P) + [sys.executable, "-m", "parsnn.mapping.cluster.measure",
                                                       "--jobs", json.dumps(jobs), "--out", out]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"calibration runs on {P} rank(s) failed: {p.stderr[-3000:]}")
        with open(out) as f:
            records = json.load(f)
    finally:
        os.remove(out)
    for r in records:
        r["busy_cores_before"] = load
    return records


def _mpicc() -> str:
    """The MPI C compiler next to this Python, else on the PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpicc")
    found = here if os.path.exists(here) else shutil.which("mpicc")
    if not found:
        raise RuntimeError("no mpicc next to the Python interpreter or on the PATH: the MPI micro-benchmarks "
                           "need the MPI library's C compiler wrapper")
    return found


def compile_bench(name: str, workdir: str) -> str:
    """Compile parsnn/machines/bench/<name>.c with mpicc -O2 into ``workdir``; the executable's path."""
    src = resources.files("parsnn.machines").joinpath("bench", f"{name}.c")
    exe = os.path.join(workdir, name)
    with resources.as_file(src) as path:
        subprocess.run([_mpicc(), "-O2", "-o", exe, str(path), "-lm"], check=True, capture_output=True, text=True)
    return exe


def _run_bench(exe: str, P: int, args: list[str], mpiexec: str | None) -> dict:
    """One launch of a compiled benchmark on ``P`` ranks: its JSON line, with the load before and the start time."""
    load = busy_cores()
    started = _dt.datetime.now().isoformat(timespec="seconds")
    p = subprocess.run(_np_flag(mpiexec_command(mpiexec), P) + [exe, *args], capture_output=True, text=True,
                       check=True, timeout=600)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res.update(started=started, busy_cores_before=load)
    return res


def mpibench(P: int, workdir: str, iterations: int = 20000, mpiexec: str | None = None) -> dict:
    """parsnn/machines/bench/mpibench.c on ``P`` ranks: ping-pong, Isend burst, Alltoall of one int,
    Alltoallv, qsort (times in us / ns, see the C file)."""
    exe = os.path.join(workdir, "mpibench")
    if not os.path.exists(exe):
        compile_bench("mpibench", workdir)
    return _run_bench(exe, P, [str(iterations)], mpiexec)


def noisebench(launches: int, workdir: str, interval_scale: float = 1.0, mpiexec: str | None = None) -> list[dict]:
    """parsnn/machines/bench/noisebench.c on 2 ranks, ``launches`` launches of each configuration of
    :data:`NOISE_CONFIGS` (alternating; ``interval_scale`` shortens the runs): machine noise without the
    simulator. Each result carries ``config`` and ``launch``."""
    exe = os.path.join(workdir, "noisebench")
    if not os.path.exists(exe):
        compile_bench("noisebench", workdir)
    out = []
    for k in range(launches):
        for name, args in NOISE_CONFIGS.items():
            a = [str(max(50, int(int(args[0]) * interval_scale))), *args[1:]]
            r = _run_bench(exe, 2, a, mpiexec)
            r.update(config=name, launch=k)
            out.append(r)
    return out


def main(argv=None):
    """``python -m parsnn.mapping.cluster.measure --jobs JSON --out FILE`` (under mpiexec)."""
    ap = argparse.ArgumentParser(description="calibration runs (used by parsnn calibrate, under mpiexec)")
    ap.add_argument("--jobs", required=True, help="JSON list of [spec, t_sim_ms]")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    worker(json.loads(args.jobs), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
