"""Neuromorphic mapping (the parsnn.mapping.neuromorphic package): routes and link loads on small meshes that can be
checked by hand, routing-table entries, capacity splitting, loads from a spike file, placement, CLI. No timing."""
import json
import math

import h5py
import numpy as np
import pytest

from parsnn import cli
from parsnn.runfile import sonata
from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.mapping import neuromorphic as nm
from parsnn.mapping.neuromorphic import cores as neuromorphic_cores
from parsnn.mapping.neuromorphic.routing import route
from parsnn.mapping.neuromorphic.traffic import traffic_kernel
from parsnn.network import AllToAll, FixedIndegree, Network

BIG = -1e3          # log no-hit probability of a certain target (exp(-1000) = 0)

SMALL_HW = """
[hardware]
name = "tiny"
topology = "mesh"
torus = false
routing = "{routing}"
route_key = "neuron"
cores_per_router = 1
routers_per_chip = [0, 0]
chips_per_board = 1
board_grid = "mesh"
sync = "barrier"
min_rtf = 0.0
routing_table_entries = 8
[core]
neurons = {neurons}
synapse_bytes = 1
synapse_memory_bytes = {synmem}
[time]
neuron_update_s = 1e-9
synaptic_event_s = 1e-9
link_packets_per_s = 1e9
router_packets_per_s = 1e9
sync_s = 0.0
[energy]
synaptic_event_j = 1e-12
neuron_update_j = 0.0
hop_j = 1e-12
chip_static_w = 0.0
"""


def _hw(tmp_path, routing="tree", neurons=2, synmem=10**9):
    p = tmp_path / f"tiny_{routing}_{neurons}_{synmem}.toml"
    p.write_text(SMALL_HW.format(routing=routing, neurons=neurons, synmem=synmem))
    return nm.load_hardware(str(p))


def _link(W, x, y, d):
    """Link id of direction d (0 E, 1 W, 2 N, 3 S, 4 NE, 5 SW) out of router (x, y)."""
    return (y * W + x) * 6 + d


def _route(src, dst, W, H, hexa=False, torus=False):
    buf = np.empty(64, dtype=np.int64)
    n = route(src, dst, W, H, hexa, torus, buf)
    return sorted(buf[:n].tolist())


# ---------------------------------------------------------------------------- routes

def test_xy_route_by_hand():
    W, H = 3, 2
    # (0,0) -> (2,1): east, east, then north at x = 2
    assert _route(0, 1 * W + 2, W, H) == sorted([_link(W, 0, 0, 0), _link(W, 1, 0, 0), _link(W, 2, 0, 2)])
    # and back: west along y = 1 first, then south at x = 0
    assert _route(1 * W + 2, 0, W, H) == sorted([_link(W, 2, 1, 1), _link(W, 1, 1, 1), _link(W, 0, 1, 3)])
    assert _route(4, 4, W, H) == []


def test_hex_torus_route_by_hand():
    W = H = 12
    # (0,0) -> (2,1): one diagonal NE hop, then one east hop
    assert _route(0, 1 * W + 2, W, H, hexa=True, torus=True) == sorted([_link(W, 0, 0, 4), _link(W, 1, 1, 0)])
    # wrap-around: (0,0) -> (11,0) is one hop west on the torus
    assert _route(0, 11, W, H, hexa=True, torus=True) == [_link(W, 0, 0, 1)]
    # (0,0) -> (3,-2 mod 12): opposite signs, no diagonal: 3 east then 2 south (5 hops)
    assert len(_route(0, 10 * W + 3, W, H, hexa=True, torus=True)) == 5


