#!/usr/bin/env python
"""Side-by-side hpc_benchmark: parsnn (``parsnn run hpc_benchmark`` under mpiexec -n P) against NEST's own
``hpc_benchmark.py`` (P threads), in one harness run on one machine.

    python benchmarks/bench_hpc.py [--scale 0.1] [--ranks 2] [--parsnn-threads 1] [--repeats 1] [--presim 50] [--t-sim 250]
                                   [--seed 1] [--simulators parsnn nest] [--nest-python PY] [--nest-script PATH]
                                   [--out-dir benchmarks/results] [--note TEXT] [--no-wait]
    python benchmarks/bench_hpc.py --report-only [--scale S]      # rebuild OUT/hpc_s<S>.md from its JSON

- parsnn: ``mpiexec -n P/T parsnn run hpc_benchmark --threads T --scale S --t-sim PRESIM+T --seed N --no-record
  --no-progress --out TMP.h5`` (the run file's performance figures are read back);
- NEST: NEST's ``pynest/examples/hpc_benchmark.py`` as NEST ships it (located at run time in the installed
  NEST package, or ``--nest-script``; not copied into parsnn: it is GPL-2+), with its own parameters set
  to ``scale`` = S, ``num_threads`` = P, ``presimtime`` = PRESIM, ``simtime`` = T and ``record_spikes`` off
  (``benchmarks/nest_hpc_runner.py`` does that and reads the script's log), OMP_WAIT_POLICY=passive.

Both simulate the same model time, 0 to PRESIM + T. NEST times its presimulation and its simulation
apart (``presim_time``, ``sim_time``) and builds its connection infrastructure at the first Simulate
(``time_communicate_prepare``); ``parsnn run`` times the whole run. The figures compared:

- build: parsnn's build (max over ranks); NEST's build_time_nodes + build_edge_time + the connection
  infrastructure of its first Simulate;
- RTF: wall time of simulating 0..PRESIM+T over PRESIM+T (NEST: presim_time + sim_time minus the
  infrastructure); NEST's own RTF of the timed phase (sim_time / T) is shown beside it;
- bytes per synapse: peak resident memory (``ru_maxrss``, summed over parsnn's ranks) / synapses
  (NEST: ``num_connections``, which includes its 11,250 scale device connections);
- mean rate over the whole run (the activity decides the speed of both: below scale 1 and at scale 1
  after ~300 ms the network bursts and E->E weights run away).

The runs alternate (parsnn, NEST, parsnn, NEST, ...); the median (by RTF) of each simulator's undisturbed
runs is reported. Helpers (machine description, idle wait, foreign CPU accounting, peer interpreter) are
benchmarks/bench_pd14.py's. Output: ``OUT/hpc_s<S>.json`` (every run, the machine, the summary) and
``OUT/hpc_s<S>.md`` (the table).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_pd14 as bp  # noqa: E402  (the shared harness helpers)

RUNNER = os.path.join(HERE, "nest_hpc_runner.py")
SIMULATORS = ("parsnn", "nest")
#: memory to have free before a run, bytes per synapse (NEST 3.10 at scale 1: 5.3 GB / 126.6M = 42)
NEED_BYTES_PER_SYNAPSE = {"parsnn": 30, "nest": 45}
#: issue 15 at scale 1: >= 10x NEST's speed, <= 1/3 of its memory
TARGETS = {"speedup_min": 10.0, "memory_ratio_max": 1.0 / 3.0}


def synapses(scale: float) -> tuple[int, int]:
    """(neurons, synapses) of hpc_benchmark at ``scale``, as NEST's script computes them (in-degrees
    int(N_E / scale) and int(N_I / scale): 9,000 and 2,250 only where the sizes come out whole)."""
    n_e, n_i = int(9000 * scale), int(2250 * scale)
    return n_e + n_i, (n_e + n_i) * (int(1.0 * n_e / scale) + int(1.0 * n_i / scale))


def run_parsnn(args, mpiexec: str, log) -> dict:
    """One ``parsnn run hpc_benchmark`` under mpiexec; the benchmark record."""
    from parsnn.runfile.reader import RunFile
    exe = os.path.join(os.path.dirname(sys.executable), "parsnn")
    t_total = args.presim + args.t_sim
    with tempfile.TemporaryDirectory(prefix="bench_hpc_") as tmp:
        out = os.path.join(tmp, "run.h5")
        n_ranks = args.ranks // args.parsnn_threads
        cmd = [mpiexec, "-n", str(n_ranks), exe, "run", "hpc_benchmark", "--scale", repr(args.scale),
               "--t-sim", repr(t_total), "--seed", str(args.seed), "--threads", str(args.parsnn_threads),
               "--no-record", "--no-progress", "--out", out]
        log("  $ " + " ".join([os.path.basename(mpiexec), *cmd[1:3], "parsnn", *cmd[4:-1]]) + " TMP.h5")
        proc, acc = bp.run_accounted(cmd, timeout=args.timeout)
        if proc.returncode != 0 or not os.path.exists(out):
            return {"simulator": "parsnn", "ok": False, "error": proc.stderr[-3000:], **acc}
        rf = RunFile(out)
        perf = rf.performance
        n_neurons = sum(p["size"] for p in rf.description["populations"])
        rf.close()
    spikes = int(sum(perf["spike_counts"]))
    rss = [int(x) for x in perf["peak_rss_bytes"]]
    sim_s = float(max(perf["simulate_seconds"]))
    return {"simulator": "parsnn", "ok": True, "processes": args.ranks // args.parsnn_threads,
            "threads": args.parsnn_threads, "num_neurons": n_neurons,
            "num_synapses": int(perf["num_synapses"]), "build_seconds": float(max(perf["build_seconds"])),
            "simulate_seconds": sim_s, "rtf": sim_s / (t_total * 1e-3), "rtf_timed_phase": None,
            "peak_rss_bytes": rss, "peak_rss_bytes_total": sum(rss), "spikes": spikes,
            "mean_rate_hz": spikes / (n_neurons * t_total * 1e-3), "synaptic_events": int(sum(perf["synaptic_events"])),
            "timers": {k: [float(x) for x in v] for k, v in perf.items() if k.startswith(("timer_", "build_"))},
            "parsnn_git": bp.git_state(), "command": " ".join(cmd[:-1]) + " TMP.h5", **acc}


def nest_record(s: dict, acc: dict) -> dict:
    """Benchmark record from the runner's JSON (the script's log and NEST's kernel counters)."""
    log = s["log"]
    prepare = max(s["simulate_calls"][0]["time_communicate_prepare"] or [0.0])
    t_total = s["presimtime_ms"] + s["simtime_ms"]
    spikes = sum(c["spikes"] for c in s["simulate_calls"])
    n_neurons = s["network_size"] - 1          # one poisson_generator (no spike recorder without recording)
    sim_s = log["presim_time"] + log["sim_time"] - prepare
    rss = int(s["peak_rss_bytes"])
    return {"simulator": "nest", "ok": True, "version": s["version"], "processes": 1, "threads": s["threads"],
            "num_neurons": n_neurons, "num_synapses": s["num_connections"],
            "build_seconds": log["build_time_nodes"] + log["build_edge_time"] + prepare,
            "build_parts": {"build_time_nodes": log["build_time_nodes"], "build_edge_time": log["build_edge_time"],
                            "time_communicate_prepare": prepare},
            "presim_time": log["presim_time"], "sim_time": log["sim_time"], "simulate_seconds": sim_s,
            "rtf": sim_s / (t_total * 1e-3), "rtf_timed_phase": log["sim_time"] / (s["simtime_ms"] * 1e-3),
            "peak_rss_bytes": [rss], "peak_rss_bytes_total": rss, "spikes": spikes,
            "mean_rate_hz": spikes / (n_neurons * t_total * 1e-3),
            "spikes_per_call": [c["spikes"] for c in s["simulate_calls"]],
            "script": s["script"], "script_git_blob": s["script_git_blob"], "script_is_v3_10": s["script_is_v3_10"],
            **acc}


