"""The checkpoint file: the exact state of a simulation at an interval boundary, per node id.

Layout (HDF5, written by rank 0; every dataset with a Fletcher32 checksum)::

    /checkpoint            attrs: format_version, version (parsnn), seed, realisation (the scheme
                           that built the network; absent: v1), step (the next step to
                           simulate), resolution, num_nodes, ring_slots (D), connectivity_count,
                           connectivity_hash (hex), description (JSON of Network.describe()),
                           run (JSON of the run's settings: the command line's model and options)
    /checkpoint/V_m        float64 [N]  membrane potential relative to E_L (as the engine stores it)
    /checkpoint/i_ex       float64 [N]  excitatory synaptic current
    /checkpoint/i_in       float64 [N]  inhibitory synaptic current
    /checkpoint/refractory int32   [N]  remaining refractory steps
    /checkpoint/n_fired    int64   [N]  spikes emitted so far
    /checkpoint/dI_ex      float64 [N]  derivative state of the alpha currents (iaf_psc_alpha; else 0)
    /checkpoint/dI_in      float64 [N]
    /checkpoint/ring_ex    float64 [N, D]  input already scheduled for step ``step + k`` (column k)
    /checkpoint/ring_in    float64 [N, D]
    /checkpoint/plastic/   only with plastic synapses (parsnn.engine.plasticity.gather_state): per node
                           kminus, last_t, hist_count and the archives hist_t, hist_k, hist_cnt (CSR
                           in node order); per plastic projection <source>-<target>/{source_ids,
                           target_ids, weights, kplus, tlast}

Rows are node ids (gid order), so the file does not depend on the rank count or the partition.
:func:`write` writes to a temporary file in the target's directory and renames it over the target
(``os.replace``): a reader never sees a torn checkpoint. :func:`read` raises ParameterError for a
file that is not a complete, uncorrupted checkpoint; :func:`differences` lists what makes a
checkpoint unusable for a given network, seed, realisation scheme and parsnn version.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field

from parsnn.runfile.lazy_h5py import h5py
import numpy as np

import parsnn
from parsnn.errors import ParameterError
from parsnn.runfile.schema import UNRECORDED_REALISATION
from parsnn.runfile.writer import json_default

#: version of the layout above; a checkpoint of another format version is refused
FORMAT_VERSION = 2      # 2: dI_ex, dI_in and the optional plastic group
GROUP = "checkpoint"
#: per-node state datasets and their dtypes
STATE_FIELDS = {"V_m": np.float64, "i_ex": np.float64, "i_in": np.float64, "refractory": np.int32,
                "n_fired": np.int64, "dI_ex": np.float64, "dI_in": np.float64}
#: per-node ring buffer datasets [N, D]
RING_FIELDS = ("ring_ex", "ring_in")
#: subgroup with the plastic synapses' state
PLASTIC = "plastic"


@dataclass
class Checkpoint:
    """The content of a checkpoint file: metadata and the per-node arrays (``state``: the names of
    :data:`STATE_FIELDS` and :data:`RING_FIELDS`)."""

    step: int
    seed: int
    resolution: float
    description: dict
    run_info: dict
    connectivity: dict          # {"count": number of synapses, "hash": hex digest}
    state: dict = field(default_factory=dict)
    plastic: dict | None = None     # {dataset path under plastic/: array}, None without plastic synapses
    version: str = parsnn.__version__
    format_version: int = FORMAT_VERSION
    realisation: str = UNRECORDED_REALISATION     # the realisation scheme that built the network

    @property
    def num_nodes(self) -> int:
        """Number of nodes (rows of the per-node arrays)."""
        return int(self.state["V_m"].shape[0])

    @property
    def time_ms(self) -> float:
        """Model time of the checkpoint in ms."""
        return self.step * self.resolution


def _canonical(obj):
    """``obj`` as it reads back from JSON (so that descriptions compare equal across a file)."""
    return json.loads(json.dumps(obj, default=json_default))


def write(path: str, ckpt: Checkpoint):
    """Write ``ckpt`` to ``path`` atomically: a temporary file in the same directory, flushed to
    disk, then renamed over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)      # mkstemp makes it private; a checkpoint is an ordinary output
    try:
        with h5py.File(tmp, "w") as f:
            g = f.create_group(GROUP)
            attrs = {"format_version": ckpt.format_version, "version": ckpt.version, "seed": ckpt.seed,
                     "realisation": ckpt.realisation,
                     "step": ckpt.step, "resolution": ckpt.resolution, "num_nodes": ckpt.num_nodes,
                     "ring_slots": int(ckpt.state["ring_ex"].shape[1]),
                     "connectivity_count": int(ckpt.connectivity["count"]),
                     "connectivity_hash": ckpt.connectivity["hash"],
                     "description": json.dumps(ckpt.description, default=json_default),
                     "run": json.dumps(ckpt.run_info, default=json_default)}
            g.attrs.update(attrs)
            for name in (*STATE_FIELDS, *RING_FIELDS):
                g.create_dataset(name, data=ckpt.state[name], fletcher32=True, chunks=True)
            for name, arr in (ckpt.plastic or {}).items():
                checked = {"fletcher32": True, "chunks": True} if arr.size else {}    # (no chunks when empty)
                g.create_dataset(f"{PLASTIC}/{name}", data=arr, **checked)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read(path: str) -> Checkpoint:
    """The checkpoint at ``path``; ParameterError naming the file if it is missing, truncated,
    corrupted (a checksum fails), not a checkpoint or of another format version."""
    if not os.path.isfile(path):
        raise ParameterError(f"checkpoint '{path}' does not exist")
    try:
        with h5py.File(path, "r") as f:
            if GROUP not in f:
                raise ParameterError(f"'{path}' is not a parsnn checkpoint (no /{GROUP} group)")
            g = f[GROUP]
            a = g.attrs
            if int(a["format_version"]) != FORMAT_VERSION:
                raise ParameterError(f"checkpoint '{path}' has format version {int(a['format_version'])}; "
                                     f"this parsnn ({parsnn.__version__}) reads version {FORMAT_VERSION}")
            state = {name: np.asarray(g[name][()], dtype=dtype) for name, dtype in STATE_FIELDS.items()}
            state.update({name: np.asarray(g[name][()], dtype=np.float64) for name in RING_FIELDS})
            plastic = _read_plastic(g)
            ckpt = Checkpoint(step=int(a["step"]), seed=int(a["seed"]), resolution=float(a["resolution"]),
                              description=json.loads(a["description"]), run_info=json.loads(a["run"]),
                              connectivity={"count": int(a["connectivity_count"]),
                                            "hash": str(a["connectivity_hash"])},
                              state=state, version=str(a["version"]), format_version=int(a["format_version"]),
                              plastic=plastic, realisation=str(a.get("realisation", UNRECORDED_REALISATION)))
    except ParameterError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise ParameterError(f"checkpoint '{path}' is truncated or corrupted and cannot be used ({e})") from None
    sizes = {name: arr.shape[0] for name, arr in state.items()}
    if len(set(sizes.values())) != 1:
        raise ParameterError(f"checkpoint '{path}' is inconsistent: per-node arrays of sizes {sizes}")
    return ckpt


