"""``stdp_pl_synapse_hom``: power-law STDP of Morrison et al. 2007 with parameters shared by all
synapses (NEST's model, parameter names and defaults); code 2.

As ``stdp_synapse`` (same pairing, windows and traces) with facilitate(w, k) = w + lambda w^mu k
and depress(w, k) = max(0, w - lambda alpha w k).
"""
from parsnn.errors import ParameterError
from parsnn.synapses import SynapseModel


def check_weight(low: float, high: float, params: dict, what: str):
    """The power law needs weights >= 0."""
    if low < 0:
        raise ParameterError(f"{what}: stdp_pl_synapse_hom needs weights >= 0, got values down to {low}")


MODEL = SynapseModel(
    name="stdp_pl_synapse_hom", code=2,
    parameters={"tau_plus": (20.0, 0.0, True), "lambda": (0.1, 0.0, False), "alpha": (1.0, 0.0, False),
                "mu": (0.4, 0.0, False)},
    check_weight=check_weight)
