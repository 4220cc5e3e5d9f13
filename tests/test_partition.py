"""The placement API: partition, Partition, make_map, compare, STRATEGIES (parsnn.partition) and
``parsnn partition``."""
import json
import subprocess
import sys

import numpy as np
import pytest

from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError
from parsnn.partition import STRATEGIES, Partition, make_map, partition


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_strategies_valid(strategy, mixed_network):
    net = mixed_network(record=False)
    conn = Connectivity.from_network(net)
    for P in (1, 2, 3):
        name, rank_of = make_map(conn, P, strategy)
        assert name == strategy and rank_of.dtype == np.int32 and rank_of.shape == (net.num_nodes,)
        off, size = net.offsets()["G"], net.populations["G"].size
        assert np.all(rank_of[off:off + size] == -1)
        placed = np.delete(rank_of, np.arange(off, off + size))
        assert set(placed.tolist()) == set(range(P))


def test_partition_object_and_make_map(mixed_network):
    net = mixed_network(record=False)
    conn = Connectivity.from_network(net)
    part = partition(conn, 3, "population")
    assert isinstance(part, Partition) and part.num_domains == 3 and part.seconds >= 0
    assert make_map(conn, 3, part)[0] == "population"
    assert part.gid_domain(net.offsets()["G"]) == -1
    assert sum(part.num_local_cells(r) for r in range(3)) == net.num_nodes - 3
    counts = part.population_counts(conn)
    assert counts["E"].sum() == 400 and counts["G"].sum() == 0
    with pytest.raises(ParameterError, match="made for 3 ranks"):
        make_map(conn, 2, part)
    with pytest.raises(ParameterError, match="partition must be one of"):
        make_map(conn, 2, "metis")
    m = part.metrics(conn)
    assert m["strategy"] == "population" and m["ranks"] == 3


# --------------------------------------------------------------------------- CLI

def test_cli_partition_json():
    cmd = [sys.executable, "-m", "parsnn", "partition", "multicolumn", "--grid", "4", "--column-scaling", "0.005",
           "--ranks", "4", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["strategy"] for x in rows] == list(STRATEGIES)
    for x in rows:
        assert {"strategy", "ranks", "remote_deliveries_per_s", "imbalance", "cut_fraction", "seconds"} <= set(x)
        assert x["ranks"] == 4
    r = subprocess.run([*cmd[:-1], "--strategy", "graph"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "graph" in r.stdout and "round_robin" not in r.stdout
    r = subprocess.run([*cmd[:-1], "--strategy", "bogus"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "invalid choice" in r.stderr
