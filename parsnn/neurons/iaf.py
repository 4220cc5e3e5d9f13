"""What the integrate-and-fire models (``iaf_psc_exp``, ``iaf_psc_delta``) share: their state
and membrane propagator, set relative to E_L."""
from __future__ import annotations

import numpy as np

from parsnn.errors import ParameterError


def prepare_membrane(x: dict, sl: slice, name: str, draw, h: float):
    """State, threshold, reset, input current, refractory steps and membrane propagator p22 of the
    integrate-and-fire neurons ``sl`` (voltages relative to E_L); returns (E_L, C_m, tau_m)."""
    E_L, C_m, tau_m = draw("E_L"), draw("C_m"), draw("tau_m")
    x["el"][sl] = E_L
    if np.any(C_m <= 0) or np.any(tau_m <= 0):
        raise ParameterError(f"population '{name}': C_m and tau_m must be > 0")
    x["V"][sl] = draw("V_m") - E_L
    x["theta"][sl] = draw("V_th") - E_L
    x["vreset"][sl] = draw("V_reset") - E_L
    if np.any(x["vreset"][sl] >= x["theta"][sl]):
        raise ParameterError(f"population '{name}': V_reset must be < V_th")
    x["ie"][sl] = draw("I_e")
    t_ref = draw("t_ref")
    if np.any(t_ref < 0):
        raise ParameterError(f"population '{name}': t_ref must be >= 0")
    x["refr"][sl] = np.rint(t_ref / h).astype(np.int32)
    x["p22"][sl] = np.exp(-h / tau_m)
    return E_L, C_m, tau_m
