#!/usr/bin/env python
"""Cost-model PREDICTION of parsnn's weak scaling of NEST's hpc_benchmark on JURECA-like machine files, at
the per-node workloads of published NEST weak-scaling experiments, beside what those publications say.

    python analysis/hpc_weak_scaling_prediction.py [--out analysis/results/hpc_benchmark/weak_scaling_prediction]

Per configuration (CONFIGS): a fixed number of neurons per node, nodes 1, 2, 4, ...; the network is
hpc_benchmark at scale = neurons / 11,250 (in-degree 11,250 at every size, STDP on E->E), placed round
robin on one parsnn rank per core and on 2 ranks per node of cores / 2 threads (NEST's layout), predicted by
:func:`parsnn.mapping.cluster.predict` with the machine file's constants at uniform rates of 5 and
10 spikes/s (hpc_benchmark is asynchronous-irregular at large scale; NEST's example asks for a rate
below 10/s; the rate in the published runs is not given in the sources read). Writes OUT.json (every
prediction with its phases) and OUT.md (the table, sources, which constants are measured, published or
assumed). The published NEST figures are quoted only as far as they were verified (see PUBLISHED);
nothing here is a measurement of parsnn on those machines.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

NEURONS_PER_SCALE = 11250
RATES = (5.0, 10.0)


def LAYOUTS(cores: int) -> list[tuple[int, int]]:
    """(ranks per node, threads per rank) predicted per node count: one rank per core, and NEST's published
    layout, 2 ranks per node of cores / 2 threads each."""
    return [(cores, 1), (2, cores // 2)]

#: the published NEST experiments whose per-node workload is predicted here
PUBLISHED = {
    "jureca_cm": {
        "source": "Front. Neuroinform. 15:785068 (2022), Figure 3 (https://pmc.ncbi.nlm.nih.gov/articles/PMC8921864/figure/F3)",
        "verified": "caption: NEST weak scaling on JURECA CM (the 2015 JURECA cluster module: 2x Xeon E5-2680 v3 per node), "
                    "2 MPI processes x 12 threads per node, 125,000 neurons per MPI process, 1 s of biological time, "
                    "spikes exchanged every 1.5 ms; bars: spike delivery, communication, update, total sim time",
        "not_verified": "the node counts and sim times are in the figure only; not read in this session",
        "machine": "jureca_2015_haswell", "neurons_per_node": 250000, "nodes": [1, 2, 4, 8, 16, 32],
    },
    "jureca_dc": {
        "source": "NEST performance benchmarks, NEST 3.8 and 3.9 on JURECA-DC (https://github.com/nest/performance-benchmarks, "
                  "commit 8070360: source/v3.8_benchmark_results.rst and v3.9_benchmark_results.rst with their figures "
                  "source/_static/img/hpc_benchmark_NEST-v3.8.png and hpc_benchmark.png; shown in NEST's documentation, "
                  "https://nest-simulator.readthedocs.io/en/latest/benchmark_results.html)",
        "verified": "hpc_benchmark weak scaling, 2 MPI processes x 64 threads per node, largest network ~5.8 million "
                    "neurons and ~65 billion synapses, min delay 1.5 ms, mean of 3 runs with different seeds, error bars "
                    "the standard deviation; the RTFs (state propagation, the figures' right panels) read off the PNGs "
                    "by analysis/results/hpc_benchmark/nest_published/read_nest_figure.py (nest_hpc_benchmark_jureca_dc_rtf.csv "
                    "there): NEST 3.8 at 1-64 nodes, NEST 3.9 at 4-64",
        "not_verified": "the neurons per node (90,625 = 5.8M / 64) ASSUME that the largest network is the figures' largest "
                        "point (64 nodes) and that the network grows in proportion to the nodes, as the page says; the rate "
                        "of the runs is not given",
        "machine": "jureca_dc", "neurons_per_node": 90625, "nodes": [1, 2, 4, 8, 16, 32, 64],
        #: nodes -> (RTF, lower, upper end of the error bar), read off the figures (csv above)
        "nest_rtf": {"NEST 3.8": {1: (8.05, 7.89, 8.21), 2: (8.21, 8.05, 8.37), 4: (8.92, 8.75, 9.08), 8: (10.78, 10.40, 11.16),
                                  16: (14.92, 14.43, 15.41), 32: (25.39, 24.47, 26.31), 64: (38.95, 37.81, 40.08)},
                     "NEST 3.9": {4: (8.89, 8.73, 9.05), 8: (10.35, 10.19, 10.51), 32: (25.39, 25.04, 25.74),
                                  64: (40.44, 37.59, 43.28)}},
    },
}
#: the largest NEST run of Kunkel et al. 2014 (verified from press coverage, not from the paper's figure)
K_COMPUTER = {
    "source": "RIKEN / Forschungszentrum Juelich press release (Aug 2013) as reported e.g. at "
              "http://book.itep.ru/depository/super_comp/This_computer_took_40_minutes_to_simulate_one_second_of_brain_activity.htm "
              "and http://www.k-talk.com/index.php/supercomputer-takes-40-minutes-to-model-one-second-of-human-brain-activity/; "
              "the run of Kunkel et al. 2014 (Front. Neuroinform. 8:78) on the K computer (as recalled: the paper's "
              "largest weak-scaling point)",
    "verified": "82,944 processors (K nodes), 1.73 billion neurons, 10.4 trillion synapses, 40 minutes for 1 s of "
                "biological time (RTF ~2,400), 24 bytes per excitatory-excitatory synapse, ~1 PB of memory",
    "derived": "20,860 neurons and ~125 million synapses per node (10.4e12 / 82,944); ~6,000 synapses per neuron, "
               "not hpc_benchmark's 11,250 (the example says the K runs used Kunkel et al.'s own parameter values)",
}


def predict_config(name: str, cfg: dict, rates=RATES) -> list[dict]:
    """Predictions for every node count of ``cfg`` and every uniform rate."""
    from parsnn.connectivity import Connectivity
    from parsnn.machines import load_machine
    from parsnn.mapping.cluster import predict, workload
    from parsnn.mapping.cluster.plasticcost import plastic_event_cost_ns
    from parsnn.models import hpc_benchmark
    machine = load_machine(cfg["machine"])
    cores = machine.cores_per_node
    out = []
    for nodes in cfg["nodes"]:
        scale = cfg["neurons_per_node"] * nodes / NEURONS_PER_SCALE
        conn = Connectivity.from_network(hpc_benchmark.build_network(scale=scale, record=False))
        for rpn, threads in LAYOUTS(cores):
          if threads > 1 and not machine.data.get("threads"):
              continue                   # no [threads] constants in the file: one rank per core only
          P = nodes * rpn
          for rate in rates:
            r = {"E": rate, "I": rate}
            wl = workload(conn, P, "round_robin", r)
            p = predict(conn, P, machine, "round_robin", r, ranks_per_node=rpn, wl=wl, threads=threads)
            out.append({"config": name, "machine": machine.name, "nodes": nodes, "ranks": P, "ranks_per_node": rpn,
                        "threads": threads,
                        "scale": scale, "neurons": int(conn.sizes.sum()), "synapses": float(wl["num_synapses"]),
                        "rate_hz": rate, "rtf": p["rtf"], "rtf_range": p["rtf_range"],
                        "seconds_per_model_second": p["rtf"], "phases_us": {k: v * 1e6 for k, v in p["phases"].items()},
                        "exchange_fraction": p["exchange_fraction"], "dominant": p["dominant"],
                        "exchange_terms_us": {k: (v * 1e6 if isinstance(v, float) else v)
                                              for k, v in p["exchange_terms"].items() if k != "alltoallv_detail"},
                        "plastic_events_per_interval_mean": p["workload"]["plastic_events_per_interval_mean"],
                        "plastic_us": p["workload"]["plastic_events_per_interval_mean"]
                        * float(np.mean(plastic_event_cost_ns(machine, wl, threads))) * 1e6,
                        "events_per_interval_mean": p["workload"]["events_per_interval_mean"]})
            print(f"{name}: {nodes} nodes, {P} ranks x {threads} threads, {rate:g}/s: RTF {p['rtf']:.2f}", file=sys.stderr,
                  flush=True)
    return out


def constants_table(machine_name: str) -> list[str]:
    """Markdown rows: each constant the hpc_benchmark prediction uses and where it comes from."""
    from parsnn.machines import load_machine
    m = load_machine(machine_name)
    src = m.sources()
    base = m.inherited[0] if m.inherited else None
    factors = m.data.get("derived", {})
    rows = []
    for key in ("compute.update_ns", "compute.poisson_input_ns", "compute.event_ns", "compute.plastic_event_ns",
                "compute.facilitation_ns", "compute.spike_ns", "compute.row_miss_ns", "network.inter.latency_us", "network.inter.bandwidth_gbs",
                "noise"):
        s = src.get(key) or (f"ASSUMED: {base}'s value (measured there by its calibration, "
                             f"analysis/results/cost_model_calibration.json) x [derived] compute_scale "
                             f"{factors.get('compute_scale', 1.0)} / memory_scale {factors.get('memory_scale', 1.0)}"
                             if base else "(no source in the file)")
        rows.append(f"| {machine_name} | `{key}` | {str(s)[:300]} |")
    return rows


def markdown(results: list[dict]) -> str:
    """The result table with the published figures and the provenance of the constants."""
    lines = ["# hpc_benchmark weak scaling: parsnn cost-model PREDICTION beside published NEST experiments", "",
             "**These are predictions of the cost model, not measurements**: parsnn has not run on these machines. "
             "Made by `python analysis/hpc_weak_scaling_prediction.py`; every prediction with its phases is in the "
             "JSON beside this file. Two layouts: one parsnn rank per core, and NEST's 2 ranks per node with the node's "
             "other cores as threads; round-robin placement, hpc_benchmark with STDP on E->E (in-degree 11,250 at every size), uniform rates 5 and "
             "10 spikes/s. RTF = wall-clock seconds per second of model time (lower is faster).", ""]
    for name, cfg in PUBLISHED.items():
        rs = [r for r in results if r["config"] == name]
        lines += [f"## {name}: {cfg['neurons_per_node']:,} neurons per node on `{cfg['machine']}`", "",
                  f"Published NEST experiment: {cfg['source']}. Verified: {cfg['verified']}. Not verified: "
                  f"{cfg['not_verified']}.", "",
                  "| nodes | ranks (1 per core) | neurons | synapses | parsnn predicted RTF, 1 rank per core, at 5/s (range) "
                  "| at 10/s (range) | 2 ranks x cores/2 threads per node (NEST's layout), at 5/s | at 10/s "
                  "| update / deliver (plastic part) / exchange, 1 rank per core at 10/s, us per 1.5 ms interval "
                  "| NEST published RTF (error bar) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for nodes in cfg["nodes"]:
            a = next(r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 5.0 and r["threads"] == 1)
            b = next(r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 10.0 and r["threads"] == 1)
            a2 = next((r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 5.0 and r["threads"] > 1), None)
            b2 = next((r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 10.0 and r["threads"] > 1), None)

            def f(r):
                if r is None:
                    return "no [threads] constants"
                rng = r["rtf_range"]
                return f"{r['rtf']:.2f}" + (f" ({rng[0]:.2f}-{rng[1]:.2f})" if rng else "")
            ph = b["phases_us"]
            nest = "; ".join(f"{v}: {t[nodes][0]:.1f} ({t[nodes][1]:.1f}-{t[nodes][2]:.1f})"
                             for v, t in cfg.get("nest_rtf", {}).items() if nodes in t) or "figure only (not read)"
            lines.append(f"| {nodes} | {a['ranks']} | {a['neurons']:,} | {a['synapses']:.3g} | {f(a)} | {f(b)} | "
                         f"{f(a2)} | {f(b2)} | "
                         f"{ph['update_max']:.0f} / {ph['deliver_max']:.0f} ({b['plastic_us']:.0f}) / "
                         f"{ph['exchange_max']:.0f} | {nest} |")
        lines.append("")
    lines += ["## The K computer (Kunkel et al. 2014)", "", f"Published: {K_COMPUTER['source']}. Verified: "
              f"{K_COMPUTER['verified']}. Derived: {K_COMPUTER['derived']}. Not predicted here: there is no K-like "
              "machine file (SPARC64 VIIIfx, Tofu), and the cost model's rank-by-rank traffic matrix does not fit "
              "in memory at 82,944 nodes x 8 cores.", "",
              "## Jordan et al. 2018", "", "Jordan et al. 2018 (Front. Neuroinform. 12:2) show weak scaling of "
              "hpc_benchmark on JUQUEEN (Blue Gene/Q) and the K computer; their numbers were not found in the text "
              "stored for this session (figures only) and no number of theirs is used here. Neither machine has a "
              "machine file.", "",
              "## Provenance of the constants", "", "| machine file | constant | source (from the file) |",
              "|---|---|---|"]
    for m in sorted({cfg["machine"] for cfg in PUBLISHED.values()}):
        lines += constants_table(m)
    lines += ["", "## Why the prediction and NEST differ (different machines, different software)", "",
              "- The machines are JURECA-*like* files: node layout, caches and network from published figures, but "
              "parsnn's per-core costs are ASSUMED (the measured Zen 5 guest's, times a clock/IPC factor): no parsnn "
              "run on a JURECA node exists. The plastic event's costs (per plastic event, per post spike read, per "
              "history window) are assumed from ratios to a static event measured on an idle 2-core Xeon guest "
              "(its version-12 calibration, analysis/results/history24/), times the Zen 5 guest's static event cost.",
              "- NEST runs 2 MPI processes x 12 (JURECA CM) or 64 (JURECA-DC) threads per node and exchanges "
              "spikes with one MPI_Alltoall per 1.5 ms among 2 processes per node; the prediction has one parsnn "
              "rank per core (24 or 128 per node), so its collectives have 12-64x more participants per node.",
              "- The plastic events are a large part of the prediction (the 'plastic part' column: ~85 % of the "
              "delivery phase on one node at 10 spikes/s), and their constants are the least certain ones: on the "
              "2-core Xeon guest that measured them, the model with these terms predicted hpc_benchmark at scale 1 "
              "within -5 % .. +13 % (1-2 ranks or threads, 200-400 ms: analysis/results/history24/README.md); here "
              "the ratios are carried to other CPUs, and the stationary post spikes read and history windows per "
              "plastic event (1 and 1/8 at equal rates) are charged, which a run reaches only after ~400 ms.",
              "- In NEST's layout (64 threads per rank) the predicted time is set by the slowest thread: the threads "
              "are dealt neurons by the partitioner's [balance] weights, so on JURECA-DC's one node the last two of a "
              "rank's 64 threads hold only I neurons (~4,500 each against ~590 E neurons on the others) and take "
              "~1.25x as long as the others (their update: hpc_benchmark's neuron with its Poisson device, "
              "iaf_psc_alpha_pone, is assumed at 3.77x the scalar iaf_psc_exp kernel, the ratio measured on the "
              "Xeon guest; before session 24 these files charged iaf_psc_alpha plus a general-path Poisson input, "
              "~3.4x that, and those two threads took ~1.9x as long).",
              "- The rate of the published runs is not in the sources read; the prediction brackets it with 5 and "
              "10 spikes/s, and its time is nearly proportional to the rate (delivery and Poisson input dominate).",
              "- NEST's published times include its own spike delivery (a plastic event there also reads the "
              "archive and computes exp()), its update with one Poisson generator per neuron as hpc_benchmark "
              "connects it, and its communication; the cost model's terms are parsnn's engine's, fitted on small "
              "machines. A like-for-like check needs parsnn run on a JURECA node (`parsnn calibrate` there, then "
              "`parsnn scaling weak --model hpc_benchmark --slurm`)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Predict every configuration, write OUT.json and OUT.md."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join("analysis", "results", "hpc_benchmark", "weak_scaling_prediction"))
    ap.add_argument("--configs", nargs="+", default=list(PUBLISHED), choices=list(PUBLISHED))
    args = ap.parse_args(argv)
    results = []
    for name in args.configs:
        results += predict_config(name, PUBLISHED[name])
    with open(args.out + ".json", "w") as f:
        json.dump({"command": "python analysis/hpc_weak_scaling_prediction.py " + " ".join(argv or sys.argv[1:]),
                   "label": "PREDICTION of the parsnn cost model (not a measurement)", "published": PUBLISHED,
                   "k_computer": K_COMPUTER, "predictions": results}, f, indent=1)
    if set(args.configs) == set(PUBLISHED):
        with open(args.out + ".md", "w") as f:
            f.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
