"""The machine state a calibration records next to its measurements (parsnn.machines.counters):
the hypervisor's stolen time and huge-page counters over a span, this process's memory on huge pages."""
import os

import numpy as np
import pytest

from parsnn.machines import counters
from parsnn.mapping.cluster import measure


def test_counters_between_gives_rates_and_increments():
    a = {"t": 10.0, "steal_s": 3.0, "thp_fault_fallback": 5, "compact_stall": 7}
    b = {"t": 14.0, "steal_s": 5.0, "thp_fault_fallback": 9, "compact_stall": 7}
    d = counters.counters_between(a, b)
    assert d == {"seconds": 4.0, "steal_cores": 0.5, "thp_fault_fallback": 4, "compact_stall": 0}
    # a counter missing on either side (not Linux, another kernel) is left out rather than guessed
    assert counters.counters_between({"t": 0.0}, {"t": 1.0, "steal_s": 2.0}) == {"seconds": 1.0}


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="needs Linux's smaps_rollup")
def test_huge_page_kib_counts_this_process_memory():
    import mmap
    before = counters.huge_page_kib()["anon_kib"]
    # 64 MiB of a fresh anonymous mapping, touched (a numpy array could reuse memory that earlier
    # tests of this process freed and the allocator kept: no new resident memory)
    buf = mmap.mmap(-1, 64 * 2 ** 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    x = np.frombuffer(buf, dtype=np.float64)
    x[:] = 1.0
    after = counters.huge_page_kib()
    assert after["anon_kib"] - before >= 60 * 1024
    assert 0 <= after["anon_huge_kib"] <= after["anon_kib"]
    assert x.sum() > 0
    c = counters.machine_counters()
    assert c["t"] > 0 and c.get("steal_s", 0.0) >= 0.0


def test_scatter_network_has_pre_drawn_poisson_sources():
    net = measure.calibration_network({"model": "scatter", "targets": 300, "sources": 40, "row": 16})
    src = net.populations["S"]
    assert src.model == "spike_generator" and len(src.spike_times) == 40
    n = sum(len(t) for t in src.spike_times)
    expect = 40 * 20.0 * measure.SCATTER_SPAN_MS * 1e-3
    assert abs(n - expect) < 5 * np.sqrt(expect)                      # Poisson at 20 Hz
    assert all(list(t) == sorted(set(t)) and (not t or 0 < t[0] and t[-1] < measure.SCATTER_SPAN_MS)
               for t in src.spike_times)
    again = measure.calibration_network({"model": "scatter", "targets": 300, "sources": 40, "row": 16})
    assert again.populations["S"].spike_times == src.spike_times      # the same spikes in every calibration


def test_interleaved_specs_at_two_distances_share_one_build(monkeypatch):
    from mpi4py import MPI
    builds = []
    real = measure._build
    monkeypatch.setattr(measure, "_build", lambda spec, comm: builds.append(spec) or real(spec, comm))
    base = {"model": "scatter", "targets": 300, "sources": 40, "row": 64, "group": "g", "segments": 2,
            "warmup_ms": 2.0, "rewarm_ms": 1.0}
    from parsnn.engine import Simulation
    seen, run = [], Simulation.run

    def spy(self, t):
        out = run(self, t)
        seen.append(int(self.st.prefetch))                 # the distance that segment delivered with
        return out
    monkeypatch.setattr(Simulation, "run", spy)
    recs = measure.run_interleaved([({**base, "prefetch": 128}, 20.0), ({**base, "prefetch": 0}, 20.0)], MPI.COMM_SELF)
    assert len(builds) == 1
    # warm-ups, then per segment: re-warm and segment of each spec in turn, each at its own distance
    assert seen == [128, 0] + [128, 128, 0, 0] * 2
    assert [r["prefetch"]["distance"] for r in recs] == [128, 0]
    for r in recs:
        assert r["perf"]["synaptic_events"][0] > 0 and len(r["segments"]) == 2


def test_record_runs_keep_their_first_flush():
    # a calibration run that writes a run file keeps its warm-up's flush (the first append to its datasets:
    # recordcost.first_flush_cost); a run without a file or warm-up keeps none; launches join theirs
    from mpi4py import MPI
    spec = {"model": "brunel", "regime": "A", "scale": 0.02, "warmup_ms": 20.0, "segments": 2}
    rec = measure.run_spec({**spec, "record_file": True}, 20.0, MPI.COMM_SELF)
    (first,) = rec["first_flush"]
    assert first["populations"] == 2 and first["spikes"] > 0 and first["seconds"] > 0
    assert measure.run_spec(spec, 20.0, MPI.COMM_SELF)["first_flush"] == []
    joined = measure.join_launches(rec, rec)
    assert joined["first_flush"] == [first, first]
