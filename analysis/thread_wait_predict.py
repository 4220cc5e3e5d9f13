#!/usr/bin/env python
"""The cost model's view of the threads of one rank for finished run files: every thread's predicted
update and delivery per min-delay interval (its neurons and events from the engine's owner map, as the
checkout's parsnn.engine.decomposition.thread_owners gives it), thread 0's wait for the slowest thread
with Poisson spike counts and with the run's own per-interval counts, and the RTF.

    python analysis/thread_wait_predict.py --machine M.toml [--threads 2] RUN.h5 [RUN.h5 ...]

Prints one JSON line per run file (predictions, labelled as such; no timing is measured).
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machine", required=True, help="machine file (name or TOML path)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args(argv)
    from parsnn.mapping import cluster
    from parsnn.mapping.cluster import threadwait
    seen = {}
    real = threadwait.rank_threads

    def spy(*args, **kw):
        """rank_threads, keeping rank 0's per-thread times."""
        out = real(*args, **kw)
        seen["update_us"] = (out["threads"]["update"][0] * 1e6).round(3).tolist()
        seen["deliver_us"] = (out["threads"]["deliver"][0] * 1e6).round(3).tolist()
        return out
    threadwait.rank_threads = spy
    for path in a.runs:
        inp = cluster.run_inputs(path)
        row = {"run": path, "threads": a.threads, "prediction": True,
               "neurons_per_thread": threadwait.slot_counts(inp["connectivity"], inp["rank_of"], inp["ranks"],
                                                            a.threads).sum(axis=0).tolist()}
        for label, counts in (("poisson", None), ("measured_counts", inp["interval_counts"])):
            p = cluster.predict(inp["connectivity"], inp["ranks"], a.machine, inp["rank_of"], rates=inp["rates"],
                                t_sim_ms=inp["t_sim_ms"], threads=a.threads, interval_counts=counts,
                                with_range=False)
            row[label] = {"rtf": p["rtf"], "wait_us": p["per_rank"]["threads_wait"][0] * 1e6,
                          "meeting_us": p["per_rank"]["threads_region"][0] * 1e6, **seen}
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
