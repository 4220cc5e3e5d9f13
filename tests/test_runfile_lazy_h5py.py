"""h5py is loaded only when a run file is read or written: importing the engine or the PyNN backend
does not load it (nor numba), and the lazily loaded module works as h5py."""
from __future__ import annotations

import subprocess
import sys

import numpy as np


def _loaded_after(statement: str) -> dict:
    """{module: loaded?} for h5py and numba in a fresh interpreter after ``statement``."""
    code = (f"{statement}\nimport sys\n"
            "def loaded(name):\n"
            "    m = sys.modules.get(name)\n"
            "    return m is not None and type(m).__name__ != '_LazyModule'\n"
            "print(loaded('h5py'), loaded('numba'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"h5py": out[-2] == "True", "numba": out[-1] == "True"}


def test_importing_the_engine_and_the_pynn_backend_loads_neither_h5py_nor_numba():
    assert _loaded_after("from parsnn.engine import Simulation") == {"h5py": False, "numba": False}
    assert _loaded_after("import parsnn.pynn") == {"h5py": False, "numba": False}


def test_the_lazy_module_loads_on_first_use(tmp_path):
    from parsnn.runfile import sonata
    from parsnn.runfile.lazy_h5py import h5py
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f["a"] = np.arange(3)
        sonata.write_sorting_attr(f, "by_id")
    with h5py.File(path, "r") as f:
        assert f["a"][:].tolist() == [0, 1, 2]
        assert sonata.read_sorting_attr(f) == "by_id"
    assert sonata.SORTING_DTYPE == sonata.sorting_dtype()
