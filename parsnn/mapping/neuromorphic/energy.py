"""Time per step -> real-time factor, dropped-packet risk, and energy per second of model time.

**Real-time factor.** A step lasts ``t[k] = max(max_q t_core, max_l t_link) + t_sync`` (per-step core
and link times: :mod:`parsnn.mapping.neuromorphic.traffic`; ``sync_offchip_s`` once more than one
chip is used). Barrier-synchronised targets (Loihi, NoC): ``RTF = mean_k t[k] / dt``. Timer-driven
targets (SpiNNaker): the tick is set so that ``rtf_quantile`` of the steps finish in time,
``RTF = max(min_rtf, quantile_k t[k] / dt)``. A link or router whose packets in a step exceed its
capacity during that step's wall time (dt * RTF) risks dropped packets (reported as the fraction
of such steps).

**Energy per second of model time.** ``E = E_event * events + E_neuron * N / dt + E_out *
packets injected + sum_l E_hop(l) load[l] + P_static * RTF`` with P_static = powered chips x
``chip_static_w`` + boards x ``board_static_w``; energy per synaptic event = E / events.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from parsnn.mapping.neuromorphic.hardware import Hardware
from parsnn.mapping.neuromorphic.placement import Placement
from parsnn.mapping.neuromorphic.routing import NDIR
from parsnn.mapping.neuromorphic.traffic import LinkLoads, Traffic, step_kernel


@dataclass
class Timing:
    """Time per step, real-time factor and dropped-packet risk."""
    tcore: np.ndarray          # [K]: slowest core per step (s)
    tlink: np.ndarray          # [K]: slowest followed link per step (s)
    tstep: np.ndarray          # [K]: step time with synchronisation (s)
    sync: float                # synchronisation time per step (s)
    base_max: float            # the slowest core without spikes (s), a lower bound for reference
    rtf: float
    used_chips: np.ndarray     # chips holding a core
    link_step_packets: np.ndarray  # [K, followed links]: packets per step
    link_overloaded: np.ndarray    # bool [K, followed links]
    router_peak: float         # packets through the busiest router in the peak step
    router_overloaded: bool
    spikes_per_s: float        # spikes per s of all populations
    dt: float                  # step (s)


def step_timing(hw: Hardware, place: Placement, links: LinkLoads, traffic: Traffic, step_counts: np.ndarray,
                base: np.ndarray, coef: np.ndarray, pop_rates: np.ndarray, dt: float) -> Timing:
    """Per-step core and link times, the real-time factor and the dropped-packet risk (module docstring)."""
    tm = hw["time"]
    tcore, tlink, _ = step_kernel(step_counts, base, coef, links.top_coef)
    tcore_mean_model = float(base.max())   # lower bound, for reference
    used_chips = np.unique(links.chip_of_router[place.core_router])
    sync = float(tm.get("sync_s", 0.0)) if used_chips.size <= 1 else float(tm.get("sync_offchip_s",
                                                                                 tm.get("sync_s", 0.0)))
    tstep = np.maximum(tcore, tlink) + sync
    h = hw.hw
    if h["sync"] == "timer":
        q = float(h.get("rtf_quantile", 0.999))
        rtf = max(float(h.get("min_rtf", 1.0)), float(np.quantile(tstep, q)) / dt)
    else:
        rtf = max(float(h.get("min_rtf", 0.0)), float(tstep.mean()) / dt)
    wall_step = dt * rtf
    # dropped-packet risk on the followed links and on routers
    top, link_cap = links.top, links.capacity
    link_step_pk = step_counts @ traffic.link_ps[:, top] if top.size else np.zeros((len(step_counts), 0))
    over_link = (link_step_pk > link_cap[top] * wall_step) if top.size else np.zeros((len(step_counts), 0), bool)
    r_cap = float(tm["router_packets_per_s"])
    # router per-step load approximated by its mean share of the spikes
    tot_spk = float(pop_rates.sum())
    peak_spk = float(step_counts.sum(axis=1).max()) if len(step_counts) else 0.0
    router_peak = links.router_load.max() / max(tot_spk, 1e-300) * peak_spk
    return Timing(tcore, tlink, tstep, sync, tcore_mean_model, rtf, used_chips, link_step_pk, over_link,
                  router_peak, bool(router_peak > r_cap * wall_step), tot_spk, dt)


@dataclass
class Energy:
    """Energy per second of model time (J) by kind, and the powered hardware."""
    synaptic: float
    neuron: float
    spike_out: float
    hops: float
    static: float
    events: float              # synaptic events per s
    powered_chips: int
    boards: int

    @property
    def dynamic(self) -> float:
        """Synaptic, neuron, spike-out and hop energy."""
        return self.synaptic + self.neuron + self.spike_out + self.hops

    @property
    def total(self) -> float:
        """Dynamic plus static energy."""
        return self.dynamic + self.static


def energy_per_model_second(hw: Hardware, place: Placement, links: LinkLoads, traffic: Traffic, timing: Timing,
                            neurons: int, dt: float, boards=None) -> Energy:
    """Energy per second of model time of ``neurons`` neurons (see the module docstring)."""
    en = hw["energy"]
    h = hw.hw
    n_events = float(traffic.events.sum())
    e_syn = n_events * float(en["synaptic_event_j"])
    e_neu = neurons / dt * float(en["neuron_update_j"])
    e_out = float(traffic.injected.sum()) * float(en.get("spike_out_j", 0.0))
    dirs = np.tile(np.arange(NDIR), place.geom.routers)
    hop_j = np.where(links.offchip, float(en.get("offchip_hop_j", en["hop_j"])),
                     np.where(dirs < 2, float(en.get("hop_ew_j", en["hop_j"])), float(en["hop_j"])))
    e_hop = float((traffic.link_load * hop_j).sum())
    used_chips = timing.used_chips
    cpb = int(h.get("chips_per_board", 1))
    if h.get("board_grid") == "triad":
        n_boards = max(int(boards or 0), math.ceil(used_chips.size / cpb))
        powered_chips = n_boards * cpb
    else:
        powered_chips = max(used_chips.size, int(boards or 0) * cpb if boards else 0)
        n_boards = math.ceil(powered_chips / cpb)
    p_static = powered_chips * float(en["chip_static_w"]) + n_boards * float(en.get("board_static_w", 0.0))
    e_static = p_static * timing.rtf
    return Energy(e_syn, e_neu, e_out, e_hop, e_static, n_events, powered_chips, n_boards)
