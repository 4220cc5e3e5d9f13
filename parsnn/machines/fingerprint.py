"""Which machine is this? A fingerprint of the hardware and MPI library, the per-user calibration
cache keyed by it, and the choice of machine file for a prediction.

A machine file written by ``parsnn calibrate`` carries a ``[fingerprint]`` table. Two fingerprints
*match* when the keys of :data:`MATCH_KEYS` (CPU, cores, caches, memory, MPI library) agree; the
parsnn version, commit, engine digest, compiler and date are recorded but do not decide the match
(other engine code -- compiled kernels or parsnn/engine -- is reported as a note). :func:`resolve_machine` gives the machine of a prediction and its
label: the calibration of this machine when none is asked for (a
:class:`NoCalibrationError` if there is none), or the asked file, labelled ``this machine``,
``other machine`` (fingerprint differs) or ``no fingerprint`` (a target description such as
``jureca_dc``, or an old file).
"""
from __future__ import annotations

import datetime as _dt
import glob
import hashlib
import json
import os
import platform
import subprocess
import sysconfig
from functools import lru_cache

from parsnn.errors import ParameterError

#: fingerprint keys that must agree for a machine file to describe this machine
MATCH_KEYS = ("cpu_vendor", "cpu_model", "cpu_family_model", "cores", "l1d_kib", "l2_kib", "l3_kib",
              "cores_per_l3", "memory_gib", "mpi_library")
#: prediction labels (``machine_match`` in predict's JSON)
THIS, OTHER, NONE = "this machine", "other machine", "no fingerprint"


class NoCalibrationError(ParameterError):
    """No calibration of the machine this runs on, and no machine was asked for."""


