"""Figures of analysis results: raster, rate box plots, distributions, population rate, KS bars.

matplotlib is imported on first use, with a non-interactive backend (:func:`pyplot`).
"""
from __future__ import annotations

import numpy as np

from parsnn.analysis.statistics import STATISTICS, RunStats, format_or_na

__all__ = ["STAT_LABELS", "COLOR_E", "COLOR_I", "COLORS_RUNS", "pop_color", "pyplot", "plot_raster",
           "plot_rate_boxplots", "plot_distributions", "plot_population_rate", "plot_ks"]

STAT_LABELS = {"rate": "firing rate (spikes/s)", "cv": "ISI CV", "cc": "spike-count CC"}
COLOR_E = "#1f5fa8"
COLOR_I = "#c8372d"
COLORS_RUNS = ("#1f5fa8", "#e08214", "#2ca02c", "#8c564b")


def pop_color(name: str) -> str:
    """Blue for excitatory (name ends in E), red for inhibitory (ends in I), grey otherwise."""
    return COLOR_E if name.endswith("E") else COLOR_I if name.endswith("I") else "#555555"


def pyplot():
    """``matplotlib.pyplot``, switched to the Agg backend unless a file backend is already set."""
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt
    return plt


def plot_raster(stats: RunStats, out: str) -> None:
    """Raster of the recorded window (populations stacked top-down, E blue, I red)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    row0, centers, names = 0, [], []
    for p, s in stats.populations.items():
        sel = s.raster_selected
        n = sel.size
        if n and s.raster_times.size:
            lut = np.full(s.size, -1, np.int64)
            lut[sel] = np.arange(n)
            ax.scatter(s.raster_times, row0 + lut[s.raster_ids], s=1.5, marker="s", linewidths=0,
                       color=pop_color(p), rasterized=True)
        centers.append(row0 + (n - 1) / 2 if n else row0)
        names.append(p)
        row0 += n
        ax.axhline(row0 - 0.5, color="0.85", lw=0.6, zorder=0)
    r0, r1 = stats.params["raster_window"]
    ax.set_xlim(r0, r1)
    ax.set_ylim(max(row0, 1) - 0.5, -0.5)
    ax.set_yticks(centers)
    ax.set_yticklabels(names)
    for lbl, p in zip(ax.get_yticklabels(), names):
        lbl.set_color(pop_color(p))
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{stats.label}: raster, {row0} of {sum(s.size for s in stats.populations.values())} neurons",
                 fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def plot_rate_boxplots(runs: list, out: str) -> None:
    """Box plots of single-neuron rates per population, one box per run side by side."""
    plt = pyplot()
    names = list(runs[0].populations)
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    k = len(runs)
    width = 0.8 / k
    for j, r in enumerate(runs):
        data = [r.populations[p].rates if p in r.populations else np.empty(0) for p in names]
        pos = np.arange(len(names)) + (j - (k - 1) / 2) * width
        bp = ax.boxplot(data, positions=pos, widths=width * 0.85, patch_artist=True, showfliers=False,
                        medianprops={"color": "k"})
        for box, p in zip(bp["boxes"], names):
            box.set_facecolor(pop_color(p) if k == 1 else COLORS_RUNS[j % len(COLORS_RUNS)])
            box.set_alpha(0.75)
        ax.plot(pos, [np.mean(d) if d.size else np.nan for d in data], "D", color="w", mec="k", ms=4,
                label=r.label if k > 1 else None)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("firing rate (spikes/s)")
    ax.set_title(f"single-neuron rates, [{runs[0].params['t_start']:g}, {runs[0].params['t_stop']:g}) ms "
                 "(box: quartiles, whiskers 1.5 IQR, diamond: mean)", fontsize=9)
    if k > 1:
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color=COLORS_RUNS[j % len(COLORS_RUNS)], label=r.label)
                           for j, r in enumerate(runs)], fontsize=8)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    fig.savefig(out, dpi=150)
    plt.close(fig)


def plot_distributions(runs: list, out: str, ks: dict | None = None) -> None:
    """Histograms of rates, CVs and CCs: rows = statistic, columns = population; runs overlaid."""
    plt = pyplot()
    names = list(runs[0].populations)
    fig, axes = plt.subplots(3, len(names), figsize=(2.0 * len(names) + 1, 6.5), constrained_layout=True,
                             squeeze=False)
    for row, stat in enumerate(STATISTICS):
        for col, p in enumerate(names):
            ax = axes[row, col]
            vals = [r.populations[p].values(stat) for r in runs if p in r.populations]
            allv = np.concatenate([v for v in vals if v.size]) if any(v.size for v in vals) else np.empty(0)
            if allv.size:
                lo, hi = np.percentile(allv, [0.5, 99.5]) if stat == "cc" else (allv.min(), allv.max())
                if hi <= lo:
                    hi = lo + 1e-3
                bins = np.linspace(lo, hi, 31)
                for j, v in enumerate(vals):
                    if v.size:
                        ax.hist(np.clip(v, lo, hi), bins=bins, density=True, histtype="step", lw=1.2,
                                color=COLORS_RUNS[j % len(COLORS_RUNS)] if len(runs) > 1 else pop_color(p),
                                label=runs[j].label)
            if ks is not None and p in ks:
                ax.text(0.97, 0.95, f"KS {format_or_na(ks[p][stat], '.3f')}", transform=ax.transAxes, ha="right",
                        va="top", fontsize=7)
            if row == 0:
                ax.set_title(p, color=pop_color(p), fontsize=10)
            if col == 0:
                ax.set_ylabel(f"{STAT_LABELS[stat]}\n(density)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=6, loc="upper right" if ks is None else "center right")
    fig.suptitle("distributions: rate (top), ISI CV (middle), spike-count CC (bottom)", fontsize=10)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def plot_population_rate(runs: list, out: str) -> None:
    """Population rate (spikes/s per neuron) over time, one panel per population; warm-up shaded."""
    plt = pyplot()
    names = list(runs[0].populations)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.1 * len(names) + 1), sharex=True,
                             constrained_layout=True, squeeze=False)
    for ax, p in zip(axes[:, 0], names):
        for j, r in enumerate(runs):
            s = r.populations.get(p)
            if s is None or not s.pop_rate.size:
                continue
            t = s.rate_t0 + (np.arange(s.pop_rate.size) + 0.5) * s.rate_bin
            ax.plot(t, s.pop_rate, lw=0.7, color=COLORS_RUNS[j % len(COLORS_RUNS)] if len(runs) > 1
                    else pop_color(p), label=r.label)
        ax.axvspan(0, runs[0].params["t_start"], color="0.92", zorder=0)
        ax.set_ylabel(p, color=pop_color(p), rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1, 0].set_xlabel("time (ms)")
    s0 = runs[0].populations[names[0]]
    axes[0, 0].set_title(f"population rate (spikes/s per neuron, {s0.rate_bin:g} ms bins; warm-up shaded)",
                         fontsize=10)
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.savefig(out, dpi=130)
    plt.close(fig)


def plot_ks(ks: dict, out: str, title: str = "KS distances") -> None:
    """Grouped bars: KS distance per population, one bar per statistic."""
    plt = pyplot()
    names = list(ks)
    fig, ax = plt.subplots(figsize=(8, 3.8), constrained_layout=True)
    for j, stat in enumerate(STATISTICS):
        v = [ks[p].get(stat, np.nan) for p in names]
        ax.bar(np.arange(len(names)) + (j - 1) * 0.27, np.nan_to_num(v), width=0.25, label=stat,
               color=COLORS_RUNS[j])
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("KS distance")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
