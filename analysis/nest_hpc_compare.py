"""Compare hpc_benchmark runs of NEST and parsnn (result JSONs of analysis/nest_hpc_benchmark.py run):
for each quantity, the mean and seed-to-seed standard deviation of each simulator, NEST's seed range,
and whether parsnn agrees with NEST within NEST's own seed-to-seed spread
(|mean_parsnn - mean_NEST| <= 2 sd_NEST(seeds)). Called as ``nest_hpc_benchmark.py compare``.
"""
from __future__ import annotations

import json

import numpy as np


def quantities(r):
    """The compared numbers of one run: mean rates, rates per window, E->E weight statistics."""
    q = {"rate E (1/s)": r["mean_rates"]["E"], "rate I (1/s)": r["mean_rates"]["I"]}
    edges = r["rate_window_edges_ms"]
    for k in ("E", "I"):
        for i, v in enumerate(r["rates_per_window"][k]):
            q[f"rate {k} {edges[i]:g}-{edges[i + 1]:g} ms"] = v
    w = r["ee_weights"]
    q["w E->E mean (pA)"], q["w E->E std (pA)"] = w["mean"], w["std"]
    for p in ("0.01", "0.1", "0.5", "0.9", "0.99"):
        q[f"w E->E q{p} (pA)"] = w["quantiles"][p]
    return q


def _gits(runs: list) -> str:
    """'seed: commit' of each run, as one string (runs of one comparison may come from several commits)."""
    return ", ".join(f"{r['seed']}: {r['git']}" for r in runs)


def _runaway(runs: list, threshold: float = 100.0) -> str:
    """How many of ``runs`` have an E rate above ``threshold`` spikes/s in some window, and which seeds."""
    seeds = [r["seed"] for r in runs if max(r["rates_per_window"]["E"]) > threshold]
    return f"{len(seeds)} of {len(runs)} (seeds {seeds})"


def _layout(r):
    """'2 threads' (NEST), '2 ranks, realisation v2' (parsnn; older files: 1 rank, v1)."""
    if r["simulator"].startswith("NEST"):
        return f"{r['threads']} threads"
    n = r.get("ranks", 1)
    return f"{n} rank{'s' if n > 1 else ''}, realisation {r.get('realisation', 'v1')}"


def _weights_note(runs):
    """Which E->E weights the statistics describe (all, or those onto a sampled set of E targets)."""
    r = runs["nest"][0]
    w, n_e = r["ee_weights"], r["sizes"]["E"]
    if w.get("targets", n_e) >= n_e:
        return "E->E weight statistics: all E->E synapses."
    counts = {k: [x["ee_weights"]["n"] for x in v] for k, v in runs.items()}
    return (f"E->E weight statistics: every E->E synapse onto {w['targets']} of the {n_e} E neurons (the same "
            f"population-local ids in both simulators, numpy seed {w['sample_seed']}); synapses read per run: "
            f"NEST {counts['nest']}, parsnn {counts['parsnn']}.")


def main(args):
    """Write the markdown comparison table to args.out (and print it)."""
    runs = {"nest": [], "parsnn": []}
    for f in args.files:
        r = json.load(open(f))
        runs["nest" if r["simulator"].startswith("NEST") else "parsnn"].append(r)
    qs = {k: [quantities(r) for r in v] for k, v in runs.items()}
    keys = list(qs["nest"][0])
    lines = [f"# hpc_benchmark scale {runs['nest'][0]['scale']}, {runs['nest'][0]['t_sim_ms']:g} ms: "
             f"NEST vs parsnn over seeds",
             "", f"NEST ({runs['nest'][0]['simulator']}, {runs['nest'][0]['threads']} threads) seeds "
             f"{[r['seed'] for r in runs['nest']]}; parsnn ({_layout(runs['parsnn'][0])}, git per seed "
             f"{_gits(runs['parsnn'])}) "
             f"seeds {[r['seed'] for r in runs['parsnn']]}. Criterion: "
             "|mean_parsnn - mean_NEST| <= 2 sd_NEST (sd over NEST's seeds).", "",
             f"Seeds with an E rate above 100 spikes/s in some window (the start of a run-away): NEST "
             f"{_runaway(runs['nest'])}, parsnn {_runaway(runs['parsnn'])}.", "", _weights_note(runs), "",
             "| quantity | NEST mean | NEST sd | NEST min..max | parsnn mean | parsnn sd | parsnn per seed "
             "| dmean/sd_NEST | agree |", "|---|---|---|---|---|---|---|---|---|"]
    n_ok = 0
    for k in keys:
        a = np.array([q[k] for q in qs["nest"]])
        b = np.array([q[k] for q in qs["parsnn"]])
        sd = a.std(ddof=1) if a.size > 1 else 0.0
        d = abs(b.mean() - a.mean())
        ok = d <= 2 * sd
        n_ok += ok
        lines.append(f"| {k} | {a.mean():.4g} | {sd:.3g} | {a.min():.4g}..{a.max():.4g} | {b.mean():.4g} | "
                     f"{b.std(ddof=1) if b.size > 1 else 0:.3g} | {', '.join(f'{x:.4g}' for x in b)} | "
                     f"{d / sd if sd > 0 else float('inf'):.2f} | {'yes' if ok else 'NO'} |")
    lines += ["", f"{n_ok} of {len(keys)} quantities agree by this criterion.", "",
              "## Timing and memory (shared, loaded 2-core Xeon VM; runs one after the other, alternating)", "",
              "| simulator | seed | build s | simulate s | RTF | peak RSS (GB) | peak RSS bytes / synapse | synapses |",
              "|---|---|---|---|---|---|---|---|"]
    for k in ("nest", "parsnn"):
        for r in runs[k]:
            lines.append(f"| {r['simulator']} ({_layout(r)}) | "
                         f"{r['seed']} | {r['build_s']:.1f} | {r['simulate_s']:.1f} | {r['rtf']:.1f} | "
                         f"{r['peak_rss_bytes'] / 1e9:.2f} | {r['peak_rss_bytes_per_synapse']:.1f} | {r['synapses']} |")
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
