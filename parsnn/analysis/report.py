"""Text tables, the report directory (JSON, NPZ, figures) and the ``parsnn analyze`` command.

The tables are :func:`parsnn.tables.format_table` tables; a missing value prints as ``n/a`` in
its column.
"""
from __future__ import annotations

import json
import os
import sys
import warnings

from parsnn import tables
from parsnn.analysis.plots import (plot_distributions, plot_ks, plot_population_rate, plot_raster,
                                   plot_rate_boxplots)
from parsnn.analysis.readers import IncompleteRunError
from parsnn.analysis.statistics import (DEFAULT_CC_BIN, DEFAULT_CC_SUBSAMPLE, DEFAULT_SUBSAMPLE_SEED,
                                        DEFAULT_T_START, RunStats, analyze, compare, format_or_na, jsonable)

__all__ = ["format_summary", "format_ks_table", "write_report", "add_cli_arguments", "run_cli", "main"]


def _population_width(names) -> int:
    """Width of the population column: the longest name, at least ``len("population")``."""
    return max([len("population")] + [len(p) for p in names])


def _number(spec: str):
    """Cell format: ``spec`` for a number, ``n/a`` (padded like a number) for None or non-finite."""
    return lambda x: format_or_na(x, spec)


def format_summary(stats: RunStats) -> str:
    """Table of one run: per population size, spikes, rate mean/sd, silent fraction, CV and CC."""
    p0 = stats.params
    columns = [tables.Column("population", "population", "", _population_width(stats.populations), "<"),
               tables.Column("size", "size", "d", 7), tables.Column("spikes", "n_spikes", "d", 9),
               tables.Column("rate", "rate_mean", _number(".3f"), 7),
               tables.Column("sd", "rate_std", _number(".2f"), 6),
               tables.Column("silent", "silent_fraction", _number(".3f"), 6),
               tables.Column("n_cv", "n_cv", "d", 6), tables.Column("CV", "cv_mean", _number(".3f"), 6),
               tables.Column("n_cc", "n_cc", "d", 5), tables.Column("CC mean", "cc_mean", _number(".4f"), 8),
               tables.Column("CC sd", "cc_std", _number(".4f"), 7)]
    rows = [{"population": p, **s.summary()} for p, s in stats.populations.items()]
    return (f"{stats.label} [{stats.kind}]: [{p0['t_start']:g}, {p0['t_stop']:g}) ms, "
            f"CC: {p0['cc_subsample']} neurons, {p0['cc_bin']:g} ms bins\n" + tables.format_table(columns, rows))


def format_ks_table(ks: dict, title: str = "KS distances") -> str:
    """Table of KS distances ``{pop: {stat: D}}`` (see :func:`compare`) under ``title``."""
    columns = [tables.Column("population", "population", "", _population_width(ks), "<")]
    columns += [tables.Column(stat, stat, _number(".3f"), 7) for stat in next(iter(ks.values()))]
    return title + "\n" + tables.format_table(columns, [{"population": p, **d} for p, d in ks.items()])


