"""parsnn as a PyNN backend: ``import parsnn.pynn as sim`` runs a PyNN 0.13 script on parsnn,
also under ``mpiexec -n P python script.py``.

Supported: ``setup`` / ``run`` / ``run_until`` / ``reset`` / ``end``, ``Population``,
``PopulationView``, ``Assembly``, ``Projection`` with ``StaticSynapse`` (constant, array or random
weights and delays), every PyNN connector (AllToAll, OneToOne, FixedProbability, FixedNumberPre and
FixedTotalNumber with replacement run in the engine; the others through PyNN's own code as explicit
lists), the cell types ``IF_curr_exp``, ``IF_curr_alpha``, ``IF_curr_delta``, ``SpikeSourcePoisson``,
``SpikeSourceArray`` and any parsnn model by its NEST name (``native_cell_type("iaf_psc_exp")``),
``DCSource`` (constant), ``StepCurrentSource``, ``ACSource`` (sinusoid, evaluated per step as NEST's
ac_generator; ``source.record()`` / ``get_data()``), ``record('spikes'/'v')``, ``get_data`` / ``write_data`` (Neo).
Units are PyNN's (nA, nF, mV, ms; weights in nA, or mV for IF_curr_delta); the engine's are NEST's.

Seeds: ``setup(rng_seed=S)`` is parsnn's seed (default 12345); every random number (cell
parameters, connections, weights, delays, Poisson spikes) comes from parsnn's counter-based streams
keyed by S, the use and the ``NumpyRNG(seed=...)`` given, so a script gives the same network and
spikes on any number of ranks. The numbers differ from pyNN.nest's for the same seeds.
Plasticity: ``STDPMechanism`` with ``SpikePairRule`` and an additive, multiplicative,
additive-potentiation/multiplicative-depression or Guetig weight dependence is NEST's
``stdp_synapse`` (:mod:`parsnn.pynn.plasticity`); ``native_synapse_type("stdp_pl_synapse_hom")``
gives parsnn's other rule under NEST's names; ``Projection.get("weight")`` after a run returns the
plastic weights (collective: call it on every rank).
Not supported (NotImplementedError naming it): conductance-based cells, STDP rules that do not map
exactly onto parsnn's (e.g. w_min != 0, Vogels2011Rule), NoisyCurrentSource, changing the network or
its parameters between run() and reset() (except ``i_offset``, current sources, a SpikeSourcePoisson's
``rate`` and a SpikeSourceArray's ``spike_times``, which must then lie after the current time, as in
NEST), recording anything but spikes and V_m,
``setup(spike_precision='off_grid')`` (off-grid SpikeSourceArray times are rounded up to the grid, as
pyNN.nest does with ``spike_precision='on_grid'``).
"""
from pyNN import random, space                                  # noqa: F401
from pyNN.connectors import *                                    # noqa: F401,F403
from pyNN.network import Network                                 # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution     # noqa: F401
from pyNN.recording import *                                     # noqa: F401,F403
from pyNN.space import Space                                     # noqa: F401
from pyNN.standardmodels import StandardCellType

from parsnn.pynn.control import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                                 get_time_step, initialize, num_processes, rank, reset, run, run_for,
                                 run_until, setup)
from parsnn.pynn.cells import native_cell_type                   # noqa: F401
from parsnn.pynn.populations import Assembly, Population, PopulationView   # noqa: F401
from parsnn.pynn.procedural_api import connect, create, record   # noqa: F401
from parsnn.pynn.projections import Projection                   # noqa: F401
from parsnn.pynn.plasticity import (AdditivePotentiationMultiplicativeDepression,  # noqa: F401
                                    AdditiveWeightDependence, GutigWeightDependence,
                                    MultiplicativeWeightDependence, SpikePairRule, STDPMechanism,
                                    native_synapse_type)
from parsnn.pynn.electrodes import ACSource, DCSource, StepCurrentSource    # noqa: F401
from parsnn.pynn.standardmodels import (IF_curr_alpha, IF_curr_delta, IF_curr_exp, SpikeSourceArray,  # noqa: F401
                                        SpikeSourcePoisson, StaticSynapse)


def list_standard_models():
    """Names of the standard cell types this backend provides."""
    return [name for name, obj in globals().items()
            if isinstance(obj, type) and issubclass(obj, StandardCellType) and hasattr(obj, "engine_model")]


def __getattr__(name):
    """A PyNN model this backend does not provide (any standard cell, synapse, current source or
    receptor class of PyNN): NotImplementedError naming it, at the point of use."""
    import pyNN.standardmodels as standard
    from pyNN.standardmodels import cells, electrodes, receptors, synapses
    if any(isinstance(getattr(m, name, None), type) for m in (cells, electrodes, synapses, receptors, standard)):
        raise NotImplementedError(f"parsnn.pynn: {name} is not supported by parsnn (yet)")
    raise AttributeError(f"module 'parsnn.pynn' has no attribute '{name}'")
