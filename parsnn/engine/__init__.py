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

The step loop and the build run on ``threads`` OpenMP threads per rank (``Simulation(threads=T)``,
``parsnn run --threads T``); the thread count is set per parallel region, ``OMP_NUM_THREADS`` is not
read or changed. The Cython kernels (``parsnn._engine``, ``parsnn._connect``, ``parsnn._rng``) do the numerics;
the run file is written by :mod:`parsnn.runfile.writer`.
"""
import os as _os

# OpenMP threads wait politely: unless the user chose a wait policy, an idle thread spins for
# GOMP_SPINCOUNT=10000 iterations (microseconds) and then sleeps, so a loaded machine is not
# burnt by spinning. Set here, before the kernels load the OpenMP runtime (it reads them once).
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "10000"


def __getattr__(name):
    """``Simulation``, imported on first use: it loads mpi4py (which initialises MPI) and the kernels,
    which the serial commands reading :mod:`parsnn.engine.footprint` do not need."""
    if name == "Simulation":
        from parsnn.engine.simulation import Simulation
        return Simulation
    raise AttributeError(f"module 'parsnn.engine' has no attribute {name!r}")


__all__ = ["Simulation"]
