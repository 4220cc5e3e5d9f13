"""parsnn: distributed simulation of spiking neural networks at natural density."""
__version__ = "0.1.0"

from parsnn.errors import ParameterError
from parsnn.network import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne,
                            PairwiseBernoulli, Uniform)

__all__ = ["Network", "Normal", "Uniform", "FixedTotalNumber", "FixedIndegree", "PairwiseBernoulli",
           "AllToAll", "OneToOne", "ParameterError", "Simulation", "__version__"]


def __getattr__(name):
    """``parsnn.Simulation``, imported on first use: it loads mpi4py (which initialises MPI) and
    h5py, which ``import parsnn`` alone (the network API, the serial commands) does not need."""
    if name == "Simulation":
        from parsnn.engine import Simulation
        return Simulation
    raise AttributeError(f"module 'parsnn' has no attribute {name!r}")