def _read(path: str, default: str = "") -> str:
    """The stripped text of a small file, ``default`` if unreadable."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _cpuinfo() -> dict:
    """vendor, model name, 'family/model' of the first CPU in /proc/cpuinfo (platform's if absent)."""
    out = {"cpu_vendor": "", "cpu_model": platform.processor() or platform.machine(), "cpu_family_model": ""}
    fam = mod = ""
    for line in _read("/proc/cpuinfo").splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "vendor_id" and not out["cpu_vendor"]:
            out["cpu_vendor"] = v
        elif k == "model name":
            out["cpu_model"] = v
        elif k == "cpu family" and not fam:
            fam = v
        elif k == "model" and not mod:
            mod = v
        elif not line.strip() and fam:
            break
    out["cpu_family_model"] = f"{fam}/{mod}" if fam else ""
    return out


def _size_kib(text: str) -> int:
    """'48K' / '2048K' / '300M' in KiB."""
    text = text.strip().upper()
    if not text:
        return 0
    mult = {"K": 1, "M": 1024, "G": 1024 * 1024}.get(text[-1], None)
    return int(float(text[:-1]) * mult) if mult else int(int(text) / 1024)


def _cpu_list_len(text: str) -> int:
    """Number of CPUs in a list such as '0-1,4'."""
    n = 0
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def _caches() -> dict:
    """L1d, L2, L3 of CPU 0 (KiB) and the CPUs sharing its L3 (sysfs; zeros if unavailable)."""
    out = {"l1d_kib": 0, "l2_kib": 0, "l3_kib": 0, "cores_per_l3": 0}
    for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        level, kind = _read(os.path.join(d, "level")), _read(os.path.join(d, "type"))
        size = _size_kib(_read(os.path.join(d, "size")))
        if level == "1" and kind == "Data":
            out["l1d_kib"] = size
        elif level == "2":
            out["l2_kib"] = size
        elif level == "3":
            out["l3_kib"] = size
            out["cores_per_l3"] = _cpu_list_len(_read(os.path.join(d, "shared_cpu_list")))
    return out


def _memory_gib() -> int:
    """Total memory in GiB, rounded (/proc/meminfo)."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(round(int(line.split()[1]) / 2**20))
    return 0


_MPI_VERSION_SCRIPT = ("import mpi4py; mpi4py.rc.initialize = False; mpi4py.rc.finalize = False; "
                       "from mpi4py import MPI; print(MPI.Get_library_version().strip().splitlines()[0].strip())")


@lru_cache(maxsize=1)
def mpi_library() -> str:
    """The MPI library and version (first line of MPI_Get_library_version; '' without mpi4py). From
    this process if it already imported mpi4py.MPI, else from a child Python that does not initialise
    MPI (importing it here without initialising would leave this process unable to use MPI later)."""
    import sys
    try:
        if "mpi4py.MPI" in sys.modules:
            return sys.modules["mpi4py.MPI"].Get_library_version().strip().splitlines()[0].strip()
        out = subprocess.run([sys.executable, "-c", _MPI_VERSION_SCRIPT], capture_output=True, text=True,
                             timeout=60)
        return out.stdout.strip() if out.returncode == 0 else ""
    except Exception:           # noqa: BLE001 - no MPI is a fingerprint too
        return ""


def _compiler() -> str:
    """The C compiler Python's extensions are built with, and its version line."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    try:
        ver = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=10).stdout
        return f"{cc}: {ver.splitlines()[0].strip()}" if ver else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def parsnn_commit() -> str:
    """Short git commit of the parsnn source tree ('+dirty' with uncommitted changes), '' if not a checkout."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if rev and subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--",
                                   "parsnn", "cython"], capture_output=True, text=True, timeout=10).stdout.strip():
            rev += "+dirty"
        return rev
    except (OSError, subprocess.SubprocessError):
        return ""


def engine_digest() -> str:
    """12 hex digits of the engine's code as it runs: the compiled kernels (parsnn/_*.so) and
    parsnn/engine/*.py. A calibration made with other code gets a note in predictions."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(pkg, "_*.so")) + glob.glob(os.path.join(pkg, "engine", "*.py"))):
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + f.read())
    return h.hexdigest()[:12]


@lru_cache(maxsize=1)
def _current() -> dict:
    """The fingerprint of this machine (cached: it does not change while the process runs)."""
    import parsnn
    fp = {**_cpuinfo(), "cores": os.cpu_count() or 1, **_caches(), "memory_gib": _memory_gib(),
          "mpi_library": mpi_library(), "compiler": _compiler(), "python": platform.python_version(),
          "kernel": platform.release(), "hypervisor": "hypervisor" in _read("/proc/cpuinfo"),
          "parsnn_version": parsnn.__version__, "parsnn_commit": parsnn_commit(), "engine_digest": engine_digest()}
    fp["hash"] = fingerprint_hash(fp)
    return fp


def current_fingerprint(date: bool = False) -> dict:
    """The fingerprint of the machine this runs on (``date``: with today's date, for a new file)."""
    fp = dict(_current())
    if date:
        fp["date"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return fp


def fingerprint_hash(fp: dict) -> str:
    """12 hex digits identifying the :data:`MATCH_KEYS` of a fingerprint."""
    key = json.dumps({k: fp.get(k) for k in MATCH_KEYS}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def machine_hash() -> str:
    """:func:`fingerprint_hash` of this machine from the :data:`MATCH_KEYS` alone (no compiler, git or
    engine digest: cheap inside an MPI run; the same hash as ``current_fingerprint()["hash"]``)."""
    return fingerprint_hash({**_cpuinfo(), "cores": os.cpu_count() or 1, **_caches(), "memory_gib": _memory_gib(),
                             "mpi_library": mpi_library()})


def differences(fp: dict | None, here: dict | None = None) -> list[str]:
    """The :data:`MATCH_KEYS` on which a machine file's fingerprint ``fp`` and this machine's differ,
    as 'key: file value vs here value' (``here``: this machine's, by default)."""
    here = current_fingerprint() if here is None else here
    return [f"{k}: {fp.get(k)!r} there, {here.get(k)!r} here" for k in MATCH_KEYS if fp.get(k) != here.get(k)]


def describe(fp: dict) -> str:
    """One line: CPU, cores, caches, memory, MPI."""
    return (f"{fp.get('cpu_model', '?')} (family/model {fp.get('cpu_family_model', '?')}), {fp.get('cores')} cores, "
            f"L2 {fp.get('l2_kib')} KiB, L3 {fp.get('l3_kib')} KiB, {fp.get('memory_gib')} GiB, "
            f"{fp.get('mpi_library') or 'no MPI'}")


def calibration_dir() -> str:
    """The per-user directory of calibrations: $XDG_CACHE_HOME/parsnn/machines (~/.cache/... by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "parsnn", "machines")


def default_calibration_path(fp: dict | None = None) -> str:
    """Where ``parsnn calibrate`` writes this machine's file by default: <calibration_dir>/<hash>.toml."""
    fp = current_fingerprint() if fp is None else fp
    return os.path.join(calibration_dir(), f"{fp['hash']}.toml")


def find_calibration() -> str | None:
    """This machine's calibration: the per-user cache's, else a shipped machine file whose fingerprint
    matches this machine (None: there is none)."""
    path = default_calibration_path()
    if os.path.isfile(path):
        return path
    import tomllib
    from importlib import resources
    here = current_fingerprint()
    for res in sorted(resources.files("parsnn.machines").iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            with res.open("rb") as f:
                fp = tomllib.load(f).get("fingerprint")
            if fp and not differences(fp, here):
                return str(res)
    return None


def no_calibration_message() -> str:
    """What to say when no machine was asked for and this one has no calibration (in the cache or shipped)."""
    from parsnn.machines import available_machines
    fp = current_fingerprint()
    return (f"no calibration of this machine ({describe(fp)}; fingerprint {fp['hash']}) in {calibration_dir()}. "
            f"Make one with `parsnn calibrate --quick` (about 2 minutes; `parsnn calibrate` for the full one, "
            f"about 10), or name a machine with --machine NAME or FILE (shipped: {', '.join(available_machines())}); "
            f"a prediction is not made with another machine's constants unless asked for")


def label(machine) -> dict:
    """How a machine file relates to the machine this runs on: ``machine_match`` (:data:`THIS`,
    :data:`OTHER` or :data:`NONE`), ``machine_fingerprint`` (its hash or None), ``machine_note``
    (a sentence for the text output; '' when it is this machine with the same parsnn commit)."""
    fp = machine.data.get("fingerprint")
    if not fp:
        return {"machine_match": NONE, "machine_fingerprint": None,
                "machine_note": f"'{machine.name}' has no fingerprint (a description of a target machine or an "
                                f"older file): the prediction is for that machine, not for this one"}
    diff = differences(fp)
    if diff:
        return {"machine_match": OTHER, "machine_fingerprint": fp.get("hash"),
                "machine_note": f"'{machine.name}' was calibrated on another machine ({'; '.join(diff)}): "
                                f"the prediction is for that machine, not for this one"}
    notes = []
    here = current_fingerprint()
    if fp.get("engine_digest") and here.get("engine_digest") and fp["engine_digest"] != here["engine_digest"]:
        notes.append(f"'{machine.name}' is this machine, calibrated with other engine code (parsnn "
                     f"{fp.get('parsnn_commit')}, running {here.get('parsnn_commit')}): recalibrate if the engine's "
                     f"speed changed")
    notes.append(fit_version_note(machine))
    return {"machine_match": THIS, "machine_fingerprint": fp.get("hash"), "machine_note": "; ".join(n for n in notes if n)}


#: the fit version (:data:`parsnn.mapping.cluster.calibrate.FIT_VERSION`) from which the delivery's event cost
#: curve is today's (spike_generator scatter networks, a per-row cost taken out of its points)
DELIVERY_FIT_VERSION = 6
RECALIBRATE = "`parsnn calibrate --quick` (about 2 minutes) or `parsnn calibrate` (about 10)"


def fit_version(machine) -> int | None:
    """The oldest fit version of a calibration file's batches (``[calibration] per_batch``; a batch without one
    is version 1), None for a file without batches (written by hand or before batches)."""
    per = (machine.data.get("calibration") or {}).get("per_batch") or []
    versions = [int(b.get("fit_version", 1)) for b in per if isinstance(b, dict)]
    return min(versions) if versions else None


def fit_version_note(machine) -> str:
    """What a calibration file of an older fit version predicts with: before
    :data:`DELIVERY_FIT_VERSION` its delivery formula is superseded (the prediction still uses it); before
    today's version it lacks the later terms; '' for a current file or one without batches."""
    from parsnn.mapping.cluster.calibrate import FIT_VERSION
    v = fit_version(machine)
    if v is None or v >= FIT_VERSION:
        return ""
    if v < DELIVERY_FIT_VERSION:
        return (f"'{machine.name}' has fit version {v}: its delivery formula is superseded (its event cost curve "
                f"[compute.scatter] was measured on poisson_source scatter networks, without the per-row cost, "
                f"before fit version {DELIVERY_FIT_VERSION}) and the prediction still uses it, as well as none of "
                f"the terms of later versions; recalibrate: {RECALIBRATE}")
    return (f"'{machine.name}' has fit version {v} (today's: {FIT_VERSION}): the prediction leaves out the terms it "
            f"did not measure (version 7: a run's first recording flush, the engine's own wait between ranks, "
            f"absolute; version 8: that wait also relative to the work, fitted on the 2-rank scatter networks; "
            f"version 9: ranks and threads sharing the cache beyond L2 charged for their events beyond their own L2 only, "
            f"where earlier files keep charging them at the shared working set; version 10: the event cost curve "
            f"measured one network at a time, where earlier files' curves, measured with all networks built at once, "
            f"are 7-13 % dearer per event on the Xeon m167 guest; version 11: a plastic event's cost per post spike it "
            f"reads, facilitation_ns, and iaf_psc_alpha's update measured; version 12: plastic_event_ns and "
            f"facilitation_ns fitted with the history windows' L2 misses taken out, which a version-11 file is charged "
            f"as well); "
            f"recalibrate for them: {RECALIBRATE}")


def resolve_machine(name_or_path=None):
    """(Machine, :func:`label`) for a prediction: ``name_or_path`` if given, else this machine's
    calibration (:class:`NoCalibrationError` with :func:`no_calibration_message` if there is none)."""
    from parsnn.machines import load_machine
    if name_or_path is None:
        path = find_calibration()
        if path is None:
            raise NoCalibrationError(no_calibration_message())
        name_or_path = path
    m = load_machine(name_or_path)
    return m, label(m)
