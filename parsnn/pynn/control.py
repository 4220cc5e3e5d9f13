"""Simulation control of the PyNN backend: setup, run, reset, end and the state queries."""
from __future__ import annotations

from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from parsnn.errors import ParameterError
from parsnn.pynn import simulator
from parsnn.engine.streams import DEFAULT_REALISATION, scheme_code


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a new network (PyNN's setup). Extra keywords: ``rng_seed`` (or ``seed``; parsnn's seed,
    default 12345), ``runfile`` (path of parsnn's SONATA run file, written during the first segment
    and completed by end()), ``overwrite`` (replace an existing run file), ``partition`` (parsnn's
    placement strategy, default round_robin), ``realisation`` (parsnn's realisation scheme, "v1" or "v2",
    default :data:`parsnn.engine.streams.DEFAULT_REALISATION`); others (e.g. pyNN.nest's) are ignored.
    Returns the rank."""
    if extra_params.get("spike_precision", "on_grid") != "on_grid":
        raise NotImplementedError(f"parsnn.pynn: setup(spike_precision={extra_params['spike_precision']!r}) "
                                  "is not supported: parsnn's spikes are on the time grid ('on_grid')")
    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay = state.dt if min_delay == "auto" else float(min_delay)
    max_delay = extra_params.get("max_delay", "auto")
    state.max_delay = 65535 * state.dt if max_delay == "auto" else float(max_delay)
    seed = extra_params.get("rng_seed", extra_params.get("seed", simulator.DEFAULT_SEED))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ParameterError(f"setup(rng_seed=...) must be an integer in [0, 2^63), got {seed!r}")
    state.seed = seed
    state.runfile = extra_params.get("runfile")
    state.overwrite = bool(extra_params.get("overwrite", False))
    state.partition = extra_params.get("partition", "round_robin")
    state.realisation = extra_params.get("realisation", DEFAULT_REALISATION)
    scheme_code(state.realisation)          # ParameterError for an unknown scheme
    return state.mpi_rank


def end(compatible_output=True):
    """Write the files asked for by record(..., to_file=...) and complete parsnn's run file (collective)."""
    state = simulator.state
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []
    state.finish()


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
