"""The prefetch distance of the static delivery, tuned per machine at the first run and cached.

The scatter (``cython/deliver.h``) prefetches the ring entry of the synapse ``distance`` places
ahead in a row; the best distance depends on the machine (cache sizes, memory latency, how many
processes share the L3) and on the ring's size. It changes only the time, never a sum: the spikes
are bit-identical for any distance (0: no prefetch).

``Simulation(prefetch="auto")`` (the default; ``parsnn run --prefetch auto|N``) takes the distance
from the per-user cache (:func:`cache_path`: ``$XDG_CACHE_HOME/parsnn/prefetch.json``, else
``~/.cache/parsnn/``) under this machine's fingerprint (:func:`parsnn.machines.fingerprint.machine_hash`)
and the run's size class (:func:`size_class`); on a miss it measures each distance of
:data:`CANDIDATES` with the engine's own kernel over the rank's own rows and a scratch ring of the
run's size (:func:`measure`, a few tenths of a second; thread CPU time, so that time the core spends
on other processes does not count), keeps the fastest (:func:`choose`) and stores it. Under MPI every rank measures at once and rank 0 decides and broadcasts, so every rank
uses the same distance. The run file records the distance and whether it was ``tuned``,
``cached``, ``given`` or ``default`` (no static synapse to measure).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import time

import numpy as np

from parsnn.errors import ParameterError

#: the distance of cython/deliver.h's PARSNN_PREFETCH (the engine's default)
DEFAULT = 128
#: largest distance accepted (synapses ahead)
MAX = 1024
#: the distances the tuner tries (0: no prefetch)
CANDIDATES = (0, 32, 64, 128, 256)
#: a candidate must beat the default's median time by this fraction to replace it: the noise, and
#: the probe's bias (on the shared Xeon at full PD14 it ranked 32 7 % faster than 128 while whole
#: runs delivered 12-17 % slower with 32: benchmarks/results/prefetch17_shared_xeon/README.md)
MARGIN = 0.10
#: measuring rounds (each tries every candidate once, in a rotated order) and events per trial
ROUNDS = 5
EVENTS_PER_TRIAL = 3 << 19
#: spikes delivered from one ring slot in the synthetic sequence (sorted by source, as in a step)
SPIKES_PER_SLOT = 32
#: bumped when the measurement changes: older cache entries are then ignored
TUNE_VERSION = 4
SOURCES = ("tuned", "cached", "given", "default")


def check(value) -> str | int:
    """``"auto"`` or the distance as an int in [0, :data:`MAX`]; ParameterError naming ``prefetch``."""
    if isinstance(value, str):
        if value == "auto":
            return value
        try:
            value = int(value)
        except ValueError:
            raise ParameterError(f"prefetch must be 'auto' or an integer in [0, {MAX}] (synapses ahead; "
                                 f"0: no prefetch), got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX:
        raise ParameterError(f"prefetch must be 'auto' or an integer in [0, {MAX}] (synapses ahead; "
                             f"0: no prefetch), got {value!r}")
    return int(value)


def cache_path() -> str:
    """The per-user cache file: $XDG_CACHE_HOME/parsnn/prefetch.json (~/.cache/parsnn/... by default),
    beside the calibrations' directory (:func:`parsnn.machines.fingerprint.calibration_dir`)."""
    from parsnn.machines.fingerprint import calibration_dir
    return os.path.join(os.path.dirname(calibration_dir()), "prefetch.json")


def size_class(ring_bytes: int, tgt16: bool, rings: int, processes: int) -> str:
    """The size class a distance is cached for: ring working set per process (nearest power of two
    of its bytes), stored target width, ring count, and processes x threads sharing the machine."""
    ring = int(round(math.log2(max(int(ring_bytes), 1))))
    return f"ring2^{ring}-{'u16' if tgt16 else 'u32'}-{rings}ring-p{processes}"


def cache_key(machine: str, size: str) -> str:
    """The cache's key of a machine fingerprint hash and a size class."""
    return f"v{TUNE_VERSION}/{machine}/{size}"


def _read_cache(path: str) -> dict:
    """The cache's entries ({} if the file is absent or unreadable)."""
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def cache_lookup(key: str, path: str | None = None) -> dict | None:
    """The cached entry of ``key`` (``distance``, ``ns_per_event``, ``date``), None on a miss."""
    entry = _read_cache(path or cache_path()).get(key)
    if isinstance(entry, dict) and isinstance(entry.get("distance"), int) and 0 <= entry["distance"] <= MAX:
        return entry
    return None


def cache_store(key: str, entry: dict, path: str | None = None):
    """Store ``entry`` under ``key`` (atomic replace; an unwritable cache is ignored: the next run tunes again)."""
    path = path or cache_path()
    data = _read_cache(path)
    data[key] = entry
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass


def source_row_lengths(st) -> np.ndarray:
    """The static synapses of every source gid on this rank (int64 [num_nodes]; a new array): its compact
    row's length (parsnn.engine.source_rows; sources without rows: the empty last row)."""
    B = int(st.T) * int(st.syn_W)                      # sub-rows per source: threads x target windows
    return np.diff(np.asarray(st.syn_ptr)[::B])[np.asarray(st.syn_row)]


