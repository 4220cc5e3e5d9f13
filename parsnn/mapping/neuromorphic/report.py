"""The mapping's result: the result dict, the summary table and the figures."""
from __future__ import annotations

import math
import os

import numpy as np

from parsnn import tables
from parsnn.mapping.neuromorphic.routing import NDIR

SUMMARY_KEYS = ("target", "placement", "cores", "chips", "boards", "max_link_load_per_step", "peak_link_load_per_step",
                "max_core_events_per_step", "total_hops_per_s", "rtf", "energy_per_synaptic_event_j", "power_w",
                "bottleneck", "max_routing_entries", "dropped_risk_link_steps")


def format_energy(j):
    """An energy in uJ, nJ or pJ (3 significant digits), ``nan`` if not finite."""
    if not math.isfinite(j):
        return "nan"
    for unit, f in (("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if j >= f:
            return f"{j / f:.3g} {unit}"
    return f"{j:.2e} J"


COLUMNS = [
    tables.Column("target", "target", "", 10, "<"),
    tables.Column("placement", "placement", "", 11, "<"),
    tables.Column("cores", "cores", "", 6),
    tables.Column("chips", "chips", "", 5),
    tables.Column("boards", "boards", "", 6),
    tables.Column("link pk/step", "max_link_load_per_step", ".2f", 12),
    tables.Column("peak", "peak_link_load_per_step", ".1f", 8),
    tables.Column("core ev/step", "max_core_events_per_step", ".1f", 12),
    tables.Column("hops/s", "total_hops_per_s", ".3g", 10),
    tables.Column("RTF", "rtf", ".3f", 8),
    tables.Column("E/event", "energy_per_synaptic_event_j", format_energy, 10),
    tables.Column("power W", "power_w", ".3g", 9),
    tables.Column("limit", "bottleneck", "", 5),
]


def format_table(rows: list[dict]) -> str:
    """The summary table of mappings (results of ``map_network`` or rows of ``scaling_curve``)."""
    return tables.format_table(COLUMNS, rows)


def mapping_result(conn, hw, placement, mode, m_syn, split, place, traffic, links, counts_from, step_counts,
                   timing, energy, keep_arrays=False) -> dict:
    """The result dict of ``map_network`` (``keep_arrays``: also the arrays under ``_arrays``, for :func:`plot`)."""
    res = {**_network_part(conn, hw, placement, mode, m_syn, split, counts_from, timing, energy),
           **_hardware_part(hw, m_syn, split, place, timing, energy),
           **_load_part(hw, split, traffic, links, timing),
           **_time_energy_part(hw, place, timing, energy, len(step_counts))}
    if keep_arrays:
        res["_arrays"] = {"link_load": traffic.link_load, "router_load": links.router_load, "geom": place.geom,
                          "core_router": place.core_router, "chip_of_router": links.chip_of_router,
                          "entries": traffic.entries, "events": traffic.events, "recv": traffic.recv,
                          "tstep": timing.tstep, "core_of": split.core_of}
    return res


def _network_part(conn, hw, placement, mode, m_syn, split, counts_from, timing, energy) -> dict:
    """Result keys of the network, its traffic source and the core split's settings."""
    K = conn.expected_synapses()
    return {
        "target": hw.name, "description": hw.hw.get("description", ""), "placement": placement,
        "model": (conn.metadata or {}).get("model", ""), "neurons": int(conn.placeable.sum()),
        "synapses": float(K[~conn.virtual[conn.src]].sum()),
        "resolution_ms": conn.resolution, "traffic_from": counts_from,
        "spikes_per_s": timing.spikes_per_s, "synaptic_events_per_s": energy.events,
        "neurons_per_core_cap": split.neurons_cap, "mode": mode, "synapse_cores_per_neuron_core": m_syn,
    }


def _hardware_part(hw, m_syn, split, place, timing, energy) -> dict:
    """Result keys of the hardware used: cores, routers, chips, boards, grid."""
    h = hw.hw
    return {
        "neuron_cores": split.cores, "cores": split.cores * (1 + m_syn), "routers": place.routers,
        "chips": int(timing.used_chips.size), "boards": energy.boards, "powered_chips": energy.powered_chips,
        "mesh": [place.geom.W, place.geom.H], "topology": h["topology"], "routing": h["routing"],
    }


def _load_part(hw, split, traffic, links, timing) -> dict:
    """Result keys of the loads: per core, per link, per router, routing tables."""
    fan_in, fan_in_cap = split.fan_in, split.fan_in_cap
    link_load, link_step_pk, entries = traffic.link_load, timing.link_step_packets, traffic.entries
    dt = timing.dt
    tbl = int(hw.hw.get("routing_table_entries", 0) or 0)
    return {
        "max_neurons_per_core": float(split.counts.sum(axis=0).max()), "max_synapses_per_core": float(split.synapses.max()),
        "synapses_per_core_cap": float(split.synapses_cap),
        "max_fan_in": float(fan_in.max()), "fan_in_cap": fan_in_cap,
        "fan_in_exceeded": bool(fan_in_cap and fan_in.max() > fan_in_cap),
        "max_link_load_per_s": float(link_load.max()), "max_link_load_per_step": float(link_load.max() * dt),
        "peak_link_load_per_step": float(link_step_pk.max()) if link_step_pk.size else 0.0,
        "max_link_utilisation": float(links.utilisation.max()), "total_hops_per_s": float(link_load.sum()),
        "offchip_hops_per_s": float(link_load[links.offchip].sum()),
        "packets_injected_per_s": float(traffic.injected.sum()),
        "max_router_load_per_s": float(links.router_load.max()), "router_peak_per_step": float(timing.router_peak),
        "max_core_events_per_step": float(traffic.events.max() * dt),
        "mean_core_events_per_step": float(traffic.events.mean() * dt),
        "max_core_packets_in_per_step": float(traffic.recv.max() * dt),
        "max_routing_entries": float(entries.max()), "routing_table_size": tbl,
        "routing_table_overflow": bool(tbl and entries.max() > tbl),
    }


def _time_energy_part(hw, place, timing, energy, steps) -> dict:
    """Result keys of the placement's quality, the time per step, the real-time factor and the energy."""
    tstep, tcore, tlink, rtf = timing.tstep, timing.tcore, timing.tlink, timing.rtf
    over_link = timing.link_overloaded
    e_tot, e_dyn, n_events = energy.total, energy.dynamic, energy.events
    return {
        "hop_cost": float(place.hop_cost), "refine_gain": float(place.refine_gain),
        "time_per_step_s": {"mean": float(tstep.mean()),
                            "quantile": float(np.quantile(tstep, float(hw.hw.get("rtf_quantile", 0.999)))),
                            "max": float(tstep.max()), "core_mean": float(tcore.mean()), "link_mean": float(tlink.mean()),
                            "sync": timing.sync, "base_max": timing.base_max},
        "bottleneck": "link" if float(np.mean(tlink > tcore)) > 0.5 else "core",
        "rtf": float(rtf), "steps_analysed": int(steps),
        "dropped_risk_link_steps": float(over_link.any(axis=1).mean()) if over_link.size else 0.0,
        "dropped_risk_router": timing.router_overloaded,
        "energy_per_model_s_j": e_tot, "energy_breakdown_j": {"synaptic": energy.synaptic, "neuron": energy.neuron,
                                                             "spike_out": energy.spike_out, "hops": energy.hops,
                                                             "static": energy.static},
        "power_w": e_tot / rtf if rtf > 0 else float("nan"),
        "energy_per_synaptic_event_j": e_tot / n_events if n_events > 0 else float("nan"),
        "dynamic_energy_per_synaptic_event_j": e_dyn / n_events if n_events > 0 else float("nan"),
        "hardware_file": hw.path,
    }


def plot(result: dict, curve: list[dict] | None, out_dir: str) -> list[str]:
    """Heat map of link load on the mesh and the scaling curve (PNG files in out_dir)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    arr = result["_arrays"]
    geom = arr["geom"]
    dt = result["resolution_ms"] * 1e-3
    per_router = arr["link_load"].reshape(geom.routers, NDIR).max(axis=1) * dt
    img = per_router.reshape(geom.H, geom.W)
    tag = f"{result['model'] or 'network'}_{result['target']}_{result['placement']}"
    paths = []
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(img, origin="lower", cmap="inferno", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="max outgoing link load (packets / step)")
    for x in range(geom.chip_w, geom.W, geom.chip_w):
        ax.axvline(x - 0.5, color="w", lw=0.3)
    for y in range(geom.chip_h, geom.H, geom.chip_h):
        ax.axhline(y - 0.5, color="w", lw=0.3)
    ax.set_title(f"{tag}: {result['cores']} cores, {result['chips']} chips, RTF {result['rtf']:.3g}")
    ax.set_xlabel("router x")
    ax.set_ylabel("router y")
    p = os.path.join(out_dir, f"{tag}_link_load.png")
    fig.savefig(p, dpi=120, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        c = [r["cores"] for r in curve]
        ax.plot(c, [r["rtf"] for r in curve], "o-", label="RTF")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cores")
        ax.set_ylabel("real-time factor")
        ax2 = ax.twinx()
        ax2.plot(c, [r["energy_per_synaptic_event_j"] * 1e9 for r in curve], "s--", color="C1", label="E/event")
        ax2.set_ylabel("energy per synaptic event (nJ)", color="C1")
        ax2.set_yscale("log")
        ax.set_title(f"{tag}: strong scaling")
        p = os.path.join(out_dir, f"{tag}_scaling.png")
        fig.savefig(p, dpi=120, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)
    return paths
