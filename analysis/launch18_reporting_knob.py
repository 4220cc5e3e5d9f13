"""Issue 18: what does this guest kernel's page_reporting ``min_free_ms`` do? (root)

Frees 1 GiB (one micro-benchmark launch) and samples the page-reporting counter every 0.5 s for 12 s
after its exit, with ``min_free_ms`` at its current value and at ``--value``; restores the original value.
    python analysis/launch18_reporting_knob.py --value 60000
"""
import argparse
import subprocess
import time

P = "/sys/module/page_reporting/parameters/"


def rd(k):
    """A page_reporting parameter."""
    with open(P + k) as f:
        return f.read().strip()


def wr(k, v):
    """Set a page_reporting parameter."""
    with open(P + k, "w") as f:
        f.write(str(v))


def trace(label):
    """Reported MiB after a 1 GiB process exits, every 0.5 s."""
    subprocess.run(["/tmp/l18_membench", "1024", "nothp", "0", "1"], check=True, capture_output=True)
    r0, out = int(rd("reported_kib")), []
    for _ in range(24):
        time.sleep(0.5)
        out.append((int(rd("reported_kib")) - r0) // 1024)
    print(f"{label}: min_free_ms={rd('min_free_ms')} reported MiB after exit (every 0.5 s): {out}", flush=True)


def main():
    """Command-line entry."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--value", type=int, default=60000)
    a = ap.parse_args()
    old = rd("min_free_ms")
    try:
        trace("default")
        wr("min_free_ms", a.value)
        trace("changed")
        trace("changed, again")
    finally:
        wr("min_free_ms", old)
    print("restored min_free_ms =", rd("min_free_ms"))
    trace("restored")


if __name__ == "__main__":
    main()
