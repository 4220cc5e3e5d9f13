"""Plots of a scaling sweep: time to solution and real-time factor against ranks
(with the ideal line), parallel efficiency, and the per-phase timers.

    python analysis/scaling_plots.py SWEEP_DIR [--kind strong|weak] [--out fig.png]

SWEEP_DIR holds the runs of `parsnn scaling ...` (their HDF5 files); a results
table `results.json` is written beside them. Oversubscribed points (more ranks
than cores) are drawn hollow.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from parsnn.scaling import collect  # noqa: E402

PHASES = ("update", "deliver", "exchange", "record")
COLORS = {"update": "#4c72b0", "deliver": "#dd8452", "exchange": "#c44e52", "record": "#8c8c8c"}


def plot(rows, kind, out):
    P = np.array([r["ranks"] for r in rows], dtype=float)
    tts = np.array([r["time_to_solution"] for r in rows])
    rtf = np.array([r["rtf"] for r in rows])
    over = np.array([r["oversubscribed"] for r in rows])
    fig, ax = plt.subplots(1, 4, figsize=(17, 4))

    def points(a, x, y, label):
        a.plot(x, y, "-", color="k", lw=1)
        a.plot(x[~over], y[~over], "o", color="k", label=label)
        if over.any():
            a.plot(x[over], y[over], "o", mfc="none", color="k", label=f"{label} (oversubscribed)")

    if kind == "strong":
        ideal_tts, ideal_rtf = tts[0] * P[0] / P, rtf[0] * P[0] / P
        eff = tts[0] * P[0] / (tts * P)
    else:
        ideal_tts, ideal_rtf = np.full_like(tts, tts[0]), np.full_like(rtf, rtf[0])
        eff = tts[0] / tts
    for a, y, ideal, title in ((ax[0], tts, ideal_tts, "time to solution (s)"),
                               (ax[1], rtf, ideal_rtf, "real-time factor")):
        points(a, P, y, "measured")
        a.plot(P, ideal, "--", color="0.5", label="ideal")
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_title(title)
        a.set_xlabel("MPI ranks")
        a.legend(fontsize=8)
    points(ax[2], P, eff, "measured")
    ax[2].axhline(1.0, ls="--", color="0.5")
    ax[2].set_ylim(0, 1.2)
    ax[2].set_xscale("log", base=2)
    ax[2].set_title(f"{kind} scaling efficiency")
    ax[2].set_xlabel("MPI ranks")
    bottom = np.zeros(len(rows))
    x = np.arange(len(rows))
    for ph in PHASES:
        v = np.array([r[f"timer_{ph}"] for r in rows])
        ax[3].bar(x, v, bottom=bottom, color=COLORS[ph], label=ph)
        bottom += v
    ax[3].set_xticks(x, [f"{int(p)}{'*' if o else ''}" for p, o in zip(P, over)])
    ax[3].set_xlabel("MPI ranks (* oversubscribed)")
    ax[3].set_title("simulate phase timers, max over ranks (s)")
    ax[3].legend(fontsize=8)
    model = rows[0]["model"]
    fig.suptitle(f"{model}: {kind} scaling ({rows[0]['t_sim_ms']:g} ms model time per run)")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep_dir")
    ap.add_argument("--kind", choices=["strong", "weak"], default=None,
                    help="default: from the run names (strong_/weak_)")
    ap.add_argument("--out", default=None, help="figure path (default SWEEP_DIR/scaling.png)")
    args = ap.parse_args(argv)
    rows = collect(args.sweep_dir)
    if not rows:
        print(f"no complete runs in {args.sweep_dir}", file=sys.stderr)
        return 1
    kind = args.kind or ("weak" if rows[0]["name"].startswith("weak") else "strong")
    with open(os.path.join(args.sweep_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    out = args.out or os.path.join(args.sweep_dir, "scaling.png")
    plot(rows, kind, out)
    print(f"{len(rows)} runs -> {os.path.join(args.sweep_dir, 'results.json')}, {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
