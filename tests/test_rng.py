"""Counter-based random numbers (parsnn._rng, cython/philox.h).

Checks the Philox4x64-10 block function bit for bit against numpy, the stream
layout, the moments and distributions of the derived draws (uniform, normal,
Poisson by inversion and by PTRS), the independence of streams, and that
per-node draws are pure functions of (seed, purpose, id).
All tests use fixed seeds; statistical tolerances are ~5 sigma.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from parsnn import _rng as rng_kernels
from parsnn.network import DIST_CONST, DIST_NORMAL, DIST_UNIFORM

M64 = 2**64 - 1
N = 200_000
SEED, PURPOSE = 20240611, 0x5EED_0F_D00D


def _numpy_block(counter, key):
    """numpy's Philox output for the block at ``counter`` (numpy increments the
    counter *before* generating, so start it one below, with borrow)."""
    c = list(counter)
    for i in range(4):          # subtract 1 with borrow
        if c[i] > 0:
            c[i] -= 1
            break
        c[i] = M64
    bg = np.random.Philox(counter=np.array(c, dtype=np.uint64), key=np.array(key, dtype=np.uint64))
    return bg.random_raw(4)


# ---------------------------------------------------------------------------
# block function
# ---------------------------------------------------------------------------

CASES = [
    ([0, 0, 0, 0], [0, 0]),
    ([1, 0, 0, 0], [0, 0]),
    ([6, 6, 7, 8], [9, 10]),
    ([0, 4, 0, 0], [9, 10]),                      # numpy counter (2^64-1, 3, 0, 0): carry into word 1
    ([0, 0, 0, 6], [9, 10]),                      # numpy counter (2^64-1)x3, 5: carry into word 3
    ([0, 0, 1, 0], [M64, M64]),                   # carry into word 2, all-ones key
    ([M64, M64, M64, M64], [12345, 2**63 + 17]),
    ([123456789, 2**40 + 3, 2**63, 77], [2**62 + 1, 0xDEADBEEFCAFEBABE]),
]


@pytest.mark.parametrize("counter,key", CASES)
def test_philox_block_matches_numpy(counter, key):
    ours = rng_kernels.philox_block(counter, key)
    assert ours.dtype == np.uint64 and ours.shape == (4,)
    np.testing.assert_array_equal(ours, _numpy_block(counter, key))


def test_philox_block_matches_numpy_random_counters():
    rng = np.random.default_rng(7)
    for _ in range(50):
        counter = [int(x) for x in rng.integers(0, 2**64, size=4, dtype=np.uint64)]
        key = [int(x) for x in rng.integers(0, 2**64, size=2, dtype=np.uint64)]
        np.testing.assert_array_equal(rng_kernels.philox_block(counter, key), _numpy_block(counter, key))


def test_numpy_stream_crosses_carry():
    """A numpy stream started just below a carry equals our consecutive blocks."""
    key = [3, 4]
    bg = np.random.Philox(counter=np.array([M64 - 1, M64, 5, 0], dtype=np.uint64),
                          key=np.array(key, dtype=np.uint64))
    raw = bg.random_raw(12)
    expected = np.concatenate([rng_kernels.philox_block([M64, M64, 5, 0], key),
                               rng_kernels.philox_block([0, 0, 6, 0], key),
                               rng_kernels.philox_block([1, 0, 6, 0], key)])
    np.testing.assert_array_equal(raw, expected)


def test_block_depends_on_every_word():
    base_c, base_k = [11, 22, 33, 44], [55, 66]
    ref = rng_kernels.philox_block(base_c, base_k)
    for i in range(4):
        c = list(base_c)
        c[i] ^= 1
        assert not np.any(rng_kernels.philox_block(c, base_k) == ref)
    for i in range(2):
        k = list(base_k)
        k[i] ^= 1
        assert not np.any(rng_kernels.philox_block(base_c, k) == ref)


# ---------------------------------------------------------------------------
# stream layout
# ---------------------------------------------------------------------------

def test_stream_layout():
    """Stream (seed, purpose, id, extra) = blocks with counter (b, id, extra, 0), key (seed, purpose)."""
    seed, purpose, ident, extra = 99, 2**63 + 5, 1234, 7
    raw = rng_kernels.stream_values(seed, purpose, ident, 10, "raw", extra=extra)
    blocks = np.concatenate([rng_kernels.philox_block([b, ident, extra, 0], [seed, purpose]) for b in range(3)])
    np.testing.assert_array_equal(raw, blocks[:10])
    # default extra = 0
    np.testing.assert_array_equal(rng_kernels.stream_values(seed, purpose, ident, 4, "raw"),
                                  rng_kernels.philox_block([0, ident, 0, 0], [seed, purpose]))


def test_uniform_is_top_53_bits():
    raw = rng_kernels.stream_values(SEED, PURPOSE, 3, 1000, "raw")
    u = rng_kernels.stream_values(SEED, PURPOSE, 3, 1000, "uniform")
    np.testing.assert_array_equal(u, (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53)


def test_stream_values_rejects_unknown_kind():
    with pytest.raises(ValueError):
        rng_kernels.stream_values(1, 2, 3, 4, "gamma")


# ---------------------------------------------------------------------------
# distributions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", [1, 2])
def test_uniform_moments_and_ks(scheme):
    u = rng_kernels.stream_values(SEED, PURPOSE, 0, N, "uniform", scheme=scheme)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N)
    # Var(s^2) for U(0,1): (mu4 - sigma^4)/n = (1/80 - 1/144)/n
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / N)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # 16 equal bins
    counts = np.bincount((u * 16).astype(int), minlength=16)
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize("lam", [0.5, 3.0, 9.9, 10.0, 50.0, 1000.0])
def test_poisson_moments(lam):
    k = rng_kernels.stream_values(SEED, PURPOSE, 2, N, "poisson", lam=lam)
    assert np.all(k >= 0) and np.all(k == np.floor(k))
    # mean: sd lam/n; sample variance: Var(s^2) ~ (mu4 - sigma^4)/n = (lam + 2 lam^2)/n
    assert abs(k.mean() - lam) < 5 * math.sqrt(lam / N)
    assert abs(k.var(ddof=1) - lam) < 5 * math.sqrt((lam + 2 * lam**2) / N)


def test_poisson_zero_rate():
    assert np.all(rng_kernels.stream_values(SEED, PURPOSE, 2, 100, "poisson", lam=0.0) == 0)


def _poisson_chisquare(k, lam, min_expected=20.0):
    """Chi-square p-value of integer samples against Poisson(lam), bins merged in the tails."""
    n = k.size
    lo, hi = int(stats.poisson.ppf(1e-9, lam)), int(stats.poisson.isf(1e-9, lam))
    edges = np.arange(lo, hi + 1)
    pmf = stats.poisson.pmf(edges, lam)
    pmf[0] += stats.poisson.cdf(lo - 1, lam)
    pmf[-1] += stats.poisson.sf(hi, lam)
    obs = np.bincount(np.clip(k.astype(np.int64), lo, hi) - lo, minlength=edges.size).astype(float)
    exp = pmf * n
    # merge adjacent bins until every expected count is large enough
    groups, cur_o, cur_e = [], 0.0, 0.0
    for o, e in zip(obs, exp):
        cur_o += o
        cur_e += e
        if cur_e >= min_expected:
            groups.append((cur_o, cur_e))
            cur_o = cur_e = 0.0
    if cur_e > 0:
        o0, e0 = groups.pop()
        groups.append((o0 + cur_o, e0 + cur_e))
    o, e = np.array(groups).T
    return stats.chisquare(o, e * (o.sum() / e.sum())).pvalue, len(groups)


@pytest.mark.parametrize("lam", [3.0, 9.9, 10.0, 1000.0])
def test_poisson_distribution_chisquare(lam):
    k = rng_kernels.stream_values(SEED, PURPOSE, 5, N, "poisson", lam=lam)
    pvalue, nbins = _poisson_chisquare(k, lam)
    assert nbins >= 10
    assert pvalue > 1e-4, f"lam={lam}: chi-square p = {pvalue:.2e}"


# ---------------------------------------------------------------------------
# independence
# ---------------------------------------------------------------------------

def test_streams_are_independent():
    n = 100_000
    tol = 5 / math.sqrt(n)
    base = rng_kernels.stream_values(SEED, PURPOSE, 10, n, "uniform")
    others = {
        "id+1": rng_kernels.stream_values(SEED, PURPOSE, 11, n, "uniform"),
        "purpose+1": rng_kernels.stream_values(SEED, PURPOSE + 1, 10, n, "uniform"),
        "seed+1": rng_kernels.stream_values(SEED + 1, PURPOSE, 10, n, "uniform"),
        "extra=1": rng_kernels.stream_values(SEED, PURPOSE, 10, n, "uniform", extra=1),
        "id 2^32+10": rng_kernels.stream_values(SEED, PURPOSE, 2**32 + 10, n, "uniform"),
    }
    for name, x in others.items():
        assert not np.array_equal(x, base), name
        r = np.corrcoef(base, x)[0, 1]
        assert abs(r) < tol, f"{name}: correlation {r:.4f}"
    # within a stream: no lag-1 .. lag-4 correlation (lag 4 = same word of the next block)
    for lag in (1, 2, 3, 4):
        r = np.corrcoef(base[:-lag], base[lag:])[0, 1]
        assert abs(r) < tol, f"lag {lag}: correlation {r:.4f}"


def test_first_draws_across_ids_are_uniform():
    """Per-node first draws over consecutive ids (how build-time draws are made)."""
    ids = np.arange(N, dtype=np.int64)
    u = rng_kernels.draw_per_node(ids, (DIST_UNIFORM, 0.0, 1.0, -math.inf, math.inf), SEED, PURPOSE)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    r = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)


# ---------------------------------------------------------------------------
# draw_per_node
# ---------------------------------------------------------------------------

SPECS = [
    (DIST_CONST, 2.5, 0.0, -math.inf, math.inf),
    (DIST_NORMAL, -65.0, 5.0, -math.inf, math.inf),
    (DIST_NORMAL, 1.0, 2.0, 0.5, 1.5),
    (DIST_UNIFORM, -3.0, 7.0, -math.inf, math.inf),
]


@pytest.mark.parametrize("spec", SPECS)
def test_draw_per_node_is_pure_function_of_id(spec):
    ids = np.arange(5000, dtype=np.int64) * 7 + 3
    full = rng_kernels.draw_per_node(ids, spec, SEED, PURPOSE)
    rng = np.random.default_rng(1)
    perm = rng.permutation(ids.size)
    np.testing.assert_array_equal(rng_kernels.draw_per_node(np.ascontiguousarray(ids[perm]), spec, SEED, PURPOSE),
                                  full[perm])
    sub = np.sort(rng.choice(ids.size, 321, replace=False))
    np.testing.assert_array_equal(rng_kernels.draw_per_node(np.ascontiguousarray(ids[sub]), spec, SEED, PURPOSE),
                                  full[sub])
    # one at a time
    for i in sub[:20]:
        np.testing.assert_array_equal(rng_kernels.draw_per_node(ids[i:i + 1].copy(), spec, SEED, PURPOSE), full[i:i + 1])
    if spec[0] != DIST_CONST:
        assert not np.array_equal(rng_kernels.draw_per_node(ids, spec, SEED + 1, PURPOSE), full)
        assert not np.array_equal(rng_kernels.draw_per_node(ids, spec, SEED, PURPOSE + 1), full)


def test_draw_per_node_is_first_draw_of_stream():
    ids = np.array([0, 1, 17, 2**40, 2**62], dtype=np.int64)
    z = np.array([rng_kernels.stream_values(SEED, PURPOSE, int(i), 1, "normal")[0] for i in ids])
    u = np.array([rng_kernels.stream_values(SEED, PURPOSE, int(i), 1, "uniform")[0] for i in ids])
    np.testing.assert_allclose(rng_kernels.draw_per_node(ids, (DIST_NORMAL, 3.0, 2.0, -math.inf, math.inf), SEED, PURPOSE),
                               3.0 + 2.0 * z, rtol=1e-15, atol=0)
    np.testing.assert_allclose(rng_kernels.draw_per_node(ids, (DIST_UNIFORM, -1.0, 4.0, -math.inf, math.inf), SEED, PURPOSE),
                               -1.0 + 5.0 * u, rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(rng_kernels.draw_per_node(ids, SPECS[0], SEED, PURPOSE), np.full(ids.size, 2.5))


def test_draw_per_node_distributions():
    ids = np.arange(N, dtype=np.int64)
    x = rng_kernels.draw_per_node(ids, (DIST_NORMAL, -65.0, 5.0, -math.inf, math.inf), SEED, PURPOSE)
    assert abs(x.mean() + 65.0) < 5 * 5.0 / math.sqrt(N)
    assert abs(x.std() - 5.0) < 5 * 5.0 / math.sqrt(2 * N)
    # redrawn (truncated) normal: bounds hold and the shape is the truncated normal's
    lo, hi = 0.5, 1.5
    t = rng_kernels.draw_per_node(ids, (DIST_NORMAL, 1.0, 2.0, lo, hi), SEED, PURPOSE)
    assert t.min() >= lo and t.max() <= hi
    a, b = (lo - 1.0) / 2.0, (hi - 1.0) / 2.0
    assert stats.kstest(t, stats.truncnorm(a, b, loc=1.0, scale=2.0).cdf).pvalue > 1e-4
    y = rng_kernels.draw_per_node(ids, (DIST_UNIFORM, -3.0, 7.0, -math.inf, math.inf), SEED, PURPOSE)
    assert y.min() >= -3.0 and y.max() < 7.0
    assert stats.kstest(y, stats.uniform(-3.0, 10.0).cdf).pvalue > 1e-4


# ---------------------------------------------------------------------------
# realisation scheme v2: Philox4x32-10 streams, ziggurat normals, Lemire integers
# ---------------------------------------------------------------------------

# Random123's known answers (kat_vectors: counter, key, output)
KAT_4X32 = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("counter, key, expected", KAT_4X32)
def test_v2_block_matches_random123(counter, key, expected):
    np.testing.assert_array_equal(rng_kernels.philox_block(counter, key, 32), np.array(expected, dtype=np.uint32))


def test_v2_stream_layout():
    """Word 4b+j of a v2 stream is word j of block b with counter (lo32(b), hi32(b), c2, c3), key and
    (c2, c3) from one Philox4x64 block keyed like the v1 stream, tagged in counter word 3; the batches of
    16 blocks computed in vector registers give the same words as one block at a time."""
    seed, purpose, ident, extra = 99, 1234, 77, 5
    k, c = rng_kernels.philox_block([0, ident, extra, 0x7632 << 48], [seed, purpose])[:2]
    key = [int(k) & 0xFFFFFFFF, int(k) >> 32]
    fix = [int(c) & 0xFFFFFFFF, int(c) >> 32]
    raw = rng_kernels.stream_values(seed, purpose, ident, 4 * 40, "raw", extra=extra, scheme=2)   # 2.5 batches
    expected = np.concatenate([rng_kernels.philox_block([b, 0, *fix], key, 32) for b in range(40)])
    np.testing.assert_array_equal(raw, expected)


def test_v2_streams_differ_by_every_key_part_and_from_v1():
    n = 2000
    base = rng_kernels.stream_values(SEED, PURPOSE, 10, n, "uniform", scheme=2)
    for other in (rng_kernels.stream_values(SEED, PURPOSE, 11, n, "uniform", scheme=2),
                  rng_kernels.stream_values(SEED, PURPOSE + 1, 10, n, "uniform", scheme=2),
                  rng_kernels.stream_values(SEED + 1, PURPOSE, 10, n, "uniform", scheme=2),
                  rng_kernels.stream_values(SEED, PURPOSE, 10, n, "uniform", extra=1, scheme=2),
                  rng_kernels.stream_values(SEED, PURPOSE, 2**32 + 10, n, "uniform", scheme=2),
                  rng_kernels.stream_values(SEED, PURPOSE, 10, n, "uniform")):
        assert abs(np.corrcoef(base, other)[0, 1]) < 5 / math.sqrt(n)
        assert not np.any(base == other)


@pytest.mark.parametrize("scheme, ident", [(1, 1), (2, 1), (2, 2), (2, 3)])
def test_normal_moments_and_ks(scheme, ident):
    """Normals (v1 Box-Muller, v2 ziggurat): moments, KS against N(0, 1), tail masses beyond 3 and beyond
    the ziggurat's base r = 3.654 (v2 draws it by Marsaglia's tail method) and the layers and wedges (a
    chi-square over 64 equal-probability bins)."""
    n = 1_000_000
    x = rng_kernels.stream_values(SEED, PURPOSE, ident, n, "normal", scheme=scheme)
    assert np.all(np.isfinite(x))
    assert abs(x.mean()) < 5 * math.sqrt(1 / n)
    assert abs(x.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(x)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(x)) < 5 * math.sqrt(24 / n)
    assert stats.kstest(x, "norm").pvalue > 1e-4
    for t in (3.0, 3.6541528853610088, 4.5):
        p = 2 * stats.norm.sf(t)
        assert abs(np.mean(np.abs(x) > t) - p) < 5 * math.sqrt(p * (1 - p) / n) + 1 / n, t
    edges = stats.norm.ppf(np.linspace(0, 1, 65))
    counts = np.histogram(x, bins=edges)[0]
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize("bound", [1, 2, 3, 7, 77_169, 2**31 + 11, 2**32 - 1, 2**40 + 3])
def test_v2_below_is_in_range_and_uniform(bound):
    k = rng_kernels.stream_values(SEED, PURPOSE, 4, N, "below", bound=bound, scheme=2)
    assert k.min() >= 0 and k.max() < bound
    if bound <= 7:
        counts = np.bincount(k.astype(np.int64), minlength=bound)
        assert bound == 1 or stats.chisquare(counts).pvalue > 1e-4
    else:   # the relative position is uniform on [0, 1)
        assert stats.kstest(k / bound, "uniform").pvalue > 1e-4


@pytest.mark.parametrize("spec", SPECS)
def test_v2_draw_per_node_is_a_pure_function_of_the_id(spec):
    ids = np.arange(0, 3000, 3, dtype=np.int64)
    full = rng_kernels.draw_per_node(ids, spec, SEED, PURPOSE, 2)
    perm = np.random.default_rng(1).permutation(ids.size)
    np.testing.assert_array_equal(rng_kernels.draw_per_node(np.ascontiguousarray(ids[perm]), spec, SEED, PURPOSE, 2),
                                  full[perm])
    if spec[0] != DIST_CONST:
        assert not np.array_equal(full, rng_kernels.draw_per_node(ids, spec, SEED, PURPOSE, 1))
    if spec[0] == DIST_NORMAL and math.isfinite(spec[3]):
        assert full.min() >= spec[3] and full.max() <= spec[4]


def test_v2_truncated_normal_per_node():
    ids = np.arange(N, dtype=np.int64)
    lo, hi = 0.5, 2.5
    t = rng_kernels.draw_per_node(ids, (DIST_NORMAL, 1.0, 2.0, lo, hi), SEED, PURPOSE, 2)
    assert t.min() >= lo and t.max() <= hi
    a, b = (lo - 1.0) / 2.0, (hi - 1.0) / 2.0
    assert stats.kstest(t, stats.truncnorm(a, b, loc=1.0, scale=2.0).cdf).pvalue > 1e-4


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="scheme"):
        rng_kernels.draw_per_node(np.arange(3, dtype=np.int64), SPECS[0], SEED, PURPOSE, 3)


@pytest.mark.parametrize("first_block", [0, 16, 1 << 20, (1 << 32) - 16, (1 << 32) + 48, (1 << 40) + 160])
def test_v2_vector_kernels_give_the_reference_words(first_block):
    """The x86-64 kernels (AVX-512, AVX2; whichever this CPU has) and the portable loop compute the
    batch of 16 blocks of Philox4x32-10 that one block at a time gives, across the carry of the low
    counter word too."""
    key, fix = [0x9E3779B9, 0x12345678], [0xDEADBEEF, 0x0BADF00D]
    expected = np.concatenate([rng_kernels.philox_block([b & 0xFFFFFFFF, b >> 32, *fix], key, 32)
                               for b in range(first_block, first_block + 16)])
    for kernel in (0, 1, 2):
        words, best = rng_kernels.philox2_batch(first_block, fix, key, kernel)
        np.testing.assert_array_equal(words, expected, err_msg=f"kernel {kernel}")
    assert best in (0, 1, 2)


def test_ziggurat_candidates_of_the_vector_kernel_equal_the_portable_loop():
    """The build's quick-path candidates for a whole buffer (connect_draw.h): the CPU's kernel
    (AVX-512 where present) and the portable loop agree bit for bit, on stream words and on words
    that put every value into the tail layer (index 0) or at the magnitude extremes."""
    from parsnn import _connect as connect_kernels
    gen = np.random.default_rng(5)
    cases = [rng_kernels.stream_values(SEED, PURPOSE, i, 64, "raw", scheme=2) for i in range(20)]
    cases.append(gen.integers(0, 2**32, 64, dtype=np.uint32) & np.uint32(0xFFFFFF00))          # index 0
    cases.append(np.tile(np.array([0xFFFFFFFF, 0xFFFFFFFF], dtype=np.uint32), 32))              # largest magnitude
    cases.append(np.tile(np.array([0x000001FF, 0], dtype=np.uint32), 32))                       # magnitude 0, negative
    for words in cases:
        x, ok = connect_kernels.ziggurat_candidates(words)
        xp, okp = connect_kernels.ziggurat_candidates(words, portable=True)
        np.testing.assert_array_equal(x.view(np.uint64), xp.view(np.uint64))
        np.testing.assert_array_equal(ok, okp)
    # on stream words almost every value is accepted at once, and accepted candidates are normals
    x, ok = connect_kernels.ziggurat_candidates(cases[0])
    assert ok.sum() >= 28 and np.all(np.abs(x[ok]) < 4)


@pytest.mark.parametrize("means", ["hpc", "mixed", "two", "edge"])
def test_poisson_batch_equals_one_draw_per_stream(means):
    """cython/poisson.h's batched counts (the update's Poisson devices) equal px_poisson on each stream:
    one mean (its table), means mixed over [0, 12) (PTRS above 10, zero means, table misses), two
    alternating means, means at the ends of the inversion's range."""
    rng = np.random.default_rng(11)
    n = 100_000
    lam = {"hpc": np.full(n, 20856.037200898867 * 1e-4), "mixed": rng.uniform(-1.0, 12.0, n),
           "two": np.where(np.arange(n) % 2, 0.3, 7.5),
           "edge": rng.choice([1e-300, 1e-9, 9.999999999, 10.0, 0.0], n)}[means]
    pur = rng.integers(0, 2**63, n, dtype=np.uint64)
    ids, extra = rng.integers(0, 2**40, n, dtype=np.uint64), rng.integers(0, 2**40, n, dtype=np.uint64)
    a = rng_kernels.poisson_counts(SEED, pur, ids, extra, lam, batched=True)
    b = rng_kernels.poisson_counts(SEED, pur, ids, extra, lam, batched=False)
    np.testing.assert_array_equal(a, b)
    assert a.max() > 0


