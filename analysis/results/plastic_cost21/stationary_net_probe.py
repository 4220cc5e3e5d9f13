"""A candidate calibration network for stationary plastic events (session 21; not in `parsnn calibrate` yet).

    python stationary_net_probe.py "{'rate': 40.0}"      # options override NET

spike_generator sources firing at a fixed Poisson rate onto iaf_psc_alpha targets through stdp_pl_synapse_hom
(hpc_benchmark's parameters, one delay of 1.5 ms), weights drawn from 0.01-0.03 pA, far below the DC that makes the
targets fire ("fire", regularly, phases spread by the initial V_m) or not ("silent": no post spike, no facilitation);
"static": the same synapses static. No weight shares a memoised initial value and after the 150 ms warm-up every
target's archive is in use. Three runs of 200 ms after the warm-up, 1 rank: deliver ns per event, facilitations per
event (the engine's counter), then plastic_event_ns = silent - static and facilitation_ns = (fire - silent) / the
facilitations per event."""
import sys

from mpi4py import MPI

from parsnn.engine import Simulation
from parsnn.mapping.cluster.measure import SCATTER_SPAN_MS, _poisson_times
from parsnn.models.hpc_benchmark import STDP
from parsnn.network import FixedIndegree, Network, Uniform

NET = {"sources": 1000, "rate": 20.0, "targets": 2000, "indegree": 500, "I_e": 430.0}


def network(c: dict, fire: bool, static: bool) -> Network:
    net = Network(0.1, name="plastic")
    net.add_population("S", int(c["sources"]), "spike_generator",
                       spike_times=_poisson_times(int(c["sources"]), float(c["rate"]), SCATTER_SPAN_MS, 0.1, 11))
    net.add_population("T", int(c["targets"]), "iaf_psc_alpha",
                       params={"I_e": float(c["I_e"]) if fire else 0.0, "V_m": Uniform(-70.0, -56.0)})
    syn = {} if static else {"synapse_model": "stdp_pl_synapse_hom", "synapse_params": dict(STDP)}
    net.connect("S", "T", FixedIndegree(int(c["indegree"])), weight=Uniform(0.01, 0.03), delay=1.5, **syn)
    net.metadata = {"model": "plastic", "expected_rates": {"S": float(c["rate"]), "T": 40.0 if fire else 0.0}}
    return net


def main():
    c = {**NET, **(eval(sys.argv[1]) if len(sys.argv) > 1 else {})}
    res = {}
    for name, fire, static in (("fire", True, False), ("silent", False, False), ("static", True, True)):
        sim = Simulation(network(c, fire, static), seed=1, comm=MPI.COMM_WORLD)
        sim.build()
        sim.run(150.0)
        d0, e0, f0 = sim.timers["deliver"], sim.st.n_events, sim.plastic.facilitations
        sim.run(200.0)
        ev = sim.st.n_events - e0
        res[name] = ((sim.timers["deliver"] - d0) / ev * 1e9, (sim.plastic.facilitations - f0) / ev)
        print(name, "ns/event %.2f" % res[name][0], "facilitations/event %.3f" % res[name][1], "events %.1fM" % (ev / 1e6),
              flush=True)
    print("options", c, "plastic_event_ns %.2f facilitation_ns %.2f" % (
        res["silent"][0] - res["static"][0], (res["fire"][0] - res["silent"][0]) / res["fire"][1]))


if __name__ == "__main__":
    main()
