#!/usr/bin/env python
"""Run NEST's own ``hpc_benchmark.py`` as NEST ships it, with its parameters set, and report what it logs
(run in an interpreter that imports nest; ``benchmarks/bench_hpc.py`` calls it).

    python benchmarks/nest_hpc_runner.py --scale S --threads T --presimtime MS --simtime MS
                                         [--record-spikes] [--script PATH] --json-out FILE

The script is NEST's ``pynest/examples/hpc_benchmark.py``. It is not copied into parsnn (it is GPL-2+);
it is located at run time: ``--script PATH``, else the copy the installed NEST package ships
(``nest/doc/examples/pynest/hpc_benchmark.py``; NEST 3.10's pip package has it, identical to the
v3.10 tag of github:nest/nest-simulator). Its parameter section (``params = {...}``, "changes should be
made here") is set to ``--scale``, ``--threads`` (``num_threads``), ``--presimtime``, ``--simtime`` and
``record_spikes``; nothing else of the script changes. The edited copy is written to a temporary
directory and run there as ``__main__`` (``runpy``), so its log file (``log_00.dat``) and spike files land
there. Below scale 1000/9000 the script aborts when it records spikes (it records 1000 E neurons), so
``record_spikes`` is off unless ``--record-spikes``.

Besides the script's own log (build_time_nodes, build_edge_time, presim_time, sim_time, memory_size),
the runner wraps ``nest.Simulate`` (instrumentation, no change of what is simulated) to take NEST's
kernel counters after each call (``local_spike_counter`` of that call, ``time_communicate_prepare``:
the connection infrastructure NEST builds at the first Simulate), and reports the process's peak
resident memory (``ru_maxrss``) and ``num_connections`` at the end.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import runpy
import sys
import tempfile
import time

#: git blob hash of pynest/examples/hpc_benchmark.py at NEST's v3.10 tag (= the pip package's copy)
V3_10_BLOB = "b74331ef7cb4cee7970854d23d51188976a36621"


def locate_script(explicit: str | None = None) -> str:
    """The path of hpc_benchmark.py: ``explicit``, else the installed NEST package's example."""
    if explicit:
        return explicit
    import nest
    cand = os.path.join(os.path.dirname(nest.__file__), "doc", "examples", "pynest", "hpc_benchmark.py")
    if not os.path.exists(cand):
        raise SystemExit(f"nest_hpc_runner: NEST's hpc_benchmark.py not found at {cand}; give --script "
                         "(pynest/examples/hpc_benchmark.py of github:nest/nest-simulator at the installed version)")
    return cand


def git_blob_hash(text: bytes) -> str:
    """The git blob hash of ``text`` (compare with the file at a tag of NEST's repository)."""
    return hashlib.sha1(b"blob %d\0" % len(text) + text).hexdigest()


def set_params(source: str, values: dict) -> str:
    """``source`` with the values of the keys ``values`` set in its ``params = {...}`` section (each key
    must occur there exactly once)."""
    m = re.search(r"^params = \{\n(.*?)^\}", source, re.S | re.M)
    if m is None:
        raise SystemExit("nest_hpc_runner: no 'params = {' section in the script")
    block = m.group(1)
    for key, value in values.items():
        pat = re.compile(r'^(\s*"' + re.escape(key) + r'":\s*)([^,\n]+)(,)', re.M)
        block, n = pat.subn(lambda mm: mm.group(1) + repr(value) + mm.group(3), block)
        if n != 1:
            raise SystemExit(f"nest_hpc_runner: parameter {key!r} found {n} times in the script's params section")
    return source[:m.start(1)] + block + source[m.end(1):]


def parse_log(path: str) -> dict:
    """{name: value} from the script's log file (lines 'counter rank value # name')."""
    out = {}
    with open(path) as f:
        for line in f:
            if "#" not in line:
                continue
            left, name = line.rsplit("#", 1)
            try:
                out[name.strip()] = float(left.split()[2])
            except (IndexError, ValueError):
                pass
    return out


def main(argv=None) -> int:
    """Run the edited script and write the JSON record."""
    ap = argparse.ArgumentParser(prog="nest_hpc_runner", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--presimtime", type=float, default=50.0)
    ap.add_argument("--simtime", type=float, default=250.0)
    ap.add_argument("--record-spikes", action="store_true")
    ap.add_argument("--script", default=None)
    ap.add_argument("--json-out", required=True)
    args = ap.parse_args(argv)
    path = locate_script(args.script)
    raw = open(path, "rb").read()
    text = set_params(raw.decode(), {"num_threads": args.threads, "scale": args.scale, "simtime": args.simtime,
                                     "presimtime": args.presimtime, "record_spikes": bool(args.record_spikes)})
    import nest
    calls = []
    simulate = nest.Simulate

    def timed_simulate(t):
        """nest.Simulate, with the kernel counters of the call noted."""
        w0 = time.perf_counter()
        simulate(t)
        ks = nest.GetKernelStatus()
        calls.append({"t_ms": float(t), "wall_s": time.perf_counter() - w0, "spikes": int(ks["local_spike_counter"]),
                      "time_communicate_prepare": ks.get("time_communicate_prepare"),
                      "time_simulate": ks.get("time_simulate")})
    vars(nest)["Simulate"] = timed_simulate       # the nest module refuses attribute assignment
    out_path = os.path.abspath(args.json_out)
    with tempfile.TemporaryDirectory(prefix="nest_hpc_") as tmp:
        script = os.path.join(tmp, "hpc_benchmark.py")
        with open(script, "w") as f:
            f.write(text)
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            runpy.run_path(script, run_name="__main__")
        finally:
            os.chdir(cwd)
        log = parse_log(os.path.join(tmp, "log_00.dat"))
    ks = nest.GetKernelStatus()
    rec = {"simulator": "nest", "version": nest.__version__, "script": path, "script_git_blob": git_blob_hash(raw),
           "script_is_v3_10": git_blob_hash(raw) == V3_10_BLOB, "scale": args.scale, "threads": args.threads,
           "presimtime_ms": args.presimtime, "simtime_ms": args.simtime, "record_spikes": bool(args.record_spikes),
           "log": log, "simulate_calls": calls, "num_connections": int(ks["num_connections"]),
           "network_size": int(ks["network_size"]), "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
           "time_construction_create": ks.get("time_construction_create"),
           "time_construction_connect": ks.get("time_construction_connect")}
    with open(out_path, "w") as f:
        json.dump(rec, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return 0


if __name__ == "__main__":
    sys.exit(main())
