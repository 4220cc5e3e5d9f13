"""parsnn against NEST (installed in the same Python) on the single-neuron iaf_psc_alpha scenarios and
the single-synapse STDP scenarios of the tests: prints the largest |V_m| and |weight| difference of
each case (the tests assert <= 1e-9; this shows how far below that they are).

    PYNEST_QUIET=1 python analysis/nest_single_comparison.py > analysis/results/nest_comparison/deviations.txt

Uses the scenario definitions and the NEST drivers of tests/ (tests/nest_single_neuron.py,
tests/plastic_scenarios.py), so it compares exactly what the tests compare.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import nest_single_neuron as nn  # noqa: E402
import plastic_scenarios as sc  # noqa: E402
import test_neurons_iaf_psc_alpha as ta  # noqa: E402

STDP_CASES = [
    ("stdp_synapse", {"lambda": 0.05, "mu_plus": 0.4, "mu_minus": 0.7, "alpha": 1.2, "Wmax": 60.0, "tau_plus": 17.0}),
    ("stdp_synapse", {"lambda": 2.0, "alpha": 0.2, "Wmax": 24.0}),
    ("stdp_pl_synapse_hom", {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}),
]


def neuron_cases():
    """Print max |dV| for every iaf_psc_alpha scenario."""
    for name, s in ta.SCENARIOS.items():
        res = nn.run_nest_single_neuron("iaf_psc_alpha", {**ta.BASE, **s["params"]}, s["t_sim"], s["inputs"], ta.H)
        _, V, sp = ta.run_parsnn(s["params"], s["inputs"], s["t_sim"])
        dsp = np.abs(np.sort(sp) - np.sort(res["spike_times"])).max() if len(sp) else 0.0
        print(f"iaf_psc_alpha {name}: {len(V)} samples, spikes parsnn {len(sp)} NEST {len(res['spike_times'])}"
              f" (max |dt| {dsp:.1e} ms), max |dV_m| = {np.abs(V - res['V_m']).max():.2e} mV")


def synapse_cases():
    """Print max |dw| for every STDP scenario (the weight after each presynaptic spike)."""
    for model, params in STDP_CASES:
        for delay in (0.1, 1.5, 4.0):
            rng = np.random.default_rng(5)
            pre = (np.unique(np.round(rng.uniform(2.0, 400.0, 40))) / 2.0).tolist()
            post = np.unique(np.round(rng.uniform(1.0, 200.0, 30), 1)).tolist()
            at = [t + 0.1 for t in pre]
            npost, nw = sc.nest_single_synapse(model, params, 20.0, delay, pre, post, tau_minus=25.0, weights_at=at)
            gpost, gw = sc.single_synapse(model, params, 20.0, delay, pre, post, tau_minus=25.0,
                                          weights_at=at[:-1], t_sim=at[-1])
            gw, nw = np.array(list(gw.values())), np.array(nw)
            print(f"{model} {params} delay {delay}: {len(nw)} weights in [{nw.min():.4f}, {nw.max():.4f}]"
                  f" ({int((nw == 0).sum())} at 0), max |dw| = {np.abs(gw - nw).max():.2e},"
                  f" post spikes max |dt| = {np.abs(gpost - npost).max():.1e} ms")


if __name__ == "__main__":
    import nest
    print(f"NEST {nest.__version__}; parsnn {os.popen('git rev-parse --short HEAD').read().strip()}")
    neuron_cases()
    synapse_cases()