def _one_source(W, H, dst_routers, tree, rate=10.0):
    """One source core on router 0 and one target core on each router of dst_routers, all certain hits."""
    C = 1 + len(dst_routers)
    core_router = np.array([0] + list(dst_routers), dtype=np.int64)
    logp0 = np.zeros((1, C))
    logp0[0, 1:] = BIG
    geom = nm.Geometry(W, H, False, False, W, H, np.arange(W * H), 1)
    link_to = geom.link_target()
    out = traffic_kernel(np.array([0]), np.ones((1, 1)), np.array([rate]), np.ones((1, 1)), logp0, core_router,
                         np.where(link_to < 0, 0, link_to), W, H, False, False, tree)
    return out


def test_single_target_link_loads():
    W, H = 3, 2
    link_load, recv, *_ = _one_source(W, H, [1 * W + 2], tree=True)
    expect = np.zeros(W * H * 6)
    for x, y, d in [(0, 0, 0), (1, 0, 0), (2, 0, 2)]:
        expect[_link(W, x, y, d)] = 10.0
    np.testing.assert_allclose(link_load, expect, atol=1e-9)
    np.testing.assert_allclose(recv, [0.0, 10.0], atol=1e-9)


def test_multicast_tree_counts_shared_link_once():
    W, H = 3, 2
    targets = [2, 1 * W + 2]                       # (2,0) and (2,1): both XY routes run east along y = 0
    link_load, _, _, _, injected, entries, msgs = _one_source(W, H, targets, tree=True)
    assert link_load[_link(W, 0, 0, 0)] == pytest.approx(10.0)     # once, not twice
    assert link_load[_link(W, 1, 0, 0)] == pytest.approx(10.0)
    assert link_load[_link(W, 2, 0, 2)] == pytest.approx(10.0)
    assert link_load.sum() == pytest.approx(30.0)
    assert injected[0] == pytest.approx(10.0) and msgs[0] == pytest.approx(1.0)
    # routing-table entries: the source router and every router the tree enters
    np.testing.assert_allclose(entries, [1, 1, 1, 0, 0, 1], atol=1e-9)
    # unicast: one message per destination core, the shared links carry both
    u_load, _, _, _, u_inj, u_entries, u_msgs = _one_source(W, H, targets, tree=False)
    assert u_load[_link(W, 0, 0, 0)] == pytest.approx(20.0)
    assert u_load[_link(W, 1, 0, 0)] == pytest.approx(20.0)
    assert u_load[_link(W, 2, 0, 2)] == pytest.approx(10.0)
    assert u_inj[0] == pytest.approx(20.0) and u_msgs[0] == pytest.approx(2.0)
    assert u_entries.sum() == 0.0


def test_probabilistic_tree_link():
    """A link on the routes to two destinations hit with probability 1/2 each carries 3/4 of the spikes."""
    W, H = 3, 1
    core_router = np.array([0, 1, 2], dtype=np.int64)
    logp0 = np.array([[0.0, math.log(0.5), math.log(0.5)]])
    geom = nm.Geometry(W, H, False, False, W, H, np.arange(W), 1)
    lt = geom.link_target()
    link_load, *_ = traffic_kernel(np.array([0]), np.ones((1, 1)), np.array([4.0]), np.ones((1, 1)), logp0,
                                   core_router, np.where(lt < 0, 0, lt), W, H, False, False, True)
    assert link_load[_link(W, 0, 0, 0)] == pytest.approx(4.0 * 0.75)
    assert link_load[_link(W, 1, 0, 0)] == pytest.approx(4.0 * 0.5)


def test_hilbert_order_visits_every_cell_with_unit_steps():
    o = nm.hilbert_order(8, 8)
    assert len({tuple(v) for v in o}) == 64
    assert np.all(np.abs(np.diff(o, axis=0)).sum(axis=1) == 1)
    o = nm.hilbert_order(5, 3)          # not a power of two: every cell once
    assert len({tuple(v) for v in o}) == 15


# ---------------------------------------------------------------------------- capacities

