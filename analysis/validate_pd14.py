#!/usr/bin/env python
"""Statistical validation of parsnn's PD14 against NEST: KS distances of rate, ISI-CV and CC distributions.

    python analysis/validate_pd14.py [--n-scaling 0.1] [--t-sim 5500] [--nest-seeds 1 2 3 4 5]
                                     [--parsnn-seeds 1 2 3 4 5] [--ranks 2] [--threads 2]
                                     [--work-dir analysis/results/runs] [--results-dir analysis/results]
                                     [--realisation v1|v2] [--nest-python PY] [--max-load 2.5]
                                     [--tag TAG] [--beside EARLIER.json]

Runs PD14 (k_scaling 1, DC drive) ONE RUN AT A TIME: in NEST (``analysis/nest_pd14.py``, one process
per seed, ``--threads`` threads, with ``--nest-python``: by default this Python if it imports nest, else
``benchmarks/.venv-nest``) and in parsnn (``mpiexec -n RANKS parsnn run pd14 --realisation R``).  Runs whose
complete output already exists in ``--work-dir`` are reused, so an interrupted validation resumes.
Before each run it waits while the 1-minute load average exceeds ``--max-load`` (shared machines).

Every run is analysed over ``[500, t_sim)`` ms with :func:`parsnn.analysis.analyze` (defaults:
CC subsample of 50 neurons per population with the same seed for every run, 2 ms bins).  Then, per
population and statistic (rate, cv, cc):

- NEST vs NEST: the KS distances of all pairs of NEST seeds -- the natural seed-to-seed spread;
- parsnn vs NEST: the KS distances of all (parsnn seed, NEST seed) pairs;
- parsnn vs parsnn: all pairs of parsnn seeds (for information).

Criterion: parsnn PASSES for a population and statistic when the median of its parsnn-vs-NEST
distances is at most the largest NEST-vs-NEST distance (needs >= 2 NEST seeds).

Writes ``<results-dir>/pd14_validation_<tag>.{json,md,png}`` and ``..._distributions.png``, where tag
is ``n<n_scaling>_T<t_sim>`` for parsnn's realisation scheme v1 (the files made before v2 existed) and
``n<n_scaling>_T<t_sim>_<realisation>`` for another scheme (``--tag`` overrides it).
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

try:
    from parsnn import analysis
    from parsnn.runfile import sonata
except ImportError:  # source checkout without installation
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from parsnn import analysis
    from parsnn.runfile import sonata

HERE = os.path.dirname(os.path.abspath(__file__))
STATS = analysis.STATISTICS


def _tool(name):
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else (shutil.which(name) or name)


def _wait_for_load(max_load, log):
    if max_load <= 0:
        return
    waited = 0
    while os.getloadavg()[0] > max_load and waited < 1800:
        if waited == 0:
            log(f"  load {os.getloadavg()[0]:.2f} > {max_load}: waiting ...")
        time.sleep(20)
        waited += 20


def _fmt_n(x):
    return f"{x:g}"


def nest_dir(work, n, t_sim, seed):
    return os.path.join(work, f"nest_n{_fmt_n(n)}_T{_fmt_n(t_sim)}_s{seed}")


def parsnn_file(work, n, t_sim, seed, realisation):
    return os.path.join(work, f"parsnn_n{_fmt_n(n)}_T{_fmt_n(t_sim)}_s{seed}_{realisation}.h5")


def nest_python(explicit):
    """The interpreter that runs nest_pd14.py: ``explicit``, else this Python if it imports nest, else
    benchmarks/.venv-nest (benchmarks/setup_peers.sh), else this Python (which then fails clearly)."""
    if explicit:
        return explicit
    if importlib.util.find_spec("nest") is not None:
        return sys.executable
    cand = os.path.join(os.path.dirname(HERE), "benchmarks", ".venv-nest", "bin", "python")
    return cand if os.path.exists(cand) else sys.executable


def nest_complete(d):
    try:
        with open(os.path.join(d, analysis.NEST_SIDECAR)) as f:
            return bool(json.load(f).get("complete"))
    except (OSError, ValueError):
        return False


def parsnn_complete(fn):
    try:
        return bool(sonata.read_metadata(fn).get("complete"))
    except (OSError, KeyError, ValueError):
        return False


def run_nest(args, seed, log):
    d = nest_dir(args.work_dir, args.n_scaling, args.t_sim, seed)
    if nest_complete(d):
        log(f"NEST seed {seed}: reusing {d}")
        return d
    _wait_for_load(args.max_load, log)
    log(f"NEST seed {seed}: running ({args.threads} threads) ...")
    t = time.perf_counter()
    subprocess.run([nest_python(args.nest_python), os.path.join(HERE, "nest_pd14.py"), "--out-dir", d,
                    "--n-scaling", str(args.n_scaling), "--k-scaling", "1", "--t-sim", str(args.t_sim),
                    "--seed", str(seed), "--threads", str(args.threads)], check=True)
    log(f"NEST seed {seed}: done in {time.perf_counter() - t:.0f} s")
    return d


def run_parsnn(args, seed, log):
    fn = parsnn_file(args.work_dir, args.n_scaling, args.t_sim, seed, args.realisation)
    if parsnn_complete(fn):
        log(f"parsnn seed {seed}: reusing {fn}")
        return fn
    _wait_for_load(args.max_load, log)
    log(f"parsnn seed {seed}: running ({args.ranks} ranks, realisation {args.realisation}) ...")
    t = time.perf_counter()
    subprocess.run([_tool("mpiexec"), "-n", str(args.ranks), _tool("parsnn"), "run", "pd14",
                    "--n-scaling", str(args.n_scaling), "--k-scaling", "1", "--t-sim", str(args.t_sim),
                    "--seed", str(seed), "--realisation", args.realisation,
                    "--out", fn, "--overwrite", "--no-progress"],   # replaces an incomplete fn
                   check=True, stdout=subprocess.DEVNULL)
    log(f"parsnn seed {seed}: done in {time.perf_counter() - t:.0f} s")
    return fn


def stats_of(path, args, label):
    """Analyse a run, cached next to it as ``<run>.stats.npz`` (recomputed when parameters change)."""
    cache = os.path.normpath(path) + f".stats_t{_fmt_n(args.t_start)}-{_fmt_n(args.t_sim)}.npz"
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(path):
        st = analysis.RunStats.load_npz(cache)
        if st.params.get("cc_subsample") == args.cc_subsample and st.params.get("cc_bin") == args.cc_bin:
            st.label = label
            return st
    st = analysis.analyze(path, t_start=args.t_start, t_stop=args.t_sim, cc_subsample=args.cc_subsample,
                          cc_bin=args.cc_bin, label=label)
    st.save_npz(cache)
    return st


def _spread(values):
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if not v.size:
        return {"n": 0, "min": None, "median": None, "max": None, "values": []}
    return {"n": int(v.size), "min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()),
            "values": [float(x) for x in values]}


def evaluate(nest_stats, parsnn_stats):
    pops = list(nest_stats[0].populations if nest_stats else parsnn_stats[0].populations)
    out = {}
    for p in pops:
        out[p] = {}
        for s in STATS:
            def ks(a, b):
                return analysis.ks_distance(a.populations[p].values(s), b.populations[p].values(s))
            nn = [ks(a, b) for a, b in itertools.combinations(nest_stats, 2)]
            pn = [ks(a, b) for a, b in itertools.product(parsnn_stats, nest_stats)]
            pp = [ks(a, b) for a, b in itertools.combinations(parsnn_stats, 2)]
            r = {"nest_nest": _spread(nn), "parsnn_nest": _spread(pn), "parsnn_parsnn": _spread(pp)}
            if r["nest_nest"]["n"] and r["parsnn_nest"]["n"]:
                r["pass"] = bool(r["parsnn_nest"]["median"] <= r["nest_nest"]["max"])
                r["ratio_median"] = (r["parsnn_nest"]["median"] / r["nest_nest"]["median"]
                                     if r["nest_nest"]["median"] else None)
            else:
                r["pass"] = None
            out[p][s] = r
    return out


def _per_run_means(stats_list):
    """{pop: {stat: [mean per run]}}"""
    out = {}
    for st in stats_list:
        for p, s in st.populations.items():
            d = out.setdefault(p, {k: [] for k in STATS})
            for k in STATS:
                v = s.values(k)
                d[k].append(float(v.mean()) if v.size else float("nan"))
    return out


def _mean_sd(v):
    v = np.asarray(v, float)
    if not v.size:
        return "–"
    return f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}" if v.size > 1 else f"{v[0]:.3f}"


def write_markdown(path, res, args, nest_stats, parsnn_stats, timing):
    f3 = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    L = [f"# PD14 validation: parsnn vs NEST (n_scaling {args.n_scaling:g}, k_scaling 1, DC drive)", ""]
    L.append(f"Analysis window [{args.t_start:g}, {args.t_sim:g}) ms; CC: {args.cc_subsample} neurons per "
             f"population (same seeded subsample in every run), {args.cc_bin:g} ms bins; CV: neurons with "
             f">= {analysis.MIN_SPIKES_CV} spikes; KS = two-sample Kolmogorov-Smirnov distance.")
    L.append(f"NEST {timing.get('nest_version', '?')} seeds {args.nest_seeds} ({args.threads} threads); "
             f"parsnn seeds {args.parsnn_seeds} ({args.ranks} MPI ranks, realisation scheme {args.realisation}).")
    L.append("")
    L.append("Criterion: **pass** when median(parsnn-vs-NEST) <= max(NEST-vs-NEST) "
             f"({len(nest_stats) * (len(nest_stats) - 1) // 2} NEST pairs, "
             f"{len(nest_stats) * len(parsnn_stats)} parsnn-NEST pairs).")
    L.append("")
    L.append("| population | statistic | NEST–NEST min | median | max | parsnn–NEST min | median | max | "
             "parsnn–parsnn median | pass |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for p, d in res.items():
        for s in STATS:
            r = d[s]
            nn, pn, pp = r["nest_nest"], r["parsnn_nest"], r["parsnn_parsnn"]
            ok = {True: "yes", False: "**NO**", None: "n/a"}[r["pass"]]
            L.append(f"| {p} | {s} | {f3(nn['min'])} | {f3(nn['median'])} | {f3(nn['max'])} | {f3(pn['min'])} | "
                     f"{f3(pn['median'])} | {f3(pn['max'])} | {f3(pp['median'])} | {ok} |")
    n_pass = sum(1 for d in res.values() for s in STATS if d[s]["pass"])
    n_all = sum(1 for d in res.values() for s in STATS if d[s]["pass"] is not None)
    if n_all:
        L += ["", f"**{n_pass} of {n_all}** population/statistic combinations pass.", ""]
    else:
        L += ["", "**No pass/fail**: fewer than 2 NEST seeds (or no parsnn run) at this scale, so there is no "
              "NEST seed-to-seed spread to compare with; only the parsnn seed-to-seed distances are shown.", ""]
    L.append("Mean over neurons (rate in spikes/s), mean ± sd over seeds:")
    L.append("")
    L.append("| population | rate NEST | rate parsnn | CV NEST | CV parsnn | CC NEST | CC parsnn |")
    L.append("|---|---|---|---|---|---|---|")
    mn, mp = _per_run_means(nest_stats), _per_run_means(parsnn_stats)
    for p in res:
        cells = []
        for s in STATS:
            cells += [_mean_sd(mn.get(p, {}).get(s, [])), _mean_sd(mp.get(p, {}).get(s, []))]
        L.append(f"| {p} | " + " | ".join(cells) + " |")
    if args.n_scaling == 1.0:
        from parsnn.models import pd14
        ref = dict(zip(pd14.POPULATIONS, pd14.PARAMETERS["scaling"]["full_mean_rates"]))
        L += ["", "Full scale: mean rates vs the reference's full-scale NEST rates (`full_mean_rates` in "
              "models/pd14/parameters.toml: a single run whose conditions the reference does not document; "
              "they match parsnn with Poisson background, see analysis/README.md):", "",
              "| population | reference NEST | parsnn (mean ± sd over seeds) |", "|---|---|---|"]
        for p in res:
            L.append(f"| {p} | {ref.get(p, float('nan')):.3f} | {_mean_sd(mp.get(p, {}).get('rate', []))} |")
    if getattr(args, "beside", None):
        L += _beside_lines(res, args.beside)
    if timing:
        L += ["", "Run times (s, wall clock, this machine): " + ", ".join(
            f"{k} {v}" for k, v in timing.items() if k != "nest_version")]
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def _beside_lines(res, path):
    """A table of this validation's KS medians and verdicts beside those of an earlier result JSON."""
    with open(path) as f:
        other = json.load(f)
    f3 = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    yn = lambda x: {True: "yes", False: "**NO**", None: "n/a"}[x]  # noqa: E731
    name = f"realisation {other.get('realisation', 'v1')}"
    L = ["", f"Beside `{os.path.basename(path)}` ({name}, parsnn seeds {other['parsnn_seeds']}, NEST seeds "
         f"{other['nest_seeds']}):", "",
         f"| population | statistic | NEST–NEST max (this / {name}) | parsnn–NEST median ({name}) | "
         f"parsnn–NEST median (this) | pass ({name}) | pass (this) |", "|---|---|---|---|---|---|---|"]
    for p, d in res.items():
        for s in STATS:
            o = other["results"].get(p, {}).get(s)
            if o is None:
                continue
            L.append(f"| {p} | {s} | {f3(d[s]['nest_nest']['max'])} / {f3(o['nest_nest']['max'])} | "
                     f"{f3(o['parsnn_nest']['median'])} | {f3(d[s]['parsnn_nest']['median'])} | "
                     f"{yn(o.get('pass'))} | {yn(d[s]['pass'])} |")
    return L