def run_nest(args, python: str, log) -> dict:
    """One run of NEST's hpc_benchmark.py (through nest_hpc_runner.py in ``python``); the benchmark record."""
    with tempfile.TemporaryDirectory(prefix="bench_hpc_nest_") as tmp:
        jout = os.path.join(tmp, "nest.json")
        cmd = [python, RUNNER, "--scale", repr(args.scale), "--threads", str(args.ranks), "--presimtime",
               repr(args.presim), "--simtime", repr(args.t_sim), "--json-out", jout]
        if args.nest_script:
            cmd += ["--script", args.nest_script]
        log("  $ " + " ".join([os.path.relpath(cmd[0], bp.ROOT), os.path.relpath(cmd[1], bp.ROOT), *cmd[2:-2]]))
        env = dict(os.environ, PYNEST_QUIET="1", OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
        proc, acc = bp.run_accounted(cmd, env=env, timeout=args.timeout, cwd=tmp)
        if proc.returncode != 0 or not os.path.exists(jout):
            return {"simulator": "nest", "ok": False, "error": (proc.stderr + proc.stdout)[-3000:], **acc}
        with open(jout) as f:
            s = json.load(f)
    r = nest_record(s, acc)
    r["omp_wait_policy"] = env["OMP_WAIT_POLICY"]
    return r


# ------------------------------------------------------------------ summary
def summarize(runs: list[dict]) -> dict:
    """Per simulator: the run with the median RTF among the undisturbed runs (all runs if none is), the
    medians of build, RTF and memory, and the ratios parsnn / NEST."""
    out = {}
    for sim in SIMULATORS:
        rs = bp._usable([r for r in runs if r.get("simulator") == sim])
        if not rs:
            continue
        med = bp._median_run(rs)
        out[sim] = {**{k: med.get(k) for k in ("version", "processes", "threads", "num_neurons", "num_synapses",
                                                 "rtf_timed_phase", "mean_rate_hz", "foreign_cores", "build_parts")},
                    "repeats": len(rs), "disturbed": (med.get("foreign_cores") or 0.0) > bp.DISTURBED_CORES,
                    "build_seconds": statistics.median(r["build_seconds"] for r in rs),
                    "rtf": statistics.median(r["rtf"] for r in rs),
                    "peak_rss_bytes_total": statistics.median(r["peak_rss_bytes_total"] for r in rs),
                    "bytes_per_synapse": statistics.median(r["peak_rss_bytes_total"] / r["num_synapses"] for r in rs),
                    "rtf_all": [r["rtf"] for r in rs], "build_all": [r["build_seconds"] for r in rs],
                    "rate_all": [r["mean_rate_hz"] for r in rs]}
    p, q = out.get("parsnn"), out.get("nest")
    if p and q:
        out["ratios"] = {"build": p["build_seconds"] / q["build_seconds"], "rtf": p["rtf"] / q["rtf"],
                         "peak_memory": p["peak_rss_bytes_total"] / q["peak_rss_bytes_total"],
                         "bytes_per_synapse": p["bytes_per_synapse"] / q["bytes_per_synapse"]}
        out["targets"] = {"speedup_rtf": q["rtf"] / p["rtf"],
                          "speedup_met": q["rtf"] / p["rtf"] >= TARGETS["speedup_min"],
                          "memory_met": out["ratios"]["peak_memory"] <= TARGETS["memory_ratio_max"]}
    return out


def markdown(d: dict) -> str:
    """The result table of one result file."""
    s, m = d["summary"], d["machine"]
    lines = [f"# hpc_benchmark scale {d['scale']:g}: parsnn vs NEST's own hpc_benchmark.py", "",
             f"Machine: {bp.describe_machine(m)}.", "",
             *([f"Note: {d['note']}", ""] if d.get("note") else []),
             f"Model time 0-{d['presim_ms'] + d['t_sim_ms']:g} ms (NEST: presimtime {d['presim_ms']:g} ms + simtime "
             f"{d['t_sim_ms']:g} ms), seed {d['seed']}, no spike recording; {d['ranks']} cores: parsnn "
             f"{d['ranks'] // d.get('parsnn_threads', 1)} ranks x {d.get('parsnn_threads', 1)} threads, NEST "
             f"{d['ranks']} threads; {d['repeats']} alternating repeat(s), medians. Command: `{d['command']}`", "",
             "| simulator | processes x threads | synapses | build (s) | RTF, 0-end | NEST's RTF of its timed phase "
             "| peak memory (GB) | bytes/synapse | mean rate (spikes/s) | runs (RTF) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for sim in SIMULATORS:
        r = s.get(sim)
        if not r:
            continue
        who = "parsnn" if sim == "parsnn" else f"NEST {r.get('version') or ''} (hpc_benchmark.py)"
        if r["disturbed"]:
            who += " (disturbed by other load)"
        timed = "—" if r.get("rtf_timed_phase") is None else f"{r['rtf_timed_phase']:.1f}"
        lines.append(f"| {who} | {r['processes']} x {r['threads']} | {r['num_synapses']:,} | {r['build_seconds']:.1f} | "
                     f"{r['rtf']:.1f} | {timed} | {r['peak_rss_bytes_total'] / 1e9:.2f} | {r['bytes_per_synapse']:.1f} | "
                     f"{r['mean_rate_hz']:.1f} | {', '.join(f'{x:.1f}' for x in r['rtf_all'])} |")
    if "ratios" in s:
        q = s["ratios"]
        lines.append(f"| **parsnn / NEST** | | | **{q['build']:.3f}** | **{q['rtf']:.3f}** "
                     f"({s['targets']['speedup_rtf']:.1f}x faster) | | {q['peak_memory']:.3f} | **{q['bytes_per_synapse']:.3f}** | | |")
        if d["scale"] >= 1.0:
            t = s["targets"]
            lines += ["", f"Issue 15 targets (scale 1): >= 10x NEST's RTF: {'met' if t['speedup_met'] else 'NOT met'}; "
                      f"<= 1/3 of NEST's memory: {'met' if t['memory_met'] else 'NOT met'}."]
    lines += ["", "Build: parsnn's build (max over ranks); NEST's build_time_nodes + build_edge_time of the script's "
              "log + the connection infrastructure NEST builds at its first Simulate (`time_communicate_prepare`). "
              "RTF, 0-end: wall time of simulating the whole model time over it (NEST: presim_time + sim_time minus "
              "that infrastructure). Bytes/synapse: peak resident memory (`ru_maxrss`, summed over parsnn's ranks) "
              "over the synapses (NEST: `num_connections`, incl. the Poisson generator's connections). The "
              "activity (mean rate) sets the speed of both; the two simulators draw different network "
              "realisations, so their rates differ by chance (see analysis/results/hpc_benchmark/)."]
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    """The harness's command line."""
    ap = argparse.ArgumentParser(prog="bench_hpc", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--scale", type=float, default=0.1, help="network size factor (x 11,250 neurons; default 0.1)")
    ap.add_argument("--ranks", type=int, default=2, help="parsnn MPI ranks = NEST threads (default 2)")
    ap.add_argument("--parsnn-threads", type=int, default=1,
                    help="parsnn's threads per rank T: it runs RANKS / T ranks x T threads (default 1)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per simulator, alternating (default 1)")
    ap.add_argument("--presim", type=float, default=50.0, help="NEST's presimtime, ms (default 50, as shipped)")
    ap.add_argument("--t-sim", type=float, default=250.0, help="NEST's simtime, ms (default 250, as shipped)")
    ap.add_argument("--seed", type=int, default=1, help="parsnn's seed (NEST's script uses its default seed)")
    ap.add_argument("--simulators", nargs="+", default=list(SIMULATORS), choices=list(SIMULATORS))
    ap.add_argument("--nest-python", default=None, help="interpreter that imports nest (default: this Python if it "
                                                        "does, else benchmarks/.venv-nest)")
    ap.add_argument("--nest-script", default=None, help="NEST's hpc_benchmark.py (default: the installed NEST's copy)")
    ap.add_argument("--mpiexec", default=None)
    ap.add_argument("--out-dir", default=bp.DEFAULT_OUT)
    ap.add_argument("--note", default=None, help="a remark stored in the result files (e.g. 'shared machine')")
    ap.add_argument("--idle-cores", type=float, default=0.15,
                    help="wait before each run until at most this many cores are busy (default 0.15)")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    ap.add_argument("--report-only", action="store_true", help="only rebuild OUT/hpc_s<S>.md from OUT/hpc_s<S>.json")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per run, seconds")
    args = ap.parse_args(argv)
    if args.ranks < 1 or args.repeats < 1:
        ap.error("--ranks and --repeats must be >= 1")
    if args.parsnn_threads < 1 or args.ranks % args.parsnn_threads:
        ap.error(f"--parsnn-threads must be >= 1 and divide --ranks ({args.ranks})")
    if not (args.scale > 0 and int(2250 * args.scale) >= 1):
        ap.error(f"--scale must leave the inhibitory population non-empty (>= {1 / 2250:.3g})")
    if args.presim <= 0 or args.t_sim <= 0:
        ap.error("--presim and --t-sim must be > 0 ms (NEST's script simulates both)")
    return args


def _check_nest(python: str, log) -> bool:
    """Whether ``python`` imports scipy as NEST's hpc_benchmark.py needs."""
    ok = subprocess.run([python, "-c", "import scipy.special"], capture_output=True).returncode == 0
    if not ok:
        log(f"bench_hpc: {python} lacks scipy, which NEST's hpc_benchmark.py imports (benchmarks/setup_peers.sh "
            "installs it)")
    return ok


def main(argv=None) -> int:
    """Alternate the simulators, write OUT/hpc_s<S>.json and .md, print the table."""
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = os.path.join(args.out_dir, f"hpc_s{args.scale:g}")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if not args.report_only:
        sims = list(args.simulators)
        nest_py = bp.peer_python("nest", args.nest_python) if "nest" in sims else None
        if "nest" in sims and (nest_py is None or not _check_nest(nest_py, log)):
            log("bench_hpc: NEST not usable (run benchmarks/setup_peers.sh nest or give --nest-python); left out")
            sims.remove("nest")
        mpiexec = bp.find_mpiexec(args.mpiexec) if "parsnn" in sims else None
        machine = bp.machine_info({"nest": nest_py} if nest_py else {})
        n_neurons, n_syn = synapses(args.scale)
        log(f"bench_hpc: {bp.describe_machine(machine)}")
        log(f"== hpc_benchmark scale {args.scale:g}: {n_neurons:,} neurons, {n_syn:,} synapses; 0-"
            f"{args.presim + args.t_sim:g} ms; parsnn {args.ranks // args.parsnn_threads} ranks x "
            f"{args.parsnn_threads} threads, NEST {args.ranks} threads; {', '.join(sims)}")
        runs = []
        for rep in range(args.repeats):
            for sim in sims:
                need = int(n_syn * NEED_BYTES_PER_SYNAPSE[sim] + 3e8)
                acct = {} if args.no_wait else bp.wait_idle(args.idle_cores, need, log=log)
                started = datetime.datetime.now().isoformat(timespec="seconds")
                r = run_parsnn(args, mpiexec, log) if sim == "parsnn" else run_nest(args, nest_py, log)
                r.update(acct, repeat=rep, started=started, loadavg_before=os.getloadavg())
                runs.append(r)
                if r["ok"]:
                    log(f"  {sim}: build {r['build_seconds']:.1f} s, RTF {r['rtf']:.1f}, "
                        f"{r['peak_rss_bytes_total'] / r['num_synapses']:.1f} B/synapse, rate {r['mean_rate_hz']:.1f}/s, "
                        f"others used {r.get('foreign_cores', 0):.2f} cores")
                else:
                    log(f"  {sim}: FAILED\n{r.get('error', '')[-1500:]}")
        d = {"scale": args.scale, "ranks": args.ranks, "parsnn_threads": args.parsnn_threads,
             "repeats": args.repeats, "presim_ms": args.presim,
             "t_sim_ms": args.t_sim, "seed": args.seed, "note": args.note, "machine": machine,
             "command": "python benchmarks/bench_hpc.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
             "runs": runs, "finished": datetime.datetime.now().isoformat(timespec="seconds")}
    else:
        with open(stem + ".json") as f:
            d = json.load(f)
    d["summary"] = summarize(d["runs"])
    with open(stem + ".json", "w") as f:
        json.dump(d, f, indent=1)
    md = markdown(d)
    with open(stem + ".md", "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
