"""What two PyNN backends build for PyNN's examples/Potjans2014 (unchanged), side by side, without
running it: per population the cell parameters and the initial V_m, per projection the number of
connections, the weights and delays (PyNN units: nA, ms; delays as the backend holds them, on the
0.1 ms grid), multapses and autapses; and across the projections onto (from) one population the
correlation of the cells' in-degrees (out-degrees).

    python analysis/pynn_potjans2014_build.py dump parsnn EXAMPLE_DIR --n-scaling 0.02 --out W/parsnn.json
    python analysis/pynn_potjans2014_build.py dump parsnn EXAMPLE_DIR --n-scaling 0.02 --pynn-connector-rng \\
        --out W/parsnn_pynn_rng.json
    benchmarks/.venv-nest/bin/python analysis/pynn_potjans2014_build.py dump nest EXAMPLE_DIR --n-scaling 0.02 \\
        --out W/nest.json        # ~2 minutes: PyNN's FixedTotalNumberConnector draws each synapse in Python
    python analysis/pynn_potjans2014_build.py report W/parsnn.json W/nest.json [W/parsnn_pynn_rng.json] --out X.md

The example is set up as ``scripts/run_pynn_potjans2014.py`` does (its ``--pynn-connector-rng`` too),
with ``setup(rng_seed=SEED)`` and the example's own NumpyRNG seeds; a dump also stores, per
projection, a digest of its sorted (pre, post) pairs, so two dumps show whether two backends made the
very same connections.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PARAMS = ("cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "v_reset", "v_rest", "v_thresh", "i_offset")


def _summary(x) -> list:
    """[mean, sd, min, max] of an array (empty: [])."""
    x = np.asarray(x, dtype=float)
    return [float(x.mean()), float(x.std()), float(x.min()), float(x.max())] if x.size else []


def _build(backend: str, example: str, n_scaling: float, k_scaling: float, seed: int, pynn_rng: bool):
    """Set the example up on ``backend`` (no run): (sim, its Network, [projections in creation order])."""
    import pyNN
    if backend == "parsnn":
        import parsnn.pynn as sim
        sys.modules["pyNN.nest"], pyNN.nest = sim, sim
        if pynn_rng:
            sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
            import run_pynn_potjans2014
            run_pynn_potjans2014.use_pynn_connector_rng()
    else:
        import pyNN.nest as sim
    sys.path.insert(0, os.path.abspath(example))
    import network_params
    import sim_params
    network_params.N_scaling, network_params.K_scaling = n_scaling, k_scaling
    network_params.record_v = False
    import network
    made, base = [], sim.Projection

    class Recorded(base):
        """The backend's Projection, remembered in creation order."""
        def __init__(self, *a, **k):
            base.__init__(self, *a, **k)
            made.append(self)
    sim.Projection = Recorded
    params = dict(sim_params.simulator_params["nest"])
    params.pop("sim_duration")
    sim.setup(**params, spike_precision="on_grid", rng_seed=seed)
    net = network.Network(sim)
    net.setup(sim)
    return sim, net, made


def _projection_record(prj, names: dict) -> tuple[dict, np.ndarray]:
    """(summary of one projection, its [pre, post] index pairs)."""
    pre = names.get(id(prj.pre)) or f"poisson({float(np.mean(prj.pre.get('rate'))):.4g})"
    try:
        rows = np.asarray(prj.get(["weight", "delay"], format="list"), dtype=float).reshape(-1, 4)
    except ValueError:           # pyNN.nest cannot list an empty projection
        rows = np.zeros((0, 4))
    i, j, w, d = rows.T
    pairs = np.stack([i, j], axis=1).astype(np.int64)
    keys = np.sort(pairs[:, 0] * (1 << 32) + pairs[:, 1])
    steps = np.rint(d / 0.1).astype(np.int64)
    return {"pre": pre, "post": names[id(prj.post)], "receptor": prj.receptor_type, "n": int(rows.shape[0]),
            "weight": _summary(w), "delay": _summary(d), "delay_steps_hist": np.bincount(steps).tolist(),
            "multapses": int(keys.size - np.unique(keys).size),
            "autapses": int(np.sum(i == j)) if prj.pre is prj.post else 0,
            "pairs_sha1": hashlib.sha1(keys.tobytes()).hexdigest()}, pairs


def _degree_correlations(projs: list, pairs: list, sizes: dict) -> dict:
    """Pearson correlation of the cells' in-degrees (out-degrees) between every two recurrent
    projections onto (from) the same population with >= 100 connections: mean, max, count."""
    deg = {"in": {}, "out": {}}
    for p, ij in zip(projs, pairs):
        if p["pre"] not in sizes or p["n"] < 100:
            continue
        deg["in"].setdefault(p["post"], []).append(np.bincount(ij[:, 1], minlength=sizes[p["post"]]))
        deg["out"].setdefault(p["pre"], []).append(np.bincount(ij[:, 0], minlength=sizes[p["pre"]]))
    out = {}
    for kind, groups in deg.items():
        cs = [np.corrcoef(g[a], g[b])[0, 1] for g in groups.values()
              for a in range(len(g)) for b in range(a + 1, len(g))]
        out[kind] = {"mean": float(np.mean(cs)), "max": float(np.max(cs)), "pairs": len(cs)}
    return out


