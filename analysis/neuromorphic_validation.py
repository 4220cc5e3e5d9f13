"""Neuromorphic mapping model (parsnn.mapping.neuromorphic) against published figures, and the
placement comparison (graph vs block vs round_robin) on PD14 and the multicolumn sheet.

    PYTHONPATH=. python analysis/neuromorphic_validation.py [--run pd14_full.h5] [--out analysis/results]

Writes neuromorphic_validation.md and .json. Every prediction comes from the hardware description
(parsnn/mapping/hardware/*.toml) and the network; no constant is fitted to the figure it is
compared with. With --run (a full-scale PD14 run file) the traffic comes from its spikes after the
500 ms warm-up, otherwise from the model's mean rates with Poisson step counts.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings

import numpy as np

from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.mapping import neuromorphic as nm
from parsnn.network import FixedTotalNumber, Network

PUBLISHED = [
    # study, target, boards, published RTF, published energy per synaptic event (J), the study's configuration
    # (from the sPyNNaker PD14 scripts and pull requests cited in spinnaker.toml, [MC] and [PR1082])
    ("van Albada et al. 2018 (Front. Neurosci. 12:291)", "spinnaker", 6, 20.0, 4.4e-6,
     dict(placement="population", neurons_per_core=80, mode="combined"),
     "the paper's configuration: combined cores, 80 neurons/core"),
    ("Rhodes et al. 2019 (Phil. Trans. R. Soc. A 378:20190160)", "spinnaker", 12, 1.0, 0.60e-6,
     dict(placement="population", neurons_per_core=64, mode="split", synapse_cores=3),
     "sPyNNaker's real-time configuration (2021 port): 64 neurons/neuron core + 3 synapse cores"),
]
CORES_PER_BOARD = 48 * 16


def _ratio(pred, pub):
    r = pred / pub
    return r, bool(1 / 1.5 <= r <= 1.5)


def pd14_inputs(run):
    if run:
        inp = nm.run_inputs(run, 500.0)
        return inp["conn"], inp["rates"], inp["step_counts"], f"spikes of {os.path.basename(run)} " \
                                                                f"({inp['window_ms'][0]:g}-{inp['window_ms'][1]:g} ms)"
    from parsnn.models import pd14
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pd14.build_network(n_scaling=1.0, record=False)
    return Connectivity.from_network(net), None, None, "mean rates (Poisson step counts)"


def spinnaker_rows(net, rates, counts):
    rows = []
    for study, target, boards, rtf_pub, e_pub, cfg, label in PUBLISHED:
        for variant, kw in ((label, cfg),
                            ("sPyNNaker defaults: combined, 255 neurons/core",
                             dict(placement="population"))):
            t0 = time.time()
            m = nm.map_network(net, target, rates=rates, step_counts=counts, boards=boards, **kw)
            en = m["energy_breakdown_j"]
            dyn = en["synaptic"] + en["neuron"] + en["spike_out"] + en["hops"]
            p_static = en["static"] / m["rtf"]
            e_at_pub_rtf = (dyn + p_static * rtf_pub) / m["synaptic_events_per_s"]
            r_rtf, ok_rtf = _ratio(m["rtf"], rtf_pub)
            r_e, ok_e = _ratio(m["energy_per_synaptic_event_j"], e_pub)
            r_e2, ok_e2 = _ratio(e_at_pub_rtf, e_pub)
            rows.append({"study": study, "target": target, "boards": boards, "variant": variant, "config": kw,
                         "cores": m["cores"], "chips": m["chips"], "rtf_published": rtf_pub, "rtf_predicted": m["rtf"],
                         "rtf_ratio": r_rtf, "rtf_within_1.5x": ok_rtf,
                         "energy_published_j": e_pub, "energy_predicted_j": m["energy_per_synaptic_event_j"],
                         "energy_ratio": r_e, "energy_within_1.5x": ok_e,
                         "energy_at_published_rtf_j": e_at_pub_rtf, "energy_at_published_rtf_ratio": r_e2,
                         "energy_at_published_rtf_within_1.5x": ok_e2, "bottleneck": m["bottleneck"],
                         "power_w": m["power_w"], "static_power_w": p_static,
                         "time_per_step_us": {k: v * 1e6 for k, v in m["time_per_step_s"].items()},
                         "max_core_packets_in_per_step": m["max_core_packets_in_per_step"],
                         "max_core_events_per_step": m["max_core_events_per_step"],
                         "max_routing_entries": m["max_routing_entries"], "seconds": time.time() - t0})
    return rows


def loihi_rows(tmp_dir):
    """Per-operation figures of Davies et al. 2018 (Table 1) recovered by the pipeline on micro-workloads:
    a consistency check of the accounting (the inputs are these figures), not an independent validation."""
    hw = nm.load_hardware("loihi")
    out = []
    # workload 1: one source population (1 neuron per core would need 2 cores); 1 source core, 1 target core
    net = Network(0.1, name="micro")
    net.add_population("S", 1, "iaf_psc_exp")
    net.add_population("T", 4500, "iaf_psc_exp")       # 5 cores of 1024: two tiles of 4 cores
    net.connect("S", "T", FixedTotalNumber(4500), weight=1.0, delay=1.0)
    rates = np.zeros(4501)
    rates[0] = 100.0
    m = nm.map_network(Connectivity.from_network(net), hw, "block", rates=rates, keep_arrays=True)
    en = m["energy_breakdown_j"]
    ev = m["synaptic_events_per_s"]
    out.append({"figure": "synaptic spike op energy (min)", "published_j": 23.6e-12,
                "predicted_j": en["synaptic"] / ev, "note": "synaptic energy / synaptic events (1 neuron at 100 spikes/s, 4,500 synapses)"})
    # per-hop energy: a spike from one tile to a tile k hops away east (same chip)
    sp = m["_arrays"]
    hops = m["total_hops_per_s"] / max(m["packets_injected_per_s"], 1e-300)
    e_hop = en["hops"] / max(m["total_hops_per_s"], 1e-300) if m["total_hops_per_s"] > 0 else float("nan")
    out.append({"figure": "within-tile spike energy", "published_j": 1.7e-12,
                "predicted_j": en["spike_out"] / max(m["packets_injected_per_s"], 1e-300),
                "note": "spike-out energy per message"})
    out.append({"figure": "hop energy (east-west 3.0 pJ, north-south 4.2 pJ)", "published_j": 3.0e-12 if e_hop < 3.6e-12 else 4.2e-12,
                "predicted_j": e_hop, "note": f"mean hops per message {hops:.2f}; energy per hop on this route"})
    out.append({"figure": "neuron update energy (active)", "published_j": 81e-12,
                "predicted_j": en["neuron"] / (m["neurons"] / 1e-4), "note": "per neuron per step"})
    del sp
    return out


def placement_rows(net, label, rates=None, counts=None, targets=("spinnaker", "loihi", "noc")):
    rows = []
    for t in targets:
        for p in nm.PLACEMENTS:
            t0 = time.time()
            m = nm.map_network(net, t, p, rates=rates, step_counts=counts)
            rows.append({"network": label, "target": t, "placement": p, "cores": m["cores"], "chips": m["chips"],
                         "max_link_load_per_step": m["max_link_load_per_step"],
                         "peak_link_load_per_step": m["peak_link_load_per_step"],
                         "total_hops_per_s": m["total_hops_per_s"], "hop_cost": m["hop_cost"], "rtf": m["rtf"],
                         "energy_per_synaptic_event_j": m["energy_per_synaptic_event_j"],
                         "dynamic_energy_per_synaptic_event_j": m["dynamic_energy_per_synaptic_event_j"],
                         "seconds": time.time() - t0})
            print(f"  {label} {t} {p}: {rows[-1]['seconds']:.1f} s", flush=True)
    return rows


def fan_in_rows(nets):
    """Loihi with and without enforcing the 4,096-input-axon fan-in (map_network enforce_fan_in)."""
    rows = []
    for label, net, rates, counts in nets:
        for p in ("graph", "block"):
            for enf in (False, True):
                try:
                    m = nm.map_network(net, "loihi", p, rates=rates, step_counts=counts, enforce_fan_in=enf)
                    rows.append({"network": label, "placement": p, "enforced": enf, "cores": m["cores"],
                                 "chips": m["chips"], "max_fan_in": m["max_fan_in"], "rtf": m["rtf"],
                                 "energy_per_synaptic_event_j": m["energy_per_synaptic_event_j"], "error": ""})
                except ParameterError as e:
                    rows.append({"network": label, "placement": p, "enforced": enf, "error": str(e)})
    return rows


def fmt_e(j):
    return nm.format_energy(j)


def write_md(path, res):
    L = ["# Neuromorphic mapping model: predictions vs published figures", "",
         f"Generated by `analysis/neuromorphic_validation.py` ({res['date']}). PD14 traffic: {res['pd14_traffic']}.",
         "Predictions use only `parsnn/mapping/hardware/*.toml` and the network; nothing is fitted to the figure it "
         "is compared with. Each study is mapped with its own configuration as found in sPyNNaker's PD14 scripts "
         "(SpiNNakerManchester/microcircuit_model: 80 neurons per core, combined cores, for van Albada et al. 2018; "
         "64 neurons per neuron core plus 3 synapse cores, sPyNNaker's 2021 real-time port, for Rhodes et al. "
         "2019) and the published board count; cores never mix populations, as in sPyNNaker. The neuron update "
         "cost is sPyNNaker's own cycle estimate; the per-packet (row) and per-synaptic-event costs, the split "
         "cores' SDRAM hand-over and all SpiNNaker power figures are still ASSUMPTIONs in the TOML, so these rows "
         "test those assumptions as much as the model. The predicted RTF is the smallest slowdown at which 99.9 % "
         "of the ticks finish in time; van Albada et al. set their slowdown of 20 by hand (spynnaker.cfg of the "
         "paper's runs), so it is an upper bound of what was needed, not a measured minimum.", "",
         "## PD14 on SpiNNaker", "",
         "| study | variant | cores | chips | RTF pub. | RTF pred. | ratio | within 1.5x | E/event pub. | E/event pred. | ratio | within 1.5x | E/event at pub. RTF | ratio | limit |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["spinnaker"]:
        L.append(f"| {r['study']} | {r['variant']} | {r['cores']} | {r['chips']} | {r['rtf_published']:g} | "
                 f"{r['rtf_predicted']:.3g} | {r['rtf_ratio']:.2f} | {'yes' if r['rtf_within_1.5x'] else 'no'} | "
                 f"{fmt_e(r['energy_published_j'])} | {fmt_e(r['energy_predicted_j'])} | {r['energy_ratio']:.2f} | "
                 f"{'yes' if r['energy_within_1.5x'] else 'no'} | {fmt_e(r['energy_at_published_rtf_j'])} | "
                 f"{r['energy_at_published_rtf_ratio']:.2f} | {r['bottleneck']} |")
    L += ["", "Time per step of the slowest core (us): " + "; ".join(
        f"{r['study'].split(' (')[0]}, {r['variant']}: mean {r['time_per_step_us']['mean']:.0f}, "
        f"q0.999 {r['time_per_step_us']['quantile']:.0f}, packets in {r['max_core_packets_in_per_step']:.1f}/step"
        for r in res["spinnaker"]), "",
        "## Loihi per-operation figures (Davies et al. 2018, IEEE Micro, Table 1)", "",
        "These are the hardware file's own inputs recovered from micro-workloads through the whole pipeline: a check "
        "that the accounting charges each operation once, not an independent validation. No PD14 run on Loihi, "
        "Loihi 2 or SpiNNaker 2 has been published, so those predictions (README, `parsnn map`) are unvalidated.", "",
        "| figure | published | pipeline | ratio | note |", "|---|---|---|---|---|"]
    for r in res["loihi"]:
        ratio = r["predicted_j"] / r["published_j"] if r["published_j"] and math.isfinite(r["published_j"]) else float("nan")
        L.append(f"| {r['figure']} | {fmt_e(r['published_j'])} | {fmt_e(r['predicted_j'])} | {ratio:.2f} | {r['note']} |")
    L += ["", "## Placement comparison (graph vs block vs round_robin vs population)", "",
          "| network | target | placement | cores | chips | max link load (pk/step) | peak (pk/step) | total hops/s | "
          "sum T x hops | RTF | E/event | dynamic E/event |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["placement"]:
        L.append(f"| {r['network']} | {r['target']} | {r['placement']} | {r['cores']} | {r['chips']} | "
                 f"{r['max_link_load_per_step']:.3g} | {r['peak_link_load_per_step']:.3g} | {r['total_hops_per_s']:.3g} | "
                 f"{r['hop_cost']:.3g} | {r['rtf']:.3g} | {fmt_e(r['energy_per_synaptic_event_j'])} | "
                 f"{fmt_e(r['dynamic_energy_per_synaptic_event_j'])} |")
    L += ["", "## Loihi fan-in limit (4,096 input axons per core) reported vs enforced", "",
          "| network | placement | enforced | cores | chips | max fan-in | RTF | E/event |", "|---|---|---|---|---|---|---|---|"]
    for r in res.get("fan_in", []):
        if r["error"]:
            L.append(f"| {r['network']} | {r['placement']} | {'yes' if r['enforced'] else 'no'} | "
                     f"infeasible: {r['error']} | | | | |")
        else:
            L.append(f"| {r['network']} | {r['placement']} | {'yes' if r['enforced'] else 'no'} | {r['cores']} | "
                     f"{r['chips']} | {r['max_fan_in']:.0f} | {r['rtf']:.3g} | {fmt_e(r['energy_per_synaptic_event_j'])} |")
    L += ["", "## What the model leaves out", "",
          "- Packet-level contention, queueing and back-pressure: links and routers are checked against their "
          "capacity per step (dropped-packet risk), not simulated.",
          "- sPyNNaker specifics still left out: the background drive (modelled as DC; if the SpiNNaker runs used "
          "one Poisson source per neuron, each core also received ~1-2 extra packets per neuron and step, and the "
          "Poisson cores are not counted), delay-extension cores, routing-table minimisation and default routes "
          "(table entries are an upper bound; the split mapping exceeds the 1,024-entry table before merging), SDRAM "
          "bandwidth and DMA contention, the packet-drop/re-injection machinery, the host and monitor cores. Rhodes et "
          "al. (2019) sized synapse cores per population; the model uses sPyNNaker's uniform 3 per neuron core.",
          "- Per-step burstiness enters through population spike counts per step (from the run, or Poisson); which "
          "source core of a population fired in a step is averaged.",
          "- Loihi: the 4,096-input-axon fan-in limit is enforced only on request (`--enforce-fan-in`); for PD14 it "
          "cannot be met, since a single L2/3 or L5E neuron already has more distinct sources, so a real Loihi "
          "mapping needs axon sharing or split dendrites, which are not modelled; learning, compartments, graded spikes, "
          "multi-chip barrier scaling (an assumed constant) and host I/O.",
          "- Static power is a per-chip/per-board constant; DVFS and power gating of idle cores are not modelled.",
          "- Expected traffic assumes the no-hit events on different cores are independent and ignores OneToOne "
          "projections.", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=None, help="full-scale PD14 run file (spikes); default: mean rates")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--grid", type=int, default=8, help="multicolumn sheet size (default 8)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    net, rates, counts, origin = pd14_inputs(args.run)
    res = {"date": time.strftime("%Y-%m-%d"), "pd14_traffic": origin}
    print("SpiNNaker vs published", flush=True)
    res["spinnaker"] = spinnaker_rows(net, rates, counts)
    res["loihi"] = loihi_rows(args.out)
    print("placement comparison", flush=True)
    res["placement"] = placement_rows(net, "PD14", rates, counts)
    from parsnn.models import multicolumn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mc = Connectivity.from_network(multicolumn.build_network(grid=args.grid, record=False))
    res["placement"] += placement_rows(mc, f"multicolumn {args.grid}x{args.grid}")
    res["fan_in"] = fan_in_rows([("PD14", net, rates, counts), (f"multicolumn {args.grid}x{args.grid}", mc, None, None)])
    with open(os.path.join(args.out, "neuromorphic_validation.json"), "w") as f:
        json.dump(res, f, indent=1, default=float)
    write_md(os.path.join(args.out, "neuromorphic_validation.md"), res)
    print(open(os.path.join(args.out, "neuromorphic_validation.md")).read())


if __name__ == "__main__":
    main()
