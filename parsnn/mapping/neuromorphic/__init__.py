"""Mapping a network onto neuromorphic hardware: cores, chips, routes, traffic, time and energy.

Targets are data (``parsnn/mapping/hardware/*.toml``: SpiNNaker 1 and 2, Loihi 1 and 2, a generic
2D-mesh NoC); every number there cites its source or is marked as an assumption. The pipeline
works at the granularity the hardware has (neurons -> cores -> routers/chips) and, like
:mod:`parsnn.partition.metrics`, from population-level expected connectivity: no synapse is
enumerated, so full-scale PD14 maps in seconds. :func:`map_network` runs it stage by stage; each
stage's equations are in its module's docstring:

1. :mod:`.hardware`: the target description.
2. :mod:`.cores`: neurons -> cores (neuron and synapse capacity, fan-in, population slices,
   split mode's synapse cores).
3. :mod:`.placement`: cores -> routers -> grid slots (Hilbert order, METIS grouping, swap
   refinement); :mod:`.routing`: the grid and the dimension-order routes.
4. :mod:`.traffic`: expected link, router and core loads; per-step core and link times.
5. :mod:`.energy`: time per step -> real-time factor, dropped-packet risk, energy.
6. :mod:`.report`: the result, the summary table and the figures; :mod:`.spikes`: measured
   traffic from a run file.

Left out (see analysis/results/neuromorphic_validation.md): packet-level contention and queueing,
router back-pressure and re-routing, routing-table minimisation, synapse cores sized per
population (Rhodes et al. 2019; split mode gives every neuron core the same number), Poisson source
cores, host I/O and loading time, delays' effect on burst spreading,
OneToOne projections in the traffic.
"""
from parsnn.mapping.neuromorphic.cores import fan_in_neurons_per_core, min_cores, neurons_per_core
from parsnn.mapping.neuromorphic.hardware import TARGETS, Hardware, available_hardware, load_hardware
from parsnn.mapping.neuromorphic.pipeline import MODES, PLACEMENTS, map_network, scaling_curve
from parsnn.mapping.neuromorphic.report import SUMMARY_KEYS, format_energy, format_table, plot
from parsnn.mapping.neuromorphic.routing import Geometry, hilbert_order, make_geometry
from parsnn.mapping.neuromorphic.spikes import run_inputs

__all__ = ["MODES", "PLACEMENTS", "SUMMARY_KEYS", "TARGETS", "Geometry", "Hardware", "available_hardware",
           "fan_in_neurons_per_core", "format_table", "hilbert_order", "load_hardware", "make_geometry",
           "map_network", "min_cores", "neurons_per_core", "plot", "run_inputs", "scaling_curve"]
