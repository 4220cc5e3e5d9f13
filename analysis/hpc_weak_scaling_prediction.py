#!/usr/bin/env python
"""Cost-model PREDICTION of parsnn's weak scaling of NEST's hpc_benchmark on JURECA-like machine files, at
the per-node workloads of published NEST weak-scaling experiments, beside what those publications say.

    python analysis/hpc_weak_scaling_prediction.py [--out analysis/results/hpc_benchmark/weak_scaling_prediction]

Per configuration (CONFIGS): a fixed number of neurons per node, nodes 1, 2, 4, ...; the network is
hpc_benchmark at scale = neurons / 11,250 (in-degree 11,250 at every size, STDP on E->E), placed round
robin on one parsnn rank per core (plastic networks run with one thread per rank), predicted by
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

NEURONS_PER_SCALE = 11250
RATES = (5.0, 10.0)

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
        "source": "NEST documentation, 'NEST performance benchmarks' (NEST 3.8 on JURECA-DC), "
                  "https://nest-simulator.readthedocs.io/en/latest/benchmark_results.html",
        "verified": "hpc_benchmark weak scaling, 2 MPI processes x 64 threads per node, largest network ~5.8 million "
                    "neurons and ~65 billion synapses, min delay 1.5 ms, mean of 3 runs",
        "not_verified": "node counts and times are in the figure only; the neurons per node used here (181,250 = 5.8M / "
                        "32) ASSUME that the largest point is 32 nodes",
        "machine": "jureca_dc", "neurons_per_node": 181250, "nodes": [1, 2, 4, 8, 16, 32],
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
    from parsnn.models import hpc_benchmark
    machine = load_machine(cfg["machine"])
    rpn = machine.cores_per_node
    out = []
    for nodes in cfg["nodes"]:
        P = nodes * rpn
        scale = cfg["neurons_per_node"] * nodes / NEURONS_PER_SCALE
        conn = Connectivity.from_network(hpc_benchmark.build_network(scale=scale, record=False))
        for rate in rates:
            r = {"E": rate, "I": rate}
            wl = workload(conn, P, "round_robin", r)
            p = predict(conn, P, machine, "round_robin", r, ranks_per_node=rpn, wl=wl)
            out.append({"config": name, "machine": machine.name, "nodes": nodes, "ranks": P, "ranks_per_node": rpn,
                        "scale": scale, "neurons": int(conn.sizes.sum()), "synapses": float(wl["num_synapses"]),
                        "rate_hz": rate, "rtf": p["rtf"], "rtf_range": p["rtf_range"],
                        "seconds_per_model_second": p["rtf"], "phases_us": {k: v * 1e6 for k, v in p["phases"].items()},
                        "exchange_fraction": p["exchange_fraction"], "dominant": p["dominant"],
                        "exchange_terms_us": {k: (v * 1e6 if isinstance(v, float) else v)
                                              for k, v in p["exchange_terms"].items() if k != "alltoallv_detail"},
                        "plastic_events_per_interval_mean": p["workload"]["plastic_events_per_interval_mean"],
                        "plastic_us": p["workload"]["plastic_events_per_interval_mean"]
                        * machine.ns("plastic_event_ns", default=0.0) * 1e6,
                        "events_per_interval_mean": p["workload"]["events_per_interval_mean"]})
            print(f"{name}: {nodes} nodes, {P} ranks, {rate:g}/s: RTF {p['rtf']:.2f}", file=sys.stderr, flush=True)
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
                "compute.spike_ns", "compute.row_miss_ns", "network.inter.latency_us", "network.inter.bandwidth_gbs",
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
             "JSON beside this file. One parsnn rank per core (plastic networks run one thread per rank), round-robin "
             "placement, hpc_benchmark with STDP on E->E (in-degree 11,250 at every size), uniform rates 5 and "
             "10 spikes/s. RTF = wall-clock seconds per second of model time (lower is faster).", ""]
    for name, cfg in PUBLISHED.items():
        rs = [r for r in results if r["config"] == name]
        lines += [f"## {name}: {cfg['neurons_per_node']:,} neurons per node on `{cfg['machine']}`", "",
                  f"Published NEST experiment: {cfg['source']}. Verified: {cfg['verified']}. Not verified: "
                  f"{cfg['not_verified']}.", "",
                  "| nodes | ranks | neurons | synapses | parsnn predicted RTF at 5/s (range) | at 10/s (range) "
                  "| update / deliver (plastic part) / exchange at 10/s, us per 1.5 ms interval | NEST published |",
                  "|---|---|---|---|---|---|---|---|"]
        for nodes in cfg["nodes"]:
            a = next(r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 5.0)
            b = next(r for r in rs if r["nodes"] == nodes and r["rate_hz"] == 10.0)

            def f(r):
                rng = r["rtf_range"]
                return f"{r['rtf']:.2f}" + (f" ({rng[0]:.2f}-{rng[1]:.2f})" if rng else "")
            ph = b["phases_us"]
            lines.append(f"| {nodes} | {a['ranks']} | {a['neurons']:,} | {a['synapses']:.3g} | {f(a)} | {f(b)} | "
                         f"{ph['update_max']:.0f} / {ph['deliver_max']:.0f} ({b['plastic_us']:.0f}) / "
                         f"{ph['exchange_max']:.0f} | figure only (not read) |")
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
              "run on a JURECA node exists. The plastic event cost is assumed from a ratio measured on a 2-core Xeon "
              "guest under load.",
              "- NEST runs 2 MPI processes x 12 (JURECA CM) or 64 (JURECA-DC) threads per node and exchanges "
              "spikes with one MPI_Alltoall per 1.5 ms among 2 processes per node; the prediction has one parsnn "
              "rank per core (24 or 128 per node), so its collectives have 12-64x more participants per node.",
              "- The plastic events dominate the prediction (the 'plastic part' column: about 85 % of the delivery "
              "phase on one node), and their constant is the least certain one: assumed from a plastic/static ratio "
              "measured on today's main (before the work on plastic delivery with threads) on a loaded 2-core guest.",
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
