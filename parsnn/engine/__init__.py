"""The per-rank simulation engine, one module per responsibility (after NEST's kernel managers
and Arbor's recipe / decomposition / simulation split):

- :mod:`~parsnn.engine.simulation`: the :class:`Simulation` facade (build / run / finish) and the run loop;
- :mod:`~parsnn.engine.decomposition`: which nodes this rank simulates;
- :mod:`~parsnn.engine.neurons`: neuron state, parameter draws, exact propagators, devices;
- :mod:`~parsnn.engine.synapses`: target-centric synapse generation (Cython connect kernels);
- :mod:`~parsnn.engine.exchange`: spike routes and the MPI exchange of an interval;
- :mod:`~parsnn.engine.recording`: spike and V_m buffers, gathering, in-memory results;
- :mod:`~parsnn.engine.performance`: phase timers, performance figures, progress bar;
- :mod:`~parsnn.engine.streams`: ids of the counter-based random streams.

The Cython kernels (``parsnn._engine``, ``parsnn._connect``, ``parsnn._rng``) do the numerics;
the run file is written by :mod:`parsnn.runfile.writer`.
"""
from parsnn.engine.simulation import Simulation

__all__ = ["Simulation"]
