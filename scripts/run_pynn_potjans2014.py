"""Run PyNN's own examples/Potjans2014 (unchanged) on parsnn.

PyNN's PD14 example is not shipped in the PyNN wheel: point this script at a PyNN source tree's
``examples/Potjans2014`` folder (e.g. a checkout of the PyNN release you installed). The example's
files are not modified; three things are arranged around them, in this process only:

1. The example hard-codes ``simulator = 'nest'`` and runs ``import pyNN.nest as sim``: here
   ``pyNN.nest`` (and ``pyNN.parsnn``) resolve to :mod:`parsnn.pynn`.
2. It writes its results with ``neo.io.PyNNTextIO``, which current Neo (0.14) no longer has: a small
   stand-in writes each segment's spikes as "time id" lines and V_m as one column per cell.
3. Its size and duration are set from the command line (``N_scaling``, ``K_scaling``, ``record_v``,
   ``sim_duration``, output folder) by overriding the values of its ``network_params`` and
   ``sim_params`` modules before ``microcircuit.py`` runs.

    mpiexec -n 2 .venv/bin/python scripts/run_pynn_potjans2014.py PATH/TO/examples/Potjans2014 \\
        --n-scaling 0.1 --k-scaling 0.5 --t-sim 1000 --out /tmp/pd14_pynn_example
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys

import numpy as np


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
    """Arrange the three things above and run the example's microcircuit.py."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("example_dir", help="PyNN's examples/Potjans2014 folder")
    ap.add_argument("--n-scaling", type=float, default=0.1)
    ap.add_argument("--k-scaling", type=float, default=0.5,
                    help="the example's default 0.5 (with 1 its network.py fails: K_ext is set only when K_scaling != 1)")
    ap.add_argument("--t-sim", type=float, default=1000.0, help="model time (ms)")
    ap.add_argument("--record-v", action="store_true", help="record V_m as the example does by default")
    ap.add_argument("--out", default="results_pd14_pynn", help="output folder")
    args = ap.parse_args(argv)
    example = os.path.abspath(args.example_dir)

    import neo.io
    import pyNN

    import parsnn.pynn as backend
    for name in ("nest", "parsnn"):
        sys.modules[f"pyNN.{name}"] = backend
        setattr(pyNN, name, backend)
    neo.io.PyNNTextIO = TextSegmentWriter

    sys.path.insert(0, example)
    import network_params
    import sim_params
    sim_params.simulator_params["nest"]["sim_duration"] = args.t_sim
    sim_params.system_params["output_path"] = args.out
    network_params.N_scaling, network_params.K_scaling = args.n_scaling, args.k_scaling
    network_params.record_v = args.record_v
    network_params.create_raster_plot = False
    os.makedirs(args.out, exist_ok=True)
    sys.argv = [os.path.join(example, "microcircuit.py")]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
