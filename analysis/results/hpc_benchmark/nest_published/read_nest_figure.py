"""Read NEST's published hpc_benchmark weak-scaling RTFs off the figures of nest/performance-benchmarks (session 21).

    git clone https://github.com/nest/performance-benchmarks /tmp/nest-pb
    python read_nest_figure.py /tmp/nest-pb/source/_static/img/hpc_benchmark_NEST-v3.8.png 1,2,4,8,16,32,64
    python read_nest_figure.py /tmp/nest-pb/source/_static/img/hpc_benchmark.png 4,8,12,32,64

The right panel of each figure plots the real-time factor (state propagation) against the number of JURECA-DC nodes,
with error bars (standard deviation over 3 runs, as the page says). The script finds that panel's axes and tick
marks (black pixels), then, in the pink curve's colour, the extent of the error bar at each x tick: the value is the
middle of the bar, the range its ends (each end includes half the line's width, ~0.1 RTF). The node counts are the
tick labels as printed under the axis (given on the command line, left to right)."""
import sys

import numpy as np
from PIL import Image


def groups(idx, gap=2):
    out = []
    for i in idx:
        if out and i - out[-1][-1] <= gap:
            out[-1].append(i)
        else:
            out.append([i])
    return [float(np.mean(g)) for g in out]


def main():
    path, nodes = sys.argv[1], [int(n) for n in sys.argv[2].split(",")]
    im = np.asarray(Image.open(path).convert("RGB")).astype(int)
    H, W, _ = im.shape
    half = W // 2
    black = im[:, half:, :].sum(axis=2) < 100
    col = int(np.argmax(black.sum(axis=0)))                 # the right panel's y axis
    y0 = int(np.argmax(black.sum(axis=1)))                  # its x axis
    yt = sorted(groups([y for y in range(H) if black[y, col - 12:col - 2].sum() >= 8]), reverse=True)
    xt = [half + x for x in groups([x for x in range(col + 1, black.shape[1]) if black[y0 + 2:y0 + 14, x].sum() >= 8])]
    if len(xt) != len(nodes):
        raise SystemExit(f"found {len(xt)} x ticks right of the y axis, got {len(nodes)} node counts")
    per_unit = (yt[0] - yt[-1]) / (10.0 * (len(yt) - 1))    # y ticks at 0, 10, 20, ...
    r, g, b = im[..., 0], im[..., 1], im[..., 2]
    pink = (r > 230) & (g > 140) & (g < 200) & (b > 160) & (b < 215)
    print(f"# {path}: y ticks at rows {[round(v) for v in yt]}, x ticks at columns {[round(v) for v in xt]}")
    print("nodes,rtf,rtf_low,rtf_high")
    for n, x in zip(nodes, xt):
        xi = int(round(x))
        ys = np.flatnonzero(pink[:y0, xi - 1:xi + 2].any(axis=1))
        lo, hi = (yt[0] - ys.max()) / per_unit, (yt[0] - ys.min()) / per_unit
        print(f"{n},{(lo + hi) / 2:.2f},{lo:.2f},{hi:.2f}")


if __name__ == "__main__":
    main()
