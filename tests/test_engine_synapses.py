"""Connectivity of built networks (serial builds on MPI.COMM_SELF).

PD14 synapse numbers, weight and delay statistics; the connection rules on
small hand-made networks; weight/delay distributions and delay rounding;
determinism of the build. Statistical tolerances are ~5 sigma with fixed seeds.
"""
from __future__ import annotations

import importlib
import math
import mmap
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from mpi4py import MPI
from scipy import stats

from parsnn.errors import ParameterError
from parsnn.network import (AllToAll, FixedIndegree, FixedTotalNumber, Network, Normal, OneToOne,
                            PairwiseBernoulli, Uniform)
from parsnn.engine import Simulation, decomposition
from parsnn.engine import synapses as engine_synapses

try:
    from parsnn.models import pd14
except ImportError:  # package not installed: import from the source tree
    pd14 = importlib.import_module("models.pd14")

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
INH = np.array([False, True, False, True, False, True, False, True])


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def build(net, seed=1234, partition="round_robin", realisation="v2"):
    sim = Simulation(net, seed=seed, comm=MPI.COMM_SELF, partition=partition, realisation=realisation)
    sim.build()
    return sim


def synapses(sim):
    """(source gid, target gid, weight float32, delay steps) of every built synapse, in CSR order."""
    ptr, tgt, w, d = sim._syn_arrays
    assert ptr.dtype == np.int64 and w.dtype == np.float32 and d.dtype == np.uint16
    assert tgt.dtype == engine_synapses.local_index_dtype(sim.local_gids.size)
    assert ptr.shape == (sim.num_nodes + 1,) and ptr[0] == 0 and np.all(np.diff(ptr) >= 0)
    assert ptr[-1] == tgt.size == w.size == d.size == sim.num_synapses
    src = np.repeat(np.arange(sim.num_nodes, dtype=np.int64), np.diff(ptr))
    return src, sim.local_gids[tgt].astype(np.int64), w, d


def canonical(src, tgt, w, d):
    """Synapses as a structured array sorted by (target, source, weight, delay)."""
    a = np.empty(src.size, dtype=[("t", "i8"), ("s", "i8"), ("w", "f4"), ("d", "u2")])
    a["t"], a["s"], a["w"], a["d"] = tgt, src, w, d
    return np.sort(a, order=["t", "s", "w", "d"])


def in_pop(gids, sim, name):
    off = sim.offsets[name]
    return (gids >= off) & (gids < off + sim.net.populations[name].size)


def psc_per_psp(tau_m, tau_s, c_m):
    """pA of PSC per mV of peak PSP for iaf_psc_exp (independent of the model module)."""
    a = tau_m * tau_s / (tau_m - tau_s)
    t_max = a * math.log(tau_m / tau_s)
    return 1.0 / (a / c_m * (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_s)))


def rounded_truncnorm_moments(mu, sd, lo, h):
    """pmf over k >= 1 and mean / variance / 4th central moment of round(X/h) (halves up),
    X ~ Normal(mu, sd) redrawn below lo (lo = h/2 here, so k >= 1)."""
    kmax = int((mu + 15 * sd) / h) + 2
    k = np.arange(1, kmax + 1)
    upper = (k + 0.5) * h
    lower = np.maximum((k - 0.5) * h, lo)
    mass = stats.norm.cdf(upper, mu, sd) - stats.norm.cdf(lower, mu, sd)
    pmf = np.where(upper > lo, mass, 0.0) / stats.norm.sf(lo, mu, sd)
    assert abs(pmf.sum() - 1.0) < 1e-12
    m = float(np.sum(k * pmf))
    v = float(np.sum((k - m) ** 2 * pmf))
    m4 = float(np.sum((k - m) ** 4 * pmf))
    return k, pmf, m, v, m4


def chisquare_pvalue(observed, expected, min_expected=10.0):
    """Chi-square p-value with adjacent bins merged until each expects >= min_expected."""
    groups, co, ce = [], 0.0, 0.0
    for o, e in zip(observed, expected):
        co += o
        ce += e
        if ce >= min_expected:
            groups.append((co, ce))
            co = ce = 0.0
    if ce > 0 or co > 0:
        o0, e0 = groups.pop()
        groups.append((o0 + co, e0 + ce))
    o, e = np.array(groups, dtype=float).T
    return stats.chisquare(o, e * o.sum() / e.sum()).pvalue


# ---------------------------------------------------------------------------
# PD14 at n_scaling = 0.02
# ---------------------------------------------------------------------------

PD14_SCALE = 0.02
PD14_SEED = 55


@pytest.fixture(scope="module")
def pd14_built():
    net = pd14.build_network(PD14_SCALE, 1.0)
    sim = build(net, seed=PD14_SEED)
    src, tgt, w, d = synapses(sim)
    bounds = np.array([sim.offsets[p] for p in POPS] + [sim.num_nodes])
    sp = np.searchsorted(bounds, src, side="right") - 1
    tp = np.searchsorted(bounds, tgt, side="right") - 1
    return sim, src, tgt, w, d, sp, tp


def test_pd14_synapse_numbers(pd14_built):
    sim, src, tgt, w, d, sp, tp = pd14_built
    assert list(sim.offsets) == POPS
    assert sim.num_nodes == int(pd14.num_neurons(PD14_SCALE).sum())
    assert np.array_equal(sim.local_gids, np.arange(sim.num_nodes))
    counts = np.bincount(tp * 8 + sp, minlength=64).reshape(8, 8)    # [target, source]
    expected = pd14.total_synapses(PD14_SCALE, 1.0)
    np.testing.assert_array_equal(counts, expected)
    assert int(counts.sum()) == sim.num_synapses == int(expected.sum())
    assert 5.9e6 < sim.num_synapses < 6.1e6


def test_pd14_fixed_total_number_spread(pd14_built):
    """Multapses and autapses allowed: per-target and per-source counts of one
    projection are uniform multinomial."""
    sim, src, tgt, w, d, sp, tp = pd14_built
    sizes = pd14.num_neurons(PD14_SCALE)
    t, s = 0, 0                                 # L23E -> L23E
    sel = (tp == t) & (sp == s)
    n = int(sel.sum())
    per_tgt = np.bincount(tgt[sel] - sim.offsets[POPS[t]], minlength=sizes[t])
    per_src = np.bincount(src[sel] - sim.offsets[POPS[s]], minlength=sizes[s])
    assert per_tgt.sum() == per_src.sum() == n
    assert stats.chisquare(per_tgt).pvalue > 1e-4
    assert stats.chisquare(per_src).pvalue > 1e-4
    # autapses exist, at the rate of a uniform pick: n / N_source expected
    aut = int(np.count_nonzero(src[sel] == tgt[sel]))
    lam = n / sizes[s]
    assert abs(aut - lam) < 5 * math.sqrt(lam)


