"""Mapping a network onto a machine: performance prediction from a description.

:mod:`parsnn.mapping.cluster` predicts, for a network description, a
partition, expected or measured firing rates and a machine description (TOML
files in ``parsnn/machines/``), the time of every phase of every
min-delay interval on every rank, the critical path and the real-time factor,
for any number of ranks.
"""
from parsnn.mapping.cluster import (Machine, available_machines, crossover, load_machine, predict, sweep,
                                    workload)

__all__ = ["Machine", "available_machines", "crossover", "load_machine", "predict", "sweep", "workload"]

# Neuromorphic targets (SpiNNaker 1/2, Loihi 1/2, generic NoC): the package parsnn.mapping.neuromorphic,
# hardware descriptions in parsnn/mapping/hardware/*.toml.
from parsnn.mapping.neuromorphic import available_hardware, load_hardware, map_network  # noqa: E402

__all__ += ["available_hardware", "load_hardware", "map_network"]
