"""Issue 18: is one vCPU slower than the other for seconds at a time? (reads launch18_vcpu_probe output)

    taskset -c 0 launch18_vcpu_probe 90 > v0.txt & taskset -c 1 launch18_vcpu_probe 90 > v1.txt; wait
    python analysis/launch18_vcpu_series.py v0.txt v1.txt [--window 1.0]

Keeps the samples with at most ``--max-switches`` involuntary switches (default all), takes per vCPU the median CPU ns per
access in every window, and reports the ratio vCPU0/vCPU1 per window: its spread, the share of windows where
one vCPU is > 1.2x / > 1.5x slower, and the longest run of consecutive windows with the same vCPU > 1.2x slower.
"""
import argparse
import statistics as st


def load(path, max_switches):
    """(t, cpu_ns) of the samples with at most ``max_switches`` involuntary context switches."""
    out = []
    for line in open(path):
        t, c, _w, sw = line.split()
        if max_switches < 0 or int(sw) <= max_switches:
            out.append((float(t), float(c)))
    return out


def _corr(x, y):
    """Pearson correlation."""
    mx, my = st.mean(x), st.mean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return sxy / (sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y)) ** 0.5


def main():
    """Command-line entry."""
    ap = argparse.ArgumentParser()
    ap.add_argument("v0")
    ap.add_argument("v1")
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--max-switches", type=int, default=-1,
                    help="keep samples with at most this many involuntary switches (-1: all; on a loaded machine "
                         "almost every 20 ms sample is preempted, and CPU time already leaves the time off the CPU out)")
    a = ap.parse_args()
    s = [load(a.v0, a.max_switches), load(a.v1, a.max_switches)]
    end = min(max(t for t, _ in x) for x in s)
    ratios, meds = [], [[], []]
    w = 0.0
    while w + a.window <= end:
        m = []
        for k in (0, 1):
            v = [c for t, c in s[k] if w <= t < w + a.window]
            m.append(st.median(v) if len(v) >= 3 else None)
        if None not in m:
            ratios.append(m[0] / m[1])
            meds[0].append(m[0])
            meds[1].append(m[1])
        w += a.window
    slow = [max(r, 1 / r) for r in ratios]
    longest, cur, side = 0, 0, 0
    for r in ratios:
        sd = 1 if r > 1.2 else (-1 if r < 1 / 1.2 else 0)
        cur = cur + 1 if sd != 0 and sd == side else (1 if sd != 0 else 0)
        side = sd
        longest = max(longest, cur)
    q = sorted(slow)
    print(f"windows of {a.window} s: {len(ratios)}; samples kept: {len(s[0])}, {len(s[1])}")
    print("vCPU0 ns/access median %.1f (min %.1f, max %.1f); vCPU1 %.1f (%.1f, %.1f)" % (
        st.median(meds[0]), min(meds[0]), max(meds[0]), st.median(meds[1]), min(meds[1]), max(meds[1])))
    print("slower/faster vCPU per window: median %.3f, 90th pct %.3f, max %.3f; > 1.2x in %.0f %%, > 1.5x in %.0f %%"
          % (st.median(q), q[int(0.9 * (len(q) - 1))], q[-1], 100 * sum(x > 1.2 for x in q) / len(q),
             100 * sum(x > 1.5 for x in q) / len(q)))
    print("correlation of the two vCPUs' window medians: %.2f" % _corr(meds[0], meds[1]))
    for k, path in enumerate((a.v0, a.v1)):
        rows = [line.split() for line in open(path)]
        print("vCPU%d: correlation of a sample's CPU ns with its involuntary switches: %.2f (mean %.1f switches per sample)"
              % (k, _corr([float(r[1]) for r in rows], [float(r[3]) for r in rows]),
                 sum(float(r[3]) for r in rows) / len(rows)))
    print(f"longest run of windows with the same vCPU > 1.2x slower: {longest} windows ({longest * a.window:.0f} s)")


if __name__ == "__main__":
    main()
