"""The facilitation's w^mu of stdp_pl_synapse_hom (parsnn.engine.plasticity, "weight power"): for mu = 0.4 the
fifth root of w^2 by Newton's method (cython/plastic.h parsnn_root25) against an independent implementation of
the same IEEE operations, the exact value and the C library's pow; the library's pow outside its range and for
any other mu; the Simulation option and its record. No timing."""
import decimal
import math

import numpy as np
import pytest
from mpi4py import MPI

from parsnn import _engine as engine_kernels
from parsnn.engine import Simulation, plasticity
from parsnn.errors import ParameterError

import plastic_scenarios as sc

B = 1023 << 52
DELTA = 2.2204460492503132e-17                   # the double 0.4 minus 2/5
LN2_2M52 = float.fromhex("0x1.62e42fefa39efp-53")  # 2^-52 ln 2


C5 = [float.fromhex(h) for h in ("0x1p+0", "0x1.2611186bae675p+0", "0x1.51cb453b9536cp+0", "0x1.8406003b2ae5cp+0",
                                   "0x1.bdb8cdadbe120p+0")]                              # 2^(r/5)
P4 = [float.fromhex(h) for h in ("0x1.b7f797fa301ccp-2", "0x1.9dec508445d16p-1", "-0x1.43a493f49101bp-2",
                                   "0x1.6bae9f99c70e2p-4", "-0x1.6292e5e67aa53p-7")]     # m^0.4 on [1, 2)


def root25(x):
    """parsnn_root25's operations in numpy (IEEE double, elementwise; C's truncating conversions)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    a = x * x
    bx = x.view(np.int64)
    t = 2 * ((bx >> 52) - 1023)
    q, r = np.floor_divide(t, 5), np.mod(t, 5)                 # C's / and % corrected to r in 0..4
    m = ((bx & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)
    sc = ((q + 1023) << 52).view(np.float64)
    p = P4[0] + m * (P4[1] + m * (P4[2] + m * (P4[3] + m * P4[4])))
    y = sc * np.array(C5)[r] * p
    y2 = y * y
    y4 = y2 * y2
    y = 0.8 * y + 0.2 * (a / y4)
    y2 = y * y
    y4 = y2 * y2
    y = y + 0.2 * (a / y4 - y)
    return y + y * (DELTA * ((bx - B).astype(np.float64) * LN2_2M52))


def _weights(n=200_000, seed=1):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(1e-3, 1e4, n), 10.0 ** rng.uniform(-150, 150, n // 10),
                           [45.61, 1.0, 2.0, 0.5, 2.0 ** -500, 2.0 ** 500 * (1 - 2 ** -53)]])


def _libm(x, mu):
    """The C library's pow, as Python's math.pow calls it (numpy's power may use its own vector code)."""
    out = np.empty(len(x))
    for i, v in enumerate(x):
        try:
            out[i] = math.pow(float(v), mu)
        except ValueError:                          # math.pow raises where C's pow returns NaN
            out[i] = np.nan
    return out


def _ulps(a, b):
    return np.abs(np.asarray(a).view(np.int64) - np.asarray(b).view(np.int64))


def test_newton_power_is_the_documented_operations_bit_for_bit():
    x = _weights()
    got = engine_kernels.weight_power(x, 0.4, "newton")
    assert np.array_equal(got.view(np.int64), root25(x).view(np.int64))


def test_newton_power_is_within_two_ulp_of_the_exact_value_and_of_pow():
    x = _weights()
    newton = engine_kernels.weight_power(x, 0.4, "newton")
    libm = engine_kernels.weight_power(x, 0.4, "libm")
    assert np.array_equal(libm, _libm(x, 0.4))
    d = _ulps(newton, libm)
    assert d.max() <= 2 and (d == 0).mean() > 0.5
    decimal.getcontext().prec = 50
    mu = decimal.Decimal(0.4)                        # the double 0.4, not 2/5
    rng = np.random.default_rng(2)
    for i in rng.choice(x.size, 600, replace=False):
        exact = decimal.Decimal(float(x[i])) ** mu
        err = abs(decimal.Decimal(float(newton[i])) - exact) / decimal.Decimal(math.ulp(float(newton[i])))
        assert err <= 2, (x[i], newton[i], err)


def test_outside_its_range_and_for_any_other_mu_the_library_pow():
    x = np.array([0.0, 2.0 ** -501, 1e-160, 2.0 ** 500, 1e160, np.inf, 5e-324])
    assert np.array_equal(engine_kernels.weight_power(x, 0.4, "newton"), _libm(x, 0.4))
    assert np.isnan(engine_kernels.weight_power(np.array([np.nan, -1.0]), 0.4, "newton")).all()
    w = _weights(20_000)
    for mu in (0.5, 0.4000000000000001, 1.0):
        assert np.array_equal(engine_kernels.weight_power(w, mu, "newton"), _libm(w, mu))


def _run(weight_power, threads=1):
    sim = Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF, weight_power=weight_power, threads=threads)
    sim.run(150.0)
    return sim


