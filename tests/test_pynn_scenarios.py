"""PyNN's own simulator-independent system scenarios (test/system/scenarios of the installed PyNN
release's sdist, fetched with pip at collection into pytest's cache, or the temporary directory;
nothing vendored) against parsnn.pynn. A scenario passes, or is skipped with the reason (a feature
parsnn does not have, raised as NotImplementedError, or the scenario's own skip); any other error
fails. Every scenario that analysis/results/pynn/scenarios.txt lists as passed must pass (so a lost
feature cannot hide behind a skip). Offline: one test, skipped with the reason."""
import os
import tempfile

import pytest

from parsnn.pynn import scenarios

RESULTS = os.path.join(os.path.dirname(__file__), "..", "analysis", "results", "pynn", "scenarios.txt")


def _expected_passes() -> set:
    """(module, scenario) of every scenario the committed result file lists as passed."""
    with open(RESULTS) as f:
        rows = [[c.strip() for c in line.split("|")] for line in f if "|" in line and not line.startswith("#")]
    return {(r[0], r[1]) for r in rows if len(r) >= 3 and r[2] == "passed"}


def _cache_dir(config) -> str:
    """Where the sdist goes: pytest's cache, or the temporary directory without the cache plugin."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        return str(cache.mkdir("pynn-sdist"))
    return os.path.join(tempfile.gettempdir(), f"parsnn-pynn-sdist-{os.getuid()}")


def pytest_generate_tests(metafunc):
    """One test per scenario of the fetched PyNN source; a single skipped one when it is unavailable."""
    if "scenario" not in metafunc.fixturenames:
        return
    try:
        root = scenarios.fetch_source(_cache_dir(metafunc.config))
        found = scenarios.scenarios(root)
    except scenarios.SourceUnavailable as e:
        metafunc.parametrize("scenario", [pytest.param(None, id="unavailable",
                                                       marks=pytest.mark.skip(reason=str(e)))])
        return
    metafunc.parametrize("scenario", found, ids=[f"{m}::{n}" for m, n, _ in found])


def test_scenario(scenario):
    """The scenario passes, or is skipped for a missing feature (never one the results list as passed)."""
    from parsnn.pynn.__main__ import install
    install()
    import parsnn.pynn as sim
    module, name, fn = scenario
    outcome, reason = scenarios.run_scenario(fn, sim)
    if outcome == "failed":
        pytest.fail(f"{module}.{name}: {reason}")
    if outcome == "skipped":
        assert (module, name) not in _expected_passes(), \
            f"{module}.{name} is listed as passed in scenarios.txt but now skips: {reason}"
        pytest.skip(reason)


def test_results_file_lists_every_scenario(request):
    """analysis/results/pynn/scenarios.txt lists the scenarios of the fetched release (regenerate it with
    scripts/pynn_scenarios.py --out ...)."""
    try:
        root = scenarios.fetch_source(_cache_dir(request.config))
    except scenarios.SourceUnavailable as e:
        pytest.skip(str(e))
    with open(RESULTS) as f:
        listed = {tuple(c.strip() for c in line.split("|")[:2])
                  for line in f if "|" in line and not line.startswith("#")}
    assert listed == {(m, n) for m, n, _ in scenarios.scenarios(root)}


def _uses_unsupported(sim):
    """A scenario-like function naming three features parsnn.pynn refuses."""
    sim.setup(timestep=0.1, spike_precision="off_grid")
    cells = sim.Population(2, sim.IF_cond_exp())         # not sim.IF_cond_alpha(): comments are not read
    sim.Projection(cells, cells, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(), receptor_type="excitatory")


def test_skip_reason_names_every_unsupported_feature():
    """A skip names the first refusal and every other unsupported feature the scenario's code names
    (not its comments)."""
    from parsnn.pynn.__main__ import install
    install()
    import parsnn.pynn as sim
    assert scenarios.unsupported_features(_uses_unsupported, sim) == [
        "spike_precision='off_grid'", "IF_cond_exp", "TsodyksMarkramSynapse"]
    outcome, reason = scenarios.run_scenario(_uses_unsupported, sim)
    assert outcome == "skipped"
    assert reason.startswith("parsnn.pynn: setup(spike_precision='off_grid') is not supported")
    assert reason.endswith("; the scenario also uses IF_cond_exp, TsodyksMarkramSynapse")
