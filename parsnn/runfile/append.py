"""Continue an existing run file (``parsnn resume CHECKPOINT --append``).

:func:`reopen` opens the run file of the interrupted run for writing at a checkpoint's step T:
it checks that the file is the output of the same simulation (seed, resolution, network
description) and that its data reach T (``t_flushed``, or ``t_sim`` of a finished run), then
first repairs what a killed writer left (:mod:`parsnn.runfile.repair`: torn last chunks, data after
``t_flushed``), then removes everything recorded after T: the spikes of steps >= T (time > T*h: a spike of step s is
stored at time (s+1)*h), the V_m samples after T, the weight snapshots after T (one at T stays), the
performance figures and ``t_sim``; the file
is marked incomplete (``complete=False``, ``t_flushed`` = T) until the continued run finishes.
The continued run then appends exactly what the uninterrupted run wrote after T.

The continued run may run on other ranks, threads and partition: the file's layout metadata
(``num_ranks``, ``partition``, the partition map and the run's settings) become the continued run's,
since its performance figures are counted under that layout from T on; the settings keep every
earlier segment's layout in ``segments`` ({from_ms, to_ms, num_ranks, partition, threads}).
"""
from __future__ import annotations

import json

from parsnn.runfile.lazy_h5py import h5py

from parsnn.errors import ParameterError
from parsnn.runfile import schema
from parsnn.runfile.checkpoint import _canonical
from parsnn.runfile.repair import repair_open
from parsnn.runfile.sonata import _bisect, read_dataset
from parsnn.runfile.writer import RunWriter, json_default


def _mismatch(meta, path: str, *, seed: int, resolution: float, description: dict) -> str | None:
    """Why the run file's metadata do not belong to this simulation (None: they do)."""
    problems = []
    if int(meta.get(schema.SEED, -1)) != seed:
        problems.append(f"seed: file {meta.get(schema.SEED)}, checkpoint {seed}")
    if float(meta.get(schema.RESOLUTION, -1.0)) != resolution:
        problems.append(f"resolution: file {meta.get(schema.RESOLUTION)} ms, checkpoint {resolution} ms")
    try:
        stored = json.loads(meta.get(schema.PARAMETERS, "{}"))
    except ValueError:
        stored = None
    if stored != _canonical(description):
        problems.append("network description differs")
    if problems:
        return f"--append: run file '{path}' is not the output of this run: " + "; ".join(problems)
    return None


def _data_end(meta) -> float | None:
    """Model time (ms) up to which the file's data are complete (None: unknown)."""
    if bool(meta.get(schema.COMPLETE, False)) and schema.T_SIM in meta:
        return float(meta[schema.T_SIM])
    return float(meta[schema.T_FLUSHED]) if schema.T_FLUSHED in meta else None


def _truncate_spikes(f: h5py.File, cut_ms: float):
    """Remove the spikes at time >= ``cut_ms`` from every ``/spikes/<pop>``."""
    for g in f.get(schema.SPIKES, {}).values():
        ts, ids = g[schema.TIMESTAMPS], g[schema.NODE_IDS]
        keep = _bisect(ts, cut_ms, "left") if ts.shape[0] else 0
        ts.resize((keep,))
        ids.resize((keep,))


def _truncate_reports(f: h5py.File, step: int, resolution: float, path: str):
    """Keep the V_m samples of steps before ``step`` in every ``/report/<pop>``."""
    for name, g in f.get(schema.REPORT, {}).items():
        data = g[schema.REPORT_DATA]
        tm = g[schema.REPORT_MAPPING][schema.REPORT_TIME]
        every = float(read_dataset(tm)[2])
        keep = step // int(round(every / resolution))
        if data.shape[0] < keep:
            raise ParameterError(f"--append: run file '{path}' holds {data.shape[0]} V_m samples of "
                                 f"'{name}', fewer than the {keep} before the checkpoint")
        data.resize(keep, axis=0)
        tm[1] = keep * every + every       # stop (exclusive), as the writer keeps it