def _two_pops():
    """The Connectivity of two populations E (60) and I (20) with fixed in-degrees."""
    net = Network(0.1, name="two")
    net.add_population("E", 60, "iaf_psc_exp")
    net.add_population("I", 20, "iaf_psc_exp")
    net.connect("E", "E", FixedIndegree(30), weight=1.0, delay=1.0)
    net.connect("E", "I", FixedIndegree(5), weight=1.0, delay=1.0)
    net.connect("I", "E", FixedIndegree(10), weight=-1.0, delay=1.0)
    return Connectivity.from_network(net)


@pytest.mark.parametrize("placement", nm.PLACEMENTS)
def test_capacity_split_respects_limits(tmp_path, placement):
    # E neurons have 40 synapses, I neurons 5; a core holds 7 neurons and 200 synapses (-> 5 E neurons)
    hw = _hw(tmp_path, neurons=7, synmem=200)
    m = nm.map_network(_two_pops(), hw, placement, steps=50, keep_arrays=True)
    assert m["max_neurons_per_core"] <= 7
    assert m["max_synapses_per_core"] <= 200 + 1e-9
    core_of = m["_arrays"]["core_of"]
    assert (core_of >= 0).all() and np.unique(core_of).size == m["cores"]
    assert m["cores"] >= math.ceil(60 / 5 + 20 / 7) - 1e-9
    m2 = nm.map_network(_two_pops(), hw, placement, steps=50, cores=40)
    assert m2["cores"] >= 40 - 2 and m2["max_neurons_per_core"] <= 7


# ---------------------------------------------------------------------------- spike file

def _write_run(path, net, spikes, t_sim):
    with h5py.File(path, "w") as f:
        g = f.create_group("parsnn")
        g.attrs["parameters"] = json.dumps(net.describe())
        g.attrs["t_sim"] = float(t_sim)
        g.attrs["complete"] = True
        sonata.create_spike_datasets(f, {p: net.populations[p].size for p in net.populations})
        for pop, (t, ids) in spikes.items():
            sonata.append_spikes(f, pop, np.asarray(t, float), np.asarray(ids, np.uint64))