def spike_sequence(st, events: int = EVENTS_PER_TRIAL, seed: int = 1):
    """(source gids, ring slots) of a synthetic delivery of about ``events`` synaptic events on this
    rank: sources with static synapses here, drawn uniformly, :data:`SPIKES_PER_SLOT` per ring slot
    sorted by gid, the slots advancing by one step as in the step loop. None if there are no rows."""
    lengths = source_row_lengths(st)
    sources = np.flatnonzero(lengths > 0)
    if sources.size == 0:
        return None
    rng = np.random.default_rng(seed)
    nspk = max(1, int(events / float(lengths[sources].mean())))
    gids = rng.choice(sources, nspk)
    chunks = -(-nspk // SPIKES_PER_SLOT)
    gids = np.sort(np.resize(gids, chunks * SPIKES_PER_SLOT).reshape(chunks, SPIKES_PER_SLOT), axis=1)
    slots = np.repeat(np.arange(chunks, dtype=np.int64) % int(st.D), SPIKES_PER_SLOT)
    return np.ascontiguousarray(gids.ravel()[:nspk], dtype=np.int64), np.ascontiguousarray(slots[:nspk])


def measure(st, comm, seq, candidates=CANDIDATES, rounds: int = ROUNDS) -> np.ndarray:
    """CPU seconds of each trial [rounds, candidates] on this rank (the busiest thread's: the time
    other processes hold the core is left out, as it says nothing of the distance): the engine's scatter
    (``_engine.scatter_probe``) of the spike sequence ``seq`` (:func:`spike_sequence`, None: nothing
    here) with each distance, candidates in a rotated order per round, after one warm-up trial; the
    ranks start each trial together (collective)."""
    from parsnn import _engine as engine_kernels
    size = int(st.D) * int(st.ring_n)
    rex = np.empty(size if seq is not None else 0)
    rex[:] = 0.0                                       # touch every page before timing
    rin = np.zeros(0) if st.one_ring or seq is None else np.zeros(size)
    if rin.size:
        rin[:] = 0.0
    gids, slots = seq if seq is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    times = np.zeros((rounds, len(candidates)))
    engine_kernels.scatter_probe(st, gids, slots, rex, rin, DEFAULT)          # warm-up
    for r in range(rounds):
        for j in range(len(candidates)):
            c = (j + r) % len(candidates)
            if comm.Get_size() > 1:
                comm.Barrier()
            times[r, c] = engine_kernels.scatter_probe(st, gids, slots, rex, rin, candidates[c])[1]
    return times


def choose(times: np.ndarray, candidates=CANDIDATES) -> int:
    """The candidate with the smallest median time over the rounds; the default stays unless another
    is faster by more than :data:`MARGIN` (timings on a loaded machine are noisy)."""
    med = np.median(np.asarray(times), axis=0)
    best = int(np.argmin(med))
    if DEFAULT in candidates:
        d = list(candidates).index(DEFAULT)
        if med[best] >= (1.0 - MARGIN) * med[d]:
            return DEFAULT
    return int(candidates[best])


def _tune(st, comm, seq, events: int) -> dict:
    """Measure on every rank; rank 0 decides from the slowest rank of each trial (collective);
    ``events``: the most events of a trial on a rank (for ns per event)."""
    t0 = time.perf_counter()
    times = measure(st, comm, seq)
    per_rank = comm.gather(times, root=0) if comm.Get_size() > 1 else [times]
    if comm.Get_rank() != 0:
        return {}
    slowest = np.max(np.stack(per_rank), axis=0)
    ev = max(events, 1)
    med = np.median(slowest, axis=0)
    return {"distance": choose(slowest), "ns_per_event": {str(c): round(float(m) * 1e9 / ev, 3)
                                                          for c, m in zip(CANDIDATES, med)},
            "tune_seconds": round(time.perf_counter() - t0, 3)}


def resolve(st, comm, requested, processes: int) -> dict:
    """Set ``st.prefetch`` and return {distance, source, size_class, ...} (collective: the same on
    every rank). ``requested``: an int (given) or ``"auto"`` (cache, else tuned and cached);
    ``processes``: ranks x threads of the run (its size class)."""
    from mpi4py import MPI
    requested = check(requested)
    if requested != "auto":
        st.prefetch = requested
        return {"distance": requested, "source": "given"}
    rings = 1 if st.one_ring else 2
    ring_bytes = comm.allreduce(int(st.D) * int(st.ring_n) * 8 * rings, op=MPI.MAX)
    tgt16 = bool(comm.allreduce(bool(st.tgt16), op=MPI.LAND))
    seq = spike_sequence(st)
    events = 0 if seq is None else int(source_row_lengths(st)[seq[0]].sum())
    any_rows = comm.allreduce(seq is not None, op=MPI.LOR)
    size = size_class(ring_bytes, tgt16, rings, processes)
    info = {"size_class": size}
    if not any_rows:
        info.update(distance=DEFAULT, source="default")
    else:
        entry = None
        if comm.Get_rank() == 0:
            from parsnn.machines.fingerprint import machine_hash
            key = cache_key(machine_hash(), size)
            entry = cache_lookup(key)
        entry = comm.bcast(entry, root=0)
        if entry is not None:
            info.update(distance=int(entry["distance"]), source="cached")
        else:
            tuned = _tune(st, comm, seq, comm.allreduce(events, op=MPI.MAX))
            if comm.Get_rank() == 0:
                cache_store(key, {**tuned, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
            tuned = comm.bcast(tuned, root=0)
            info.update(tuned, source="tuned")
    st.prefetch = info["distance"]
    return info
