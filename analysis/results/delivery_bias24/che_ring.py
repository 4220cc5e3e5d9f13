"""Expected L2 miss rate of the ring scatter-adds (Che's approximation of an LRU cache, a line's popularity moving
with its slot's offset from the current step), for a 1-rank PD14 run (its populations' measured rates, in-degrees and
delays) and for the calibration's scatter networks (uniform targets, PD14's excitatory delays, 2,500 sources at
20 Hz x rows of 2,048) -- and the 'effective working set': the scatter network's ring size with the same miss rate.

    python analysis/results/delivery_bias24/che_ring.py MACHINE.toml RUN.h5 [RUN.h5 ...]

Model: ring lines (slot, block of 8 neurons: 8-byte slots, 64-byte lines); in an interval (one step) a line at
offset o from the current slot receives Poisson(lam_b p(o)) events, lam_b the events per interval into its block,
p the delay distribution (in steps) of the events into it. k intervals earlier the same line had offset o + k, so
its accesses over the last W intervals are Lam(o, b; W) = lam_b sum_{k=0..W} p_b(o + k). W solves
sum_lines (1 - exp(-Lam)) = C (the cache's lines); an access hits with 1 - exp(-Lam). The update's read of the
current slot, the synapse rows and all else in the cache are left out (the same for both networks, roughly).
"""
from __future__ import annotations

import sys

import numpy as np

from parsnn.machines import load_machine
from parsnn.mapping import cluster
from parsnn.mapping.cluster import scatter
from parsnn.mapping.cluster.workload import ring_working_set, workload

H = 0.1
LINE = 64
SLOT = 8


