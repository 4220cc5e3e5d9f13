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
4. ``--pynn-connector-rng`` (parsnn only, for the comparison with pyNN.nest): a connector the script
   made without an ``rng`` connects with PyNN's own connector code and the RNG PyNN gave it,
   ``NumpyRNG(seed=151985012)``, a new one per connector (``pyNN.connectors._get_rng``), as on
   pyNN.nest, instead of in the engine from its own stream: the same draws as pyNN.nest, so every
   FixedTotalNumberConnector of the example starts the same random sequence and the in- and
   out-degrees of the projections onto (from) one population are correlated, as on pyNN.nest. Slow
   (PyNN draws every synapse in Python: ~8 minutes at n_scaling 0.1).
5. With ``--k-scaling 1`` the example's ``network.py`` reads ``self.K_ext``, which it sets only when
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from pynn_vs_nest import spike_columns  # noqa: E402

BACKENDS = ("parsnn", "nest")


class TextSegmentWriter:
    """Stand-in for neo.io.PyNNTextIO (removed from Neo): ``write_segment`` writes spikes as
    "time id" lines, or the analog signals' samples, one column per cell."""

    def __init__(self, filename):
        self.filename = filename

    def write_segment(self, segment):
        """Write one Neo segment to the file (spikes from the segment's multiplexed arrays when PyNN
        left them so: the same lines as one spike train at a time, without making a Neo SpikeTrain
        per cell)."""
        with open(self.filename, "w") as f:
            if segment.spiketrains:
                times, position, source = spike_columns(segment.spiketrains)
                cells = source[position]
                np.savetxt(f, np.column_stack([times, cells]), fmt=("%.1f", "%d"), delimiter="\t")
            for sig in segment.analogsignals:
                np.savetxt(f, np.asarray(sig.magnitude), fmt="%.4f")


def _masked_draws(words, highs, count):
    """``count`` rounds of one draw per bound in ``highs`` from the uint32 stream ``words``, each as
    NumPy's legacy ``RandomState.randint(0, high, size=1)`` makes it (the next word masked to the
    smallest 2**k - 1 >= high - 1, redrawn while above high - 1). Returns the draws [count, len(highs)]
    and the number of words used (-1 if ``words`` ran out)."""
    out = np.empty((count, len(highs)), dtype=np.int64)
    masks = []
    for high in highs:
        m = high - 1
        for shift in (1, 2, 4, 8, 16):
            m |= m >> shift
        masks.append(m)
    w = 0
    for i in range(count):
        for k, high in enumerate(highs):
            while True:
                if w >= words.size:
                    return out, -1
                v = int(words[w]) & masks[k]
                w += 1
                if v < high:
                    break
            out[i, k] = v
    return out, w


def _fast_total_number_connect(self, projection):
    """PyNN 0.13's FixedTotalNumberConnector.connect on one process, with the same random numbers
    (the binomial of the synapse count, then per synapse a source ``uniform_int`` and a target
    ``choice`` from the connector's RandomState) but the per-synapse loop over words drawn at once."""
    from pyNN.random import RandomDistribution
    assert projection._simulator.state.num_processes == 1
    n_post, n_pre = projection.post.size, projection.pre.size
    bino = RandomDistribution("binomial", [self.n, 1.0], rng=self.rng)
    bino.parameters["p"], bino.parameters["n"] = 1.0, self.n
    n = int(bino.next())
    state = self.rng.rng.get_state()
    size = 2 * n + 64
    while True:
        self.rng.rng.set_state(state)
        words = self.rng.rng.randint(0, 2 ** 32, size=size, dtype=np.uint32)
        pairs, used = _masked_draws(words, (n_pre, n_post), n)
        if used >= 0:
            break
        size *= 2
    possible_targets = np.arange(n_post)[projection.post._mask_local]
    connections = [[] for _ in range(n_post)]
    for source, target in zip(pairs[:, 0].tolist(), possible_targets[pairs[:, 1]].tolist()):
        connections[target].append(source)
    self._standard_connect(projection, lambda mask=None: [np.array(x) for x in connections])


def use_pynn_connector_rng():
    """parsnn.pynn connects every connector whose RNG is a plain NumpyRNG (PyNN's default for a connector
    made without one) with PyNN's own code and that RNG, as pyNN.nest does (item 4 above)."""
    from pyNN import connectors
    from pyNN.random import NumpyRNG

    from parsnn.pynn import projections
    from parsnn.pynn.random import ParsnnRNG
    engine_rule, stream_rng = projections._engine_rule, projections.stream_rng

    def pynn_rng(connector):
        rng = getattr(connector, "rng", None)
        return rng if isinstance(rng, NumpyRNG) and not isinstance(rng, ParsnnRNG) else None

    def rule(connector, pre, post):
        return None if pynn_rng(connector) is not None else engine_rule(connector, pre, post)

    def stream(seed, what, rd=None):
        if what[0] == "connect" and isinstance(rd, NumpyRNG) and not isinstance(rd, ParsnnRNG):
            return rd
        return stream_rng(seed, what, rd)
    assert isinstance(connectors._get_rng(None), NumpyRNG)
    projections._engine_rule, projections.stream_rng = rule, stream
    connectors.FixedTotalNumberConnector.connect = _fast_total_number_connect


def main(argv=None):
    """Arrange the things above and run the example's microcircuit.py."""
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
    ap.add_argument("--pynn-connector-rng", action="store_true",
                    help="parsnn: connectors without an rng draw with PyNN's default NumpyRNG, as on pyNN.nest (slow)")
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
    if args.pynn_connector_rng and backend == "parsnn":
        use_pynn_connector_rng()

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
