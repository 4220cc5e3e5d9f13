#!/usr/bin/env python
"""Per-run figures of an ab_layouts.py file made with --cpu-timers (layout13 README):
delivery CPU ns/event (all threads and ranks), update CPU, team wait and serial seconds, RTF, the process CPU
outside delivery and update, and the pair ratios A/B.   python summary.py FILE.json"""
import json
import statistics as S
import sys


def figures(run: dict) -> dict:
    tt = [t for rk in run["thread_timers"] for t in rk]
    ev = sum(t["events"] for t in tt)
    work = sum(t["deliver_cpu_s"] + t["update_cpu_s"] for t in tt)
    return {"ns_per_event": sum(t["deliver_cpu_s"] for t in tt) / ev * 1e9,
            "update_cpu": sum(t["update_cpu_s"] for t in tt), "wait": sum(t["wait_s"] for t in tt),
            "serial": sum(t["serial_s"] for t in tt), "rtf": run["rtf"], "cpu": run["cpu_seconds"],
            "cpu_other": run["cpu_seconds"] - work, "load1": run["load1_before"],
            "per_thread_ns_per_event": [round(t["deliver_cpu_s"] / t["events"] * 1e9, 3) for t in tt]}


def main(path: str):
    r = json.load(open(path))
    got = {}
    for s in "ab":
        got[s] = [figures(x) for x in r[s]["runs"]]
        print(s, f"{r[s]['ranks']}x{r[s]['threads']}", r[s]["args"])
        for f in got[s]:
            print("  ", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in f.items()})
        print("   medians", {k: round(S.median(f[k] for f in got[s]), 3)
                             for k in ("ns_per_event", "update_cpu", "wait", "rtf", "cpu_other")})
    for k in ("ns_per_event", "update_cpu", "rtf", "cpu", "cpu_other"):
        q = [a[k] / b[k] for a, b in zip(got["a"], got["b"])]
        print(f"pair ratios A/B {k}:", [round(v, 3) for v in q], "median", round(S.median(q), 3))


if __name__ == "__main__":
    main(sys.argv[1])
