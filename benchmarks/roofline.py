#!/usr/bin/env python
"""Roofline probe: this machine's synaptic-event and neuron-update rates, and the lower bound on PD14's RTF.

    python benchmarks/roofline.py [--procs 2] [--events 2e8] [--steps 4000] [--parsnn-result FILE]
                                  [--json-out FILE] [--small]

Compiles ``benchmarks/roofline.c`` with the system C compiler (``$CC`` or ``cc``; ``-O3 -march=native``
and the engine's floating-point flags)
and runs it once alone and then as ``--procs`` copies at the same time (each with its own data, as MPI ranks
have). The C program measures, with PD14's per-rank sizes on 2 ranks (see roofline.c):

- ns per synaptic event of the scatter-add into the delay ring buffers, rows in random target order,
  rows sorted by (delay, target), and sorted rows with software prefetching of the ring entries
  (10-byte rows, two rings), and the engine's present kernels (``runs1``: 8-byte rows with the delays
  as runs, one ring for both signs, prefetching; ``runs16``: the same with 16-bit targets, 6-byte
  rows, the kernel of a rank with <= 65536 neurons, as PD14 on 2 ranks);
- ns per neuron step of the iaf_psc_exp update (with branches, branch-free, branch-free with one
  parameter set).

Lower bound on the real-time factor with P processes, each on its own core:

    RTF_min(P) = (E * ns_event(P) + U * ns_update(P)) * 1e-9 / P

with the PD14 workload per second of model time, E = 9.7e8 synaptic events and U = 7.7e8 neuron updates
(``/work/shared/reference/pd14_published_performance.md``; the measured event count of a parsnn run is
used as well when given), and ns_*(P) the per-process cost when P copies run at once (memory bandwidth
and the shared L3 are shared). The bound ignores spike exchange, sorting and all other overhead, so no
simulator on this machine can reach it; the ratio measured RTF / RTF_min says how close one gets.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "roofline.c")
# PD14 full scale at the reference rates (pd14_published_performance.md)
EVENTS_PER_MODEL_S = 9.7e8
UPDATES_PER_MODEL_S = 7.7e8
# full-scale PD14 per rank on 2 ranks (roofline.c defaults)
FULL_SIZES = {"neurons": 38585, "sources": 77169, "outdeg": 1936, "spikes_per_step": 25}
SMALL_SIZES = {"neurons": 2000, "sources": 400, "outdeg": 200, "spikes_per_step": 5}


def compiler_version(cc=None) -> str:
    cc = cc or os.environ.get("CC", "cc")
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else cc
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def compile_probe(build_dir=None, cc=None) -> str:
    """Compile roofline.c once per source/compiler; return the path of the executable."""
    cc = cc or os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise RuntimeError(f"no C compiler '{cc}' found (set CC)")
    src = open(SOURCE, "rb").read()
    key = hashlib.sha1(src + cc.encode() + compiler_version(cc).encode()).hexdigest()[:12]
    build_dir = build_dir or os.path.join(tempfile.gettempdir(), f"parsnn-roofline-{os.getuid()}")
    os.makedirs(build_dir, exist_ok=True)
    exe = os.path.join(build_dir, f"roofline-{key}")
    if os.path.exists(exe):
        return exe
    tmp = f"{exe}.{os.getpid()}"
    common = ["-O3", "-fno-trapping-math", "-ffp-contract=off"]     # as the engine (setup.py)
    for flags in ([*common, "-march=native"], common):
        r = subprocess.run([cc, *flags, "-o", tmp, SOURCE, "-lm"], capture_output=True, text=True)
        if r.returncode == 0:
            os.replace(tmp, exe)
            return exe
    raise RuntimeError(f"compiling {SOURCE} failed:\n{r.stderr}")


def run_probe(exe, procs=1, sizes=None, events=2e8, steps=4000, seed=12345, timeout=3600, prefetch=128) -> list[dict]:
    """Run ``procs`` copies at once (each with its own seed), the prefetching kernels ``prefetch``
    synapses ahead; return their JSON results."""
    sizes = dict(FULL_SIZES if sizes is None else sizes)
    args = [exe, "--events", f"{events:g}", "--steps", str(int(steps)), "--prefetch", str(int(prefetch))]
    for k, v in sizes.items():
        args += [f"--{k.replace('_', '-')}", str(int(v))]
    start_at = time.time() + 0.5 + 0.002 * sizes["sources"] * sizes["outdeg"] / 1e5 if procs > 1 else 0.0
    ps = [subprocess.Popen(args + ["--seed", str(seed + i)] + (["--start-at", f"{start_at:.3f}"] if procs > 1 else []),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(procs)]
    out = []
    for p in ps:
        so, se = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"roofline probe failed ({p.returncode}): {se}")
        out.append(json.loads(so))
    return out


def _mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


def lower_bound(ns_event, ns_update, procs, events_per_s=EVENTS_PER_MODEL_S, updates_per_s=UPDATES_PER_MODEL_S):
    return (events_per_s * ns_event + updates_per_s * ns_update) * 1e-9 / procs


def analyse(single: list[dict], multi: list[dict], procs: int, parsnn_result: dict | None = None) -> dict:
    """Per-event/update costs, RTF lower bounds and, given a parsnn full-scale result, how close it gets."""
    res = {"procs": procs, "sizes": {k: single[0][k] for k in ("neurons", "sources", "outdeg", "slots",
                                                                "spikes_per_step", "ring_bytes", "synapse_bytes",
                                                                "runs1_ring_bytes", "runs1_synapse_bytes",
                                                                "runs16_synapse_bytes")}}
    for tag, rows in (("1", single), (str(procs), multi)):
        res[f"ns_event_random_{tag}proc"] = _mean(rows, "scatter_random_ns_per_event")
        res[f"ns_event_sorted_{tag}proc"] = _mean(rows, "scatter_sorted_ns_per_event")
        res[f"ns_update_branchy_{tag}proc"] = _mean(rows, "update_ns_per_neuron_step")
        res[f"ns_update_vec_{tag}proc"] = _mean(rows, "update_vec_ns_per_neuron_step")
        res[f"ns_event_prefetch_{tag}proc"] = _mean(rows, "scatter_prefetch_ns_per_event")
        res[f"ns_event_runs1_{tag}proc"] = _mean(rows, "scatter_runs1_ns_per_event")
        # 16-bit targets: measured only when the neurons per process fit (None otherwise)
        runs16 = [r["scatter_runs16_ns_per_event"] for r in rows]
        res[f"ns_event_runs16_{tag}proc"] = sum(runs16) / len(runs16) if min(runs16) > 0 else None
        res[f"ns_update_uniform_{tag}proc"] = _mean(rows, "update_uniform_ns_per_neuron_step")
        # one input ring (the engine's one-ring kernel): probes from before session 9 lack it
        res[f"ns_update_1ring_{tag}proc"] = (_mean(rows, "update_1ring_ns_per_neuron_step")
                                            if "update_1ring_ns_per_neuron_step" in rows[0] else None)
        res[f"ns_update_{tag}proc"] = min(x for x in (res[f"ns_update_branchy_{tag}proc"],
                                                      res[f"ns_update_vec_{tag}proc"],
                                                      res[f"ns_update_uniform_{tag}proc"],
                                                      res[f"ns_update_1ring_{tag}proc"]) if x is not None)
    P = str(procs)
    res["prefetch_distance"] = single[0]["prefetch_distance"]
    best_event = min(x for x in (res[f"ns_event_random_{P}proc"], res[f"ns_event_sorted_{P}proc"],
                                 res[f"ns_event_prefetch_{P}proc"], res[f"ns_event_runs1_{P}proc"],
                                 res[f"ns_event_runs16_{P}proc"]) if x is not None)
    res["workload"] = {"events_per_model_s": EVENTS_PER_MODEL_S, "updates_per_model_s": UPDATES_PER_MODEL_S,
                       "source": "pd14_published_performance.md (reference rates)"}
    res["rtf_min_1core_random"] = lower_bound(res["ns_event_random_1proc"], res["ns_update_1proc"], 1)
    res["rtf_min_random"] = lower_bound(res[f"ns_event_random_{P}proc"], res[f"ns_update_{P}proc"], procs)
    res["rtf_min_sorted"] = lower_bound(res[f"ns_event_sorted_{P}proc"], res[f"ns_update_{P}proc"], procs)
    res["rtf_min_prefetch"] = lower_bound(res[f"ns_event_prefetch_{P}proc"], res[f"ns_update_{P}proc"], procs)
    res["rtf_min_runs1"] = lower_bound(res[f"ns_event_runs1_{P}proc"], res[f"ns_update_{P}proc"], procs)
    res["rtf_min_runs16"] = (None if res[f"ns_event_runs16_{P}proc"] is None else
                             lower_bound(res[f"ns_event_runs16_{P}proc"], res[f"ns_update_{P}proc"], procs))
    res["rtf_min"] = lower_bound(best_event, res[f"ns_update_{P}proc"], procs)
    if parsnn_result:
        pr = parsnn_result
        T = pr["t_sim_ms"] * 1e-3
        ev = pr["synaptic_events"] / T
        up = pr["num_neurons"] / (0.1e-3) if pr.get("num_neurons") else UPDATES_PER_MODEL_S
        r = pr["ranks"]
        res["parsnn"] = {
            "rtf": pr["rtf"], "ranks": r, "n_scaling": pr["n_scaling"],
            "events_per_model_s": ev,
            "rtf_min_measured_workload": lower_bound(best_event, res[f"ns_update_{P}proc"], r, ev, up),
        }
        res["parsnn"]["rtf_over_min"] = pr["rtf"] / res["parsnn"]["rtf_min_measured_workload"]
        tm = pr.get("timers", {})
        if "timer_deliver" in tm and pr["synaptic_events"] > 0:
            res["parsnn"]["deliver_ns_per_event"] = 1e9 * max(tm["timer_deliver"]) * r / pr["synaptic_events"]
        if "timer_update" in tm:
            res["parsnn"]["update_ns_per_neuron_step"] = (1e9 * max(tm["timer_update"]) * r
                                                          / (pr["num_neurons"] * T / 0.1e-3))
    return res


def format_report(res: dict) -> str:
    P = res["procs"]
    s = res["sizes"]
    lines = [
        f"roofline probe: {s['neurons']:,} neurons x {s['slots']} ring slots per process "
        f"({s['ring_bytes'] / 2**20:.0f} MiB of ring buffers), {s['sources']:,} sources x {s['outdeg']:,} "
        f"synapses ({s['synapse_bytes'] / 2**30:.2f} GiB), {s['spikes_per_step']} spikes per step",
        f"  scatter-add, random rows:  {res['ns_event_random_1proc']:.2f} ns/event on 1 core, "
        f"{res[f'ns_event_random_{P}proc']:.2f} ns/event per process with {P} at once",
        f"  scatter-add, sorted rows:  {res['ns_event_sorted_1proc']:.2f} ns/event on 1 core, "
        f"{res[f'ns_event_sorted_{P}proc']:.2f} ns/event per process with {P} at once",
        f"  scatter-add, sorted rows, prefetch {res['prefetch_distance']} ahead: "
        f"{res['ns_event_prefetch_1proc']:.2f} ns/event on 1 core, "
        f"{res[f'ns_event_prefetch_{P}proc']:.2f} ns/event per process with {P} at once",
        f"  scatter-add, engine kernel (8-byte rows, delay runs, one ring of "
        f"{s['runs1_ring_bytes'] / 2**20:.0f} MiB, prefetch {res['prefetch_distance']} ahead, "
        f"{res.get('prefetch_source', 'default')}): {res['ns_event_runs1_1proc']:.2f} ns/event on 1 core, "
        f"{res[f'ns_event_runs1_{P}proc']:.2f} ns/event per process with {P} at once",
        (f"  scatter-add, engine kernel with 16-bit targets (6-byte rows, "
         f"{s['runs16_synapse_bytes'] / 2**30:.2f} GiB): {res['ns_event_runs16_1proc']:.2f} ns/event on 1 core, "
         f"{res[f'ns_event_runs16_{P}proc']:.2f} ns/event per process with {P} at once"
         if res[f"ns_event_runs16_{P}proc"] is not None else
         "  scatter-add, engine kernel with 16-bit targets: not measured (more than 65536 neurons)"),
        f"  iaf_psc_exp update, branches:              {res['ns_update_branchy_1proc']:.2f} ns/neuron-step on "
        f"1 core, {res[f'ns_update_branchy_{P}proc']:.2f} per process with {P} at once",
        f"  iaf_psc_exp update, branch-free:           {res['ns_update_vec_1proc']:.2f} ns/neuron-step on "
        f"1 core, {res[f'ns_update_vec_{P}proc']:.2f} per process with {P} at once",
        f"  iaf_psc_exp update, branch-free, one parameter set: {res['ns_update_uniform_1proc']:.2f} "
        f"ns/neuron-step on 1 core, {res[f'ns_update_uniform_{P}proc']:.2f} per process with {P} at once",
        *([f"  the same with one input ring: {res['ns_update_1ring_1proc']:.2f} ns/neuron-step on 1 core, "
           f"{res[f'ns_update_1ring_{P}proc']:.2f} per process with {P} at once"]
          if res.get("ns_update_1ring_1proc") is not None else []),
        f"  PD14 workload {res['workload']['events_per_model_s']:.2g} events + "
        f"{res['workload']['updates_per_model_s']:.2g} updates per model second:",
        f"  RTF lower bound (faster update variant): 1 core {res['rtf_min_1core_random']:.2f} (random rows); "
        f"{P} cores {res['rtf_min_random']:.2f} (random rows), {res['rtf_min_sorted']:.2f} (sorted rows), "
        f"{res['rtf_min_prefetch']:.2f} (sorted rows, prefetch), {res['rtf_min_runs1']:.2f} (engine kernel)"
        + (f", {res['rtf_min_runs16']:.2f} (engine kernel, 16-bit targets)" if res["rtf_min_runs16"] else ""),
    ]
    if "parsnn" in res:
        p = res["parsnn"]
        lines.append(f"  parsnn (n_scaling {p['n_scaling']:g}, {p['ranks']} ranks): RTF {p['rtf']:.2f} with "
                     f"{p['events_per_model_s']:.3g} events per model second; bound for that workload "
                     f"{p['rtf_min_measured_workload']:.2f} -> parsnn is {p['rtf_over_min']:.2f}x the bound")
        if "deliver_ns_per_event" in p:
            lines.append(f"  parsnn deliver {p['deliver_ns_per_event']:.2f} ns/event, update "
                         f"{p.get('update_ns_per_neuron_step', float('nan')):.2f} ns/neuron-step (per rank)")
    return "\n".join(lines)


def _busy_seconds():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def prefetch_distance(requested="auto", parsnn_result: dict | None = None) -> tuple[int, str]:
    """(distance, source) of the probe's prefetching kernels: ``requested`` if a number ("given"),
    else the distance the parsnn run it is compared with used (its JSON's ``prefetch``: "parsnn
    run, tuned|cached|given"), else the engine's default 128 ("default")."""
    if requested != "auto":
        return int(requested), "given"
    info = (parsnn_result or {}).get("prefetch")
    if isinstance(info, dict) and info.get("distance") is not None:
        return int(info["distance"]), f"parsnn run, {info.get('source', '?')}"
    return 128, "default"


def probe(procs=2, events=2e8, steps=4000, small=False, parsnn_result=None, build_dir=None, prefetch="auto") -> dict:
    """Compile and run the probe (alone, then ``procs`` at once) and analyse it; ``prefetch``: auto or
    a distance (:func:`prefetch_distance`)."""
    import resource
    exe = compile_probe(build_dir)
    pf, pf_source = prefetch_distance(prefetch, parsnn_result)
    sizes = SMALL_SIZES if small else FULL_SIZES
    ru = lambda: sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), k) for k in ("ru_utime", "ru_stime"))  # noqa: E731
    b0, c0, w0 = _busy_seconds(), ru(), time.perf_counter()
    single = run_probe(exe, 1, sizes, events, steps, prefetch=pf)
    multi = run_probe(exe, procs, sizes, events, steps, prefetch=pf) if procs > 1 else single
    b1, c1, wall = _busy_seconds(), ru(), time.perf_counter() - w0
    res = analyse(single, multi, procs, parsnn_result)
    res["compiler"] = compiler_version()
    res["prefetch_source"] = pf_source
    if b0 is not None and b1 is not None:
        # CPU used by other processes while the probe ran (also counts the probe's untimed set-up)
        res["foreign_cores"] = max(0.0, (b1 - b0) - (c1 - c0)) / wall
    res["raw"] = {"single": single, "multi": multi}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="roofline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=2, help="processes at once (= cores / ranks), default 2")
    ap.add_argument("--events", type=float, default=2e8, help="timed events per measurement (default 2e8)")
    ap.add_argument("--steps", type=int, default=4000, help="timed update steps (default 4000)")
    ap.add_argument("--small", action="store_true", help="tiny sizes (a smoke test, not a measurement)")
    ap.add_argument("--parsnn-result", default=None,
                    help="JSON of a bench_pd14.py run (results/pd14_full.json) or of parsnn_pd14.py")
    ap.add_argument("--prefetch", default="auto",
                    help="prefetch distance of the prefetching kernels: auto (the --parsnn-result run's, which "
                         "the engine tuned for this machine; else 128) or N")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args(argv)
    pr = load_parsnn_result(args.parsnn_result) if args.parsnn_result else None
    res = probe(args.procs, args.events, args.steps, args.small, pr, prefetch=args.prefetch)
    print(format_report(res))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


def load_parsnn_result(path) -> dict | None:
    """The parsnn run in a bench_pd14.py config file (median run) or a parsnn_pd14.py JSON."""
    with open(path) as f:
        d = json.load(f)
    if d.get("simulator") == "parsnn":
        return d
    runs = [r for r in d.get("runs", []) if r.get("simulator") == "parsnn" and r.get("ok", True)]
    if not runs:
        return None
    # the revision measured last, undisturbed runs if any (as bench_pd14's summary)
    rev = lambda r: json.dumps(r.get("parsnn_git"), sort_keys=True)  # noqa: E731
    last = rev(max(runs, key=lambda r: r.get("started") or ""))
    runs = [r for r in runs if rev(r) == last]
    runs = [r for r in runs if (r.get("foreign_cores") or 0.0) <= 0.1] or runs
    runs.sort(key=lambda r: r["rtf"])
    return runs[len(runs) // 2]


if __name__ == "__main__":
    sys.exit(main())