def test_the_simulation_option_changes_the_last_bits_of_the_power_law_weights_only():
    newton, libm = _run("newton"), _run("libm")
    wn, wl = newton.weights(), libm.weights()
    assert newton.output_layout()["run_info"]["plasticity"] == {"weight_power": "newton"}
    assert libm.output_layout()["run_info"]["plasticity"] == {"weight_power": "libm"}
    pl = "E-E"                                       # stdp_pl_synapse_hom, mu 0.4
    assert wn[pl][2].size > 1000 and np.abs(wn[pl][2] - 45.61).max() > 1e-3      # the weights moved
    np.testing.assert_allclose(wn[pl][2], wl[pl][2], rtol=1e-12)
    assert not np.array_equal(wn[pl][2], wl[pl][2])  # in their last bits
    for key in ("E-I", "G-E"):                       # stdp_synapse: the library's pow either way
        assert np.array_equal(wn[key][2], wl[key][2])
    # the same for 2 threads (rank and partition invariance: tests/test_engine_plasticity.py, default scheme)
    assert np.array_equal(_run("newton", threads=2).weights()[pl][2], wn[pl][2])


def test_a_bad_weight_power_is_refused_before_building():
    with pytest.raises(ParameterError, match="weight_power must be one of libm, newton"):
        Simulation(sc.plastic_network(), comm=MPI.COMM_SELF, weight_power="fast")
    assert plasticity.DEFAULT_WEIGHT_POWER == "newton" and plasticity.UNRECORDED_WEIGHT_POWER == "libm"


def test_a_checkpoint_continues_only_with_the_weight_power_it_ran_with(tmp_path):
    path = str(tmp_path / "c.h5")
    sim = Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF, weight_power="libm")
    sim.run(50.0)
    sim.checkpoint(path)
    other = Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF)          # the default, newton
    with pytest.raises(ParameterError, match="weight power: the checkpoint's run computed .* with libm, this "
                                             "simulation with newton"):
        other.restore(path)
    same = Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF, weight_power="libm")
    assert same.restore(path) == pytest.approx(50.0)
    # a checkpoint that recorded none (written before the weight power existed) ran the library's pow
    import dataclasses

    from parsnn.runfile import checkpoint as checkpoint_file
    ckpt = checkpoint_file.read(path)
    assert ckpt.run_info["plasticity"] == {"weight_power": "libm"}
    old = str(tmp_path / "old.h5")
    checkpoint_file.write(old, dataclasses.replace(ckpt, run_info={k: v for k, v in ckpt.run_info.items()
                                                                   if k != "plasticity"}))
    with pytest.raises(ParameterError, match="with libm, this simulation with newton"):
        Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF).restore(old)
    assert Simulation(sc.plastic_network(), seed=3, comm=MPI.COMM_SELF,
                      weight_power="libm").restore(old) == pytest.approx(50.0)


# The batched facilitation of stdp_pl_synapse_hom with the Newton power (cython/plastic.h parsnn_pass2_batched):
# every kernel level and the loop synapse by synapse give the same bits.

def _levels():
    """The facilitation levels this CPU runs: -1 (loop synapse by synapse) .. the best batched kernel."""
    best = engine_kernels.facilitation_level(99)       # an unknown level sets the best
    return list(range(-1, best + 1))


@pytest.fixture
def restore_level():
    before = engine_kernels.facilitation_level()
    yield
    engine_kernels.facilitation_level(before)


