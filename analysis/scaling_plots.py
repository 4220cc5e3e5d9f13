"""Plots of a scaling sweep: time to solution and real-time factor against ranks
(with the ideal line), parallel efficiency, and the per-phase timers, with the cost
model's prediction (parsnn.mapping.cluster, --machine) over the measured RTF and phases.

    python analysis/scaling_plots.py SWEEP_DIR [--kind strong|weak] [--out fig.png]

SWEEP_DIR holds the runs of `parsnn scaling ...` (their HDF5 files); a results
table `results.json` is written beside them. Oversubscribed points (more ranks
than cores) are drawn hollow. `parsnn scaling` draws the same figure itself.
"""
import argparse
import json
import os
import sys

from parsnn.scaling import collect, plot_sweep


def main(argv=None):
    """Command line: collect the sweep's runs, write results.json and the figure."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep_dir")
    ap.add_argument("--kind", choices=["strong", "weak"], default=None,
                    help="default: from the run names (strong_/weak_)")
    ap.add_argument("--out", default=None, help="figure path (default SWEEP_DIR/scaling.png)")
    ap.add_argument("--machine", default="auto",
                    help="machine description for the cost model's prediction (default: this machine's "
                         "calibration made by parsnn calibrate; none without one)")
    args = ap.parse_args(argv)
    rows = collect(args.sweep_dir, args.machine)
    if not rows:
        print(f"no complete runs in {args.sweep_dir}", file=sys.stderr)
        return 1
    kind = args.kind or ("weak" if rows[0]["name"].startswith("weak") else "strong")
    with open(os.path.join(args.sweep_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    out = args.out or os.path.join(args.sweep_dir, "scaling.png")
    plot_sweep(rows, kind, out)
    print(f"{len(rows)} runs -> {os.path.join(args.sweep_dir, 'results.json')}, {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
