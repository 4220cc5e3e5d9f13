"""PyNN's own simulator-independent system scenarios, run against parsnn.pynn.

The scenarios (``test/system/scenarios/`` of PyNN's source tree: functions ``test_x(sim)``) are not
in PyNN's wheel, so :func:`fetch_source` downloads the sdist of the installed PyNN release (with
``pip download``, into a cache directory) and extracts its ``test/system`` folder; nothing of
PyNN is kept in parsnn's repository. :func:`scenarios` lists them and :func:`run_scenario` runs
one, telling a pass, a skip (a feature parsnn does not have: PyNN's ``NotImplementedError`` or the
scenario's own skip; the reason names the first refusal and every other unsupported model the
scenario's text names, :func:`unsupported_features`) and a failure apart. Used by ``tests/test_pynn_scenarios.py`` and
``scripts/pynn_scenarios.py``. :func:`fetch_examples` extracts the sdist's ``examples/`` the same way
(for ``analysis/pynn_vs_nest.py``).
"""
from __future__ import annotations

import importlib
import inspect
import io
import os
import pkgutil
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import tokenize


class SourceUnavailable(RuntimeError):
    """PyNN's sdist could not be fetched (offline, or no sdist for this version)."""


def pynn_version() -> str:
    """The installed PyNN's version (the release whose scenarios are run)."""
    import pyNN
    return pyNN.__version__


def fetch_source(cache_dir: str, version: str | None = None) -> str:
    """The root of PyNN ``version``'s (default: the installed one's) source tree, with
    ``test/system/scenarios``, downloaded once into ``cache_dir``; SourceUnavailable if it cannot be."""
    version = version or pynn_version()
    root = os.path.join(cache_dir, f"pynn-{version}")
    marker = os.path.join(root, "test", "system", "scenarios", "fixtures.py")
    if os.path.exists(marker):
        return root
    if (cache_dir, version) in _FAILED:            # tried in this process already (e.g. offline)
        raise SourceUnavailable(_FAILED[(cache_dir, version)])
    try:
        return _download(cache_dir, version, root, marker)
    except SourceUnavailable as e:
        _FAILED[(cache_dir, version)] = str(e)
        raise


#: {(cache dir, version): why} of the fetches that failed in this process
_FAILED: dict = {}


def _download(cache_dir: str, version: str, root: str, marker: str, part: str = "test/system") -> str:
    """Download the sdist (once) and extract its ``part`` folder to ``root`` (see :func:`fetch_source`)."""
    archive = _sdist_archive(cache_dir, version)
    tmp = root + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if f"/{part}/" in m.name and (m.isfile() or m.isdir())]
        if not members:
            raise SourceUnavailable(f"PyNN=={version}'s sdist has no {part} folder")
        tar.extractall(tmp, members=members, filter="data")
    shutil.rmtree(root, ignore_errors=True)
    os.rename(os.path.join(tmp, os.listdir(tmp)[0]), root)
    shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.exists(marker):
        raise SourceUnavailable(f"PyNN=={version}'s sdist has no {os.path.relpath(marker, root)}")
    return root


def _sdist_archive(cache_dir: str, version: str) -> str:
    """The path of PyNN ``version``'s sdist in ``cache_dir``, downloaded with pip if not there yet."""
    os.makedirs(cache_dir, exist_ok=True)

    def find():
        return [f for f in os.listdir(cache_dir) if f.lower().startswith(f"pynn-{version}") and f.endswith(".tar.gz")]
    if find():
        return os.path.join(cache_dir, find()[0])
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--disable-pip-version-check",
           "--timeout", "20", "--retries", "1", "-d", cache_dir, f"PyNN=={version}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(f"pip download of PyNN=={version}'s sdist timed out (offline?)") from None
    if proc.returncode != 0 or not find():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SourceUnavailable(f"cannot fetch PyNN=={version}'s sdist with pip (offline?): {last}")
    return os.path.join(cache_dir, find()[0])


