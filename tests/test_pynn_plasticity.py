"""STDP through parsnn.pynn: PyNN's STDPMechanism classes map onto parsnn's stdp_synapse (and
native_synapse_type onto stdp_pl_synapse_hom) exactly: the same network through PyNN and through
parsnn's API gives bit-identical spikes and weights; 1 and 2 ranks agree; what does not map raises
NotImplementedError naming it. IF_curr_alpha is iaf_psc_alpha."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

pytest.importorskip("pyNN")

import parsnn.pynn as sim  # noqa: E402
from parsnn.engine import Simulation  # noqa: E402
from parsnn.errors import ParameterError  # noqa: E402
from parsnn.network import FixedIndegree, Network, PairwiseBernoulli  # noqa: E402


ALPHA = dict(cm=0.5, tau_m=15.0, tau_syn_E=1.0, tau_syn_I=2.0, v_rest=-65.0, v_reset=-68.0, v_thresh=-50.0,
             tau_refrac=2.0, i_offset=0.45)
ALPHA_NEST = dict(C_m=500.0, tau_m=15.0, tau_syn_ex=1.0, tau_syn_in=2.0, E_L=-65.0, V_reset=-68.0, V_th=-50.0,
                  t_ref=2.0, I_e=450.0, V_m=-62.0, tau_minus=25.0)


def stdp(weight_dependence, weight=0.1):
    return sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=15.0, tau_minus=25.0, A_plus=0.05, A_minus=0.06),
        weight_dependence=weight_dependence, weight=weight, delay=1.5)


def test_pynn_stdp_equals_parsnn_stdp():
    """IF_curr_alpha + STDPMechanism (Guetig) + native stdp_pl_synapse_hom through PyNN, and the same
    network through parsnn's Network API: bit-identical spikes and weights after the run."""
    sim.setup(timestep=0.1, rng_seed=9)
    E = sim.Population(30, sim.IF_curr_alpha(**ALPHA), label="E")
    E.initialize(v=-62.0)
    P = sim.Population(60, sim.SpikeSourcePoisson(rate=40.0), label="P")
    Q = sim.Population(20, sim.SpikeSourcePoisson(rate=20.0), label="Q")
    gutig = stdp(sim.GutigWeightDependence(w_min=0.0, w_max=0.4, mu_plus=0.3, mu_minus=0.7),
                 weight=sim.RandomDistribution("uniform", (0.05, 0.2)))
    pe = sim.Projection(P, E, sim.FixedProbabilityConnector(0.3), gutig, label="P->E")
    pl = sim.native_synapse_type("stdp_pl_synapse_hom")(**{"lambda": 0.02, "alpha": 1.1, "mu": 0.4,
                                                           "tau_plus": 18.0, "weight": 0.15, "delay": 1.0})
    qe = sim.Projection(Q, E, sim.FixedNumberPreConnector(5, with_replacement=True), pl, label="Q->E")
    E.record("spikes")
    w_before = pe.get("weight", format="list", with_address=False)
    sim.run(400.0)
    trains = E.get_data().segments[0].spiketrains
    pynn_spikes = sorted((float(t), k) for k, s in enumerate(trains) for t in s.magnitude)
    pynn_pe = pe.get("weight", format="list")
    pynn_qe = qe.get("weight", format="list")
    sim.end()
    assert pe._synapse == ("stdp_synapse", {"tau_plus": 15.0, "lambda": 0.05, "alpha": pytest.approx(1.2),
                                            "mu_plus": 0.3, "mu_minus": 0.7, "Wmax": 400.0})

    from parsnn.network import Uniform
    net = Network(0.1)
    net.add_population("E", 30, "iaf_psc_alpha", ALPHA_NEST)
    net.add_population("P", 60, "poisson_source", dict(rate=40.0, start=0.0, stop=1e10))
    net.add_population("Q", 20, "poisson_source", dict(rate=20.0, start=0.0, stop=1e10))
    net.connect("P", "E", PairwiseBernoulli(0.3), weight=Uniform(50.0, 200.0), delay=1.5, name="P->E",
                synapse_model="stdp_synapse", synapse_params={"tau_plus": 15.0, "lambda": 0.05, "alpha": 0.06 / 0.05,
                                                              "mu_plus": 0.3, "mu_minus": 0.7, "Wmax": 400.0})
    net.connect("Q", "E", FixedIndegree(5), weight=150.0, delay=1.0, name="Q->E", synapse_model="stdp_pl_synapse_hom",
                synapse_params={"lambda": 0.02, "alpha": 1.1, "mu": 0.4, "tau_plus": 18.0})
    net.record_spikes(["E"])
    s = Simulation(net, seed=9)
    s.run(400.0)
    times, ids = s.spikes()["E"]
    weights = s.weights()
    assert len(pynn_spikes) > 100
    assert pynn_spikes == sorted(zip(times.tolist(), ids.tolist()))
    for got, key in ((pynn_pe, "P-E"), (pynn_qe, "Q-E")):
        src, tgt, w = weights[key]
        assert sorted(got) == sorted(zip(src.tolist(), tgt.tolist(), (w / 1000.0).tolist()))
    assert not np.allclose(sorted(w_before), sorted(x[2] for x in pynn_pe))     # the weights did change


