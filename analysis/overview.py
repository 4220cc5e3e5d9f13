#!/usr/bin/env python
"""Overview of a parsnn run: mean firing rates per population, raster plot and rate bars.

    python analysis/overview.py run.h5 [--out fig.png] [--t-start 500] [--window 200] [--force]

Rates are counted after the warm-up ``t_start`` up to ``t_sim``:
rate = spikes / (size * duration).  The raster shows ``[t_start, t_start + window)`` for at
most ``--max-neurons`` neurons, the same fraction of every population (evenly spaced ids),
populations stacked top-down in file order.  Refuses incomplete runs unless ``--force``.
"""
from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

try:
    from parsnn.runfile import sonata  # noqa: E402
except ImportError:  # run as a script from a source checkout without PYTHONPATH
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from parsnn.runfile import sonata  # noqa: E402

COLOR_E = "#1f5fa8"
COLOR_I = "#c8372d"
COLOR_OTHER = "#555555"


def pop_color(name: str) -> str:
    """Blue for excitatory (name ends in E), red for inhibitory (ends in I), grey otherwise."""
    if name.endswith("E"):
        return COLOR_E
    if name.endswith("I"):
        return COLOR_I
    return COLOR_OTHER


def select_neurons(sizes: dict, max_neurons: int = 2000) -> dict:
    """``{pop: sorted local ids}`` for the raster, evenly spaced within each population.

    Populations get rows in proportion to their size, except that each gets at least
    ``max_neurons // (4 * n_pops)`` rows (or all its neurons) so small populations stay
    visible.  The total never exceeds ``max(max_neurons, n_nonempty_pops)``.
    """
    names = [p for p in sizes if sizes[p] > 0]
    counts = {p: 0 for p in sizes}
    if names:
        budget = max(max_neurons, len(names))
        floor = {p: min(sizes[p], max(1, budget // (4 * len(names)))) for p in names}
        floored = set()
        # proportional share of what is left after the populations pinned at their floor
        for _ in range(len(names) + 1):
            free = [p for p in names if p not in floored]
            left = budget - sum(floor[p] for p in floored)
            tot = sum(sizes[p] for p in free)
            frac = min(1.0, left / tot) if tot else 1.0
            newly = {p for p in free if frac * sizes[p] < floor[p]}
            if not newly:
                break
            floored |= newly
        for p in names:
            counts[p] = floor[p] if p in floored else min(sizes[p], int(frac * sizes[p]))
    return {p: (np.unique(np.linspace(0, sizes[p] - 1, n).round().astype(np.int64)) if n
                else np.empty(0, np.int64)) for p, n in counts.items()}


def population_summary(path_or_file, t_start: float, t_stop=None, allow_incomplete=False) -> dict:
    """``{pop: (size, n_spikes, rate_hz)}`` after ``t_start`` (see :func:`sonata.firing_rates`)."""
    sizes = sonata.population_sizes(path_or_file, allow_incomplete=allow_incomplete)
    counts = sonata.count_spikes(path_or_file, None, t_start, t_stop, allow_incomplete=allow_incomplete)
    rates = sonata.firing_rates(path_or_file, t_start, t_stop, allow_incomplete=allow_incomplete)
    return {p: (sizes[p], counts[p], rates[p]) for p in sizes}


def format_table(summary: dict) -> str:
    w = max([len("population")] + [len(p) for p in summary])
    lines = [f"{'population':<{w}}  {'size':>9}  {'spikes':>11}  {'rate (Hz)':>9}"]
    lines.append("-" * len(lines[0]))
    for p, (size, n, rate) in summary.items():
        lines.append(f"{p:<{w}}  {size:>9d}  {n:>11d}  {rate:>9.3f}")
    tot_size = sum(s for s, _, _ in summary.values())
    tot_n = sum(n for _, n, _ in summary.values())
    if len(summary) > 1 and tot_size:
        # size-weighted mean rate of the whole network
        mean = sum(s * r for s, _, r in summary.values() if s) / tot_size
        lines.append("-" * len(lines[0]))
        lines.append(f"{'all':<{w}}  {tot_size:>9d}  {tot_n:>11d}  {mean:>9.3f}")
    return "\n".join(lines)


def plot_overview(f, summary: dict, t0: float, t1: float, title: str, out: str,
                  max_neurons: int = 2000) -> None:
    """Raster of ``[t0, t1)`` (subsampled) on the left, mean-rate bars on the right."""
    sizes = {p: s for p, (s, _, _) in summary.items()}
    chosen = select_neurons(sizes, max_neurons)
    spikes = sonata.read_spikes(f, None, t0, t1)

    fig, (ax_r, ax_b) = plt.subplots(1, 2, figsize=(11, 6), gridspec_kw={"width_ratios": [3.2, 1]},
                                     constrained_layout=True)
    n_rows = sum(len(v) for v in chosen.values())
    centers = []
    row0 = 0
    for p, ids_sel in chosen.items():
        n = len(ids_sel)
        t, ids = spikes[p]
        if n and t.size:
            # row of every selected neuron, -1 for the rest (vectorised lookup table)
            lut = np.full(sizes[p], -1, np.int64)
            lut[ids_sel] = np.arange(n)
            rows = lut[ids.astype(np.intp)]
            keep = rows >= 0
            y = row0 + rows[keep]
            ax_r.scatter(t[keep], y, s=1.5, marker="s", linewidths=0, color=pop_color(p),
                         rasterized=True)
        centers.append(row0 + (n - 1) / 2 if n else row0)
        row0 += n
        if row0 < n_rows:
            ax_r.axhline(row0 - 0.5, color="0.8", lw=0.6, zorder=0)

    # mean rates as horizontal bars, same top-down order as the raster
    names = list(chosen)
    rates = np.array([summary[p][2] for p in names], dtype=float)
    ypos = np.arange(len(names))
    ax_b.barh(ypos, np.nan_to_num(rates), height=0.7, color=[pop_color(p) for p in names])
    rmax = float(np.nanmax(rates)) if np.isfinite(rates).any() else 0.0
    for y, r in zip(ypos, rates):
        ax_b.text((r if np.isfinite(r) else 0) + 0.02 * (rmax or 1), y,
                  f"{r:.2f}" if np.isfinite(r) else "n/a", va="center", ha="left", fontsize=8)
    ax_b.set_xlim(0, 1.22 * rmax if rmax > 0 else 1)
    ax_b.set_ylim(len(names) - 0.5, -0.5)
    ax_b.set_yticks(ypos)
    ax_b.set_yticklabels(names)
    for lbl, p in zip(ax_b.get_yticklabels(), names):
        lbl.set_color(pop_color(p))
    ax_b.set_xlabel("mean rate (Hz)")
    ax_b.set_title(f"mean rates, t \u2265 {t0:g} ms", fontsize=10)
    ax_b.grid(axis="x", color="0.9", lw=0.6)
    ax_b.set_axisbelow(True)
    ax_b.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax_b.spines[side].set_visible(False)

    ax_r.set_xlim(t0, t1)
    ax_r.set_ylim(max(n_rows, 1) - 0.5, -0.5)  # first population on top
    ax_r.set_yticks(centers)
    ax_r.set_yticklabels(list(chosen))
    for lbl, p in zip(ax_r.get_yticklabels(), chosen):
        lbl.set_color(pop_color(p))
    ax_r.tick_params(axis="y", length=0)
    ax_r.set_xlabel("time (ms)")
    ax_r.set_title(f"raster, {n_rows} of {sum(sizes.values())} neurons", fontsize=10)
    for side in ("top", "right"):
        ax_r.spines[side].set_visible(False)

    fig.suptitle(title, fontsize=11)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="overview", description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="run output file (HDF5)")
    ap.add_argument("--out", help="figure path (default: <run>_overview.png)")
    ap.add_argument("--t-start", type=float, default=500.0,
                    help="end of warm-up in ms; rates and raster start here (default 500)")
    ap.add_argument("--t-stop", type=float, default=None,
                    help="end of the rate window in ms (default: t_sim)")
    ap.add_argument("--window", type=float, default=200.0, help="raster length in ms (default 200)")
    ap.add_argument("--max-neurons", type=int, default=2000,
                    help="at most this many neurons in the raster (default 2000)")
    ap.add_argument("--force", action="store_true", help="read an incomplete run anyway")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.window <= 0:
        print("overview: --window must be > 0", file=sys.stderr)
        return 2
    if args.max_neurons < 1:
        print("overview: --max-neurons must be >= 1", file=sys.stderr)
        return 2
    try:
        f = sonata.open_run(args.run, allow_incomplete=args.force)
    except sonata.IncompleteRunError as e:
        print(f"overview: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"overview: cannot open {args.run}: {e}", file=sys.stderr)
        return 1
    with f:
        meta = sonata.read_metadata(f) if "parsnn" in f else {}
        t_sim = meta.get("t_sim")
        t_stop = args.t_stop
        if t_stop is None and t_sim is None:
            # incomplete / foreign file: fall back to the last spike time
            last = [float(g["timestamps"][-1]) for g in f["spikes"].values()
                    if g["timestamps"].shape[0]]
            # just past the last spike, so the half-open window still counts it
            t_stop = float(np.nextafter(max(last), np.inf)) if last else args.t_start
            print(f"overview: warning: no t_sim in {args.run}; rates use t_stop = last spike "
                  f"({t_stop:g} ms)", file=sys.stderr)
        end = t_stop if t_stop is not None else float(t_sim)
        if not args.t_start < end:
            print(f"overview: --t-start ({args.t_start:g} ms) must be before the end of the "
                  f"run/rate window ({end:g} ms)", file=sys.stderr)
            return 2
        summary = population_summary(f, args.t_start, t_stop, allow_incomplete=True)
        model = meta.get("model", "")
        header = (f"{os.path.basename(args.run)}: model={model or '?'}, "
                  f"t_sim={t_sim if t_sim is not None else '?'} ms, "
                  f"ranks={meta.get('num_ranks', '?')}")
        if not meta.get("complete", False):
            header += "  [INCOMPLETE RUN]"
        print(header)
        print(f"mean rates in [{args.t_start:g}, {end:g}) ms")
        print(format_table(summary))

        t1 = min(args.t_start + args.window, end)
        out = args.out or os.path.splitext(args.run)[0] + "_overview.png"
        title = (f"{model} \u2014 " if model else "") + os.path.basename(args.run)
        if not meta.get("complete", False):
            title += "  (INCOMPLETE)"
        plot_overview(f, summary, args.t_start, t1, title, out, args.max_neurons)
        print(f"figure: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