def fetch_examples(cache_dir: str, version: str | None = None) -> str:
    """The folder of PyNN ``version``'s (default: the installed one's) ``examples/`` (from its sdist,
    downloaded once into ``cache_dir``, as :func:`fetch_source`); SourceUnavailable if it cannot be."""
    version = version or pynn_version()
    root = os.path.join(cache_dir, f"pynn-{version}-examples")
    marker = os.path.join(root, "examples", "brunel.py")
    if not os.path.exists(marker):
        _download(cache_dir, version, root, marker, part="examples")
    return os.path.join(root, "examples")


def scenarios(root: str) -> list:
    """[(module name, function name, function)] of every scenario taking ``sim`` in the PyNN source
    tree ``root``, by module then function name."""
    test_dir = os.path.join(root, "test")
    if test_dir not in sys.path:
        sys.path.insert(0, test_dir)
    pkg = importlib.import_module("system.scenarios")
    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("test"):
            continue
        module = importlib.import_module(f"system.scenarios.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test") and "sim" in inspect.signature(fn).parameters:
                out.append((info.name, name, fn))
    return out


def run_scenario(fn, sim) -> tuple:
    """Run scenario ``fn`` with backend ``sim`` in a scratch working directory: ("passed", ""),
    ("skipped", reason) for a feature parsnn does not support (NotImplementedError) or the
    scenario's own skip, or ("failed", the error)."""
    params = inspect.signature(fn).parameters
    kwargs = {"plot_figure": False} if "plot_figure" in params else {}
    cwd = os.getcwd()
    try:
        with tempfile.TemporaryDirectory(prefix="pynn-scenario-") as scratch:
            os.chdir(scratch)               # some scenarios write data files into the working directory
            try:
                fn(sim, **kwargs)
            finally:
                os.chdir(cwd)
        return "passed", ""
    except NotImplementedError as e:
        return "skipped", _skip_reason(fn, sim, _first_line(e))
    except BaseException as e:               # pytest's Skipped and Failed are BaseExceptions
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if type(e).__name__ == "Skipped":
            return "skipped", _skip_reason(fn, sim, _first_line(e))
        return "failed", f"{type(e).__name__}: {_first_line(e)}"
    finally:
        try:
            sim.end()
        except Exception:
            pass


def unsupported_features(fn, sim) -> list:
    """The features the source of scenario ``fn`` names that backend ``sim`` refuses, in order of first
    appearance: the ``sim.X`` models it raises NotImplementedError for, and ``spike_precision='off_grid'``
    (a scan of the function's own code, comments left out: helpers it calls are not looked into)."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(textwrap.dedent(inspect.getsource(fn))).readline)
                  if t.type in (tokenize.NAME, tokenize.OP, tokenize.STRING)]
    except (OSError, TypeError, tokenize.TokenError):
        return []
    found = []
    for a, b, c in zip(tokens, tokens[1:], tokens[2:]):
        if a.string == "sim" and b.string == "." and c.type == tokenize.NAME and c.string not in found:
            try:
                getattr(sim, c.string)
            except NotImplementedError:
                found.append(c.string)
            except AttributeError:
                pass
        elif (a.string, b.string, c.string.strip("'\"")) == ("spike_precision", "=", "off_grid"):
            found.append("spike_precision='off_grid'")
    return list(dict.fromkeys(found))


def _simulators(fn) -> list:
    """The simulators PyNN's own test suite runs scenario ``fn`` on (its ``run_with_simulators`` mark)."""
    names = []
    for mark in getattr(fn, "pytestmark", []):
        if getattr(mark, "name", "") == "parametrize" and len(mark.args) > 1:
            names += [p.id for p in mark.args[1] if getattr(p, "id", None)]
    return names


def _skip_reason(fn, sim, first: str) -> str:
    """A skip's reason, made specific: the first refusal (or the scenario's own skip), every other feature
    the scenario names that ``sim`` refuses, and PyNN's simulators for it when NEST is not among them."""
    others = [f for f in unsupported_features(fn, sim) if f not in first]
    reason = first + (f"; the scenario also uses {', '.join(others)}" if others else "")
    simulators = _simulators(fn)
    if simulators and "nest" not in simulators:
        reason += f" (PyNN runs this scenario on {', '.join(simulators)} only)"
    return reason


def _first_line(e) -> str:
    """An exception's first line, trimmed."""
    return (str(e).splitlines() or [""])[0].strip()[:200]