def plot_validation(path, res, args):
    plt = analysis.pyplot()
    pops = list(res)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), layout="constrained", sharey=False)
    for ax, s in zip(axes, STATS):
        x = np.arange(len(pops))
        for k, p in enumerate(pops):
            nn, pn, pp = res[p][s]["nest_nest"], res[p][s]["parsnn_nest"], res[p][s]["parsnn_parsnn"]
            if nn["n"]:
                ax.plot([k - 0.2] * 2, [nn["min"], nn["max"]], color="0.5", lw=6, alpha=0.5, solid_capstyle="butt")
                ax.scatter(np.full(nn["n"], k - 0.2), [v for v in nn["values"] if np.isfinite(v)], s=8,
                           color="0.3", zorder=3, label="NEST vs NEST" if k == 0 else None)
            if pn["n"]:
                ax.scatter(np.full(pn["n"], k), [v for v in pn["values"] if np.isfinite(v)], s=8,
                           color="#e08214", alpha=0.6, zorder=3, label="parsnn vs NEST" if k == 0 else None)
                ax.plot([k - 0.1, k + 0.1], [pn["median"]] * 2, color="#b35806", lw=2,
                        label="parsnn vs NEST median" if k == 0 else None)
            if pp["n"]:
                ax.scatter(np.full(pp["n"], k + 0.2), [v for v in pp["values"] if np.isfinite(v)], s=8,
                           marker="^", color="#1f5fa8", alpha=0.7, zorder=3,
                           label="parsnn vs parsnn" if k == 0 else None)
            if res[p][s]["pass"] is False:
                ax.text(k, (pn["max"] or 0) * 1.05, "x", ha="center", color="r", fontweight="bold")
        ax.set_xticks(x)
        ax.set_xticklabels(pops, rotation=45)
        ax.set_title(f"{analysis.STAT_LABELS[s]}", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="0.9")
        ax.set_axisbelow(True)
    axes[0].set_ylabel("KS distance")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(f"PD14 n_scaling {args.n_scaling:g}: KS distances (grey bar: NEST seed-to-seed range; "
                 f"{len(args.nest_seeds)} NEST, {len(args.parsnn_seeds)} parsnn seeds, parsnn realisation "
                 f"{args.realisation})",
                 fontsize=11)
    fig.savefig(path, dpi=140)
    plt.close(fig)