@pytest.mark.parametrize("dependence, mu", [
    (sim.AdditiveWeightDependence, (0.0, 0.0)), (sim.MultiplicativeWeightDependence, (1.0, 1.0)),
    (sim.AdditivePotentiationMultiplicativeDepression, (0.0, 1.0))])
def test_weight_dependences_map_to_stdp_synapse(dependence, mu):
    sim.setup(timestep=0.1)
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(5, sim.IF_curr_exp())
    d = sim.Population(5, sim.IF_curr_delta())
    prj = sim.Projection(a, b, sim.AllToAllConnector(), stdp(dependence(w_max=0.3)))
    assert prj._synapse == ("stdp_synapse", {"tau_plus": 15.0, "lambda": 0.05, "alpha": pytest.approx(1.2),
                                             "mu_plus": mu[0], "mu_minus": mu[1], "Wmax": pytest.approx(300.0)})
    delta = sim.Projection(a, d, sim.AllToAllConnector(), stdp(dependence(w_max=0.3)))
    assert delta._synapse[1]["Wmax"] == pytest.approx(0.3)                  # mV stay mV
    assert b._tau_minus == 25.0                                              # the targets' trace
    sim.end()


def test_what_does_not_map_raises_naming_it():
    sim.setup(timestep=0.1)
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(5, sim.IF_curr_exp())
    rule = sim.SpikePairRule()
    with pytest.raises(NotImplementedError, match="w_min"):
        sim.AdditiveWeightDependence(w_min=0.01, w_max=1.0)
    with pytest.raises(NotImplementedError, match="dendritic_delay_fraction"):
        sim.STDPMechanism(rule, sim.AdditiveWeightDependence(), dendritic_delay_fraction=0.5)
    with pytest.raises(NotImplementedError, match="Vogels2011Rule"):
        from pyNN.standardmodels.synapses import Vogels2011Rule
        sim.STDPMechanism(Vogels2011Rule(), sim.AdditiveWeightDependence())
    with pytest.raises(NotImplementedError, match="A_plus = 0"):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.STDPMechanism(
            sim.SpikePairRule(A_plus=0.0, A_minus=0.01), sim.AdditiveWeightDependence()))
    with pytest.raises(NotImplementedError, match="tau_plus differing"):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.STDPMechanism(
            sim.SpikePairRule(tau_plus=sim.RandomDistribution("uniform", (10.0, 20.0))),
            sim.AdditiveWeightDependence()))
    with pytest.raises(NotImplementedError, match="TsodyksMarkram"):
        sim.TsodyksMarkramSynapse()
    sim.Projection(a, b, sim.AllToAllConnector(), stdp(sim.AdditiveWeightDependence()))
    with pytest.raises(NotImplementedError, match="two plastic projections"):
        sim.Projection(a[:2], b, sim.AllToAllConnector(), stdp(sim.AdditiveWeightDependence()))
    c = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    with pytest.raises(NotImplementedError, match="tau_minus"):
        sim.Projection(c, b, sim.AllToAllConnector(), sim.STDPMechanism(
            sim.SpikePairRule(tau_minus=10.0), sim.AdditiveWeightDependence()))
    with pytest.raises(ParameterError, match="the weights and Wmax must have the same sign"):
        sim.Projection(c, b, sim.AllToAllConnector(), stdp(sim.AdditiveWeightDependence(), weight=-0.1),
                       receptor_type="inhibitory")
    with pytest.raises(ParameterError, match="synapse parameter lambda must be >= 0"):
        sim.Projection(c, b, sim.AllToAllConnector(), sim.native_synapse_type("stdp_pl_synapse_hom")(
            **{"lambda": -0.1}))
    with pytest.raises(NotImplementedError, match="no parsnn synapse model"):
        sim.native_synapse_type("tsodyks_synapse")
    sim.end()