def test_pd14_weights(pd14_built):
    sim, src, tgt, w, d, sp, tp = pd14_built
    assert w.dtype == np.float32
    j = 0.15 * psc_per_psp(10.0, 0.5, 250.0)
    assert abs(j - 87.8) < 0.05
    k = pd14.total_synapses(PD14_SCALE, 1.0)
    order = np.argsort(tp * 8 + sp, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(tp * 8 + sp, minlength=64))])
    ws = w[order].astype(np.float64)
    for t in range(8):
        for s in range(8):
            x = ws[bounds[t * 8 + s]:bounds[t * 8 + s + 1]]
            assert x.size == k[t, s]
            if x.size == 0:
                continue
            mean = j * (-4.0 if INH[s] else 1.0) * (2.0 if (t, s) == (0, 2) else 1.0)
            if INH[s]:
                assert x.max() <= 0.0, (POPS[s], POPS[t])
            else:
                assert x.min() >= 0.0, (POPS[s], POPS[t])
            n = x.size
            sd = 0.1 * abs(mean)
            assert abs(x.mean() - mean) < 5 * sd / math.sqrt(n) + 1e-4, (POPS[s], POPS[t], x.mean(), mean)
            if n >= 20:
                assert abs(x.std(ddof=1) / sd - 1.0) < 5 / math.sqrt(2 * (n - 1)), (POPS[s], POPS[t], x.std())
    # pooled over all excitatory sources (L4E->L23E excluded): shape is normal
    z_exc = []
    for t in range(8):
        for s in np.flatnonzero(~INH):
            if (t, s) != (0, 2):
                z_exc.append(ws[bounds[t * 8 + s]:bounds[t * 8 + s + 1]])
    z = (np.concatenate(z_exc) - j) / (0.1 * j)
    assert stats.kstest(z[:: max(1, z.size // 200_000)], "norm").pvalue > 1e-4


@pytest.mark.parametrize("inhibitory", [False, True])
def test_pd14_delays(pd14_built, inhibitory):
    sim, src, tgt, w, d, sp, tp = pd14_built
    h = sim.h
    assert h == 0.1
    mu = 0.75 if inhibitory else 1.5
    k, pmf, m, v, m4 = rounded_truncnorm_moments(mu, 0.5 * mu, 0.5 * h, h)
    sel = INH[sp] if inhibitory else ~INH[sp]
    x = d[sel].astype(np.float64)
    n = x.size
    assert n > 1e6
    assert x.min() >= 1
    assert abs(x.mean() - m) < 5 * math.sqrt(v / n), (x.mean(), m)
    assert abs(x.var(ddof=1) - v) < 5 * math.sqrt((m4 - v * v) / n), (x.var(), v)
    obs = np.bincount(x.astype(np.int64), minlength=k[-1] + 1)[1:k[-1] + 1]
    assert obs.sum() == n
    assert chisquare_pvalue(obs, pmf * n) > 1e-4
    # per projection: mean within 5 sigma
    for t in range(8):
        for s in range(8):
            if INH[s] != inhibitory:
                continue
            y = d[(tp == t) & (sp == s)].astype(np.float64)
            if y.size:
                assert abs(y.mean() - m) < 5 * math.sqrt(v / y.size), (POPS[s], POPS[t])


def test_pd14_min_delay(pd14_built):
    sim, src, tgt, w, d, sp, tp = pd14_built
    assert d.min() == 1
    assert sim.min_delay_steps == 1 and sim.max_delay_steps == int(d.max())


# ---------------------------------------------------------------------------
# connection rules on small networks
# ---------------------------------------------------------------------------

def two_pops(na=60, nb=80, h=0.1):
    net = Network(resolution=h)
    net.add_population("A", na)
    net.add_population("B", nb)
    return net


def proj_synapses(sim, src_pop, tgt_pop, syn=None):
    s, t, w, d = synapses(sim) if syn is None else syn
    sel = in_pop(s, sim, src_pop) & in_pop(t, sim, tgt_pop)
    return s[sel], t[sel], w[sel], d[sel]


def test_fixed_indegree():
    net = two_pops(60, 80)
    net.connect("A", "B", FixedIndegree(25), name="AB")
    net.connect("B", "B", FixedIndegree(150, allow_autapses=True), name="BB_aut")
    net.connect("A", "A", FixedIndegree(59, allow_autapses=False), name="AA_noaut")
    net.connect("A", "B", FixedIndegree(0), name="AB_zero")
    sim = build(net)
    syn = synapses(sim)
    assert sim.num_synapses == 80 * 25 + 80 * 150 + 60 * 59

    s, t, _, _ = proj_synapses(sim, "A", "B", syn)
    assert np.array_equal(np.bincount(t - 60, minlength=80), np.full(80, 25))
    assert stats.chisquare(np.bincount(s, minlength=60)).pvalue > 1e-4

    s, t, _, _ = proj_synapses(sim, "B", "B", syn)
    assert np.array_equal(np.bincount(t - 60, minlength=80), np.full(80, 150))
    aut = int(np.count_nonzero(s == t))            # ~ Binomial(80*150, 1/80)
    assert aut > 0 and abs(aut - 150) < 5 * math.sqrt(150 * (1 - 1 / 80))
    # multapses: with 150 draws out of 80 sources, every target has repeated sources
    for g in range(60, 140, 17):
        assert np.unique(s[t == g]).size < 150

    s, t, _, _ = proj_synapses(sim, "A", "A", syn)
    assert np.array_equal(np.bincount(t, minlength=60), np.full(60, 59))
    assert not np.any(s == t)
    # the other 59 sources are drawn uniformly: pool the source's offset from the target
    rel = (s - t) % 60
    assert np.all(rel > 0)
    assert stats.chisquare(np.bincount(rel, minlength=60)[1:]).pvalue > 1e-4


def test_fixed_indegree_no_autapses_pair():
    """Without autapses from a 2-neuron population, every synapse comes from the other neuron."""
    net = Network()
    net.add_population("A", 2)
    net.connect("A", "A", FixedIndegree(40, allow_autapses=False))
    s, t, _, _ = synapses(build(net))
    assert s.size == 80 and np.array_equal(np.sort(s + t), np.ones(80))


def test_fixed_total_number():
    net = two_pops(50, 200)
    net.connect("A", "B", FixedTotalNumber(20_000), name="AB")
    net.connect("B", "B", FixedTotalNumber(1), name="BB_one")
    net.connect("A", "A", FixedTotalNumber(0), name="AA_zero")
    sim = build(net)
    syn = synapses(sim)
    assert sim.num_synapses == 20_001
    s, t, _, _ = proj_synapses(sim, "A", "B", syn)
    assert s.size == 20_000
    per_t = np.bincount(t - 50, minlength=200)
    # multinomial(n, 1/N_t): mean n/N_t, variance n (1/N_t)(1 - 1/N_t), chi-square uniform
    assert per_t.mean() == 100.0
    var = 20_000 * (1 / 200) * (1 - 1 / 200)
    # sample variance of 200 near-normal counts: sd ~ var*sqrt(2/199)
    assert abs(per_t.var(ddof=1) - var) < 5 * var * math.sqrt(2 / 199)
    assert stats.chisquare(per_t).pvalue > 1e-4
    assert stats.chisquare(np.bincount(s, minlength=50)).pvalue > 1e-4
    s, t, _, _ = proj_synapses(sim, "B", "B", syn)
    assert s.size == 1


def binomial_dispersion_pvalue(counts, n, p):
    """Two-sided p-value of sum((c - n p)^2) / (n p (1-p)) ~ chi2(len(counts)) for
    independent Binomial(n, p) counts with the known mean n p."""
    stat = float(np.sum((np.asarray(counts, float) - n * p) ** 2) / (n * p * (1 - p)))
    cdf = stats.chi2.cdf(stat, len(counts))
    return 2 * min(cdf, 1 - cdf)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.9])
def test_pairwise_bernoulli(p):
    na, nb = 120, 150
    net = two_pops(na, nb)
    net.connect("A", "B", PairwiseBernoulli(p), name="AB")
    net.connect("B", "B", PairwiseBernoulli(p, allow_autapses=False), name="BB_noaut")
    net.connect("B", "B", PairwiseBernoulli(p, allow_autapses=True), name="BB_aut")
    sim = build(net)
    syn = synapses(sim)
    pairs_ab = na * nb
    s, t, _, _ = proj_synapses(sim, "A", "B", syn)
    assert abs(s.size - pairs_ab * p) < 5 * math.sqrt(pairs_ab * p * (1 - p))
    # no multapses: each pair at most once
    code = s * 10_000 + t
    assert np.unique(code).size == code.size
    # in-degrees ~ Binomial(N_s, p), out-degrees ~ Binomial(N_t, p), independent
    indeg = np.bincount(t - na, minlength=nb)
    outdeg = np.bincount(s, minlength=na)
    assert binomial_dispersion_pvalue(indeg, na, p) > 1e-4
    assert binomial_dispersion_pvalue(outdeg, nb, p) > 1e-4
    # no off-by-one in the geometric skips: the first and last source are hit at rate p
    for j in (0, na - 1):
        assert abs(outdeg[j] - nb * p) < 5 * math.sqrt(nb * p * (1 - p))

    # the two B->B projections together
    s, t, _, _ = proj_synapses(sim, "B", "B", syn)
    mean = (nb * (nb - 1) + nb * nb) * p
    assert abs(s.size - mean) < 5 * math.sqrt(mean * (1 - p))
    # every autapse comes from the projection that allows them: ~Binomial(nb, p)
    assert abs(int(np.count_nonzero(s == t)) - nb * p) < 5 * math.sqrt(nb * p * (1 - p))


def test_pairwise_bernoulli_projection_split():
    """The no-autapse projection never produces s == t (checked per projection by building it alone)."""
    net = two_pops(10, 100)
    net.connect("B", "B", PairwiseBernoulli(0.5, allow_autapses=False))
    s, t, _, _ = synapses(build(net))
    assert not np.any(s == t)
    assert abs(s.size - 9900 * 0.5) < 5 * math.sqrt(9900 * 0.25)


def test_pairwise_bernoulli_edge_cases():
    net = two_pops(30, 40)
    net.connect("A", "B", PairwiseBernoulli(0.0), name="p0")
    net.connect("B", "B", PairwiseBernoulli(1.0), name="p1_aut")
    net.connect("A", "A", PairwiseBernoulli(1.0, allow_autapses=False), name="p1_noaut")
    sim = build(net)
    syn = synapses(sim)
    assert proj_synapses(sim, "A", "B", syn)[0].size == 0
    s, t, _, _ = proj_synapses(sim, "B", "B", syn)
    got = set(zip(s.tolist(), t.tolist()))
    assert s.size == 1600 and got == {(i, j) for i in range(30, 70) for j in range(30, 70)}
    s, t, _, _ = proj_synapses(sim, "A", "A", syn)
    got = set(zip(s.tolist(), t.tolist()))
    assert s.size == 870 and got == {(i, j) for i in range(30) for j in range(30) if i != j}
    assert sim.num_synapses == 1600 + 870


def test_pairwise_bernoulli_small_p_in_range():
    """Rare connections (large geometric skips) stay inside the source population."""
    net = two_pops(100, 400)
    net.connect("A", "B", PairwiseBernoulli(1e-3))
    s, t, _, _ = synapses(build(net))
    assert np.all((s >= 0) & (s < 100)) and np.all((t >= 100) & (t < 500))
    assert abs(s.size - 40.0) < 5 * math.sqrt(40.0)


_TINY_P_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from mpi4py import MPI
    from parsnn.network import Network, PairwiseBernoulli
    from parsnn.engine import Simulation
    p = float(sys.argv[1])
    net = Network()
    net.add_population("A", 20)
    net.add_population("B", 30)
    net.connect("A", "B", PairwiseBernoulli(p))
    sim = Simulation(net, seed=3, comm=MPI.COMM_SELF)
    sim.build()
    src = np.repeat(np.arange(50), np.diff(sim._syn_arrays[0]))
    assert np.all(src < 20), ("sources outside A", sim.num_synapses)
    assert sim.num_synapses <= 1, sim.num_synapses
    print("OK")
""")


@pytest.mark.parametrize("p", [1e-300, 1e-20])
def test_pairwise_bernoulli_tiny_p(p):
    """Regression: an unchecked int64 cast of the geometric skip gave sources outside the
    population (p=1e-300) or a segfault (p=1e-20). Run in a subprocess: a crash must fail
    only this test."""
    r = subprocess.run([sys.executable, "-c", _TINY_P_SCRIPT, repr(p)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "OK" in r.stdout, (r.returncode, r.stderr[-300:])


@pytest.mark.parametrize("autapses", [True, False])
def test_all_to_all(autapses):
    net = two_pops(20, 30)
    net.connect("A", "B", AllToAll(allow_autapses=autapses), weight=2.0, delay=0.3)
    net.connect("B", "B", AllToAll(allow_autapses=autapses), weight=-1.0, delay=0.5)
    sim = build(net)
    s, t, w, d = synapses(sim)
    ab = {(i, j) for i in range(20) for j in range(20, 50)}
    bb = {(i, j) for i in range(20, 50) for j in range(20, 50) if autapses or i != j}
    pairs = list(zip(s.tolist(), t.tolist()))
    assert len(pairs) == len(set(pairs)) == len(ab) + len(bb)
    assert set(pairs) == ab | bb
    from_a = s < 20
    assert np.all(w[from_a] == np.float32(2.0)) and np.all(d[from_a] == 3)
    assert np.all(w[~from_a] == np.float32(-1.0)) and np.all(d[~from_a] == 5)


def test_one_to_one():
    net = two_pops(37, 37)
    net.connect("A", "B", OneToOne(), weight=Uniform(1.0, 2.0), delay=0.2)
    net.connect("B", "B", OneToOne(), weight=0.5)
    sim = build(net)
    s, t, w, d = synapses(sim)
    assert sim.num_synapses == 74
    ab = s < 37
    np.testing.assert_array_equal(np.sort(t[ab]) - 37, np.arange(37))
    assert np.all(t[ab] - 37 == s[ab])
    assert np.all(s[~ab] == t[~ab]) and np.unique(s[~ab]).size == 37
    assert np.all((w[ab] >= 1.0) & (w[ab] < 2.0)) and np.unique(w[ab]).size == 37
    assert np.all(d[ab] == 2) and np.all(d[~ab] == 1)     # default delay = resolution


def test_one_to_one_requires_equal_sizes():
    net = two_pops(3, 4)
    net.connect("A", "B", OneToOne())
    with pytest.raises(ParameterError):
        Simulation(net, seed=1, comm=MPI.COMM_SELF)


# ---------------------------------------------------------------------------
# weight and delay distributions, delay rounding
# ---------------------------------------------------------------------------

def test_normal_weights_redraw_bounds():
    net = two_pops(100, 200)
    lo, hi = -0.5, 0.8
    net.connect("A", "B", FixedIndegree(200), weight=Normal(0.0, 1.0, lo, hi), name="both")
    net.connect("B", "B", FixedIndegree(100), weight=Normal(-3.0, 2.0, -math.inf, -2.5), name="upper")
    sim = build(net)
    syn = synapses(sim)
    _, _, w, _ = proj_synapses(sim, "A", "B", syn)
    assert w.size == 40_000
    # float32 storage: compare with the bounds rounded to float32 (rounding is monotonic)
    assert w.min() >= np.float32(lo) and w.max() <= np.float32(hi)
    assert w.min() < lo + 0.01 and w.max() > hi - 0.01
    assert stats.kstest(w.astype(np.float64), stats.truncnorm(lo, hi).cdf).pvalue > 1e-4
    _, _, w, _ = proj_synapses(sim, "B", "B", syn)
    assert w.size == 20_000 and w.max() <= np.float32(-2.5)
    tn = stats.truncnorm(-math.inf, (-2.5 + 3.0) / 2.0, loc=-3.0, scale=2.0)
    assert abs(w.mean() - tn.mean()) < 5 * tn.std() / math.sqrt(w.size)
    assert stats.kstest(w.astype(np.float64), tn.cdf).pvalue > 1e-4


def test_uniform_weights_and_delays():
    net = two_pops(100, 300)
    net.connect("A", "B", FixedIndegree(100), weight=Uniform(-2.0, 3.0), delay=Uniform(0.5, 2.0))
    sim = build(net)
    s, t, w, d = synapses(sim)
    n = w.size
    assert n == 30_000
    assert w.min() >= -2.0 and w.max() < 3.0
    assert stats.kstest(w.astype(np.float64), stats.uniform(-2.0, 5.0).cdf).pvalue > 1e-4
    # delay steps round(U(5, 20)): 5 and 20 have half the mass of 6..19
    assert d.min() == 5 and d.max() == 20
    expected = np.full(16, 1.0 / 15)
    expected[[0, -1]] = 0.5 / 15
    obs = np.bincount(d, minlength=21)[5:21]
    assert stats.chisquare(obs, expected * n).pvalue > 1e-4
    assert sim.min_delay_steps == 5 and sim.max_delay_steps == 20


@pytest.mark.parametrize("h,delay,steps", [
    (0.1, 0.1, 1), (0.1, 0.14, 1), (0.1, 0.16, 2), (0.1, 1.0, 10), (0.1, 1.5, 15), (0.1, 0.94, 9),
    (0.1, 0.96, 10), (0.25, 0.3, 1), (0.25, 0.4, 2), (0.25, 1.0, 4), (1.0, 1.4, 1), (1.0, 6553.0, 6553),
    (0.1, 6553.5, 65535),
])
def test_constant_delay_rounding(h, delay, steps):
    net = two_pops(3, 3, h=h)
    net.connect("A", "B", OneToOne(), delay=delay)
    sim = build(net)
    _, _, _, d = synapses(sim)
    assert np.all(d == steps)
    assert sim.min_delay_steps == sim.max_delay_steps == steps


def test_delay_limits():
    net = two_pops(3, 3)
    net.connect("A", "B", OneToOne(), delay=0.05)           # below the resolution
    with pytest.raises(ParameterError):
        Simulation(net, seed=1, comm=MPI.COMM_SELF)
    net = two_pops(3, 3)
    net.connect("A", "B", OneToOne(), delay=6553.6)         # 65536 steps: does not fit uint16
    with pytest.raises(ParameterError):
        build(net)


def test_huge_constant_delay_is_rejected():
    net = two_pops(3, 3)
    net.connect("A", "B", OneToOne(), delay=1e20)
    with pytest.raises(ParameterError):
        build(net)


def test_huge_drawn_delay_is_rejected():
    """Regression: an unchecked int64 cast made a drawn delay of ~1e20 ms silently 1 step."""
    net = two_pops(3, 3)
    net.connect("A", "B", OneToOne(), delay=Normal(1e20, 1e19, 0.05, math.inf))   # unbounded: checked at build
    with pytest.raises(ParameterError):
        build(net)


def test_normal_delays_rounded_truncated():
    """Normal delays redrawn below h/2 then rounded: the full pmf of the steps."""
    net = two_pops(100, 500)
    mu, sd = 0.4, 0.3
    net.connect("A", "B", FixedIndegree(200), delay=Normal(mu, sd, 0.05, math.inf))
    sim = build(net)
    _, _, _, d = synapses(sim)
    n = d.size
    k, pmf, m, v, m4 = rounded_truncnorm_moments(mu, sd, 0.05, 0.1)
    assert d.min() == 1
    assert abs(d.mean() - m) < 5 * math.sqrt(v / n)
    assert abs(d.var(ddof=1) - v) < 5 * math.sqrt((m4 - v * v) / n)
    obs = np.bincount(d, minlength=k[-1] + 1)[1:k[-1] + 1]
    assert obs.sum() == n
    assert chisquare_pvalue(obs, pmf * n) > 1e-4


def test_projections_are_independent():
    """Two identical projections draw from different streams (the stream purpose includes
    the projection's index and name)."""
    def net_with(n_proj):
        net = two_pops(50, 60)
        for name in ("first", "second")[:n_proj]:
            net.connect("A", "B", FixedIndegree(30), weight=Normal(1.0, 0.5), delay=Uniform(0.1, 3.0), name=name)
        return net
    c1 = canonical(*synapses(build(net_with(1))))
    c2 = canonical(*synapses(build(net_with(2))))
    assert c1.size == 1800 and c2.size == 3600
    # adding a projection leaves the first one unchanged: the rest is the second projection
    key = lambda c: c[["t", "s", "w", "d"]].tolist()  # noqa: E731
    rest = list(key(c2))
    for item in key(c1):
        rest.remove(item)
    second = np.array(rest, dtype=c1.dtype)
    # per (target, source) counts of the two projections are uncorrelated
    m1 = np.zeros((60, 50))
    m2 = np.zeros((60, 50))
    np.add.at(m1, (c1["t"] - 50, c1["s"]), 1)
    np.add.at(m2, (second["t"] - 50, second["s"]), 1)
    r = np.corrcoef(m1.ravel(), m2.ravel())[0, 1]
    assert abs(r) < 5 / math.sqrt(m1.size)
    assert not np.array_equal(np.sort(c1["w"]), np.sort(second["w"]))


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------

def mixed_network():
    net = Network(resolution=0.1)
    net.add_population("E", 80)
    net.add_population("I", 20, model="iaf_psc_delta")
    net.add_population("S", 15, model="poisson_source", params={"rate": 10.0})
    net.add_population("G", 4, model="spike_generator", spike_times=[[1.0], [2.0, 3.0], [], [0.5]])
    net.connect("E", "E", FixedTotalNumber(1500), weight=Normal(50.0, 5.0, 0.0, math.inf),
                delay=Normal(1.5, 0.75, 0.05, math.inf))
    net.connect("E", "I", FixedIndegree(12), weight=Uniform(10.0, 20.0), delay=Uniform(0.5, 2.0))
    net.connect("I", "E", PairwiseBernoulli(0.2, allow_autapses=False), weight=-80.0, delay=0.8)
    net.connect("I", "I", PairwiseBernoulli(0.3), weight=Normal(-1.0, 0.1, -math.inf, 0.0), delay=1.0)
    net.connect("S", "E", FixedIndegree(3), weight=5.0, delay=1.2)
    net.connect("G", "I", AllToAll(), weight=3.0, delay=0.4)
    net.connect("E", "E", FixedIndegree(5, allow_autapses=False), weight=1.0, delay=Normal(2.0, 1.0, 0.05, 4.0))
    net.connect("I", "E", AllToAll(allow_autapses=False), weight=-0.5, delay=0.3)
    return net


def test_same_seed_identical_build():
    a = build(mixed_network(), seed=77)
    b = build(mixed_network(), seed=77)
    for x, y in zip(a._syn_arrays, b._syn_arrays):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    ca, cb = canonical(*synapses(a)), canonical(*synapses(b))
    assert ca.size > 3000 and np.array_equal(ca, cb)


def test_different_seed_differs():
    sa, ta, wa, da = synapses(build(mixed_network(), seed=77))
    sb, tb, wb, db = synapses(build(mixed_network(), seed=78))
    assert not np.array_equal(canonical(sa, ta, wa, da), canonical(sb, tb, wb, db))
    # structure differs too (not only the values)
    assert not np.array_equal(np.sort(sa * 1000 + ta), np.sort(sb * 1000 + tb))


def test_pd14_same_and_different_seed(pd14_built):
    sim, src, tgt, w, d, sp, tp = pd14_built
    again = build(pd14.build_network(PD14_SCALE, 1.0), seed=PD14_SEED)
    for x, y in zip(sim._syn_arrays, again._syn_arrays):
        np.testing.assert_array_equal(x, y)
    other = build(pd14.build_network(PD14_SCALE, 1.0), seed=PD14_SEED + 1)
    s2, t2, w2, d2 = synapses(other)
    assert other.num_synapses == sim.num_synapses            # numbers are fixed by the rule
    assert not np.array_equal(s2, src)
    assert not np.array_equal(np.sort(w2), np.sort(w))


def _incoming_lists(src, tgt, w, d):
    """Per target gid: its incoming synapses (source, weight, delay) in canonical order."""
    c = canonical(src, tgt, w, d)
    cuts = np.flatnonzero(np.diff(c["t"])) + 1
    return {int(g[0]["t"]): g[["s", "w", "d"]] for g in np.split(c, cuts)}


def test_partition_argument_does_not_change_network():
    """On one rank every partition places all nodes on rank 0: the network is the same."""
    net = mixed_network()
    ref = build(net, seed=5)
    rng = np.random.default_rng(3)
    random_map = np.zeros(net.num_nodes, dtype=np.int64)        # the only rank of COMM_SELF
    rng.shuffle(random_map)
    ref_lists = _incoming_lists(*synapses(ref))
    for part in ("round_robin", "block", random_map):
        sim = build(mixed_network(), seed=5, partition=part)
        for x, y in zip(ref._syn_arrays, sim._syn_arrays):
            np.testing.assert_array_equal(x, y)
        lists = _incoming_lists(*synapses(sim))
        assert lists.keys() == ref_lists.keys()
        for g in lists:
            assert np.array_equal(lists[g], ref_lists[g])


def _emulated_rank(net, seed, rank_of, rank, scheme=2):
    """CSR (ptr, target gid, w, d) that a rank owning the nodes with ``rank_of == rank`` builds.

    Calls the engine's synapse generation directly (parsnn.engine.synapses): the collective
    part of build() needs real ranks, the synapse generation does not."""
    offsets = net.offsets()
    local, _ = decomposition.local_nodes(np.asarray(rank_of), rank)
    pop_local = decomposition.population_ranges(net, local, offsets)
    timers = {"count": 0.0, "group": 0.0}
    ptr, tgt, w, runs, *_, rows = engine_synapses.generate_synapses(net, local, offsets, pop_local, seed,
                                                                     net.resolution, timers, scheme=scheme)
    ptr = rows.by_gid(ptr, 1)
    assert ptr.shape == (net.num_nodes + 1,)
    return ptr, local[tgt], w, runs.per_synapse()


@pytest.mark.parametrize("realisation", ["v1", "v2"])
@pytest.mark.parametrize("nranks", [2, 3, 5])
def test_target_centric_generation_is_layout_independent(nranks, realisation):
    """Serial emulation of a multi-rank build: every emulated rank builds exactly the
    single-rank network's synapses onto its own neurons, and each source's row lists
    them in the same order (the delivery order), under either realisation scheme."""
    net = mixed_network()
    full = build(net, seed=9, realisation=realisation)
    ptr_f, tgt_f, w_f, d_f = full._syn_arrays
    tgt_f = full.local_gids[tgt_f]
    rng = np.random.default_rng(nranks)
    rank_of = rng.integers(0, nranks, size=net.num_nodes)
    total = 0
    for r in range(nranks):
        ptr, tgt, w, d = _emulated_rank(mixed_network(), 9, rank_of, r, {"v1": 1, "v2": 2}[realisation])
        assert np.all(rank_of[tgt] == r)
        total += tgt.size
        for g in range(net.num_nodes):
            row = slice(ptr_f[g], ptr_f[g + 1])
            mine = rank_of[tgt_f[row]] == r
            sl = slice(ptr[g], ptr[g + 1])
            assert np.array_equal(tgt[sl], tgt_f[row][mine]), (r, g)
            assert np.array_equal(w[sl], w_f[row][mine]) and np.array_equal(d[sl], d_f[row][mine]), (r, g)
    assert total == full.num_synapses


def test_delay_runs_store_each_run_of_equal_delay_once():
    """The delays of rows grouped by delay are stored per run (delay, length), row by row; expanded
    they give back every synapse's delay; a network's static table is 6 bytes per synapse (uint16
    target + weight) plus the row pointers, 14 bytes per run and the 4-byte gid -> row index per node, and there
    are fewer runs than synapses."""
    ptr = np.array([0, 3, 3, 7, 8], dtype=np.int64)
    d = np.array([2, 2, 5, 1, 1, 1, 1, 9], dtype=np.uint16)
    runs = engine_synapses.DelayRuns(ptr, d)
    assert runs.ptr.tolist() == [0, 2, 2, 3, 4]
    assert runs.d.tolist() == [2, 5, 1, 9] and runs.n.tolist() == [2, 1, 4, 1]
    assert np.array_equal(runs.per_synapse(), d)
    sim = build(mixed_network(), seed=3)
    perf = sim.performance()
    ptr, tgt, w, runs = sim._syn_table
    n_syn, n_rows, n_runs = tgt.size, np.asarray(sim.st.syn_ptr).size, runs.d.size
    assert n_syn > 4000 and n_runs < n_syn / 3
    assert tgt.dtype == np.uint16 and engine_synapses.STATIC_SYNAPSE_BYTES == 6
    n_nodes = sim.net.num_nodes
    assert np.asarray(sim.st.syn_row).size == n_nodes          # the gid -> compact row index: 4 bytes a node
    assert perf["bytes_per_static_synapse"] == pytest.approx((6 * n_syn + 16 * n_rows + 6 * n_runs + 4 * n_nodes)
                                                             / n_syn)


def test_target_dtype_is_uint16_up_to_two_windows_of_65536_local_neurons():
    """16-bit targets on a rank of up to 2 x 65536 neurons (relative to a window beyond 65536: full
    PD14's 77,169 on one rank), read back as uint16 local indices only up to 65536."""
    assert engine_synapses.target_dtype(65536) == engine_synapses.target_dtype(131072) == np.uint16
    assert engine_synapses.target_dtype(131073) == np.uint32
    assert engine_synapses.local_index_dtype(65536) == np.uint16
    assert engine_synapses.local_index_dtype(65537) == np.uint32
    assert engine_synapses.static_synapse_bytes(38585) == engine_synapses.STATIC_SYNAPSE_BYTES == 6
    assert engine_synapses.static_synapse_bytes(77169) == 6
    assert engine_synapses.static_synapse_bytes(131073) == engine_synapses.STATIC_SYNAPSE_BYTES_WIDE == 8
    assert engine_synapses.static_synapse_bytes(np.array([77169, 131073])).tolist() == [6, 8]


def test_rows_hold_every_projection_in_projection_order(mixed_network):
    """Pass 2 runs one source population at a time; every row still holds exactly what one pass over
    all projections writes: each projection's synapses (as draw_projection draws them alone) in
    projection order, then grouped by delay stably."""
    net = mixed_network()
    sim = build(net, seed=21)
    ptr, tgt, w, d = sim._syn_arrays
    offsets, local = net.offsets(), sim.local_gids
    pop_local = decomposition.population_ranges(net, local, offsets)
    parts = [engine_synapses.draw_projection(net, k, local, offsets, pop_local, 21, net.resolution, scheme=2)
             for k in range(len(net.projections))]
    assert sum(p[1].size for p in parts) == tgt.size > 10000
    for g in range(net.num_nodes):
        cat = [np.concatenate([p[i][p[0][g]:p[0][g + 1]] for p in parts]) for i in (1, 2, 3)]
        order = np.argsort(cat[2], kind="stable")
        row = slice(ptr[g], ptr[g + 1])
        assert np.array_equal(tgt[row], cat[0][order]), g
        assert np.array_equal(w[row].view(np.int32), cat[1][order].view(np.int32)), g
        assert np.array_equal(d[row], cat[2][order]), g


def _run_mixed(mixed_network, seed, rings, threads):
    """The mixed network built on one rank with ``threads`` threads (parallel regions for any size)
    and run for 150 ms."""
    sim = Simulation(mixed_network(), seed=seed, comm=MPI.COMM_SELF, rings=rings, threads=threads)
    sim.build()
    sim.st.par_min_updates = sim.st.par_min_events = 0
    sim.run(150.0)
    return sim


@pytest.mark.parametrize("rings,threads", [("per-tau", 1), ("per-receptor", 2)])
def test_wide_targets_give_the_same_network_and_spikes(monkeypatch, mixed_network, rings, threads):
    """The uint32 fallback (a rank with more than 65536 neurons; forced here) stores the same synapses,
    with the same checksum, and delivers bit-identical spikes and voltages as 16-bit targets, with
    either ring scheme (both branches of both scatter kernels) and 1 or 2 threads."""
    from parsnn.engine import checkpoint as checkpointing
    narrow = _run_mixed(mixed_network, 11, rings, threads)
    monkeypatch.setattr(engine_synapses, "NARROW_MAX_LOCAL", 0)
    wide = _run_mixed(mixed_network, 11, rings, threads)
    assert narrow.st.tgt16 and not wide.st.tgt16
    assert narrow._syn_table[1].dtype == np.uint16 and wide._syn_table[1].dtype == np.uint32
    for x, y in zip(narrow._syn_arrays, wide._syn_arrays):
        assert np.array_equal(x, y)
    assert checkpointing.connectivity_checksum(narrow) == checkpointing.connectivity_checksum(wide)
    assert narrow.static_synapse_bytes < wide.static_synapse_bytes
    _assert_same_activity(narrow, wide)


def _assert_same_activity(a, b):
    """Bit-identical spikes (more than 300) and voltages, and the same number of synaptic events."""
    sa, sb = a.spikes(), b.spikes()
    assert sa.keys() == sb.keys() and sum(len(t) for t, _ in sa.values()) > 300
    for k in sa:
        assert np.array_equal(sa[k][0], sb[k][0]) and np.array_equal(sa[k][1], sb[k][1]), k
    va, vb = a.voltages(), b.voltages()
    for k in va:
        assert np.array_equal(va[k][2], vb[k][2]), k
    assert a.st.n_events == b.st.n_events > 0


def _sorted_rows(sim):
    """(source, target local index, delay, weight bits) of every static synapse, sorted."""
    ptr, tgt, w, d = sim._syn_arrays
    src = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    rows = np.stack([src, np.asarray(tgt, np.int64), np.asarray(d, np.int64), w.view(np.int32).astype(np.int64)])
    return rows[:, np.lexsort(rows[::-1])]


@pytest.mark.parametrize("threads,rings", [(1, "per-tau"), (2, "per-receptor"), (3, "per-tau")])
def test_windows_give_the_same_network_and_spikes(monkeypatch, mixed_network, threads, rings):
    """Targets relative to windows of each thread's neurons (synapses.TargetBlocks; here windows of
    100 neurons, a test hook, so that the rank of 530 needs 2-6 per thread) store the same synapses,
    with the same checksum, and deliver bit-identical spikes and voltages."""
    from parsnn.engine import checkpoint as checkpointing
    plain = _run_mixed(mixed_network, 7, rings, threads)
    monkeypatch.setattr(engine_synapses, "NARROW_MAX_LOCAL", 100)
    monkeypatch.setattr(engine_synapses, "NARROW_MAX_WINDOWS", 6)
    windowed = _run_mixed(mixed_network, 7, rings, threads)
    assert plain.st.syn_W == 1 and not np.any(plain.st.syn_base)
    assert windowed.st.tgt16 and windowed.st.syn_W >= 2 and np.any(windowed.st.syn_base)
    assert np.asarray(windowed._syn_table[1]).max() < 100 <= np.asarray(windowed._syn_arrays[1]).max()
    assert np.array_equal(plain._syn_arrays[0], windowed._syn_arrays[0])
    assert np.array_equal(_sorted_rows(plain), _sorted_rows(windowed))
    assert checkpointing.connectivity_checksum(plain) == checkpointing.connectivity_checksum(windowed)
    _assert_same_activity(plain, windowed)


@pytest.mark.parametrize("delay", [1.5, Normal(1.5, 0.75, 0.1, math.inf)])
def test_v2_weights_and_delays_are_the_streams_normals(delay):
    """Every target's weights (and normal delays, redrawn below 0.1 ms) are the normals of its
    value stream in draw order (weight, delay, weight, ...), as the reference generator
    (rng stream_values 'normal', one ziggurat draw at a time) gives them: the build's batched
    quick path draws the same numbers."""
    from parsnn import _rng as rng_kernels
    from parsnn.engine.streams import purpose
    net = two_pops(30, 12)
    k_in, seed, h = 700, 77, 0.1
    net.connect("A", "B", FixedIndegree(k_in), weight=Normal(5.0, 40.0, -math.inf, math.inf), delay=delay,
                name="AB")
    src, tgt, w, d = synapses(build(net, seed=seed))
    pv = purpose("proj", 0, "AB", "value")
    normal_delays = isinstance(delay, Normal)
    for g in (30, 35, 41):
        normals = iter(rng_kernels.stream_values(seed, pv, g, 4 * k_in, "normal", scheme=2))
        ref_w, ref_d = [], []
        for _ in range(k_in):
            ref_w.append(np.float32(5.0 + 40.0 * next(normals)))
            if normal_delays:
                x = 1.5 + 0.75 * next(normals)
                while x < 0.1:
                    x = 1.5 + 0.75 * next(normals)
                ref_d.append(max(1, int(math.floor(x / h + 0.5))))
            else:
                ref_d.append(15)
        mine = np.sort(np.rec.fromarrays([w[tgt == g], d[tgt == g]]), order=["f0", "f1"])
        ref = np.sort(np.rec.fromarrays([np.array(ref_w, np.float32), np.array(ref_d, np.uint16)]), order=["f0", "f1"])
        np.testing.assert_array_equal(mine["f0"].view(np.uint32), ref["f0"].view(np.uint32))
        np.testing.assert_array_equal(mine["f1"], ref["f1"])


def _thread_table(net, seed, local, threads):
    """(source gid, target gid, weight, delay steps, owner thread of the target) of every synapse
    that a rank owning ``local`` builds on ``threads`` threads, in storage order."""
    offsets = net.offsets()
    pop_local = decomposition.population_ranges(net, local, offsets)
    timers = {"count": 0.0, "group": 0.0}
    ptr, tgt, w, runs, *_, rows = engine_synapses.generate_synapses(net, local, offsets, pop_local, seed,
                                                                     net.resolution, timers, threads=threads)
    ptr = rows.by_gid(ptr, threads)
    owner = decomposition.thread_owners(pop_local, local.size, threads)[0]
    sub = np.repeat(np.arange(net.num_nodes * threads, dtype=np.int64), np.diff(ptr))
    assert np.array_equal(owner[tgt], sub % threads)            # sub-row (g, th) holds thread th's targets
    return sub // threads, local[tgt], w, runs.per_synapse(), owner[tgt]


@pytest.mark.parametrize("nranks, threads", [(1, 2), (1, 3), (2, 1), (2, 2)])
def test_batched_generation_is_rank_and_thread_invariant(nranks, threads):
    """A network big enough that every thread writes its synapses in several batches, each sorted by
    source bucket first: on any ranks x threads layout every source's sub-row holds exactly the
    one-rank one-thread row's synapses onto its targets, in the same order (the delivery order)."""
    net = two_pops(1500, 1200)
    w, d = Normal(50.0, 5.0, 0.0, math.inf), Normal(1.5, 0.75, 0.1, math.inf)
    net.connect("A", "B", FixedIndegree(700), weight=w, delay=d, name="AB")        # 840,000 synapses
    net.connect("B", "B", FixedTotalNumber(300_000), weight=w, delay=d, name="BB")
    net.connect("B", "A", FixedIndegree(3), weight=w, delay=d, name="BA")          # a small one: no batching
    seed = 21
    src_f, tgt_f, w_f, d_f, _ = _thread_table(net, seed, np.arange(net.num_nodes, dtype=np.int64), 1)
    assert src_f.size == 1200 * 700 + 300_000 + 1500 * 3
    rank_of = np.random.default_rng(nranks).integers(0, nranks, size=net.num_nodes)
    total = 0
    for r in range(nranks):
        local, _ = decomposition.local_nodes(rank_of, r)
        src, tgt, wr, dr, owner = _thread_table(net, seed, local, threads)
        total += src.size
        owner_of = np.full(net.num_nodes, -1)
        owner_of[tgt] = owner
        mine = np.flatnonzero(rank_of[tgt_f] == r)
        order = mine[np.argsort(src_f[mine] * threads + owner_of[tgt_f[mine]], kind="stable")]
        for a, b in ((src, src_f), (tgt, tgt_f), (wr, w_f), (dr, d_f)):
            np.testing.assert_array_equal(a, b[order])
    assert total == src_f.size


@pytest.mark.parametrize("threads,window", [(1, None), (2, None), (3, None), (2, 150)])
def test_threads_sort_their_rows_as_the_separate_delay_sort(monkeypatch, threads, window):
    """Pass 2 of a source population's projections in one parallel region, each thread then sorting
    its own sub-rows by delay and counting their runs (generate_plans with rows), gives the rows and
    runs of the separate passes (generate_plans, group_rows_by_delay, delay_runs); also with each
    thread's targets in windows (a test hook: windows of 150 neurons, 3 sub-rows per thread)."""
    from parsnn import _connect
    if window:
        monkeypatch.setattr(engine_synapses, "NARROW_MAX_LOCAL", window)
        monkeypatch.setattr(engine_synapses, "NARROW_MAX_WINDOWS", 8)
    net = two_pops(300, 400)
    w, d = Normal(50.0, 5.0, 0.0, math.inf), Normal(1.5, 0.75, 0.1, math.inf)
    net.connect("A", "B", FixedIndegree(90), weight=w, delay=d, name="AB")
    net.connect("A", "B", PairwiseBernoulli(0.2), weight=w, delay=d, name="AB2")
    net.connect("A", "A", FixedTotalNumber(20_000), weight=w, delay=d, name="AA")
    offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    blocks = engine_synapses.TargetBlocks(pop_local, local.size, threads)
    B = blocks.base.size
    # with a window: each thread owns one block of about 350 of the 700 neurons: 3 windows of 150
    assert blocks.W == (3 if window else 1)
    plans, per_source = engine_synapses._count_plans(net, local, offsets, pop_local, 7, 0.1, blocks, threads, 2)
    ptr = np.concatenate([[0], np.cumsum(per_source.T.reshape(-1))]).astype(np.int64)
    rows = ptr[:300 * B + 1]            # the sources of A: the first rows
    out = []
    for fused in (True, False):
        fill = ptr[:-1].reshape(net.num_nodes, B).T.copy().reshape(-1)
        tgt, wv, dv = np.empty(rows[-1], np.uint16), np.empty(rows[-1], np.float32), np.empty(rows[-1], np.uint16)
        nruns = np.zeros(rows.size, np.int64)
        _connect.generate_plans(_connect.Plans(plans, B, threads), 0.1, 7, fill, tgt, wv, dv, 2, None,
                                rows if fused else None, nruns if fused else None)
        if fused:
            runs = _connect.runs_of_counts(rows, dv, nruns, threads)
        else:
            _connect.group_rows_by_delay(rows, tgt, wv, dv, threads)
            runs = _connect.delay_runs(rows, dv, threads)
        out.append((tgt, wv, dv, *runs))
    assert len(np.unique(out[0][2])) > 5                  # several delays: the rows were really sorted
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_touch_pages_faults_in_the_whole_array(threads):
    """touch_pages makes every page of a fresh array resident (the resident set grows by its size:
    the generation then writes into pages that are already there), whatever the number of threads
    and the array's offset in its first page; the array stays usable, and a strided array is refused."""
    from parsnn import _connect
    page = os.sysconf("SC_PAGE_SIZE")

    def resident():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page
    nbytes = 48 << 20
    fresh = mmap.mmap(-1, nbytes + page)                  # private anonymous: no page resident yet
    arr = np.frombuffer(fresh, dtype=np.uint8)[3:3 + nbytes]   # not page aligned
    before = resident()
    _connect.touch_pages(arr, threads)
    assert resident() - before >= 0.95 * nbytes
    arr[:] = 7
    assert int(arr.sum()) == 7 * nbytes
    _connect.touch_pages(np.empty(0, dtype=np.float32), threads)
    with pytest.raises(ValueError, match="contiguous"):
        _connect.touch_pages(np.empty(100, dtype=np.float32)[::2], threads)


@pytest.mark.parametrize("threads,window", [(1, None), (2, None), (3, None), (2, 150)])
def test_split_by_synapse_count_writes_the_owner_split_rows(monkeypatch, threads, window):
    """The build that cuts each source population's generation into chunks of equal expected synapse
    numbers (each chunk writing through its own cursors, :func:`engine_synapses._write_split`) stores
    exactly the table of the owner split (each thread drawing the targets it owns and sorting its own
    sub-rows, :func:`engine_synapses._write_block`): the same synapses in the same order in every
    sub-row and the same delay runs, with uneven and random per-target counts; also with windows."""
    from parsnn import _connect
    if window:
        monkeypatch.setattr(engine_synapses, "NARROW_MAX_LOCAL", window)
        monkeypatch.setattr(engine_synapses, "NARROW_MAX_WINDOWS", 8)
    net = two_pops(300, 400)
    w, d = Normal(50.0, 5.0, 0.0, math.inf), Normal(1.5, 0.75, 0.1, math.inf)
    net.connect("A", "B", FixedIndegree(90), weight=w, delay=d, name="AB")
    net.connect("A", "B", PairwiseBernoulli(0.2), weight=w, delay=d, name="AB2")
    net.connect("A", "A", FixedTotalNumber(20_000), weight=w, delay=d, name="AA")
    net.connect("B", "A", PairwiseBernoulli(0.05), weight=w, delay=d, name="BA")
    offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    timers = {"count": 0.0, "group": 0.0}
    ptr, tgt, wv, runs, _, _, blocks, rows = engine_synapses.generate_synapses(net, local, offsets, pop_local, 7,
                                                                               0.1, timers, threads, 2)
    B, N = blocks.base.size, net.num_nodes
    plans, per_source = engine_synapses._count_plans(net, local, offsets, pop_local, 7, 0.1, blocks, threads, 2)
    ref_ptr = np.concatenate([[0], np.cumsum(per_source.T.reshape(-1))]).astype(np.int64)
    np.testing.assert_array_equal(rows.by_gid(ptr, B), ref_ptr)
    ref_t, ref_w = np.empty_like(tgt), np.empty_like(wv)
    dbuf = np.empty(ref_t.size, np.uint16)
    pieces, scratch = [], _connect.Scratch(threads)
    for block in engine_synapses._source_blocks(plans):
        pieces.append(engine_synapses._write_block(block, block[0], ref_ptr, ref_t, ref_w, dbuf, B, 0.1, 7,
                                                   dict(timers), scratch, threads)[1])     # every node a row
    ref_runs = engine_synapses.DelayRuns.from_blocks(N * B, pieces)
    units = engine_synapses._chunk_units([pl for pl in plans if pl["src"] == (0, 300)], B, threads, False)[1]
    assert units.size == threads + 1                       # one chunk per thread
    np.testing.assert_array_equal(tgt, ref_t)
    np.testing.assert_array_equal(wv.view(np.uint32), ref_w.view(np.uint32))
    for a, b in ((rows.by_gid(runs.ptr, B), ref_runs.ptr), (runs.d, ref_runs.d), (runs.n, ref_runs.n)):
        np.testing.assert_array_equal(a, b)
    assert len(np.unique(runs.d)) > 5                      # several delays: the rows were really sorted


def test_chunks_hold_equal_expected_synapses():
    """_chunk_units cuts a source population's (block, plan, target) sequence into contiguous chunks
    whose expected synapse numbers differ by at most one target's; every target of every plan and
    block is in exactly one chunk, in sequence order."""
    net = two_pops(300, 400)
    net.connect("A", "B", FixedIndegree(90), name="AB")
    net.connect("A", "A", FixedIndegree(10), name="AA")
    offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    blocks = engine_synapses.TargetBlocks(pop_local, local.size, 2)
    plans, _ = engine_synapses._count_plans(net, local, offsets, pop_local, 7, 0.1, blocks, 2, 2)
    units, uoff = engine_synapses._chunk_units(plans, 2, 3, False)
    work = [sum(int(plans[j]["fixed"][i0:i1].sum()) + (i1 - i0) for j, _, i0, i1 in units[uoff[c]:uoff[c + 1]])
            for c in range(3)]
    assert sum(work) == 300 * 10 + 400 * 90 + 700 and max(work) - min(work) <= 2 * 91
    seen = {(j, b): [] for j in range(2) for b in range(2)}
    for j, b, i0, i1 in units:
        seen[(j, b)].append((i0, i1))
    for (j, b), spans in seen.items():
        lo, hi = plans[j]["tb"][b], plans[j]["tb"][b + 1]
        assert (spans[0][0], spans[-1][1]) == (lo, hi) if hi > lo else spans == []
        assert all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
    assert sum(hi - lo for _, _, lo, hi in units) == 700
    order = [(b, j) for j, b, _, _ in units]
    assert order == sorted(order)                          # block-major, then plan order


@pytest.mark.parametrize("threads", [3, 8])
def test_split_build_bookkeeping_does_not_scale_with_all_nodes_times_threads(threads):
    """The split build's counters (one per source of a population for each (chunk, block) pair of
    the population's chunks: at most B + C - 1 pairs, :func:`engine_synapses._pair_counters`) cover
    only the source populations that project onto the rank, not threads x blocks x every node of the
    network; the peak of the build's Python-side arrays (tracemalloc) beyond its results is a few
    times the sub-row pointers, not C x B x num_nodes counters (the old layout: 8 x 8 x 200,700
    int64 in two arrays, 206 MB, at 8 threads; 2 x C = 6 times the pointers at 3)."""
    import tracemalloc
    net = two_pops(300, 400)
    net.add_population("Z", 200_000)                # no projection from or onto it
    w, d = Normal(50.0, 5.0, 0.0, math.inf), Normal(1.5, 0.75, 0.1, math.inf)
    net.connect("A", "B", FixedIndegree(90), weight=w, delay=d, name="AB")
    net.connect("B", "A", PairwiseBernoulli(0.05), weight=w, delay=d, name="BA")
    offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
    pop_local = decomposition.population_ranges(net, local, offsets)
    blocks = engine_synapses.TargetBlocks(pop_local, local.size, threads)
    B, C, N = blocks.base.size, threads, net.num_nodes
    _, rows, rowlen, counts, groups = engine_synapses._count_chunked(net, local, offsets, pop_local, 7, 0.1, blocks,
                                                                    threads, 2)
    assert set(groups) == {(0, 300), (300, 700)}
    assert all(g["pair_block"].size <= B + C - 1 for g in groups.values())
    assert counts.size <= (B + C - 1) * 700
    assert rows.ranges == [(0, 300), (300, 700)] and rowlen.size == 701 * B + 1     # Z has no rows
    per_row = rowlen[1:].reshape(701, B)
    assert int(per_row[:300].sum()) == 400 * 90 and not per_row[700:].any()     # A's rows hold AB; the last is empty
    timers = {"count": 0.0, "group": 0.0}
    tracemalloc.start()
    try:
        ptr, tgt, wv, runs, _, _, _, rows = engine_synapses.generate_synapses(net, local, offsets, pop_local, 7, 0.1,
                                                                              timers, threads, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    results = ptr.nbytes + tgt.nbytes + wv.nbytes + runs.nbytes + rows.nbytes
    # the old layout's counters and cursors alone: 2 x C x B x N int64 = 2 x C x the all-nodes pointers
    # (N x B + 1 int64) >= 6 x those; its pointers alone: 2 x them
    all_nodes_ptr = (N * B + 1) * 8
    assert peak - results < all_nodes_ptr, (peak - results) / all_nodes_ptr
