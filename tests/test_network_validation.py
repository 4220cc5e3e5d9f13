"""Invalid input fails early and clearly (serial, fast).

Every bad parameter raises :class:`parsnn.ParameterError` whose message names
the parameter and its allowed range, *before anything is built*: the checks
run in ``Network.validate`` / the ``Simulation`` constructor / the model
builders' argument checks. The ``Simulation`` tests use a stub communicator
that refuses every collective and build methods that fail the test if called,
so an error that surfaced only during the build (or after communication
started) would fail here.
"""
import re

import numpy as np
import pytest

from parsnn import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne, PairwiseBernoulli,
                    ParameterError, Uniform)
from parsnn.models import brunel, pd14
from parsnn.engine import Simulation, neurons, recording, synapses


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class StubComm:
    """A communicator of ``size`` ranks that allows no communication at all."""

    def __init__(self, size=1, rank=0):
        self._size, self._rank = size, rank

    def Get_rank(self):
        return self._rank

    def Get_size(self):
        return self._size

    def __getattr__(self, name):
        raise AssertionError(f"communication ({name}) before validation finished")


@pytest.fixture
def no_build(monkeypatch):
    """Make every build step fail the test if it is reached."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the network was built although its parameters are invalid")
    for meth in ("build", "_open_output"):
        monkeypatch.setattr(Simulation, meth, forbidden)
    monkeypatch.setattr(neurons, "build_neurons", forbidden)
    monkeypatch.setattr(synapses, "generate_synapses", forbidden)
    monkeypatch.setattr(recording.Recorder, "setup", forbidden)
    return forbidden


def base(h=0.1, sizes=(10, 5)):
    net = Network(resolution=h)
    net.add_population("E", sizes[0])
    net.add_population("I", sizes[1])
    return net


def expect(net, match, t_sim=None, nranks=1, **sim_kwargs):
    """``net`` is rejected by validate() and by the Simulation constructor,
    both with a message matching ``match``, and nothing is built."""
    with pytest.raises(ParameterError, match=match):
        net.validate(t_sim)
    if t_sim is None:
        with pytest.raises(ParameterError, match=match):
            Simulation(net, seed=1, comm=StubComm(nranks), **sim_kwargs)


def esc(text):
    return re.escape(text)


# ---------------------------------------------------------------------------
# populations
# ---------------------------------------------------------------------------

def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "10"])
def test_population_size(no_build, size):
    net = Network()
    net.add_population("E", size)
    expect(net, f"population 'E': size must be an integer >= 1, got {esc(repr(size))}")


def test_unknown_model(no_build):
    net = Network()
    net.add_population("E", 10, model="lif")
    expect(net, r"population 'E': unknown model 'lif'; known: iaf_psc_exp, iaf_psc_delta, poisson_source")


def test_unknown_parameter_name(no_build):
    net = Network()
    net.add_population("E", 10, params={"tau": 10.0})
    expect(net, r"model iaf_psc_exp has no parameter 'tau'; known: C_m, tau_m, ")


@pytest.mark.parametrize("c_m", [0.0, -1.0, [250.0] * 9 + [0.0], Normal(250.0, 10.0), Uniform(-1.0, 5.0)])
def test_capacitance_not_positive(no_build, c_m):
    net = Network()
    net.add_population("E", 10, params={"C_m": c_m})
    expect(net, r"population 'E' parameter C_m must be > 0")


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
@pytest.mark.parametrize("v_reset", [-55.0, -50.0])
def test_reset_not_below_threshold(no_build, model, v_reset):
    net = Network()
    net.add_population("E", 10, model=model, params={"V_th": -55.0, "V_reset": v_reset})
    expect(net, rf"population 'E': V_reset must be < V_th \(got V_reset={v_reset}, V_th=-55.0\)")


def test_negative_tau_m(no_build):
    net = Network()
    net.add_population("E", 10, params={"tau_m": -10.0})
    expect(net, r"parameter tau_m must be > 0")


# ---------------------------------------------------------------------------
# connection rules
# ---------------------------------------------------------------------------

def connect(rule, **kw):
    net = base()
    net.connect("E", "I", rule, **kw)
    return net


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), np.float32(1.5)])
def test_pairwise_bernoulli_p(no_build, p):
    expect(connect(PairwiseBernoulli(p)), r"projection 'E->I': pairwise_bernoulli p must be in \[0, 1\], got ")


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, np.float32(0.5), np.float64(0.25)])
def test_pairwise_bernoulli_p_valid(p):
    connect(PairwiseBernoulli(p)).validate()


def test_pairwise_bernoulli_message_shows_value(no_build):
    expect(connect(PairwiseBernoulli(1.5)), r"p must be in \[0, 1\], got 1\.5$")
    expect(connect(PairwiseBernoulli(-0.1)), r"p must be in \[0, 1\], got -0\.1$")


@pytest.mark.parametrize("k", [-1, 2.5])
def test_fixed_indegree_k(no_build, k):
    expect(connect(FixedIndegree(k)), rf"fixed_indegree k must be an integer >= 0, got {esc(repr(k))}")


def test_fixed_total_number_n(no_build):
    expect(connect(FixedTotalNumber(-5)), r"fixed_total_number n must be an integer >= 0, got -5")


def test_one_to_one_size_mismatch(no_build):
    expect(connect(OneToOne()), r"projection 'E->I': one_to_one needs equal sizes, got 10 and 5")


def test_unknown_rule(no_build):
    expect(connect("all_to_all"), r"unknown connection rule 'all_to_all'; known: FixedTotalNumber")


# ---------------------------------------------------------------------------
# delays and times
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("delay", [0.05, 0.0, -1.0])
def test_delay_below_resolution(no_build, delay):
    expect(connect(AllToAll(), delay=delay),
           rf"projection 'E->I' delay must be >= the resolution 0\.1 ms, got {esc(str(delay))}")


def test_delay_equal_to_resolution_is_valid():
    connect(AllToAll(), delay=0.1).validate(100.0)


@pytest.mark.parametrize("delay, low", [(Normal(1.5, 0.75), "-inf"), (Normal(1.5, 0.75, low=0.04), "0.04"),
                                        (Uniform(0.0, 1.0), "0.0")])
def test_delay_distribution_lower_bound(no_build, delay, low):
    expect(connect(AllToAll(), delay=delay),
           rf"delay: the distribution's lower bound must be >= half the resolution \(0\.05 ms\), got {low}")


def test_delay_distribution_lower_bound_at_half_step_is_valid():
    connect(AllToAll(), delay=Normal(1.5, 0.75, low=0.05)).validate()


@pytest.mark.parametrize("delay", [7000.0, 6553.6, Uniform(1.0, 7000.0), Normal(1.0, 1.0, low=0.1, high=7000.0)])
def test_delay_above_storage_range(no_build, delay):
    # delays are stored as 16-bit step counts: caught up front, not during the build on every rank
    expect(connect(AllToAll(), delay=delay),
           r"projection 'E->I' delay must be <= 65535 steps \(6553\.5 ms at resolution 0\.1 ms\), got ")


def test_delay_at_storage_limit_is_valid():
    connect(AllToAll(), delay=6553.5).validate()


def test_poisson_delay_below_resolution(no_build):
    net = base()
    net.add_poisson("E", rate=10.0, weight=1.0, delay=0.05)
    expect(net, r"Poisson delay for 'E' must be >= the resolution 0\.1 ms, got 0\.05")


def test_t_sim_not_a_multiple_of_the_resolution():
    with pytest.raises(ParameterError, match=r"t_sim = 100\.05 ms must be a multiple of the resolution 0\.1 ms"):
        base().validate(100.05)
    with pytest.raises(ParameterError, match=r"t_sim = 1000\.0 ms must be a multiple of the resolution 0\.3 ms"):
        base(h=0.3).validate(1000.0)


@pytest.mark.parametrize("t_sim", [0.3, 100.0, 1000.0, 0.1])
def test_t_sim_multiple_of_the_resolution_is_valid(t_sim):
    base().validate(t_sim)


@pytest.mark.parametrize("t_sim", [0, 0.0, -5.0, float("inf"), float("nan"), "100"])
def test_t_sim_not_positive(t_sim):
    with pytest.raises(ParameterError, match=r"t_sim must be > 0 ms, got "):
        base().validate(t_sim)


@pytest.mark.parametrize("t_sim, match", [(100.05, r"t_sim = 100\.05 ms must be a multiple of the resolution 0\.1"),
                                          (0.0, r"t_sim must be > 0 ms"), (-1.0, r"t_sim must be > 0 ms")])
def test_simulation_run_checks_t_sim_before_building(no_build, t_sim, match):
    sim = Simulation(base(), seed=1, comm=StubComm(1))
    with pytest.raises(ParameterError, match=match):
        sim.run(t_sim)
    assert not sim.built


@pytest.mark.parametrize("h", [0, -0.1, float("nan"), "0.1"])
def test_resolution(no_build, h):
    expect(base(h=h), r"resolution must be a number > 0 ms, got ")


# ---------------------------------------------------------------------------
# references to populations, devices, recorders
# ---------------------------------------------------------------------------

def test_projection_to_unknown_population(no_build):
    net = base()
    net.connect("E", "X", AllToAll())
    expect(net, r"projection 'E->X' target: unknown population 'X'; known: E, I")


def test_projection_from_unknown_population(no_build):
    net = base()
    net.connect("Y", "E", AllToAll())
    expect(net, r"projection 'Y->E' source: unknown population 'Y'; known: E, I")


def test_dc_to_unknown_population(no_build):
    net = base()
    net.add_dc("X", 100.0)
    expect(net, r"DC input target: unknown population 'X'; known: E, I")


def test_poisson_to_unknown_population(no_build):
    net = base()
    net.add_poisson("X", rate=8.0, weight=87.8)
    expect(net, r"Poisson input target: unknown population 'X'; known: E, I")


def test_negative_poisson_rate(no_build):
    net = base()
    net.add_poisson("E", rate=-1.0, weight=1.0)
    expect(net, r"Poisson rate for 'E' \(spikes/s\): values must be >= 0\.0, got -1\.0")


def test_spike_recorder_unknown_population(no_build):
    net = base()
    net.record_spikes(["E", "X"])
    expect(net, r"spike recorder population: unknown population 'X'")


@pytest.mark.parametrize("ids", [[0, 10], [-1], [], [3, 3]])
def test_voltage_recorder_ids_out_of_range(no_build, ids):
    net = base()
    net.record_voltage("E", ids)
    expect(net, rf"voltage recorder ids for 'E' must be distinct and in \[0, 9\], got {esc(str(ids))}")


def test_voltage_recorder_interval(no_build):
    net = base()
    net.record_voltage("E", [0], interval=0.25)
    expect(net, r"voltage recorder interval for 'E' = 0\.25 ms must be a multiple of the resolution 0\.1 ms")


def spike_generator_net(times, h=0.1):
    net = base(h=h)
    net.add_population("G", len(times), model="spike_generator", spike_times=times)
    net.connect("G", "E", AllToAll())
    return net


def test_spike_generator_times_not_multiples_of_h(no_build):
    expect(spike_generator_net([[1.0, 2.05]]),
           r"population 'G' node 0 spike time = 2\.05 ms must be a multiple of the resolution 0\.1 ms")


@pytest.mark.parametrize("times", [[[2.0, 1.0]], [[0.0, 1.0]], [[1.0], [-0.5]]])
def test_spike_generator_times_unsorted_or_too_early(no_build, times):
    expect(spike_generator_net(times), r"spike times must be sorted and >= the resolution 0\.1 ms")


def test_spike_generator_needs_one_train_per_node(no_build):
    net = base()
    net.add_population("G", 3, model="spike_generator", spike_times=[[1.0]])
    expect(net, r"population 'G': spike_generator needs spike_times, one sequence per node \(3\)")


def test_spike_generator_valid():
    spike_generator_net([[1.0, 2.0, 2.0], []]).validate(10.0)


# ---------------------------------------------------------------------------
# Simulation: seed and partition
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, 1.5, "5", 2**63, None])
def test_seed(no_build, seed):
    with pytest.raises(ParameterError, match=rf"seed must be an integer in \[0, 2\^63\), got {esc(repr(seed))}"):
        Simulation(base(), seed=seed, comm=StubComm(1))


@pytest.mark.parametrize("seed", [0, 2**63 - 1, np.int64(7)])
def test_seed_valid(seed):
    Simulation(base(), seed=seed, comm=StubComm(1))


def test_seed_checked_before_the_network():
    # the constructor's own arguments are checked first; the network's errors come next
    net = Network()
    net.add_population("E", 0)
    with pytest.raises(ParameterError, match="seed"):
        Simulation(net, seed=-1, comm=StubComm(1))


def test_unknown_partition_name(no_build):
    with pytest.raises(ParameterError,
                       match=r"partition must be one of round_robin, block, population, graph or an array, got 'metis'"):
        Simulation(base(), seed=1, comm=StubComm(2), partition="metis")


@pytest.mark.parametrize("rank_of", [np.zeros(3, dtype=int), np.zeros((15, 1), dtype=int), np.zeros(15)])
def test_partition_array_wrong_shape_or_type(no_build, rank_of):
    with pytest.raises(ParameterError, match=r"partition array must be integer with one entry per node \(15\), got "
                                             rf"shape {esc(str(rank_of.shape))} dtype {rank_of.dtype}"):
        Simulation(base(), seed=1, comm=StubComm(2), partition=rank_of)


@pytest.mark.parametrize("bad", [2, -1])
def test_partition_array_rank_out_of_range(no_build, bad):
    rank_of = np.zeros(15, dtype=np.int64)
    rank_of[7] = bad
    with pytest.raises(ParameterError, match=r"partition array entries must be in \[0, 1\] for the 2 ranks"):
        Simulation(base(), seed=1, comm=StubComm(2), partition=rank_of)


def test_partition_array_valid():
    rank_of = np.arange(15) % 2
    sim = Simulation(base(), seed=1, comm=StubComm(2, rank=1), partition=rank_of)
    assert sim.partition_name == "custom" and not sim.built
    np.testing.assert_array_equal(sim.rank_of, rank_of)


def test_flush_interval(no_build):
    with pytest.raises(ParameterError, match=r"flush_ms must be > 0 ms, got 0"):
        Simulation(base(), seed=1, comm=StubComm(1), flush_ms=0)


# ---------------------------------------------------------------------------
# models: argument checks run before any network description is made
# ---------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a network description was made although the arguments are invalid")
    monkeypatch.setattr(pd14, "Network", forbidden)
    monkeypatch.setattr(brunel, "Network", forbidden)


@pytest.mark.parametrize("value", [0, 1.5, -0.1, float("nan"), "0.1", True])
@pytest.mark.parametrize("name", ["n_scaling", "k_scaling"])
def test_pd14_scaling(no_network, name, value):
    kwargs = {"n_scaling": 0.02, name: value}
    with pytest.raises(ParameterError, match=rf"{name} must be a number in \(0, 1\], got {esc(repr(value))}"):
        pd14.build_network(**kwargs)


def test_pd14_scaling_too_small_empties_a_population(no_network):
    with pytest.raises(ParameterError, match=r"n_scaling = 1e-05 leaves population\(s\) .*L5I.* empty; "
                                             r"n_scaling must be >= "):
        pd14.build_network(n_scaling=1e-5)


def test_pd14_bg(no_network):
    with pytest.raises(ParameterError, match=r"bg must be one of 'dc', 'poisson', got 'foo'"):
        pd14.build_network(n_scaling=0.02, bg="foo")


def test_pd14_record_voltage(no_network):
    with pytest.raises(ParameterError, match=r"record_voltage must be an integer >= 0 .*got -1"):
        pd14.build_network(n_scaling=0.02, record_voltage=-1)


@pytest.mark.parametrize("resolution", [0, -0.1])
def test_pd14_resolution(no_network, resolution):
    with pytest.raises(ParameterError, match=r"resolution must be a number > 0 ms"):
        pd14.build_network(n_scaling=0.02, resolution=resolution)


def test_pd14_resolution_too_coarse_for_delays():
    net = pd14.build_network(n_scaling=0.02, bg="poisson", resolution=2.0)
    with pytest.raises(ParameterError, match=r"Poisson delay for 'L23E' must be >= the resolution 2\.0 ms, got 1\.5"):
        net.validate()


@pytest.mark.parametrize("regime", ["E", "", None, 1])
def test_brunel_regime(no_network, regime):
    with pytest.raises(ParameterError, match=rf"regime must be one of A, B, C, D, got {esc(repr(regime))}"):
        brunel.build_network(regime=regime, scale=0.05)


@pytest.mark.parametrize("scale, match", [(0, r"scale must be a finite number > 0, got 0"),
                                          (-1.0, r"scale must be a finite number > 0, got -1\.0"),
                                          (1e-5, r"scale = 1e-05 leaves the inhibitory population empty")])
def test_brunel_scale(no_network, scale, match):
    with pytest.raises(ParameterError, match=match):
        brunel.build_network(scale=scale)


def test_valid_models_pass_validation(no_build):
    # the models as shipped are accepted (validation only: the build is forbidden here)
    for net in (pd14.build_network(n_scaling=0.02), pd14.build_network(n_scaling=0.02, bg="poisson", thalamus=True),
                brunel.build_network(regime="C", scale=0.05)):
        net.validate(1000.0)
        sim = Simulation(net, seed=55, comm=StubComm(4), partition="block")
        assert not sim.built and sim.rank_of.max() == 3
