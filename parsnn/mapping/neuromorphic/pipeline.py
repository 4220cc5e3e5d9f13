"""``map_network``: the mapping as a pipeline of stages, and ``scaling_curve``.

The network enters as a :class:`parsnn.connectivity.Connectivity` (made once by the caller) and is
passed on as is: rates -> core split (:mod:`.cores`) -> core traffic and
placement (:mod:`.placement`) -> expected traffic (:mod:`.traffic`) -> per-step times, RTF and
energy (:mod:`.energy`) -> result (:mod:`.report`).
"""
from __future__ import annotations

from parsnn.connectivity import Connectivity, require
from parsnn.errors import ParameterError
from parsnn.mapping.neuromorphic.cores import MAX_CORES, min_cores, placed_rates, split_into_cores
from parsnn.mapping.neuromorphic.energy import energy_per_model_second, step_timing
from parsnn.mapping.neuromorphic.hardware import Hardware, load_hardware
from parsnn.mapping.neuromorphic.placement import place_cores
from parsnn.mapping.neuromorphic.report import SUMMARY_KEYS, mapping_result
from parsnn.mapping.neuromorphic.traffic import (DEFAULT_STEPS, core_step_costs, core_traffic_matrix,
                                                 expected_traffic, link_loads, spike_flows, step_spike_counts)

PLACEMENTS = ("graph", "block", "round_robin", "population")
MODES = ("combined", "split")


def _check_options(hw: Hardware, placement, mode, synapse_cores, neurons_per_core) -> tuple[str, int]:
    """(mode, synapse cores per neuron core: 0 in combined mode) after checking the options."""
    if placement not in PLACEMENTS:
        raise ParameterError(f"--placement must be one of {', '.join(PLACEMENTS)}, got '{placement}'")
    split_cfg = hw.data.get("split", {})
    mode = mode or split_cfg.get("mode", "combined")
    if mode not in MODES:
        raise ParameterError(f"--mode must be one of {', '.join(MODES)}, got '{mode}'")
    m_syn = int(synapse_cores if synapse_cores is not None else split_cfg.get("synapse_cores", 1)) \
        if mode == "split" else 0
    if mode == "split" and m_syn < 1:
        raise ParameterError(f"split mode needs at least 1 synapse core per neuron core, got {m_syn}")
    if neurons_per_core is not None and int(neurons_per_core) < 1:
        raise ParameterError(f"--neurons-per-core must be at least 1, got {neurons_per_core}")
    return mode, m_syn


def map_network(conn: Connectivity, target="spinnaker", placement="graph", rates=None, step_counts=None, cores=None,
                boards=None, seed=0, steps=DEFAULT_STEPS, keep_arrays=False, neurons_per_core=None,
                mode=None, synapse_cores=None, enforce_fan_in=False) -> dict:
    """Map the network ``conn`` (a :class:`~parsnn.connectivity.Connectivity`) onto ``target``; see
    the package docstring.

    ``rates``: None (the model's expected rates) or per-neuron rates (spikes/s, e.g. measured);
    ``step_counts``: [K, S] spikes per step and population (measured), else Poisson draws;
    ``cores``: at least this many cores; ``boards``: powered boards (SpiNNaker) / chip count floor;
    ``neurons_per_core``: cap on neurons per (neuron) core, default the target's ``[core] neurons``;
    ``mode``: ``combined`` (a core does its neurons' synaptic and neural work) or ``split`` (every
    neuron core gets ``synapse_cores`` synapse cores on the same chip that share its incoming spikes
    and hand the summed input over in SDRAM, sPyNNaker's neuron/synapse split); default from the
    target's ``[split]`` section, else combined; ``enforce_fan_in``: cap every population's neurons per
    core so that a core's expected input axons stay within ``[core] fan_in``, then re-split with
    smaller cores while a core that mixes populations still exceeds it (error if one neuron already
    exceeds it, or if FAN_IN_ATTEMPTS splits do not get there)."""
    hw = load_hardware(target)
    mode, m_syn = _check_options(hw, placement, mode, synapse_cores, neurons_per_core)
    require(conn, "conn", "map_network")
    dt = float(conn.resolution) * 1e-3
    r = placed_rates(conn, rates)
    if not conn.placeable.any():
        raise ParameterError("the network has no neurons to place")
    # split mode: the synapse memory of a slice is spread over its synapse cores
    split = split_into_cores(conn, hw, placement, cores, neurons_per_core, max(1, m_syn), enforce_fan_in)
    flows = spike_flows(conn, split, r)
    place = place_cores(hw, placement, core_traffic_matrix(hw, split, flows), m_syn, boards, seed)
    traffic = expected_traffic(conn, hw, split, flows, place)
    base, coef = core_step_costs(hw, split.counts.sum(axis=0), traffic, m_syn)
    links = link_loads(hw, place.geom, traffic)
    counts, counts_from = step_spike_counts(step_counts, flows.per_population, dt, steps, seed)
    timing = step_timing(hw, place, links, traffic, counts, base, coef, flows.per_population, dt)
    energy = energy_per_model_second(hw, place, links, traffic, timing, int(conn.placeable.sum()), dt, boards)
    return mapping_result(conn, hw, placement, mode, m_syn, split, place, traffic, links, counts_from, counts,
                          timing, energy, keep_arrays)


def scaling_curve(conn: Connectivity, target, placement="graph", rates=None, step_counts=None,
                  factors=(1, 1.5, 2, 3, 4, 6, 8), **kw) -> list[dict]:
    """Strong scaling of the network ``conn`` (a :class:`~parsnn.connectivity.Connectivity`): the mapping
    with C_min x factor cores."""
    hw = load_hardware(target)
    require(conn, "conn", "scaling_curve")
    N = int(conn.sizes[~conn.virtual].sum())
    cmin = min_cores(conn, hw)
    out = []
    seen = set()
    for f in factors:
        c = min(N, max(1, int(round(cmin * f))))
        if c in seen or c > MAX_CORES:
            continue
        seen.add(c)
        m = map_network(conn, hw, placement, rates=rates, step_counts=step_counts, cores=c, **kw)
        out.append({k: m[k] for k in SUMMARY_KEYS})
    return out
