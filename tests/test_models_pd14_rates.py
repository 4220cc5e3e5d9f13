"""PD14 at n_scaling=0.1, k_scaling=1, DC drive: population rates agree with NEST.

Reference: NEST 3.10 on this kind of machine, five seeds, rates over 500-5500 ms,
mean +- sd over seeds (shared/reference/measured_here.md). These differ from the
full-scale rates: the denser connectivity of the downscaled model changes the
dynamics.
"""
import numpy as np
import pytest
from mpi4py import MPI

from parsnn.models import pd14
from parsnn.engine import Simulation

pytestmark = pytest.mark.slow   # simulates PD14 long enough for rate statistics

NEST_RATES = {  # spikes/s: (mean, sd over seeds)
    "L23E": (2.77, 0.48), "L23I": (6.46, 0.88), "L4E": (3.94, 0.06), "L4I": (7.14, 0.38),
    "L5E": (12.78, 0.79), "L5I": (10.73, 0.48), "L6E": (1.12, 0.06), "L6I": (9.51, 0.36),
}


@pytest.fixture(scope="module")
def rates():
    net = pd14.build_network(n_scaling=0.1, k_scaling=1.0, bg="dc")
    sim = Simulation(net, seed=55, comm=MPI.COMM_SELF, keep_spikes=False, summary_from_ms=500.0)
    sim.run(5500.0)
    assert sim.summary_window() == (500.0, 5500.0)
    return sim.summary_rates()


@pytest.mark.parametrize("pop", list(NEST_RATES))
def test_rate_within_nest_spread(rates, pop):
    mean, sd = NEST_RATES[pop]
    assert rates[pop] > 0.1, f"{pop} is silent"
    assert abs(rates[pop] - mean) <= 3 * sd, f"{pop}: {rates[pop]:.3f} vs NEST {mean} +- {sd}"
