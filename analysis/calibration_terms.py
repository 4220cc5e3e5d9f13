#!/usr/bin/env python
"""Which measured constants make two calibrations of one machine predict differently, term by term.

    python analysis/calibration_terms.py A.toml B.toml [--n-scaling 0.25] [--ranks 2] [--threads 1] [--top 15]

Predicts PD14 (``--n-scaling``, expected rates, round-robin partition) on ``--ranks`` x ``--threads``
with machine file A, then with A where one measured constant (every entry of
:data:`parsnn.mapping.cluster.machinefile.MEASURED` that both files have) takes B's value, one
constant at a time, and prints the constants sorted by how much that swap moves the predicted RTF
(the whole-file prediction with B last). Predictions only: no run is made, nothing is measured.
"""
from __future__ import annotations

import argparse
import copy
import sys


def _get(data: dict, path: tuple):
    """The value at ``path`` of a machine file's data, or None."""
    for k in path:
        if not isinstance(data, dict) or k not in data:
            return None
        data = data[k]
    return data


def _with(machine, path: tuple, value):
    """A copy of ``machine`` with the constant at ``path`` set to ``value``."""
    from parsnn.machines import Machine
    data = copy.deepcopy(machine.data)
    t = data
    for k in path[:-1]:
        t = t.setdefault(k, {})
    t[path[-1]] = value
    return Machine(name=machine.name, data=data, path=machine.path, inherited=machine.inherited)


def terms(a, b, conn, ranks: int, threads: int) -> tuple[float, float, list[dict]]:
    """(RTF with A, RTF with B, one row per constant both files measure: its two values and the RTF
    with A where that constant is B's), rows sorted by the size of the change."""
    from parsnn.mapping.cluster.machinefile import MEASURED
    from parsnn.mapping.cluster.predict import predict

    def rtf(m):
        """The predicted RTF on machine ``m``."""
        return float(predict(conn, ranks, m, with_range=False, threads=threads)["rtf"])
    base, other = rtf(a), rtf(b)
    rows = []
    for path, _key, _how in MEASURED:
        va, vb = _get(a.data, path), _get(b.data, path)
        if not isinstance(va, (int, float)) or not isinstance(vb, (int, float)) or va == vb:
            continue
        r = rtf(_with(a, path, vb))
        rows.append({"constant": ".".join(path), "a": float(va), "b": float(vb), "rtf": r, "change": r / base - 1.0})
    rows.sort(key=lambda x: -abs(x["change"]))
    return base, other, rows


def main(argv=None) -> int:
    """Print the term-by-term table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--n-scaling", type=float, default=0.25)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    from parsnn.connectivity import Connectivity
    from parsnn.machines import load_machine
    from parsnn.mapping.cluster.measure import calibration_network
    conn = Connectivity.from_network(calibration_network({"model": "pd14", "n_scaling": args.n_scaling}))
    a, b = load_machine(args.a), load_machine(args.b)
    base, other, rows = terms(a, b, conn, args.ranks, args.threads)
    print(f"PD14 n_scaling {args.n_scaling:g} on {args.ranks} rank(s) x {args.threads} thread(s), expected rates "
          f"(predictions): RTF {base:.3f} with {args.a}, {other:.3f} with {args.b} ({100 * (other / base - 1):+.0f} %)")
    print("| constant | A | B | B / A | RTF with A but this constant from B | change |")
    print("|---|---|---|---|---|---|")
    for r in rows[:args.top]:
        ratio = r["b"] / r["a"] if r["a"] else float("nan")
        print(f"| {r['constant']} | {r['a']:.4g} | {r['b']:.4g} | {ratio:.2f} | {r['rtf']:.3f} | "
              f"{100 * r['change']:+.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