def write_report(stats: RunStats, out_dir: str, other: RunStats | None = None, figures: bool = True) -> dict:
    """Write ``summary.json``, ``stats.npz`` and the figures (and ``comparison.json`` with ``other``).

    Returns ``{"summary": ..., "comparison": ... or None, "files": [paths]}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    files = []
    ks = compare(stats, other) if other is not None else None
    result = {"summary": stats.summary(), "comparison": None}
    if other is not None:
        result["comparison"] = {"a": stats.label, "b": other.label, "a_source": stats.source,
                                "b_source": other.source, "statistic": "two-sample KS distance (ks_2samp)",
                                "b_summary": other.summary(), "ks": ks}
        path = os.path.join(out_dir, "comparison.json")
        with open(path, "w") as f:
            json.dump(jsonable(result["comparison"]), f, indent=1)
        files.append(path)
    path = os.path.join(out_dir, "summary.json")
    with open(path, "w") as f:
        json.dump(jsonable(result["summary"]), f, indent=1)
    files.append(path)
    path = os.path.join(out_dir, "stats.npz")
    stats.save_npz(path)
    files.append(path)
    if figures:
        runs = [stats] + ([other] if other is not None else [])
        for name, fn in (("raster.png", lambda o: plot_raster(stats, o)),
                         ("rates_boxplot.png", lambda o: plot_rate_boxplots(runs, o)),
                         ("distributions.png", lambda o: plot_distributions(runs, o, ks)),
                         ("population_rate.png", lambda o: plot_population_rate(runs, o))):
            path = os.path.join(out_dir, name)
            fn(path)
            files.append(path)
        if other is not None:
            path = os.path.join(out_dir, "raster_other.png")
            plot_raster(other, path)
            files.append(path)
            path = os.path.join(out_dir, "ks_distances.png")
            plot_ks(ks, path, f"KS distances: {stats.label} vs {other.label}")
            files.append(path)
    result["files"] = files
    return result


# --------------------------------------------------------------------------- command line

def add_cli_arguments(ap) -> None:
    """Arguments of ``parsnn analyze`` (also used by ``analysis/analyze.py``)."""
    ap.add_argument("run", help="parsnn run file (HDF5) or NEST ASCII spike-recorder directory")
    ap.add_argument("--compare", metavar="OTHER", help="second run (HDF5 file or NEST directory): KS distances")
    ap.add_argument("--out-dir", help="output directory (default: <run>_analysis next to the run)")
    ap.add_argument("--t-start", type=float, default=DEFAULT_T_START,
                    help=f"end of the warm-up in ms (default {DEFAULT_T_START:g})")
    ap.add_argument("--t-stop", type=float, default=None, help="end of the analysis window in ms (default t_sim)")
    ap.add_argument("--cc-subsample", type=int, default=DEFAULT_CC_SUBSAMPLE,
                    help=f"neurons per population for the CCs (default {DEFAULT_CC_SUBSAMPLE})")
    ap.add_argument("--cc-bin", type=float, default=DEFAULT_CC_BIN,
                    help=f"spike-count bin for the CCs in ms (default {DEFAULT_CC_BIN:g})")
    ap.add_argument("--subsample-seed", type=int, default=DEFAULT_SUBSAMPLE_SEED,
                    help=f"seed of the CC subsample (default {DEFAULT_SUBSAMPLE_SEED})")
    ap.add_argument("--force", action="store_true", help="read a run not marked complete")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    ap.add_argument("--no-figures", action="store_true", help="write only the JSON and NPZ files")


def run_cli(args) -> int:
    """Run ``parsnn analyze`` with parsed ``args``; returns the exit status."""
    prog = "parsnn analyze"
    if args.cc_subsample < 0 or args.cc_bin <= 0:
        print(f"{prog}: error: --cc-subsample must be >= 0 and --cc-bin > 0", file=sys.stderr)
        return 2
    results = []
    for path in [args.run] + ([args.compare] if args.compare else []):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(analyze(path, t_start=args.t_start, t_stop=args.t_stop,
                                       cc_subsample=args.cc_subsample, cc_bin=args.cc_bin,
                                       subsample_seed=args.subsample_seed, allow_incomplete=args.force))
            for w in caught:
                print(f"{prog}: warning: {w.message}", file=sys.stderr)
        except IncompleteRunError as e:
            print(f"{prog}: error: {e}", file=sys.stderr)
            return 1
        except (OSError, KeyError, ValueError) as e:
            msg = str(e).strip("'\"")
            print(f"{prog}: error: {msg if path in msg else f'{path}: {msg}'}", file=sys.stderr)
            return 1
    stats = results[0]
    other = results[1] if len(results) > 1 else None
    out_dir = args.out_dir or (os.path.splitext(os.path.normpath(args.run))[0] + "_analysis")
    try:
        res = write_report(stats, out_dir, other, figures=not args.no_figures)
    except ValueError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(jsonable({"summary": res["summary"], "comparison": res["comparison"],
                                    "files": res["files"]}), indent=1))
    else:
        print(format_summary(stats))
        if other is not None:
            print()
            print(format_summary(other))
            print()
            print(format_ks_table(res["comparison"]["ks"], f"KS distances, {stats.label} vs {other.label}"))
        print()
        print(f"wrote {len(res['files'])} files to {out_dir}: " + ", ".join(os.path.basename(f) for f in res["files"]))
    return 0


def main(argv=None) -> int:
    """``parsnn analyze`` as a program of its own (``python -m parsnn.analysis``, analysis/analyze.py)."""
    import argparse
    package_doc = sys.modules[__package__].__doc__
    ap = argparse.ArgumentParser(prog="parsnn analyze", description=package_doc.split("\n\n")[0])
    add_cli_arguments(ap)
    return run_cli(ap.parse_args(argv))
