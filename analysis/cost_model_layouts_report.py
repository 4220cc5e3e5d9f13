#!/usr/bin/env python
"""Markdown (and, for a weak-scaling curve, a figure) of a ``parsnn predict ... --nodes ... --json`` output:
per node count the best layout, its RTF, the terms that limit it, which of the machine's constants are
measured, published, derived or assumed, and, for PD14, the published figures of NEST and GeNN beside it.
Everything in it is a PREDICTION of the cost model (parsnn.mapping.cluster), not a measurement.

    parsnn predict pd14 --n-scaling 1 --machine jureca_dc --nodes 1,2,8,32 --json > OUT.json
    python analysis/cost_model_layouts_report.py OUT.json --title "..." --command "..." [--published pd14] [--png OUT.png]

Writes OUT.md next to the JSON (or ``--md``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

#: published PD14 real-time factors (shared reference pd14_published_performance.md, from the living
#: performance table of the PD14 model documentation after Senk et al.)
PUBLISHED_PD14 = [
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node (128 cores)",
     "nodes": 1, "rtf": 0.67, "drive": "DC"},
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node", "nodes": 2,
     "rtf": 0.53, "drive": "DC"},
    {"study": "Golosio et al. 2023", "simulator": "GeNN", "hardware": "NVIDIA RTX 4090", "nodes": 1, "rtf": 0.272,
     "drive": "Poisson"},
]
PUBLISHED_SOURCE = ("/work/shared/reference/pd14_published_performance.md (the living performance table of the "
                    "PD14 model's documentation, after Senk et al. 2026)")


def constant_labels(machine_name: str) -> dict:
    """{label: [constant, ...]} of a machine file's [sources] (its own and inherited), by the first word
    of each source: measured, published, derived, assumed (anything else: 'other')."""
    from parsnn.machines import load_machine
    out: dict = {}

    def walk(src: dict, prefix: str = ""):
        for key, text in src.items():
            if isinstance(text, dict):
                walk(text, prefix=f"{key}: ")
                continue
            word = str(text).split(":", 1)[0].split()[0].lower() if str(text).strip() else "other"
            label = next((w for w in ("measured", "published", "derived", "assumed") if word.startswith(w)), "other")
            out.setdefault(label, []).append(prefix + key)

    walk(load_machine(machine_name).sources())
    return out


def layout_table(rows: list[dict]) -> list[str]:
    """The Markdown table of the best layouts and their limiting terms."""
    weak = any("weak" in r for r in rows)
    head = "| nodes | " + ("neurons | synapses | " if weak else "") + \
           "ranks/node x threads | exchange | RTF (prediction) | limited by (us per 0.1 ms interval, share) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lim = "; ".join(f"{t['term']} {t['us']:.2f} ({100 * t['share']:.0f} %)" for t in r.get("limiting", []))
        size = f"{r['neurons']:,} | {r['synapses']:.3g} | " if weak else ""
        lines.append(f"| {r['nodes']} | {size}{r['ranks_per_node']} x {r['threads']} | "
                     f"{r['exchange_terms'].get('scheme', 'alltoall')} | {r['rtf']:.3f} | {lim} |")
    return lines


def published_table(rows: list[dict]) -> list[str]:
    """PD14: the predicted RTF per node count beside the published ones of NEST and GeNN."""
    pred = {r["nodes"]: r["rtf"] for r in rows}
    lines = ["| system | hardware | nodes | RTF | kind |", "|---|---|---|---|---|"]
    for p in PUBLISHED_PD14:
        lines.append(f"| {p['simulator']} ({p['study']}) | {p['hardware']} | {p['nodes']} | {p['rtf']:.3f} | "
                     f"published, {p['drive']} drive |")
    for n, rtf in sorted(pred.items()):
        lines.append(f"| parsnn | {rows[0]['machine']} (2x EPYC 7742 per node, 128 cores) | {n} | {rtf:.3f} | "
                     "cost-model PREDICTION, DC drive |")
    return lines


def plot(rows: list[dict], out: str, title: str):
    """RTF against nodes (log-log) with the update, deliver and exchange parts of the best layouts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = [r["nodes"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot(n, [r["rtf"] for r in rows], "o-", color="C3", label="predicted RTF (best layout)")
    ax[0].axhline(rows[0]["rtf"], ls="--", color="0.5", label="ideal weak scaling")
    for r in rows:
        ax[0].annotate(f"{r['ranks_per_node']}x{r['threads']}", (r["nodes"], r["rtf"]), fontsize=7,
                       textcoords="offset points", xytext=(0, 6), ha="center")
    ax[0].set_xscale("log", base=2)
    ax[0].set_xlabel("nodes")
    ax[0].set_ylabel("real-time factor (prediction)")
    ax[0].set_ylim(bottom=0)
    ax[0].legend(fontsize=8)
    ipm = [1000.0 / r["interval_ms"] for r in rows]                   # intervals per model second
    parts = {"update (slowest rank)": [r["phases"]["update_max"] for r in rows],
             "deliver (slowest rank)": [r["phases"]["deliver_max"] for r in rows],
             "exchange (incl. waiting)": [r["phases"]["exchange_max"] for r in rows],
             "threads' parallel region (in no timer)": [r["exchange_terms"]["threads_region"] for r in rows]}
    bottom = [0.0] * len(rows)
    for (name, v), c in zip(parts.items(), ("#4c72b0", "#dd8452", "#c44e52", "#8c8c8c")):
        ax[1].bar(range(len(rows)), [x * k for x, k in zip(v, ipm)], bottom=bottom, color=c, label=name)
        bottom = [b + x * k for b, x, k in zip(bottom, v, ipm)]
    ax[1].set_xticks(range(len(rows)), [str(x) for x in n])
    ax[1].set_xlabel("nodes")
    ax[1].set_ylabel("seconds per model second (prediction)")
    ax[1].legend(fontsize=8)
    fig.suptitle(title + " -- cost-model PREDICTION", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main(argv=None) -> int:
    """Command line: read the JSON, write the Markdown (and the figure)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--title", required=True)
    ap.add_argument("--command", required=True, help="the command that made the JSON (quoted in the report)")
    ap.add_argument("--published", choices=["pd14"], default=None, help="add the published figures of this model")
    ap.add_argument("--png", default=None, help="also draw the curve (weak scaling)")
    ap.add_argument("--notes", default="", help="a paragraph to add (what changed since the last version)")
    ap.add_argument("--md", default=None)
    args = ap.parse_args(argv)
    with open(args.json) as f:
        rows = json.load(f)
    machine = rows[0]["machine"]
    labels = constant_labels(machine)
    md = [f"# {args.title}", "", "**All RTFs of parsnn below are PREDICTIONS of the cost model** "
          f"(parsnn.mapping.cluster) on the machine description `{machine}`, not measurements.", "",
          f"Command: `{args.command}`", ""]
    if args.notes:
        md += [args.notes, ""]
    md += layout_table(rows) + [""]
    notes = sorted({r["note"] for r in rows if r.get("note")})
    md += [f"Note: {n}" for n in notes] + ([""] if notes else [])
    if args.published == "pd14":
        md += ["## Beside the published figures", ""] + published_table(rows) + \
              ["", f"Published figures: {PUBLISHED_SOURCE}. NEST's runs used 2x EPYC 7702 nodes (JURECA-DC-like: the "
                   "7742 is the same Zen 2 design at a higher clock); GeNN a single GPU.", ""]
    md += ["## Which constants of the machine file are what", ""]
    for label in ("measured", "published", "derived", "assumed", "other"):
        if labels.get(label):
            md.append(f"- **{label}** ({len(labels[label])}): " + ", ".join(f"`{k}`" for k in labels[label]))
    md += ["", f"Each constant's source is in `parsnn/machines/{machine}.toml` ([sources]); constants inherited "
               "from a measured guest machine and scaled by [derived] factors count as that file says.", ""]
    if args.png:
        plot(rows, args.png, args.title)
        md += [f"Figure: `{os.path.basename(args.png)}`", ""]
    out = args.md or os.path.splitext(args.json)[0] + ".md"
    with open(out, "w") as f:
        f.write("\n".join(md))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
