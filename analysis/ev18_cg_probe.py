#!/usr/bin/env python
"""ev18: one engine scatter probe (parsnn.engine.prefetch.spike_sequence + _engine.scatter_probe) of a network
(names as analysis/ev18_probe.py) with prefetch distance PF, for callgrind:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*_probe_thread*' --cache-sim=yes \
        --branch-sim=yes --D1=49152,12,64 --LL=2097152,16,64 .venv/bin/python analysis/ev18_cg_probe.py NET PF
prints the probe's events (divide the collected counts by them).
"""
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, "analysis")
from ev18_probe import network  # noqa: E402
from parsnn import _engine
from parsnn.engine import prefetch
from parsnn.engine.simulation import Simulation

name, pf = sys.argv[1], int(sys.argv[2])
sim = Simulation(network(name), seed=55, comm=MPI.COMM_WORLD, prefetch=128)
sim.build()
st = sim.st
gids, slots = prefetch.spike_sequence(st, events=1 << 19)
ev = int(prefetch.source_row_lengths(st)[gids].sum())
size = int(st.D) * int(st.ring_n)
rex = np.zeros(size)
rin = np.zeros(0) if st.one_ring else np.zeros(size)
_engine.scatter_probe(st, gids, slots, rex, rin, pf)
print("events", ev, "spikes", gids.size)
