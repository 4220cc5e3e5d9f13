"""parsnn.analysis.readers: run files (sorted or not, incomplete) and NEST ASCII directories."""
import numpy as np
import pytest

from parsnn import analysis
from parsnn.analysis import IncompleteRunError


def test_unsorted_h5_same_as_sorted(two_pop_run, tmp_path, write_run):
    path, pops = two_pop_run
    rng = np.random.default_rng(0)
    shuffled = {}
    for p, (size, t, i) in pops.items():
        o = rng.permutation(t.size)
        shuffled[p] = (size, t[o], i[o])
    other = write_run(str(tmp_path / "unsorted.h5"), shuffled, sorting="none")
    a, b = analysis.analyze(path), analysis.analyze(other, chunk=50)
    for p in a.populations:
        np.testing.assert_allclose(a.populations[p].cvs, b.populations[p].cvs, rtol=1e-12)
        np.testing.assert_array_equal(a.populations[p].ccs, b.populations[p].ccs)


def test_incomplete_file_refused(two_pop_run, tmp_path, write_run):
    _, pops = two_pop_run
    bad = write_run(str(tmp_path / "bad.h5"), pops, complete=False)
    with pytest.raises(IncompleteRunError, match="incomplete"):
        analysis.analyze(bad)
    st = analysis.analyze(bad, allow_incomplete=True)
    assert st.meta["complete"] is False


def test_nest_ascii_reader_file(tmp_path):
    fn = tmp_path / "spike_recorder-9-0.dat"
    fn.write_text("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n"
                  "5\t1.100\n3\t0.700\n5\t12.300\n")
    s, t = analysis.read_nest_ascii(fn, chunk_lines=1)
    np.testing.assert_array_equal(s, [5, 3, 5])
    np.testing.assert_allclose(t, [1.1, 0.7, 12.3])
    empty = tmp_path / "spike_recorder-9-1.dat"
    empty.write_text("# NEST version: 3.10.0\n# RecordingBackendASCII version: 2\nsender\ttime_ms\n")
    assert analysis.read_nest_ascii(empty)[0].size == 0


def test_nest_dir_same_stats_as_h5(two_pop_run, tmp_path, write_nest_dir):
    path, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "nest"), pops, {"E": 1, "I": 41})
    a = analysis.analyze(path, cc_subsample=10)
    b = analysis.analyze(d, cc_subsample=10)
    assert b.kind == "nest" and list(b.populations) == ["E", "I"] and b.params["t_stop"] == 2000.0
    for p in a.populations:
        for name in ("rates", "ccs"):
            np.testing.assert_array_equal(getattr(a.populations[p], name), getattr(b.populations[p], name))
        np.testing.assert_allclose(a.populations[p].cvs, b.populations[p].cvs, rtol=1e-9)
    assert analysis.compare(a, b) == {p: {"rate": 0.0, "cv": 0.0, "cc": 0.0} for p in a.populations}
    # an explicit population map instead of the sidecar
    src = analysis.NestAsciiSource(d, populations={"I": (41, 10)})
    assert src.sizes == {"I": 10}
    c = analysis.analyze(src, t_stop=2000.0, cc_subsample=10)
    np.testing.assert_array_equal(c.populations["I"].rates, a.populations["I"].rates)


def test_nest_dir_incomplete_and_fallback(two_pop_run, tmp_path, write_nest_dir):
    _, pops = two_pop_run
    d = write_nest_dir(str(tmp_path / "inc"), pops, {"E": 1, "I": 41}, complete=False)
    with pytest.raises(IncompleteRunError):
        analysis.analyze(d)
    analysis.analyze(d, allow_incomplete=True)
    d2 = write_nest_dir(str(tmp_path / "nosidecar"), pops, {"E": 1, "I": 41}, sidecar=False)
    with pytest.warns(UserWarning):
        st = analysis.analyze(d2, t_stop=2000.0)
    assert list(st.populations) == ["spike_recorder-100", "spike_recorder-101"]
    assert st.populations["spike_recorder-101"].size == 10