def test_spike_file_gives_known_link_loads(tmp_path):
    net = Network(0.1, name="ab")
    net.add_population("A", 2, "iaf_psc_exp")
    net.add_population("B", 2, "iaf_psc_exp")
    net.connect("A", "B", AllToAll(), weight=1.0, delay=1.0)
    # A0: 30 spikes, A1: 10 spikes, B: 5 spikes in 1 s (B has no targets: no traffic)
    ta = np.concatenate([np.arange(30) * 30.0 + 1.0, np.arange(10) * 90.0 + 2.0])
    ia = np.concatenate([np.zeros(30), np.ones(10)])
    order = np.argsort(ta, kind="stable")
    path = tmp_path / "ab.h5"
    _write_run(path, net, {"A": (ta[order], ia[order]), "B": (np.arange(5) * 100.0 + 3.0, np.zeros(5))}, 1000.0)
    inp = nm.run_inputs(str(path), warmup_ms=0.0)
    np.testing.assert_allclose(inp["rates"], [30.0, 10.0, 5.0, 0.0])
    assert inp["step_counts"].shape == (10000, 2) and inp["step_counts"][:, 0].sum() == 40
    for routing, per_spike in (("tree", 1.0), ("unicast", 1.0)):
        hw = _hw(tmp_path, routing=routing, neurons=2)
        m = nm.map_network(inp["conn"], hw, "block", rates=inp["rates"], step_counts=inp["step_counts"],
                           keep_arrays=True)
        assert m["cores"] == 2 and m["mesh"] == [2, 1]
        ll = m["_arrays"]["link_load"]
        cr = m["_arrays"]["core_router"]
        src, dst = cr[0], cr[1]
        d = 0 if dst == src + 1 else 1
        expect = np.zeros_like(ll)
        expect[src * 6 + d] = 40.0 * per_spike          # every A spike reaches B's core once
        np.testing.assert_allclose(ll, expect, atol=1e-9)
        # synaptic events: every A spike hits both B neurons
        assert m["synaptic_events_per_s"] == pytest.approx(80.0)
        assert m["peak_link_load_per_step"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- placement

def test_graph_placement_beats_naive_on_multicolumn():
    from parsnn.models import multicolumn
    net = Connectivity.from_network(multicolumn.build_network(grid=6, n_scaling=0.01, record=False))
    res = {p: nm.map_network(net, "noc", p, steps=200) for p in nm.PLACEMENTS}
    assert res["graph"]["max_link_load_per_s"] < res["block"]["max_link_load_per_s"]
    assert res["graph"]["max_link_load_per_s"] < res["round_robin"]["max_link_load_per_s"]
    assert res["graph"]["total_hops_per_s"] < res["block"]["total_hops_per_s"]


def test_hardware_files_load_and_cite():
    for name in nm.TARGETS:
        hw = nm.load_hardware(name)
        text = open(hw.path).read()
        assert "ASSUMPTION" in text or name == "noc"
        assert hw.hw["cores_per_router"] >= 1
    assert nm.load_hardware("loihi")["core"]["neurons"] == 1024
    assert nm.load_hardware("spinnaker").hw["routing_table_entries"] == 1024


# ---------------------------------------------------------------------------- CLI

def test_cli_map_model_json(capsys):
    assert cli.main(["map", "pd14", "--n-scaling", "0.02", "--target", "noc", "--placement", "block", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["mapping"]
    assert m["target"] == "noc" and m["cores"] >= 1 and m["rtf"] > 0 and m["energy_per_synaptic_event_j"] > 0


def test_cli_map_run_file_table_and_figures(tmp_path, capsys):
    net = Network(0.1, name="ab")
    net.add_population("A", 4, "iaf_psc_exp")
    net.connect("A", "A", AllToAll(allow_autapses=False), weight=1.0, delay=1.0)
    path = tmp_path / "run.h5"
    _write_run(path, net, {"A": (np.arange(20) * 10.0, np.arange(20) % 4)}, 200.0)
    assert cli.main(["map", str(path), "--target", "spinnaker", "--warmup", "0", "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "spinnaker" in out and "RTF" in out
    assert any(p.name.endswith("_link_load.png") for p in tmp_path.iterdir())


@pytest.mark.parametrize("argv, word", [
    (["map", "pd14", "--target", "truenorth"], "--target"),
    (["map", "pd14", "--placement", "metis"], "--placement"),
    (["map", "no_such_file.h5"], "source"),
    (["map", "pd14", "--cores", "0"], "--cores"),
])
def test_cli_map_bad_input(argv, word, capsys):
    with pytest.raises(SystemExit) as e:
        code = cli.main(argv)
        raise SystemExit(code)
    assert e.value.code == 2
    assert word in capsys.readouterr().err


# ---------------------------------------------------------------------------- sPyNNaker structure

SPLIT_HW = """
[hardware]
name = "tiny_timer"
topology = "mesh"
torus = false
routing = "tree"
route_key = "neuron"
cores_per_router = 3
routers_per_chip = [0, 0]
chips_per_board = 1
board_grid = "mesh"
sync = "barrier"
min_rtf = 0.0
[core]
neurons = 4
synapse_bytes = 1
synapse_memory_bytes = 1000000
[time]
neuron_update_s = 1e-6
synaptic_event_s = 1e-7
spike_in_s = 1e-6
step_overhead_s = 2e-6
link_packets_per_s = 1e9
router_packets_per_s = 1e9
sync_s = 0.0
[split]
synapse_cores = 2
synapse_step_overhead_s = 1e-6
input_write_s = 1e-8
input_read_s = 1e-8
[energy]
synaptic_event_j = 0.0
neuron_update_j = 0.0
hop_j = 0.0
chip_static_w = 0.0
"""


def _split_case(tmp_path):
    p = tmp_path / "split.toml"
    p.write_text(SPLIT_HW)
    net = Network(0.1, name="split")
    net.add_population("S", 4, "iaf_psc_exp")
    net.add_population("T", 4, "iaf_psc_exp")
    net.connect("S", "T", AllToAll(), weight=1.0, delay=1.0)          # 16 synapses: 4 events per S spike
    rates = np.array([100.0] * 4 + [0.0] * 4)
    counts = np.array([[10.0, 0.0]] * 5)                               # 10 S spikes in every step
    return nm.load_hardware(str(p)), Connectivity.from_network(net), rates, counts


def test_split_mode_cores_and_step_time_by_hand(tmp_path):
    hw, net, rates, counts = _split_case(tmp_path)
    # combined: 2 cores (one per population); T's core: 2 us + 4 x 1 us + 10 spikes x (1 us row + 4 x 0.1 us)
    c = nm.map_network(net, hw, "population", rates=rates, step_counts=counts, mode="combined")
    assert c["cores"] == 2 and c["routers"] == 1 and c["synapse_cores_per_neuron_core"] == 0
    assert c["time_per_step_s"]["mean"] == pytest.approx(20e-6, rel=1e-6)
    # split, 2 synapse cores per neuron core: 2 x (1 + 2) = 6 cores, one slice per router (3 cores each).
    # T's synapse cores: 1 us + 4 x 0.01 us + 10 x (1 us + 0.4 us) / 2 = 8.04 us;
    # neuron cores: 2 us + 4 x (1 us + 2 x 0.01 us) = 6.08 us -> the synapse cores set the step
    s = nm.map_network(net, hw, "population", rates=rates, step_counts=counts, mode="split")
    assert s["cores"] == 6 and s["neuron_cores"] == 2 and s["routers"] == 2
    assert s["time_per_step_s"]["mean"] == pytest.approx(8.04e-6, rel=1e-6)
    assert s["rtf"] == pytest.approx(8.04e-6 / 1e-4, rel=1e-6)
    # one spike per step: the neuron cores (6.08 us) set the step; 4 synapse cores: 4 x 0.01 us more to read
    s1 = nm.map_network(net, hw, "population", rates=rates, step_counts=counts / 10, mode="split")
    assert s1["time_per_step_s"]["mean"] == pytest.approx(6.08e-6, rel=1e-6)
    with pytest.raises(ParameterError):
        nm.map_network(net, hw, "population", rates=rates, step_counts=counts, mode="split", synapse_cores=3)
    with pytest.raises(ParameterError):
        nm.map_network(net, hw, "population", rates=rates, step_counts=counts, mode="fast")


def test_population_placement_and_neurons_per_core(tmp_path):
    hw, net, rates, counts = _split_case(tmp_path)
    # 3 neurons per core: each population of 4 is cut into 2 slices of 2; no core holds both populations
    m = nm.map_network(net, hw, "population", rates=rates, step_counts=counts, neurons_per_core=3,
                       mode="combined", keep_arrays=True)
    core_of = m["_arrays"]["core_of"]
    assert m["cores"] == 4 and m["neurons_per_core_cap"] == 3
    np.testing.assert_array_equal(core_of, [0, 0, 1, 1, 2, 2, 3, 3])
    # T's slices hold 2 neurons: 2 us + 2 x 1 us + 10 x (1 us + 2 x 0.1 us) = 16 us
    assert m["time_per_step_s"]["mean"] == pytest.approx(16e-6, rel=1e-6)
    with pytest.raises(ParameterError):
        nm.map_network(net, hw, "population", rates=rates, step_counts=counts, neurons_per_core=0)


def test_spinnaker_file_split_config_and_sources():
    hw = nm.load_hardware("spinnaker")
    assert hw["split"]["synapse_cores"] == 3 and hw["core"]["neurons"] == 255
    text = open(hw.path).read()
    for tag in ("[SPY]", "[GB]", "[MC]", "[PR1082]"):
        assert text.count(tag) >= 2, tag          # defined in the header and used by a value


def _fan_in_case(tmp_path, cap):
    p = tmp_path / f"fanin_{cap}.toml"
    p.write_text(SMALL_HW.format(routing="tree", neurons=8, synmem=10**9).replace("[time]", f"fan_in = {cap}\n[time]"))
    net = Network(0.1, name="fanin")
    net.add_population("S", 100, "iaf_psc_exp")
    net.add_population("T", 20, "iaf_psc_exp")
    net.connect("S", "T", FixedIndegree(3), weight=1.0, delay=1.0)
    return nm.load_hardware(str(p)), Connectivity.from_network(net)


def test_fan_in_enforcement_by_hand(tmp_path):
    # k neurons of T see 100 (1 - 0.99^(3k)) distinct S neurons: 8.6 for k = 3, 11.4 for k = 4 -> 3 fit 10 axons
    hw, net = _fan_in_case(tmp_path, 10)
    np.testing.assert_array_equal(nm.fan_in_neurons_per_core(net, 10, 8), [8, 3])
    free = nm.map_network(net, hw, "population", steps=20)
    assert free["cores"] == 13 + 3 and free["fan_in_exceeded"]           # 8 per core: 100/8 -> 13, 20/8 -> 3
    m = nm.map_network(net, hw, "population", steps=20, enforce_fan_in=True)
    assert m["cores"] == 13 + 7 and not m["fan_in_exceeded"] and m["max_fan_in"] <= 10
    hw2, _ = _fan_in_case(tmp_path, 2)                                   # one T neuron: 2.97 sources > 2
    with pytest.raises(ParameterError, match="T"):
        nm.map_network(net, hw2, "population", steps=20, enforce_fan_in=True)


@pytest.mark.parametrize("placement", ["round_robin", "block", "graph"])
def test_fan_in_enforced_on_cores_that_mix_populations(tmp_path, placement, monkeypatch):
    # T1 and T2 draw on disjoint sources of 10 neurons, 9 inputs each: one T neuron sees
    # 10 (1 - 0.9^9) = 6.13 sources, two of one population 8.5 -> 2 per core fit 9 axons; but one T1 and
    # one T2 neuron on a core see 12.3. Enforcement must re-split until no core exceeds the limit
    hw, _ = _fan_in_case(tmp_path, 9)
    net = Network(0.1, name="fanin2")
    for x in ("1", "2"):
        net.add_population("S" + x, 10, "iaf_psc_exp")
        net.add_population("T" + x, 20, "iaf_psc_exp")
        net.connect("S" + x, "T" + x, FixedIndegree(9), weight=1.0, delay=1.0)
    net = Connectivity.from_network(net)
    np.testing.assert_array_equal(nm.fan_in_neurons_per_core(net, 9, 8), [8, 2, 8, 2])
    m = nm.map_network(net, hw, placement, steps=20, enforce_fan_in=True)
    assert not m["fan_in_exceeded"] and m["max_fan_in"] <= 9
    # one split only (no re-split): round_robin mixes T1 and T2 on a core and must then fail loudly
    monkeypatch.setattr(neuromorphic_cores, "FAN_IN_ATTEMPTS", 1)
    if placement == "round_robin":
        with pytest.raises(ParameterError, match="placement 'population'"):
            nm.map_network(net, hw, placement, steps=20, enforce_fan_in=True)


def test_the_mapping_accepts_only_a_connectivity():
    net = Network(0.1, name="one")
    net.add_population("A", 4, "iaf_psc_exp")
    for call in (lambda: nm.map_network(net, "noc"), lambda: nm.scaling_curve(net.describe(), "noc"),
                 lambda: nm.min_cores(net, "noc")):
        with pytest.raises(TypeError, match="must be a parsnn.connectivity.Connectivity"):
            call()
