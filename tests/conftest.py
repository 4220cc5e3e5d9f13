"""Fixtures shared by the tests."""
import numpy as np
import pytest

from spike_files import poisson_trains, write_run


@pytest.fixture(scope="session")
def two_pop_run(tmp_path_factory):
    """A run file with populations E (40 neurons, 20 spikes/s) and I (10, 40 spikes/s) over 2 s;
    returns ``(path, {name: (size, times, ids)})``."""
    rng = np.random.default_rng(3)
    te, ie = poisson_trains(rng, 40, 20.0, 0.0, 2000.0)
    ti, ii = poisson_trains(rng, 10, 40.0, 0.0, 2000.0)
    path = str(tmp_path_factory.mktemp("run") / "run.h5")
    write_run(path, {"E": (40, te, ie), "I": (10, ti, ii)})
    return path, {"E": (40, te, ie), "I": (10, ti, ii)}
