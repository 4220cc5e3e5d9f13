"""The best ranks x threads layout per node count (parsnn.mapping.cluster.layout) and ``parsnn predict
--nodes``: every layout filling a node's cores is predicted, the smallest RTF is kept."""
import json

import pytest

from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.machines import load_machine
from parsnn.mapping.cluster import best_layouts, predict
from parsnn.mapping.cluster.layout import thread_options
from parsnn.network import FixedIndegree, Network


def _conn(n=4000, k=20, rate=5.0):
    net = Network(0.1, name="t")
    net.add_population("A", n, "iaf_psc_exp")
    net.connect("A", "A", FixedIndegree(k), weight=1.0, delay=1.0)
    net.metadata = {"expected_rates": {"A": rate}}
    return Connectivity.from_network(net)


def test_thread_options_divide_the_cores():
    assert thread_options(128) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert thread_options(12, [1, 5, 4, 4]) == [1, 4]


def test_best_layout_is_the_smallest_predicted_rtf():
    conn = _conn()
    rows = best_layouts(conn, [1, 2], "jureca_dc", threads=[1, 8, 128])
    assert [r["nodes"] for r in rows] == [1, 2]
    for r in rows:
        assert {"nodes", "ranks_per_node", "threads", "rtf", "rtf_range", "layouts"} <= set(r)
        assert r["ranks_per_node"] * r["threads"] == 128 and r["ranks"] == r["nodes"] * r["ranks_per_node"]
        assert [q["threads"] for q in r["layouts"]] == [1, 8, 128]
        assert r["rtf"] == min(q["rtf"] for q in r["layouts"])
        # each layout is the prediction for that many ranks and threads
        q = r["layouts"][1]
        direct = predict(conn, r["nodes"] * 16, "jureca_dc", ranks_per_node=16, threads=8)
        assert q["rtf"] == pytest.approx(direct["rtf"])


def test_a_machine_without_thread_constants_tries_one_thread(tmp_path):
    rows = best_layouts(_conn(), [1], "epyc_zen5_kvm_2core_2026_11_22")
    assert rows[0]["threads"] == 1 and [q["threads"] for q in rows[0]["layouts"]] == [1]
    assert "no thread constants" in rows[0]["note"]
    with pytest.raises(ParameterError, match="--nodes"):
        best_layouts(_conn(), [0], "jureca_dc")
    assert "threads" in load_machine("jureca_dc").data


def test_cli_predict_nodes_json(capsys):
    from parsnn.cli import main
    assert main(["predict", "brunel", "--scale", "0.05", "--machine", "jureca_dc", "--nodes", "1,2",
                 "--threads", "1,64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["nodes"] for r in out] == [1, 2]
    assert all({"nodes", "ranks_per_node", "threads", "rtf"} <= set(r) and r["threads"] in (1, 64) for r in out)
    assert main(["predict", "brunel", "--scale", "0.05", "--machine", "jureca_dc", "--nodes", "1"]) == 0
    text = capsys.readouterr().out
    assert "ranks/node" in text and "best layout" in text
    assert main(["predict", "brunel", "--machine", "jureca_dc", "--nodes", "x"]) != 0


def test_cli_predict_weak_scaling_grows_the_model_with_the_nodes(capsys):
    """--weak SIZE: every node count predicts the model at SIZE x nodes (brunel's scale), with its size,
    the limiting terms and the exchange scheme; --max-ranks skips the layouts of more ranks (said so)."""
    from parsnn.cli import main
    assert main(["predict", "brunel", "--machine", "jureca_dc", "--nodes", "1,2", "--weak", "0.02",
                 "--threads", "32,64,128", "--max-ranks", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["nodes"] for r in rows] == [1, 2]
    assert [r["weak"]["model_size"] for r in rows] == [0.02, 0.04] and rows[1]["neurons"] == 2 * rows[0]["neurons"]
    assert all(r["limiting"] and r["exchange_terms"]["scheme"] in ("alltoall", "neighbor") for r in rows)
    assert [q["threads"] for q in rows[1]["layouts"]] == [64, 128] and "more than 4 ranks" in rows[1]["note"]
    assert main(["predict", "brunel", "--machine", "jureca_dc", "--nodes", "1,2", "--weak", "0.02",
                 "--threads", "128"]) == 0
    assert "limited by" in capsys.readouterr().out
    assert main(["predict", "brunel", "--machine", "jureca_dc", "--weak", "0.02"]) != 0      # --weak needs --nodes