def test_if_curr_alpha_names_and_units():
    sim.setup(timestep=0.1)
    p = sim.Population(2, sim.IF_curr_alpha(cm=0.3, i_offset=0.2, tau_syn_E=3.0, tau_syn_I=4.0), label="A")
    net = sim.simulator.state.network()
    params = net.populations["A"].params
    assert (params["C_m"], params["I_e"], params["tau_syn_ex"], params["tau_syn_in"]) == (300.0, 200.0, 3.0, 4.0)
    assert net.populations["A"].model == "iaf_psc_alpha" and p.celltype.weight_scale == 1000.0
    sim.end()


SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import pyNN.parsnn as sim
    sim.setup(timestep=0.1, rng_seed=5)
    rng = sim.NumpyRNG(seed=3)
    E = sim.Population(40, sim.IF_curr_alpha(i_offset=0.9, tau_syn_E=1.0), label="E")
    P = sim.Population(50, sim.SpikeSourcePoisson(rate=30.0), label="P")
    mech = sim.STDPMechanism(sim.SpikePairRule(A_plus=0.04, A_minus=0.05),
                             sim.AdditiveWeightDependence(w_max=0.3), weight=0.1, delay=1.0)
    pe = sim.Projection(P, E, sim.FixedProbabilityConnector(0.2, rng=rng), mech)
    ee = sim.Projection(E, E, sim.FixedProbabilityConnector(0.1, rng=rng), sim.STDPMechanism(
        sim.SpikePairRule(A_plus=0.02, A_minus=0.02), sim.MultiplicativeWeightDependence(w_max=0.2),
        weight=sim.RandomDistribution("uniform", (0.01, 0.05), rng=rng), delay=2.0))
    Q = sim.Population(30, sim.SpikeSourcePoisson(rate=25.0), label="Q")
    qe = sim.Projection(Q, E[5:], sim.FixedNumberPostConnector(6, rng=rng), sim.STDPMechanism(
        sim.SpikePairRule(A_plus=0.03, A_minus=0.04), sim.GutigWeightDependence(w_max=0.3, mu_plus=0.2),
        weight=sim.RandomDistribution("exponential", (0.05,), rng=rng), delay=1.0))
    E.record("spikes")
    sim.run(300.0)
    spikes = np.concatenate([s.magnitude for s in E.get_data().segments[0].spiketrains])
    w1, w2 = np.array(pe.get("weight", format="list")), np.array(ee.get("weight", format="list"))
    w3 = np.array(qe.get(["weight", "delay"], format="list"))
    if sim.rank() == 0:
        np.savez(sys.argv[1], spikes=spikes, w1=w1, w2=w2, w3=w3)
    sim.end()
''')


def test_pynn_stdp_script_is_rank_invariant(tmp_path, run_pynn_script):
    """The same STDP script on 1 and 2 ranks: identical spikes and weights (engine rules, and a PyNN
    connector's list onto a view)."""
    results = run_pynn_script(tmp_path, SCRIPT)
    assert results[0]["spikes"].size > 50
    assert not np.all(results[0]["w1"][:, 2] == 0.1)            # plasticity acted
    assert results[0]["w3"].shape == (180, 4) and results[0]["w3"][:, 1].max() <= 34    # the view E[5:]'s indices
    for key in ("spikes", "w1", "w2", "w3"):
        assert np.array_equal(results[0][key], results[1][key]), key