@pytest.mark.parametrize("n", [1, 7, 16, 31, 32, 33, 256, 1000])
def test_poisson_first_uniforms_vector_equals_scalar(n):
    """The Poisson batches' first uniforms of n v1 streams: the AVX-512 kernel (8 blocks per vector, on a
    CPU that has it; a remainder of the batch on the scalar path) gives the scalar path's bits, and both
    are (word 0 of px_block(counter (0, id, extra, 0), key (seed, purpose)) >> 11) * 2^-53; arbitrary
    64-bit purposes, ids and extras (the products' carries are exercised by the top bits)."""
    rng = np.random.default_rng(n)
    pur, ids, extra = (rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False) for _ in range(3))
    ids[: min(n, 4)] = np.array([0, 2**64 - 1, 2**63, 1], dtype=np.uint64)[: min(n, 4)]
    u2, level = rng_kernels.first_uniforms(SEED, pur, ids, extra, kernel=2)
    u0, _ = rng_kernels.first_uniforms(SEED, pur, ids, extra, kernel=0)
    np.testing.assert_array_equal(u2.view(np.uint64), u0.view(np.uint64))
    ref = [(int(rng_kernels.philox_block([0, int(i), int(x), 0], [SEED, int(p)])[0]) >> 11) * 2.0**-53
           for p, i, x in zip(pur, ids, extra)]
    np.testing.assert_array_equal(u0, np.array(ref))
    assert level in (0, 2)