def test_the_batched_facilitation_is_the_rules_operations_bit_for_bit(restore_level):
    x = _weights(20_000)
    x = np.concatenate([x, [0.0, 2.0 ** -501, 1e-160, 2.0 ** 500, np.inf]])          # outside the root's range
    kp = np.random.default_rng(4).uniform(0.0, 3.0, x.size)
    inside = (x >= 2.0 ** -500) & (x < 2.0 ** 500)
    with np.errstate(all="ignore"):                       # the root's operations outside its range: discarded
        want = np.where(inside, x + (0.1 * root25(x) * kp), x + (0.1 * _libm(x, 0.4) * kp))
    assert (~inside).sum() == 5
    for level in _levels()[1:]:
        assert engine_kernels.facilitation_level(level) == level
        for n in (1, 7, 13, 256, x.size):                 # vector bodies and remainders
            got = engine_kernels.facilitation_batch(x[-n:], kp[-n:], 0.1)
            assert np.array_equal(got.view(np.int64), want[-n:].view(np.int64)), (level, n)


def _forced_network(seed=5):
    """Plastic synapses (stdp_pl_synapse_hom, mu 0.4) from 40 spike generators onto 25 neurons forced to spike at
    random times, at rates from a tenth to ten times the sources': windows with 0 to many post spikes, from the dense
    record and from the history; per-synapse delays; a projection of weights 1e-160 (below the root's range: the library's pow)."""
    import parsnn.network as pn
    rng = np.random.default_rng(seed)

    def trains(n, lo, hi):
        return [sorted({round(float(t), 1) for t in rng.uniform(5.0, 195.0, rng.integers(lo, hi + 1))})
                for _ in range(n)]
    net = pn.Network(0.1)
    net.add_population("pre", 40, "spike_generator", spike_times=trains(40, 2, 8))
    net.add_population("kick", 25, "spike_generator", spike_times=[[round(t - 0.1, 1) for t in tr]
                                                                   for tr in trains(25, 0, 40)])
    net.add_population("n", 25, "iaf_psc_delta", params=dict(tau_minus=20.0, t_ref=0.0, E_L=0.0, V_reset=0.0,
                                                             V_th=1000.0, V_m=0.0))
    net.connect("kick", "n", pn.OneToOne(), weight=5000.0, delay=0.1)
    params = {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}
    net.connect("pre", "n", pn.AllToAll(), weight=pn.Uniform(5.0, 60.0), delay=pn.Uniform(0.5, 3.0),
                synapse_model="stdp_pl_synapse_hom", synapse_params=params)
    net.add_population("tiny", 5, "spike_generator", spike_times=trains(5, 2, 8))
    net.connect("tiny", "n", pn.AllToAll(), weight=1e-160, delay=1.0, synapse_model="stdp_pl_synapse_hom",
                synapse_params=params)
    net.record_spikes(["n"])
    return net


def test_the_batched_pass_gives_the_bits_of_the_loop_synapse_by_synapse(restore_level):
    runs = {}
    for level in _levels():
        engine_kernels.facilitation_level(level)
        for name, net in (("forced", _forced_network()), ("network", sc.plastic_network())):
            sim = Simulation(net, seed=3, comm=MPI.COMM_SELF)
            sim.run(200.0)
            perf = sim.performance()
            runs[level, name] = (sim.weights(), sim.spikes(), perf["plastic_facilitations"],
                                 perf["plastic_history_windows"])
    for (level, name), (w, s, fac, hist) in runs.items():
        w1, s1, fac1, hist1 = runs[-1, name]
        assert hist == hist1                                    # the history windows counted alike on every path
        assert sorted(w) == sorted(w1) and sorted(s) == sorted(s1)
        for key in w1:
            for a, b in zip(w[key], w1[key]):
                assert np.array_equal(np.asarray(a).view(np.int64) if np.asarray(a).dtype == np.float64 else a,
                                      np.asarray(b).view(np.int64) if np.asarray(b).dtype == np.float64 else b), \
                    (level, name, key)
        for key in s1:
            assert all(np.array_equal(a, b) for a, b in zip(s[key], s1[key])), (level, name, key)
        assert fac == fac1
    w, _, fac, hist = runs[-1, "forced"]
    assert np.sum(fac) > 500 and 0 < np.sum(hist) < np.sum(fac)  # post spikes read; some windows searched the history
    moved = w["pre-n"][2]
    assert moved.size == 1000 and np.unique(moved).size > 900   # the weights went their own ways
    tiny = w["tiny-n"][2]
    assert tiny.size == 125 and (tiny > 1e-100).sum() > 100     # facilitated from 1e-160 with the library's pow