def delay_pmf(mean, std, low, D, n=2_000_000, seed=1):
    """P(delay = k steps), k = 0..D-1: a normal redrawn below ``low``, rounded to steps, at least 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(mean, std, n)
    while True:
        bad = x < low
        if not bad.any():
            break
        x[bad] = rng.normal(mean, std, int(bad.sum()))
    k = np.maximum(1, np.rint(x / H).astype(int))
    k = np.minimum(k, D - 1)
    return np.bincount(k, minlength=D)[:D] / n


def che(lam_b: np.ndarray, pmf_b: np.ndarray, C: float) -> tuple[float, float]:
    """(miss rate per event, W in intervals): lam_b (blocks,) events per interval into each block, pmf_b (blocks, D)
    the delay pmf of the events into it."""
    D = pmf_b.shape[1]
    # cum[o, k] over the window: sum_{j=o}^{o+k} p(j); precompute suffix sums for integer W, interpolate
    cs = np.concatenate([np.zeros((pmf_b.shape[0], 1)), np.cumsum(pmf_b, axis=1)], axis=1)   # cs[:, j] = sum_{<j}

    def lam(W):
        Wi = int(np.floor(W))
        fr = W - Wi
        o = np.arange(D)
        hi0 = np.minimum(o + Wi + 1, D)
        hi1 = np.minimum(o + Wi + 2, D)
        a = cs[:, hi0] - cs[:, o]
        b = cs[:, hi1] - cs[:, o]
        return lam_b[:, None] * ((1 - fr) * a + fr * b)

    def occupied(W):
        return float(np.sum(1 - np.exp(-lam(W))))

    lo, hi = 0.0, float(D + 2)
    if occupied(hi) <= C:
        return 0.0, hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if occupied(mid) < C:
            lo = mid
        else:
            hi = mid
    L = lam(hi)
    acc = lam_b[:, None] * pmf_b
    return float(np.sum(acc * np.exp(-L)) / np.sum(acc)), hi


def scatter_miss(targets: int, C: float, D: int, events_per_interval: float = 2500 * 20.0 * 2048 * 1e-4):
    blocks = int(np.ceil(targets / SLOT))
    lam_b = np.full(blocks, events_per_interval / blocks)
    p = delay_pmf(1.5, 0.75, 0.1, D)
    return che(lam_b, np.tile(p, (blocks, 1)), C)


def pd14_miss(path: str, C: float):
    inp = cluster.run_inputs(path)
    conn = inp["connectivity"]
    desc = conn.description
    wl = workload(conn, 1, inp["rank_of"], rates=inp["rates"])
    D = int(wl["max_delay_steps"]) + 1
    K = conn.expected_synapses()
    names = list(conn.names)
    sizes = conn.sizes.astype(float)
    rates = inp["rates"]
    T = H * 1e-3
    lam_pop = np.zeros(len(names))
    pmf_pop = np.zeros((len(names), D))
    pmfs = {}
    for j, q in enumerate(desc["projections"]):
        s, t = conn.src[j], conn.tgt[j]
        ev = K[j] * rates.get(names[s], 0.0) * T                 # events per interval into population t
        dl = q["delay"]
        key = (dl["mean"], dl["std"], dl.get("low") or 0.0)
        if key not in pmfs:
            pmfs[key] = delay_pmf(*key, D)
        lam_pop[t] += ev
        pmf_pop[t] += ev * pmfs[key]
    pmf_pop /= np.maximum(lam_pop[:, None], 1e-300)
    # blocks of 8 consecutive neurons (populations are contiguous on 1 rank)
    pop_of = np.repeat(np.arange(len(names)), conn.sizes.astype(int))
    per_neuron = (lam_pop / sizes)[pop_of]
    nb = int(np.ceil(len(pop_of) / SLOT))
    blk = np.arange(len(pop_of)) // SLOT
    lam_b = np.bincount(blk, weights=per_neuron, minlength=nb)
    pmf_b = np.zeros((nb, D))
    np.add.at(pmf_b, blk, per_neuron[:, None] * pmf_pop[pop_of])
    pmf_b /= np.maximum(lam_b[:, None], 1e-300)
    miss, W = che(lam_b, pmf_b, C)
    # the same network with its events spread uniformly over targets and delays mixed (the scatter network's shape)
    lam_u = np.full(nb, lam_b.sum() / nb)
    pmf_u = np.tile((lam_pop[:, None] * pmf_pop).sum(0) / lam_pop.sum(), (nb, 1))
    miss_u, _ = che(lam_u, pmf_u, C)
    lam_u2 = np.full(nb, 2500 * 20.0 * 2048 * 1e-4 / nb)           # uniform, and the scatter network's event rate
    miss_u2, _ = che(lam_u2, np.tile(delay_pmf(1.5, 0.75, 0.1, D), (nb, 1)), C)
    return {"targets": len(pop_of), "events_per_interval": float(lam_b.sum()), "D": D, "miss": miss, "W": W,
            "miss_uniform_targets_same_delays_mix": miss_u, "miss_as_scatter": miss_u2,
            "ws_mib": float(ring_working_set(wl).max()) / 2 ** 20,
            "share_events_per_pop": dict(zip(names, (lam_pop / lam_pop.sum()).round(3).tolist())),
            "share_neurons_per_pop": dict(zip(names, (sizes / sizes.sum()).round(3).tolist()))}


def main(argv):
    mach = load_machine(argv[0])
    C = float(mach.cache_levels()[0]) / LINE
    cur = scatter.curve(mach)
    print(f"L2 lines C = {C:.0f}; curve (distance {cur['distance']}): mib {np.round(cur['mib'], 2).tolist()} ns {np.round(cur['ns'], 3).tolist()}")
    # the scatter networks' rings: targets x 8 B x 57 slots (as ring_working_set: D = 57 for their synapse count)
    D = 57
    grid = np.array([2000, 4000, 6000, 7717, 8000, 10000, 12000, 14000, 16000, 19292, 24000, 32000, 64000, 128000])
    sc = []
    for n in grid:
        m, W = scatter_miss(int(n), C, D)
        ws = n * SLOT * D / 2 ** 20
        sc.append((n, ws, m))
        print(f"scatter {n:6d} targets: ring {ws:7.2f} MiB, L2 miss/event {m:.3f} (W {W:.1f} intervals)")
    for path in argv[1:]:
        r = pd14_miss(path, C)
        ms = np.array([s[2] for s in sc])
        wss = np.array([s[1] for s in sc])
        ws_eff = float(np.exp(np.interp(r["miss"], ms, np.log(wss))))
        c_eff = float(scatter._interp_log(ws_eff * 2 ** 20, np.array(cur["mib"]) * 2 ** 20, cur["ns"]))
        c_nom = float(scatter._interp_log(r["ws_mib"] * 2 ** 20, np.array(cur["mib"]) * 2 ** 20, cur["ns"]))
        print(f"== {path}: {r['targets']} targets, {r['events_per_interval']:.0f} events/interval, D {r['D']}, ring {r['ws_mib']:.2f} MiB")
        print(f"   L2 miss/event: PD14 {r['miss']:.3f} (W {r['W']:.1f}); uniform targets, PD14's delay mix and events "
              f"{r['miss_uniform_targets_same_delays_mix']:.3f}; as the scatter network (uniform, exc. delays, its events) "
              f"{r['miss_as_scatter']:.3f}")
        print(f"   effective ws (the scatter ring with PD14's miss rate) {ws_eff:.2f} MiB: curve c_d {c_eff:.3f} ns against "
              f"{c_nom:.3f} at the nominal ring")
        print(f"   events by target population: {r['share_events_per_pop']}")
        print(f"   neurons by population:       {r['share_neurons_per_pop']}")


if __name__ == "__main__":
    main(sys.argv[1:])