def _read_plastic(g) -> dict | None:
    """{path: array} of the /checkpoint/plastic datasets, or None without that group."""
    if PLASTIC not in g:
        return None
    out = {}
    g[PLASTIC].visititems(lambda name, obj: out.__setitem__(name, obj[()]) if hasattr(obj, "shape") else None)
    return out


def differences(ckpt: Checkpoint, *, description: dict, seed: int, resolution: float,
                realisation: str) -> list[str]:
    """What differs between the checkpoint and a simulation of the network ``description`` with
    ``seed``, ``resolution`` and realisation scheme ``realisation`` in this parsnn version (empty:
    compatible)."""
    out = []
    if ckpt.version != parsnn.__version__:
        out.append(f"parsnn version: checkpoint {ckpt.version}, this parsnn {parsnn.__version__}")
    if ckpt.seed != seed:
        out.append(f"seed: checkpoint {ckpt.seed}, this simulation {seed}")
    if ckpt.realisation != realisation:
        out.append(f"realisation scheme: the checkpoint's network was built by {ckpt.realisation}, this "
                   f"simulation uses {realisation} (a different network; resume with realisation "
                   f"{ckpt.realisation}, e.g. 'parsnn resume' keeps the stored one)")
    if ckpt.resolution != resolution:
        out.append(f"resolution: checkpoint {ckpt.resolution} ms, this simulation {resolution} ms")
    mine, theirs = _canonical(description), ckpt.description
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            out.append(f"network description '{key}' differs")
    return out


def read_run_info(path: str) -> tuple[dict, float]:
    """(the run's settings, the model time in ms) of the checkpoint at ``path``, from its attributes
    only (cheap: no per-node data); ParameterError as :func:`read`."""
    if not os.path.isfile(path):
        raise ParameterError(f"checkpoint '{path}' does not exist")
    try:
        with h5py.File(path, "r") as f:
            a = f[GROUP].attrs
            return json.loads(a["run"]), int(a["step"]) * float(a["resolution"])
    except (OSError, KeyError, ValueError) as e:
        raise ParameterError(f"checkpoint '{path}' is truncated, corrupted or not a parsnn checkpoint ({e})") from None
