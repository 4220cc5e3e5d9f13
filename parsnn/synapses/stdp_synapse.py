"""``stdp_synapse``: pair-based STDP with all-to-all spike pairing and multiplicative weight
dependence (NEST's model after Guetig et al. 2003, parameter names and defaults); code 1.

At each presynaptic spike (time t, dendritic delay d = the synaptic delay), for every postsynaptic
spike t_j in (t_last - d, t - d], in order:  w <- facilitate(w, Kplus e^{(t_last - t_j - d)/tau_plus}),
facilitate(w, k) = Wmax min(1, w/Wmax + lambda (1 - w/Wmax)^mu_plus k); then
w <- depress(w, Kminus(t - d)), depress(w, k) = Wmax max(0, w/Wmax - alpha lambda (w/Wmax)^mu_minus k);
the spike is delivered with the new w; then Kplus <- Kplus e^{(t_last - t)/tau_plus} + 1.
Kminus is the target's trace (time constant tau_minus, a neuron parameter) just before t - d.
"""
from parsnn.errors import ParameterError
from parsnn.synapses import SynapseModel


def check_weight(low: float, high: float, params: dict, what: str):
    """Weights and Wmax must have the same sign (NEST's condition)."""
    wmax = params["Wmax"]
    if wmax == 0.0:
        raise ParameterError(f"{what}: synapse parameter Wmax must not be 0")
    if (wmax > 0 and low < 0) or (wmax < 0 and high >= 0):
        raise ParameterError(f"{what}: the weights and Wmax must have the same sign "
                             f"(Wmax = {wmax}, weights in [{low}, {high}])")


MODEL = SynapseModel(
    name="stdp_synapse", code=1,
    parameters={"tau_plus": (20.0, 0.0, True), "lambda": (0.01, 0.0, False), "alpha": (1.0, 0.0, False),
                "mu_plus": (1.0, 0.0, False), "mu_minus": (1.0, 0.0, False), "Wmax": (100.0, None, False)},
    check_weight=check_weight)