@pytest.mark.parametrize("means", ["hpc", "mixed"])
def test_poisson_batch_kernels_agree(means):
    """The batched counts are the same with the vector kernels (passes 1 and 2) and the scalar ones, and
    equal one px_poisson per stream, in batches of the engine's chunk size and with a remainder."""
    rng = np.random.default_rng(5)
    for n in (256, 1001):
        lam = (np.full(n, 20856.037200898867 * 1e-4) if means == "hpc"
               else np.where(rng.random(n) < 0.9, 2.0856, rng.uniform(-1.0, 12.0, n)))
        pur = np.full(n, 77, dtype=np.uint64)
        ids, extra = rng.integers(0, 2**40, n, dtype=np.uint64), rng.integers(0, 2**40, n, dtype=np.uint64)
        a = rng_kernels.poisson_counts(SEED, pur, ids, extra, lam, batched=True, kernel=2)
        b = rng_kernels.poisson_counts(SEED, pur, ids, extra, lam, batched=True, kernel=0)
        c = rng_kernels.poisson_counts(SEED, pur, ids, extra, lam, batched=False)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        assert a.max() >= 5


@pytest.mark.parametrize("lam", [1e-300, 1e-3, 1.0, 20856.037200898867 * 1e-4, 5.5, 9.999999999])
def test_poisson_inversion_table_at_its_steps(lam):
    """The inversion table gives px_poisson's loop's count for uniforms on, just below and just above
    every cumulative sum F_k, at 0, below 1 and random; the table ends where F stops changing (a u
    above its last sum: the loop's cap of 1000)."""
    _, F = rng_kernels.poisson_inversion(np.zeros(1), lam)
    u = np.concatenate([F, np.nextafter(F, 0.0), np.nextafter(F, 2.0), [0.0, 1.0 - 2.0**-53],
                        np.random.default_rng(3).random(20_000)])
    u = u[(u >= 0.0) & (u < 1.0)]
    a, _ = rng_kernels.poisson_inversion(u, lam, table=True)
    b, _ = rng_kernels.poisson_inversion(u, lam, table=False)
    np.testing.assert_array_equal(a, b)
    assert len(F) < 1000 and F[-1] == F[-2] and np.all(np.diff(F) >= 0)
    if F[-1] < 1.0 - 2.0**-53:
        assert a[u == 1.0 - 2.0**-53][0] == 1000
