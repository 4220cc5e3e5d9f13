"""Run PyNN's own examples/Potjans2014 (unchanged) on parsnn, or on pyNN.nest for comparison.

PyNN's PD14 example is not shipped in the PyNN wheel or sdist: point this script at a PyNN source
tree's ``examples/Potjans2014`` folder, e.g. of the release installed (PyNN 0.13.0):

    git clone https://github.com/NeuralEnsemble/PyNN && git -C PyNN checkout 0.13.0   # commit 213eb2e

The example's files are not modified; these things are arranged around them, in this process only:

1. The example hard-codes ``simulator = 'nest'`` and runs ``import pyNN.nest as sim``: with the
   backend ``parsnn`` (the default) ``pyNN.nest`` (and ``pyNN.parsnn``) resolve to
   :mod:`parsnn.pynn`; with ``nest`` the real pyNN.nest is used.
2. It writes its results with ``neo.io.PyNNTextIO``, which current Neo (0.14) no longer has: a small
   stand-in writes each segment's spikes as "time id" lines and V_m as one column per cell.
3. Its size and duration are set from the command line (``N_scaling``, ``K_scaling``, ``record_v``,
   ``sim_duration``, output folder) by overriding the values of its ``network_params`` and
   ``sim_params`` modules before ``microcircuit.py`` runs; ``--seed`` and ``--spike-precision`` are
   added to the ``setup()`` arguments of ``sim_params`` (``rng_seed``, ``spike_precision``).
4. With ``--k-scaling 1`` the example's ``network.py`` reads ``self.K_ext``, which it sets only when
   K_scaling != 1 (an AttributeError otherwise): the full in-degrees ``network_params.K_ext`` are
   given to its ``Network`` class as a class attribute, the value the script means.

    mpiexec -n 2 .venv/bin/python scripts/run_pynn_potjans2014.py [parsnn|nest] PATH/TO/examples/Potjans2014 \\
        --n-scaling 0.1 --k-scaling 1 --t-sim 1000 --out /tmp/pd14_pynn_example
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys

import numpy as np

BACKENDS = ("parsnn", "nest")


class TextSegmentWriter:
    """Stand-in for neo.io.PyNNTextIO (removed from Neo): ``write_segment`` writes spikes as
    "time id" lines, or the analog signals' samples, one column per cell."""

    def __init__(self, filename):
        self.filename = filename

    def write_segment(self, segment):
        """Write one Neo segment to the file."""
        with open(self.filename, "w") as f:
            if segment.spiketrains:
                for train in segment.spiketrains:
                    cell = train.annotations.get("source_index", 0)
                    for t in np.asarray(train.magnitude):
                        f.write(f"{t:.1f}\t{cell}\n")
            for sig in segment.analogsignals:
                np.savetxt(f, np.asarray(sig.magnitude), fmt="%.4f")


def main(argv=None):
    """Arrange the four things above and run the example's microcircuit.py."""
    argv = list(sys.argv[1:] if argv is None else argv)
    backend = argv.pop(0) if argv and argv[0] in BACKENDS else "parsnn"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("example_dir", help="PyNN's examples/Potjans2014 folder")
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--k-scaling", type=float, default=0.5, help="in-degree factor (the example's default 0.5)")
    ap.add_argument("--t-sim", type=float, default=1000.0, help="model time (ms)")
    ap.add_argument("--record-v", action="store_true", help="record V_m as the example does by default")
    ap.add_argument("--seed", type=int, help="setup(rng_seed=...) (default: the backend's)")
    ap.add_argument("--spike-precision", default="on_grid", choices=("on_grid", "off_grid"),
                    help="setup(spike_precision=...) (default on_grid: pyNN.nest then uses iaf_psc_exp, the "
                         "model parsnn has; parsnn refuses off_grid)")
    ap.add_argument("--out", default="results_pd14_pynn", help="output folder")
    args = ap.parse_args(argv)
    example = os.path.abspath(args.example_dir)

    import neo.io
    import pyNN
    if backend == "parsnn":
        import parsnn.pynn as sim
        for name in BACKENDS:
            sys.modules[f"pyNN.{name}"] = sim
            setattr(pyNN, name, sim)
    neo.io.PyNNTextIO = TextSegmentWriter

    sys.path.insert(0, example)
    import network_params
    import sim_params
    setup_params = sim_params.simulator_params["nest"]
    setup_params["sim_duration"] = args.t_sim
    setup_params["spike_precision"] = args.spike_precision
    if args.seed is not None:
        setup_params["rng_seed"] = args.seed
    sim_params.system_params["output_path"] = args.out
    network_params.N_scaling, network_params.K_scaling = args.n_scaling, args.k_scaling
    network_params.record_v = args.record_v
    network_params.create_raster_plot = False
    import network                      # after the overrides: it copies network_params' values
    if args.k_scaling == 1:
        network.Network.K_ext = network_params.K_ext
    os.makedirs(args.out, exist_ok=True)
    sys.argv = [os.path.join(example, "microcircuit.py")]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