def _truncate_weights(f: h5py.File, t_ckpt: float, resolution: float):
    """Keep the weight snapshots at times up to ``t_ckpt`` in every ``/weights/<src>-<tgt>``."""
    for g in f.get(schema.WEIGHTS, {}).values():
        times = read_dataset(g[schema.WEIGHT_TIMES])
        keep = int((times <= t_ckpt + resolution / 2).sum())
        g[schema.WEIGHT_TIMES].resize((keep,))
        g[schema.WEIGHT_VALUES].resize(keep, axis=0)


def _record_segment(f: h5py.File, t_ckpt: float, layout: dict):
    """Replace the file's layout metadata by the continued run's ``layout`` (Simulation.output_layout),
    keeping the earlier segments' layouts in the settings' ``segments``."""
    meta = f[schema.META].attrs
    old = json.loads(meta.get(schema.RUN, "{}"))
    segments = list(old.get("segments", []))
    segments.append({"from_ms": float(old.get("segment_from_ms", 0.0)), "to_ms": t_ckpt,
                     "num_ranks": int(meta.get(schema.NUM_RANKS, 0)), "partition": str(meta.get(schema.PARTITION, "")),
                     "threads": int(old.get("threads", 1))})
    run_info = dict(layout["run_info"], segments=segments, segment_from_ms=t_ckpt)
    meta[schema.RUN] = json.dumps(run_info, default=json_default)
    meta[schema.NUM_RANKS] = layout["num_ranks"]
    meta[schema.PARTITION] = layout["partition"]
    del f[schema.META][schema.PARTITION_MAP]
    f[schema.META].create_dataset(schema.PARTITION_MAP, data=layout["partition_map"], compression="gzip",
                                  fletcher32=True)
    f[schema.META][schema.PARTITION_MAP].attrs[schema.STRATEGY] = layout["partition"]


def reopen(path: str, *, step: int, resolution: float, seed: int, description: dict, layout: dict) -> RunWriter:
    """The run file at ``path`` as a :class:`RunWriter` continuing at step ``step`` on ``layout``
    (Simulation.output_layout; see the module docstring); ParameterError naming the file if it
    cannot be continued exactly."""
    try:
        f = h5py.File(path, "r+")
    except OSError as e:
        raise ParameterError(f"--append: cannot open run file '{path}' for writing ({e})") from None
    try:
        if schema.META not in f:
            raise ParameterError(f"--append: '{path}' is not a parsnn run file")
        lost = [r for r in repair_open(f) if r.kind == "unrecoverable"]   # a killed writer's torn last chunks
        if lost:
            raise ParameterError(f"--append: run file '{path}' is damaged beyond its last flush: "
                                 + "; ".join(f"{r.dataset}: {r.detail}" for r in lost)
                                 + "; continue into a new file with --out")
        meta = f[schema.META].attrs
        problem = _mismatch(meta, path, seed=seed, resolution=resolution, description=description)
        if problem:
            raise ParameterError(problem)
        t_ckpt, end = step * resolution, _data_end(meta)
        if end is None or end < t_ckpt - resolution / 2:
            held = "an unknown time (no t_flushed)" if end is None else f"{end:g} ms"
            raise ParameterError(f"--append: run file '{path}' holds data up to {held}, before the checkpoint "
                                 f"({t_ckpt:g} ms); continue into a new file with --out")
        _truncate_spikes(f, t_ckpt + resolution / 2)
        _truncate_reports(f, step, resolution, path)
        _truncate_weights(f, t_ckpt, resolution)
        if schema.PERFORMANCE in f[schema.META]:
            del f[schema.META][schema.PERFORMANCE]
        if schema.T_SIM in meta:
            del meta[schema.T_SIM]
        _record_segment(f, t_ckpt, layout)
        meta[schema.COMPLETE] = False
        meta[schema.T_FLUSHED] = t_ckpt
        f.flush()
    except BaseException:
        f.close()
        raise
    writer = RunWriter(f)
    writer.flushed_ms = t_ckpt
    return writer