def plot_distributions(path, nest_stats, parsnn_stats):
    plt = analysis.pyplot()
    runs = nest_stats + parsnn_stats
    pops = list(runs[0].populations)
    fig, axes = plt.subplots(3, len(pops), figsize=(2.0 * len(pops) + 1, 6.5), constrained_layout=True,
                             squeeze=False)
    for row, s in enumerate(STATS):
        for col, p in enumerate(pops):
            ax = axes[row, col]
            allv = np.concatenate([r.populations[p].values(s) for r in runs])
            if allv.size:
                lo, hi = np.percentile(allv, [0.5, 99.5]) if s == "cc" else (allv.min(), np.percentile(allv, 99.5))
                hi = hi if hi > lo else lo + 1e-3
                for j, r in enumerate(runs):
                    v = np.sort(np.clip(r.populations[p].values(s), lo, hi))
                    if v.size:
                        nest = j < len(nest_stats)
                        first = j == 0 or j == len(nest_stats)
                        ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", lw=0.9,
                                color="0.45" if nest else "#e08214", alpha=0.8,
                                label=("NEST" if nest else "parsnn") if first else None)
            if row == 0:
                ax.set_title(p, color=analysis.pop_color(p), fontsize=10)
            if col == 0:
                ax.set_ylabel(f"{analysis.STAT_LABELS[s]}\n(cumulative)", fontsize=8)
            ax.tick_params(labelsize=7)
    if parsnn_stats and nest_stats:
        axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle("empirical CDFs per seed: NEST (grey) and parsnn (orange); rate top, ISI CV middle, CC bottom",
                 fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="validate_pd14", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--t-sim", type=float, default=5500.0, help="model time in ms incl. warm-up (default 5500)")
    ap.add_argument("--t-start", type=float, default=analysis.DEFAULT_T_START, help="warm-up in ms (default 500)")
    ap.add_argument("--nest-seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--parsnn-seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--ranks", type=int, default=2, help="MPI ranks for parsnn (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="NEST threads (default 2)")
    ap.add_argument("--cc-subsample", type=int, default=analysis.DEFAULT_CC_SUBSAMPLE)
    ap.add_argument("--cc-bin", type=float, default=analysis.DEFAULT_CC_BIN)
    ap.add_argument("--work-dir", default=os.path.join(HERE, "results", "runs"),
                    help="raw run output, reused when complete (default analysis/results/runs)")
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--max-load", type=float, default=2.5,
                    help="wait before each run while the 1-min load exceeds this (0: never wait)")
    ap.add_argument("--no-run", action="store_true", help="only analyse runs that already exist")
    ap.add_argument("--realisation", choices=["v1", "v2"], default="v2",
                    help="parsnn's realisation scheme (--realisation of parsnn run; default v2)")
    ap.add_argument("--nest-python", default=None,
                    help="interpreter that imports nest (default: this Python if it does, else benchmarks/.venv-nest)")
    ap.add_argument("--beside", default=None, metavar="JSON",
                    help="an earlier result JSON (e.g. realisation v1's) whose medians and verdicts the report lists beside")
    ap.add_argument("--tag", default=None, help="name of the result files (default n<n>_T<t>[_<realisation>])")
    args = ap.parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    os.makedirs(args.results_dir, exist_ok=True)

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    nest_runs, parsnn_runs = [], []
    for s in args.nest_seeds:
        d = nest_dir(args.work_dir, args.n_scaling, args.t_sim, s)
        if not args.no_run:
            run_nest(args, s, log)
        if nest_complete(d):
            nest_runs.append((s, d))
    for s in args.parsnn_seeds:
        fn = parsnn_file(args.work_dir, args.n_scaling, args.t_sim, s, args.realisation)
        if not args.no_run:
            run_parsnn(args, s, log)
        if parsnn_complete(fn):
            parsnn_runs.append((s, fn))
    if not nest_runs and not parsnn_runs:
        log("no complete runs to analyse")
        return 1

    log("analysing ...")
    t = time.perf_counter()
    nest_stats = [stats_of(d, args, f"NEST s{s}") for s, d in nest_runs]
    parsnn_stats = [stats_of(fn, args, f"parsnn s{s}") for s, fn in parsnn_runs]
    log(f"analysed {len(nest_stats) + len(parsnn_stats)} runs in {time.perf_counter() - t:.1f} s")
    args.nest_seeds = [s for s, _ in nest_runs]
    args.parsnn_seeds = [s for s, _ in parsnn_runs]
    res = evaluate(nest_stats, parsnn_stats)

    timing = {}
    for s, d in nest_runs:
        with open(os.path.join(d, analysis.NEST_SIDECAR)) as f:
            m = json.load(f)
        timing["nest_version"] = m.get("nest_version")
        timing[f"NEST s{s} build/sim"] = f"{m.get('build_seconds', 0):.0f}/{m.get('simulate_seconds', 0):.0f}"
    for s, fn in parsnn_runs:
        perf = sonata.read_metadata(fn)["performance"]
        timing[f"parsnn s{s} build/sim"] = (f"{max(np.atleast_1d(perf['build_seconds'])):.1f}/"
                                           f"{max(np.atleast_1d(perf['simulate_seconds'])):.0f}")

    tag = args.tag or (f"n{_fmt_n(args.n_scaling)}_T{_fmt_n(args.t_sim)}"
                       + ("" if args.realisation == "v1" else f"_{args.realisation}"))
    base = os.path.join(args.results_dir, f"pd14_validation_{tag}")
    doc = {"criterion": "pass if median(parsnn-vs-NEST KS) <= max(NEST-vs-NEST KS)",
           "n_scaling": args.n_scaling, "k_scaling": 1.0, "bg": "dc", "t_sim": args.t_sim, "t_start": args.t_start,
           "cc_subsample": args.cc_subsample, "cc_bin": args.cc_bin,
           "nest_seeds": args.nest_seeds, "parsnn_seeds": args.parsnn_seeds, "ranks": args.ranks,
           "realisation": args.realisation, "beside": args.beside and os.path.basename(args.beside),
           "threads": args.threads, "timing": timing, "results": res,
           "summaries": {st.label: st.summary()["populations"] for st in nest_stats + parsnn_stats}}
    with open(base + ".json", "w") as f:
        json.dump(analysis.jsonable(doc), f, indent=1)
    write_markdown(base + ".md", res, args, nest_stats, parsnn_stats, timing)
    plot_validation(base + ".png", res, args)
    plot_distributions(base + "_distributions.png", nest_stats, parsnn_stats)
    with open(base + ".md") as f:
        print(f.read())
    log(f"wrote {base}.json, .md, .png, _distributions.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
