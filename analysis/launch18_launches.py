"""Issue 18: does a random-access kernel's speed vary between launches more than within one launch?

Runs the C micro-benchmark ``launch18_membench.c`` (built into /tmp) in many short launches, the
modes interleaved (ABAB...) so machine load hits them alike, and records around every launch the
guest's page-reporting counter (/sys/module/page_reporting/parameters/reported_kib), MemFree, the
load average, and the fraction of sampled guest-physical frames that the previous launch also used.

Usage (root for the frame numbers):
    python analysis/launch18_launches.py --label base --launches 12 --modes thp,nothp \
        --out analysis/results/launch18_membench_base.json
``--concurrent`` runs every launch as two processes at once, one pinned to each CPU (as a 2-rank job).
Prints a summary table (Markdown) and writes every launch's record as JSON.
"""
import argparse
import json
import os
import statistics as st
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = "/tmp/l18_membench"
PR = "/sys/module/page_reporting/parameters/"


def read_int(path):
    """Integer in a sysfs/proc file, or -1 if it cannot be read."""
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError):
        return -1


def meminfo(key):
    """A /proc/meminfo field in KiB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def build():
    """Compile the micro-benchmark into /tmp."""
    subprocess.run(["gcc", "-O2", "-o", BIN, os.path.join(HERE, "launch18_membench.c")], check=True)


def one_launch(mode, size_mib, reps, populate, prev_pfns):
    """Run one launch; return its record and its sampled frame set."""
    pfn_file = "/tmp/l18_pfn_%d.txt" % os.getpid()
    env = dict(os.environ, PFN_OUT=pfn_file)
    rec = {"t": time.time(), "load1": os.getloadavg()[0], "memfree_kib": meminfo("MemFree"),
           "reported_kib_before": read_int(PR + "reported_kib")}
    t0 = time.time()
    out = subprocess.run([BIN, str(size_mib), mode, str(populate), str(reps)], env=env,
                         capture_output=True, text=True, check=True).stdout
    rec["wall_s"] = time.time() - t0
    rec.update(json.loads(out))
    rec["reported_kib_after"] = read_int(PR + "reported_kib")
    with open(pfn_file) as f:
        pfns = {int(x) for x in f}
    os.unlink(pfn_file)
    rec["pfn_reused_from_prev"] = (len(pfns & prev_pfns) / len(pfns)) if (pfns and prev_pfns) else None
    return rec, pfns


def pair_launch(mode, size_mib, reps, populate):
    """Two launches at once, one pinned to each CPU (like a 2-rank job): same load for both, so a
    persistent speed difference between them belongs to the process (its memory), not to the machine."""
    rec = {"t": time.time(), "load1": os.getloadavg()[0], "reported_kib_before": read_int(PR + "reported_kib")}
    procs = [subprocess.Popen(["taskset", "-c", str(c), BIN, str(size_mib), mode, str(populate), str(reps)],
                              stdout=subprocess.PIPE, text=True) for c in (0, 1)]
    outs = [json.loads(p.communicate()[0]) for p in procs]
    rec["reported_kib_after"] = read_int(PR + "reported_kib")
    rec["mode"], rec["procs"] = mode, outs
    med = [st.median(o["chase_ns"][1:]) for o in outs]
    rec["chase_ratio"] = max(med) / min(med)
    gmed = [st.median(o["gather_ns"][1:]) for o in outs]
    rec["gather_ratio"] = max(gmed) / min(gmed)
    rec["within_cv_chase"] = [st.pstdev(o["chase_ns"][1:]) / st.mean(o["chase_ns"][1:]) for o in outs]
    return rec


def pair_summary(recs, label):
    """Markdown table for --concurrent: slower/faster process of a pair vs within-process spread."""
    lines = ["| label | mode | pairs | chase ns per process median (min-max) | slower/faster process chase "
             "(median, max) | slower/faster gather (median, max) | within-process CV chase (median) |",
             "|---|---|---|---|---|---|---|"]
    for mode in sorted({r["mode"] for r in recs}):
        rs = [r for r in recs if r["mode"] == mode]
        meds = [st.median(o["chase_ns"][1:]) for r in rs for o in r["procs"]]
        cr, gr = [r["chase_ratio"] for r in rs], [r["gather_ratio"] for r in rs]
        lines.append("| %s | %s | %d | %.1f (%.1f-%.1f) | %.3f, %.3f | %.3f, %.3f | %.3f |" % (
            label, mode, len(rs), st.median(meds), min(meds), max(meds), st.median(cr), max(cr),
            st.median(gr), max(gr), st.median(c for r in rs for c in r["within_cv_chase"])))
    return "\n".join(lines)


def summary(recs, label):
    """Markdown table: per mode, within-launch vs between-launch spread of chase and gather."""
    lines = ["| label | mode | launches | chase ns median (min-max of launch medians) | "
             "within-launch CV chase (median) | between-launch CV chase | gather ns median (min-max) | "
             "within CV gather | between CV gather | fault s median | AnonHuge MiB median | 2M-frame frac median |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode in sorted({r["mode"] for r in recs}):
        rs = [r for r in recs if r["mode"] == mode]

        def cols(key):
            meds = [st.median(r[key][1:] or r[key]) for r in rs]  # first rep dropped (warm-up)
            within = [st.pstdev(r[key][1:]) / st.mean(r[key][1:]) for r in rs if len(r[key]) > 2]
            between = st.pstdev(meds) / st.mean(meds)
            return ("%.1f (%.1f-%.1f)" % (st.median(meds), min(meds), max(meds)),
                    "%.3f" % st.median(within), "%.3f" % between)
        c, g = cols("chase_ns"), cols("gather_ns")
        lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %.2f | %.0f | %.2f |" % (
            label, mode, len(rs), c[0], c[1], c[2], g[0], g[1], g[2],
            st.median(r["fault_s"] for r in rs), st.median(r["anon_huge_kib"] / 1024 for r in rs),
            st.median(r["pfn_2m_frac"] for r in rs)))
    return "\n".join(lines)


def main():
    """Command-line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--launches", type=int, default=12, help="launches per mode")
    ap.add_argument("--modes", default="thp,nothp")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--populate", type=int, default=0)
    ap.add_argument("--gap-s", type=float, default=1.0, help="pause between launches")
    ap.add_argument("--concurrent", action="store_true",
                    help="every launch is two processes at once, pinned to CPU 0 and 1")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    build()
    modes = a.modes.split(",")
    recs, prev = [], set()
    for i in range(a.launches):
        order = modes if i % 2 == 0 else modes[::-1]
        for mode in order:
            if a.concurrent:
                rec = pair_launch(mode, a.size_mib, a.reps, a.populate)
            else:
                rec, prev = one_launch(mode, a.size_mib, a.reps, a.populate, prev)
            rec["label"], rec["launch"] = a.label, i
            recs.append(rec)
            print(json.dumps(rec), flush=True)
            time.sleep(a.gap_s)
    with open(a.out, "w") as f:
        json.dump({"label": a.label, "args": vars(a), "page_reporting": {
            k: open(PR + k).read().strip() for k in ("page_reporting_order", "min_free_ms",
                                                     "max_waiting_mib", "free_bitmap_enable")},
            "launches": recs}, f, indent=1)
    print(pair_summary(recs, a.label) if a.concurrent else summary(recs, a.label))


if __name__ == "__main__":
    main()
