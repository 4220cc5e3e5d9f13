"""parsnn: distributed simulation of spiking neural networks at natural density."""
__version__ = "0.1.0"

from parsnn.errors import ParameterError
from parsnn.network import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne,
                            PairwiseBernoulli, Uniform)

__all__ = ["Network", "Normal", "Uniform", "FixedTotalNumber", "FixedIndegree", "PairwiseBernoulli",
           "AllToAll", "OneToOne", "ParameterError", "__version__"]
