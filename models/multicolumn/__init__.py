"""A cortical sheet of PD14-like columns with distance-dependent lateral connections.

``rows x cols`` columns sit on a square grid with pitch ``spacing_mm`` (each
column stands for PD14's 1 mm^2 of cortex, scaled down by ``n_scaling``).
Every column is a PD14 microcircuit (the eight populations, their sizes,
synapse numbers, weights, delays, background and in-degree compensation come
from :mod:`parsnn.models.pd14` at the given ``n_scaling`` / ``k_scaling``),
with populations named ``c<index>_<pop>`` (``c00_L23E`` ... ``c63_L6I``;
index = row * cols + col), added column by column.

Lateral connections (in the spirit of spatially extended microcircuit models
such as Senk et al. 2018, where connection probability decays with distance):
a fraction ``lateral_fraction`` of the synapses of every excitatory population
onto the E and I populations of its own layer leaves the column. Those
synapses are spread over the other columns within ``radius_mm`` with a
Gaussian profile ``exp(-d^2 / (2 sigma_mm^2))`` of the centre distance d (on
a torus when ``periodic``; then every column sees the same neighbourhood and
every neuron keeps PD14's mean in-degree). Each (source column, target column,
source pop, target pop) pair is a FixedTotalNumber projection. Lateral delays
are PD14's excitatory delays plus ``d / velocity``. Inhibition stays local.

With the defaults (8 nearest neighbours on a torus) neighbouring columns
exchange many synapses, distant columns none: a rank that holds a compact
block of columns sends its spikes to few other ranks, which is what the
``graph`` partitioner exploits. With ``columns per rank`` fixed this is the
weak-scaling model.

The default column size (``n_scaling=0.01``: 771 neurons, ``k_scaling=0.1``:
mean in-degree ~390 with PD14's weight scaling and DC compensation, Poisson
background) keeps an 8x8 sheet (49k neurons, ~2e7 synapses) small enough to
build in seconds.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from parsnn.options import positive_int
from parsnn.errors import ParameterError
from parsnn.models import pd14
from parsnn.network import FixedTotalNumber, Network, Normal
from parsnn.registry import ModelSpec

__all__ = ["LAYERS", "column_positions", "lateral_weights", "build_network", "column_of_population"]

LAYERS = ("L23", "L4", "L5", "L6")


def _grid(grid):
    if isinstance(grid, (tuple, list)) and len(grid) == 2:
        rows, cols = grid
    else:
        rows = cols = grid
    for v in (rows, cols):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ParameterError(f"grid must be an integer >= 1 or a pair (rows, cols) of them, got {grid!r}")
    return int(rows), int(cols)


def column_positions(grid=8, spacing_mm: float = 1.0) -> np.ndarray:
    """(x, y) in mm of every column centre, row-major ([rows*cols, 2])."""
    rows, cols = _grid(grid)
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.stack([c * spacing_mm, r * spacing_mm], axis=1).astype(float)


def distances(grid=8, spacing_mm: float = 1.0, periodic: bool = True) -> np.ndarray:
    """Centre distances (mm) between all pairs of columns ([C, C]); on a torus if ``periodic``."""
    rows, cols = _grid(grid)
    xy = column_positions((rows, cols), spacing_mm)
    d = np.abs(xy[:, None, :] - xy[None, :, :])
    if periodic:
        span = np.array([cols * spacing_mm, rows * spacing_mm])
        d = np.minimum(d, span - d)
    return np.sqrt((d ** 2).sum(axis=2))


def lateral_weights(grid=8, spacing_mm: float = 1.0, sigma_mm: float = 1.0, radius_mm: float = 1.5,
                    periodic: bool = True) -> np.ndarray:
    """Share of a column's lateral synapses that goes to each other column ([C, C], rows sum to 1
    or to 0 for a column without neighbours in range)."""
    d = distances(grid, spacing_mm, periodic)
    w = np.exp(-d ** 2 / (2.0 * sigma_mm ** 2))
    w[(d > radius_mm + 1e-9) | (d == 0)] = 0.0
    np.fill_diagonal(w, 0.0)
    tot = w.sum(axis=1, keepdims=True)
    return np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)


def column_of_population(name: str) -> int:
    """Column index of a population name ``c<index>_<pop>``."""
    return int(name.split("_", 1)[0][1:])


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a number > 0, got {value!r}")
    return float(value)


def build_network(grid=8, n_scaling: float = 0.01, k_scaling: float = 0.1, lateral_fraction: float = 0.3,
                  sigma_mm: float = 1.0, radius_mm: float = 1.5, spacing_mm: float = 1.0, velocity: float = 0.3,
                  periodic: bool = True, bg: str = "poisson", record: bool = True,
                  resolution: float = 0.1) -> Network:
    """Describe a ``grid`` (k or (rows, cols)) sheet of PD14 columns with lateral connections.

    Parameters
    ----------
    n_scaling, k_scaling : column size and in-degree factors, as in PD14.
    lateral_fraction : in [0, 1), the share of each excitatory population's
        same-layer (E and I) synapses that goes to other columns.
    sigma_mm, radius_mm : Gaussian decay and cut-off radius of the lateral profile.
    spacing_mm : column pitch.  velocity : lateral conduction velocity (mm/ms).
    periodic : torus (default) or open sheet.  bg : "poisson" (default) or "dc"
        (PD14's background; with k_scaling < 1 only Poisson keeps the network active).
    """
    rows, cols = _grid(grid)
    ncol = rows * cols
    if isinstance(lateral_fraction, bool) or not isinstance(lateral_fraction, numbers.Real) \
            or not 0.0 <= lateral_fraction < 1.0:
        raise ParameterError(f"lateral_fraction must be in [0, 1), got {lateral_fraction!r}")
    sigma_mm = _positive(sigma_mm, "sigma_mm")
    radius_mm = _positive(radius_mm, "radius_mm")
    spacing_mm = _positive(spacing_mm, "spacing_mm")
    velocity = _positive(velocity, "velocity")
    if bg not in ("dc", "poisson"):
        raise ParameterError(f"bg must be one of 'dc', 'poisson', got {bg!r}")
    # one PD14 column (validates n_scaling, k_scaling, resolution)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        col = pd14.build_network(n_scaling=n_scaling, k_scaling=k_scaling, bg=bg, record=False,
                                 resolution=resolution)
    for w in caught:
        warnings.warn(str(w.message).replace("PD14", "multicolumn (PD14 columns)"), UserWarning, stacklevel=2)
    P = pd14.PARAMETERS
    pops = pd14.POPULATIONS
    K = np.asarray(col.metadata["K_total"], dtype=np.int64)            # [target, source]
    wshare = lateral_weights((rows, cols), spacing_mm, sigma_mm, radius_mm, periodic)
    dist = distances((rows, cols), spacing_mm, periodic)
    width = max(2, len(str(ncol - 1)))
    cname = [f"c{c:0{width}d}" for c in range(ncol)]
    h = float(resolution)
    syn = P["synapses"]

    net = Network(resolution=h, name="multicolumn")
    for c in range(ncol):
        for name, pop in col.populations.items():
            net.add_population(f"{cname[c]}_{name}", pop.size, pop.model, params=dict(pop.params))

    # split of every PD14 projection into its local and its lateral part
    layer = {p: p[:-1] for p in pops}
    exc = {p: p.endswith("E") for p in pops}
    local_K = K.copy()
    lateral_K = np.zeros_like(K, dtype=float)
    for ti, t in enumerate(pops):
        for si, s in enumerate(pops):
            if exc[s] and layer[s] == layer[t] and lateral_fraction > 0 and wshare.sum() > 0:
                lateral_K[ti, si] = lateral_fraction * K[ti, si]
                local_K[ti, si] = K[ti, si] - int(round(lateral_K[ti, si]))

    proj_by_pair = {(q.source, q.target): q for q in col.projections}
    for c in range(ncol):
        for ti, t in enumerate(pops):
            for si, s in enumerate(pops):
                q = proj_by_pair.get((s, t))
                if q is None or local_K[ti, si] <= 0:
                    continue
                net.connect(f"{cname[c]}_{s}", f"{cname[c]}_{t}", FixedTotalNumber(int(local_K[ti, si])),
                            weight=q.weight, delay=q.delay, name=f"{cname[c]}_{s}->{cname[c]}_{t}")
    d_exc = float(syn["delay_exc_mean"])
    d_sd = syn["delay_rel_std"] * d_exc
    n_lateral = 0
    for c in range(ncol):
        for c2 in np.flatnonzero(wshare[c] > 0):
            delay = Normal(d_exc + float(dist[c, c2]) / velocity, d_sd, 0.5 * h, math.inf)
            for ti, t in enumerate(pops):
                for si, s in enumerate(pops):
                    n = int(round(lateral_K[ti, si] * wshare[c, c2]))
                    if n <= 0:
                        continue
                    q = proj_by_pair[(s, t)]
                    net.connect(f"{cname[c]}_{s}", f"{cname[c2]}_{t}", FixedTotalNumber(n), weight=q.weight,
                                delay=delay, name=f"{cname[c]}_{s}->{cname[c2]}_{t}")
                    n_lateral += n

    for d in col.dc_inputs:
        for c in range(ncol):
            net.add_dc(f"{cname[c]}_{d.target}", d.amplitude)
    for d in col.poisson_inputs:
        for c in range(ncol):
            net.add_poisson(f"{cname[c]}_{d.target}", rate=d.rate, weight=d.weight, delay=d.delay,
                            name=f"{cname[c]}_{d.name}")
    if record:
        net.record_spikes()

    xy = column_positions((rows, cols), spacing_mm)
    rates = dict(zip(pops, P["scaling"]["full_mean_rates"]))
    net.metadata = {
        "model": "multicolumn",
        "grid": [rows, cols], "n_scaling": float(n_scaling), "k_scaling": float(k_scaling),
        "lateral_fraction": float(lateral_fraction), "sigma_mm": sigma_mm, "radius_mm": radius_mm,
        "spacing_mm": spacing_mm, "velocity_mm_per_ms": velocity, "periodic": bool(periodic), "bg": bg,
        "columns": [{"name": cname[c], "row": int(c // cols), "col": int(c % cols),
                     "x_mm": float(xy[c, 0]), "y_mm": float(xy[c, 1])} for c in range(ncol)],
        "column_populations": list(pops),
        "neurons_per_column": int(sum(p.size for p in col.populations.values())),
        "K_total_column": K.tolist(),
        "K_local": local_K.tolist(),
        "lateral_synapses": int(n_lateral),
        # expected rates: PD14's full-scale rates per population (used by the partitioner)
        "expected_rates": {f"{cname[c]}_{p}": rates[p] for c in range(ncol) for p in pops},
    }
    return net


# ---------------------------------------------------------------------------
# registry entry (parsnn.registry)
# ---------------------------------------------------------------------------

def _add_arguments(g):
    g.add_argument("--grid", type=positive_int("--grid"), default=8, help="K: a KxK sheet of columns (default 8)")
    g.add_argument("--column-scaling", type=float, default=0.01, help="PD14 n_scaling of each column (default 0.01)")
    g.add_argument("--column-k-scaling", type=float, default=0.1, help="PD14 k_scaling of each column (default 0.1)")
    g.add_argument("--column-bg", choices=["dc", "poisson"], default="poisson", help="background (default poisson)")
    g.add_argument("--lateral-fraction", type=float, default=0.3,
                   help="share of excitatory same-layer synapses that go to other columns (default 0.3)")
    g.add_argument("--sigma-mm", type=float, default=1.0, help="Gaussian decay of lateral connections (default 1 mm)")
    g.add_argument("--radius-mm", type=float, default=1.5, help="lateral cut-off radius (default 1.5 mm)")


def _from_args(args) -> Network:
    return build_network(grid=args.grid, n_scaling=args.column_scaling, k_scaling=args.column_k_scaling,
                         bg=args.column_bg, lateral_fraction=args.lateral_fraction, sigma_mm=args.sigma_mm,
                         radius_mm=args.radius_mm, record=not args.no_record, resolution=args.resolution)


def _size_value(size: float) -> str:
    """The sweep's size is a number of columns; the sheet is --grid x --grid."""
    grid = int(round(math.sqrt(size)))
    if grid * grid != round(size):
        raise ParameterError(f"multicolumn needs a square number of columns (size x ranks for weak scaling); "
                             f"got {size:g}")
    return str(grid)



MODEL = ModelSpec(name="multicolumn", summary="KxK torus of PD14-like columns with lateral connections",
                  add_arguments=_add_arguments, from_args=_from_args, size_option="--grid", default_size=4,
                  size_value=_size_value)
