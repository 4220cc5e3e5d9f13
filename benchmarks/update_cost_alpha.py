"""Update cost of the iaf_psc_alpha kernel relative to the scalar iaf_psc_exp kernel (the ratio
behind ``assumed_update_cost`` in parsnn/neurons/iaf_psc_alpha.py).

    python benchmarks/update_cost_alpha.py [--repeats 3]

One rank, 10,000 neurons without input, 1 s of model time; the two kernels alternate; prints
timer_update of each run, the medians per neuron and step, and their ratio. Absolute times on a
loaded machine are not the calibrated ones; the ratio is what the machine file uses.
"""
import argparse

import numpy as np
from mpi4py import MPI

import parsnn.network as pn
from parsnn.engine import Simulation


def update_seconds(model: str, vector: bool) -> float:
    """timer_update of 1 s of 10,000 ``model`` neurons without input (``vector``: allow the vector kernel)."""
    net = pn.Network(0.1)
    net.add_population("A", 10000, model)
    sim = Simulation(net, seed=1, comm=MPI.COMM_SELF)
    sim.build()
    sim.st.vector_update = vector
    sim.run(1000.0)
    return sim.timers["update"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    res = {"iaf_psc_alpha": [], "iaf_psc_exp_scalar": []}
    for _ in range(args.repeats):
        res["iaf_psc_alpha"].append(update_seconds("iaf_psc_alpha", True))
        res["iaf_psc_exp_scalar"].append(update_seconds("iaf_psc_exp", False))
    med = {k: float(np.median(v)) for k, v in res.items()}
    for k, v in res.items():
        print(f"{k:20s} timer_update s: {', '.join(f'{x:.3f}' for x in v)}; median {med[k] / 1e8 * 1e9:.2f} ns "
              "per neuron and step")
    print(f"ratio iaf_psc_alpha / iaf_psc_exp_scalar: {med['iaf_psc_alpha'] / med['iaf_psc_exp_scalar']:.2f}")


if __name__ == "__main__":
    main()
