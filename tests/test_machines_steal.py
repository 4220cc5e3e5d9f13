"""parsnn.machines.steal: the steal field of /proc/stat, read from crafted files."""
import os

from parsnn.machines import steal


def _stat(tmp_path, s0, s1, name="stat"):
    p = tmp_path / name
    p.write_text("cpu  10 0 5 100 0 0 0 %d 0 0\n" % (s0 + s1)
                 + "cpu0 5 0 2 50 0 0 0 %d 0 0\ncpu1 5 0 3 50 0 0 0 %d 0 0\nintr 1 2 3\n" % (s0, s1))
    return str(p)


def test_steal_ticks_reads_the_eighth_value_per_cpu(tmp_path):
    assert steal.steal_ticks(_stat(tmp_path, 7, 11)) == {"cpu0": 7, "cpu1": 11}


def test_meter_reports_the_difference_in_ms(tmp_path):
    p = _stat(tmp_path, 7, 11)
    m = steal.StealMeter(p)
    assert m.available
    _stat(tmp_path, 9, 41)
    d = m.ms()
    tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
    assert d["cpu0"] == 2 * tick_ms and d["cpu1"] == 30 * tick_ms
    assert d["total"] == 32 * tick_ms and d["max"] == 30 * tick_ms


def test_meter_without_the_accounting_is_unavailable_and_zero(tmp_path):
    m = steal.StealMeter(str(tmp_path / "missing"))
    assert not m.available
    assert m.ms() == {"total": 0.0, "max": 0.0}
    old = tmp_path / "old"
    old.write_text("cpu  1 2 3 4\ncpu0 1 2 3 4\n")      # a kernel without the steal field
    assert not steal.StealMeter(str(old)).available
