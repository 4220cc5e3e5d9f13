"""The neuron-model registry (parsnn.neurons): its models, their kernel codes and parameter
tables, and that network validation, the engine and the connectivity take a model's properties
from the registry (a made-up model registered here is accepted, checked and built by them)."""
import math
import types

import numpy as np
import pytest

from parsnn import FixedIndegree, Network, ParameterError, neurons
from parsnn.connectivity import Connectivity
from parsnn.engine.neurons import build_neurons
from parsnn.neurons import NeuronModel, iaf_psc_exp


@pytest.fixture
def registry(monkeypatch):
    """The registry, restored after the test."""
    monkeypatch.setattr(neurons._CATALOG, "_models", dict(neurons._CATALOG._models))
    return neurons


def test_models_in_kernel_order():
    assert neurons.names() == ["iaf_psc_exp", "iaf_psc_delta", "poisson_source", "spike_generator", "iaf_psc_alpha"]
    assert [neurons.get(name).code for name in neurons.names()] == [0, 1, 2, 3, 4]
    assert neurons.get("iaf_psc_exp").parameters["C_m"] == (250.0, 0.0, True)
    assert neurons.get("iaf_psc_delta").parameters["V_min"] == (-math.inf, None, False)
    assert neurons.get("poisson_source").parameters["stop"] == (math.inf, 0.0, False)
    assert neurons.get("spike_generator").virtual and not neurons.get("spike_generator").receives_spikes
    with pytest.raises(ParameterError, match="unknown neuron model 'lif'; known: iaf_psc_exp, "):
        neurons.get("lif")


def test_made_up_model_in_validation(registry):
    registry.register(NeuronModel("test_sink", code=7, parameters={"gain": (1.0, 0.0, True)}))
    net = Network()
    net.add_population("S", 2, "test_sink")
    net.add_population("E", 2, "lif")
    with pytest.raises(ParameterError, match="population 'E': unknown model 'lif'; known: iaf_psc_exp, "
                                             "iaf_psc_delta, poisson_source, spike_generator, iaf_psc_alpha, test_sink$"):
        net.validate()
    del net.populations["E"]
    assert net.populations["S"].param("gain") == 1.0
    net.populations["S"].params["gain"] = 0.0
    with pytest.raises(ParameterError, match="population 'S' parameter gain must be > 0.0"):
        net.validate()
    net.populations["S"].params["gain"] = 2.0
    net.add_population("A", 2, "iaf_psc_exp")
    net.connect("A", "S", FixedIndegree(1))
    with pytest.raises(ParameterError, match=r"target 'S' \(test_sink\) cannot receive spikes"):
        net.validate()
    net.projections.clear()
    net.add_dc("S", 1.0)
    with pytest.raises(ParameterError, match="DC input target 'S' must be a neuron population, not test_sink"):
        net.validate()


def test_made_up_source_in_connectivity(registry):
    registry.register(NeuronModel("test_source", code=8, parameters={"rate": (3.0, 0.0, False)},
                                  source_rate=lambda params: 2 * float(params["rate"])))
    registry.register(NeuronModel("test_virtual", code=9, virtual=True))
    net = Network()
    net.add_population("S", 2, "test_source")
    net.add_population("G", 1, "test_virtual")
    net.add_population("A", 2, "iaf_psc_exp")
    assert net.populations["G"].is_virtual and not net.populations["S"].is_virtual
    for conn in (Connectivity.from_network(net), Connectivity.from_description(net.describe())):
        assert conn.source_rates == {"S": 6.0}
        assert conn.virtual.tolist() == [False, True, False]


def test_engine_prepares_with_the_registry(registry):
    calls = []

    def prepare(x, sl, name, draw, h):
        calls.append((name, sl))
        iaf_psc_exp.prepare(x, sl, name, draw, h)

    registry.register(NeuronModel("test_exp", code=0, parameters=iaf_psc_exp.MODEL.parameters,
                                  receives_spikes=True, prepare=prepare))
    net = Network()
    net.add_population("A", 3, "test_exp")
    net.add_population("B", 2, "iaf_psc_exp")
    net.validate()
    local = np.arange(5, dtype=np.int64)
    st = types.SimpleNamespace()
    build_neurons(st, net, local, {"A": 0, "B": 3}, {"A": (0, 3), "B": (3, 5)}, seed=1, h=0.1)
    assert calls == [("A", slice(0, 3))]
    assert st.segments[:, 2].tolist() == [0, 0]
    np.testing.assert_array_equal(st.p21ex[:3], st.p21ex[3:4].repeat(3))
