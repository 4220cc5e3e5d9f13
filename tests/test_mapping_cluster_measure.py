"""The machine state a calibration records next to its measurements (parsnn.mapping.cluster.measure):
the hypervisor's stolen time and huge-page counters over a span, this process's memory on huge pages."""
import os

import numpy as np
import pytest

from parsnn.mapping.cluster import measure


def test_counters_between_gives_rates_and_increments():
    a = {"t": 10.0, "steal_s": 3.0, "thp_fault_fallback": 5, "compact_stall": 7}
    b = {"t": 14.0, "steal_s": 5.0, "thp_fault_fallback": 9, "compact_stall": 7}
    d = measure.counters_between(a, b)
    assert d == {"seconds": 4.0, "steal_cores": 0.5, "thp_fault_fallback": 4, "compact_stall": 0}
    # a counter missing on either side (not Linux, another kernel) is left out rather than guessed
    assert measure.counters_between({"t": 0.0}, {"t": 1.0, "steal_s": 2.0}) == {"seconds": 1.0}


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="needs Linux's smaps_rollup")
def test_huge_page_kib_counts_this_process_memory():
    import mmap
    before = measure.huge_page_kib()["anon_kib"]
    # 64 MiB of a fresh anonymous mapping, touched (a numpy array could reuse memory that earlier
    # tests of this process freed and the allocator kept: no new resident memory)
    buf = mmap.mmap(-1, 64 * 2 ** 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    x = np.frombuffer(buf, dtype=np.float64)
    x[:] = 1.0
    after = measure.huge_page_kib()
    assert after["anon_kib"] - before >= 60 * 1024
    assert 0 <= after["anon_huge_kib"] <= after["anon_kib"]
    assert x.sum() > 0
    c = measure.machine_counters()
    assert c["t"] > 0 and c.get("steal_s", 0.0) >= 0.0
