"""Small networks shared by the tests."""
from parsnn.network import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne,
                            PairwiseBernoulli, Uniform)


def mixed_network(record=True) -> Network:
    """Every model, rule, distribution and device in one small, active network."""
    net = Network(0.1, name="mixed")
    net.add_population("E", 400, "iaf_psc_exp", params=dict(V_m=Normal(-60, 5), tau_syn_ex=0.5, tau_syn_in=0.5,
                                                            C_m=Uniform(200, 300)))
    net.add_population("I", 100, "iaf_psc_delta", params=dict(V_m=Uniform(-70, -56)))
    net.add_population("P", 30, "poisson_source", params=dict(rate=20.0, start=10.0, stop=250.0))
    net.add_population("G", 3, "spike_generator", spike_times=[[5.0, 50.0], [20.0], [100.0, 100.1, 180.0]])
    net.connect("E", "E", FixedTotalNumber(16000), weight=Normal(40, 4, 0, 1e9), delay=Normal(1.5, 0.75, 0.05))
    net.connect("E", "I", FixedIndegree(40), weight=0.3, delay=1.0)
    net.connect("I", "E", PairwiseBernoulli(0.2), weight=-160.0, delay=Uniform(0.5, 2.0))
    net.connect("I", "I", AllToAll(allow_autapses=False), weight=-0.05, delay=0.8)
    net.connect("P", "E", FixedIndegree(5), weight=100.0, delay=2.0)
    net.connect("G", "I", AllToAll(), weight=2.0, delay=0.3)
    net.connect("E", "E", OneToOne(), weight=5.0, delay=0.1, name="self-loop")
    net.add_poisson("E", 8000.0, 30.0, 1.5)
    net.add_poisson("I", 9000.0, 0.2, 1.0)
    net.add_dc("E", 150.0)
    if record:
        net.record_spikes()
        net.record_voltage("E", [0, 1, 399], 0.5)
        net.record_voltage("I", [7], 1.0)
    return net


def populations(*sizes, gen=0) -> Network:
    """Populations A, B, ... of iaf_psc_exp neurons with the given sizes (no projections), plus a
    population G of ``gen`` spike generators if ``gen``."""
    net = Network(0.1)
    for i, n in enumerate(sizes):
        net.add_population("ABCDEFGH"[i], n, "iaf_psc_exp")
    if gen:
        net.add_population("G", gen, "spike_generator", spike_times=[[1.0]] * gen)
    return net