def dump(a):
    """Build the example on one backend and write what it made to ``a.out`` (JSON)."""
    sim, net, made = _build(a.backend, a.example_dir, a.n_scaling, a.k_scaling, a.seed, a.pynn_connector_rng)
    names = {id(net.pops[layer][p]): layer + p for layer in net.pops for p in net.pops[layer]}
    record = {"backend": a.backend + (" (PyNN connector RNG)" if a.pynn_connector_rng else ""), "seed": a.seed,
              "n_scaling": a.n_scaling, "k_scaling": a.k_scaling, "populations": {}, "projections": []}
    for layer in net.pops:
        for p in net.pops[layer]:
            pop = net.pops[layer][p]
            v0 = (pop._initial_values_of("v") if a.backend == "parsnn"
                  else np.asarray(pop.node_collection.get("V_m"), dtype=float))
            record["populations"][layer + p] = {"size": pop.size, "v_init": _summary(v0),
                                                **{k: _summary(np.atleast_1d(pop.get(k))) for k in PARAMS}}
    pairs = []
    for prj in made:
        summary, ij = _projection_record(prj, names)
        record["projections"].append(summary)
        pairs.append(ij)
    sizes = {k: v["size"] for k, v in record["populations"].items()}
    record["degree_correlation"] = _degree_correlations(record["projections"], pairs, sizes)
    with open(a.out, "w") as f:
        json.dump(record, f)


def _fmt(x, digits=4) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def report(a) -> str:
    """Markdown: the dumps' populations, projections and degree correlations side by side."""
    runs = []
    for path in a.dumps:
        with open(path) as f:
            runs.append(json.load(f))
    names = [r["backend"] for r in runs]
    lines = [f"# PyNN's Potjans2014 as built (no run): {' vs '.join(names)}", "",
             f"n_scaling {runs[0]['n_scaling']}, K_scaling {runs[0]['k_scaling']}, setup(rng_seed={runs[0]['seed']}); "
             "made by analysis/pynn_potjans2014_build.py (its docstring has the commands). Weights nA, delays ms.", "",
             "## Populations", "", "| population | size | " + " | ".join(f"V_m(0) mean, sd: {n}" for n in names)
             + " | parameters equal |", "|---|---|" + "---|" * len(names) + "---|"]
    for pop, p0 in runs[0]["populations"].items():
        same = all(np.allclose(r["populations"][pop][k], p0[k], rtol=1e-9) for r in runs for k in PARAMS)
        cells = [f"{_fmt(r['populations'][pop]['v_init'][0])}, {_fmt(r['populations'][pop]['v_init'][1])}" for r in runs]
        lines.append(f"| {pop} | {p0['size']} | " + " | ".join(cells) + f" | {'yes' if same else 'NO'} |")
    lines += ["", "## Projections (connections; weight mean, sd; delay mean, sd; multapses; autapses; "
              "same (pre, post) pairs as the first)", "",
              "| pre | post | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for k, p0 in enumerate(runs[0]["projections"]):
        if all(r["projections"][k]["n"] == 0 for r in runs):
            continue
        cells = []
        for r in runs:
            p = r["projections"][k]
            w, d = p["weight"] or [None] * 2, p["delay"] or [None] * 2
            same = "same" if p["pairs_sha1"] == p0["pairs_sha1"] else "other"
            cells.append(f"{p['n']}; {_fmt(w[0])}, {_fmt(w[1], 3)}; {_fmt(d[0])}, {_fmt(d[1], 3)}; "
                         f"{p['multapses']}; {p['autapses']}; {same}")
        lines.append(f"| {p0['pre']} | {p0['post']} | " + " | ".join(cells) + " |")
    lines += ["", "## Delays pooled over the recurrent projections (fraction at 1-4 steps of 0.1 ms)", "",
              "| source | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for rec in ("excitatory", "inhibitory"):
        cells = []
        for r in runs:
            h = np.zeros(400)
            for p in r["projections"]:
                if p["receptor"] == rec and not p["pre"].startswith("poisson"):
                    h[:len(p["delay_steps_hist"])] += p["delay_steps_hist"]
            cells.append(", ".join(f"{v:.4f}" for v in h[1:5] / h.sum()))
        lines.append(f"| {rec} | " + " | ".join(cells) + " |")
    lines += ["", "## Correlation of the cells' degrees across projections", "",
              "Pearson correlation of the in-degrees of one population's cells from two projections (every "
              "pair of recurrent projections onto it with >= 100 connections), and of the out-degrees "
              "from two projections leaving one population: mean and largest over the pairs.", "",
              "| backend | in-degree mean | in-degree max | out-degree mean | out-degree max | pairs (in, out) |",
              "|---|---|---|---|---|---|"]
    for r in runs:
        c = r["degree_correlation"]
        lines.append(f"| {r['backend']} | {c['in']['mean']:.3f} | {c['in']['max']:.3f} | {c['out']['mean']:.3f} | "
                     f"{c['out']['max']:.3f} | {c['in']['pairs']}, {c['out']['pairs']} |")
    text = "\n".join(lines + [""] + [f"- {n}" for n in (a.note or [])]) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return text


def main(argv=None):
    """``dump`` or ``report`` (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("backend", choices=("parsnn", "nest"))
    d.add_argument("example_dir")
    d.add_argument("--n-scaling", type=float, default=0.02)
    d.add_argument("--k-scaling", type=float, default=0.1)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--pynn-connector-rng", action="store_true", help="see scripts/run_pynn_potjans2014.py")
    d.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("dumps", nargs="+")
    r.add_argument("--note", action="append", help="a line added at the end")
    r.add_argument("--out")
    a = ap.parse_args(argv)
    if a.command == "dump":
        dump(a)
    else:
        print(report(a), end="")


if __name__ == "__main__":
    main()
