"""parsnn (both weight powers) against NEST on analysis/nest_frozen_network.py's frozen network, 400 ms: spikes
equal?, final E->E weights' largest difference and the share of bit-identical ones. Run with NEST's venv and
parsnn's packages (session 19):

    LD_LIBRARY_PATH=.venv/lib benchmarks/.venv-nest/bin/python benchmarks/results/pow19/nest_frozen_weight_power.py
"""
import functools
import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
site.addsitedir(str(ROOT / ".venv/lib/python3.11/site-packages"))
sys.path.insert(0, str(ROOT / "analysis"))
import numpy as np
import nest_frozen_network as fz
import parsnn.engine as pe
base = pe.Simulation
n, init, conns = fz.frozen(2)
sp_n = None
for wp in ("libm", "newton"):
    pe.Simulation = functools.partial(base, weight_power=wp)
    sp_p, w_p = fz.run_parsnn(n, init, conns, 400.0)      # sets conns' E->E to parsnn's
    if sp_n is None:
        sp_n, w_n = fz.run_nest(n, init, conns, 400.0)
    same = all(np.array_equal(fz.canonical(sp_p[k])[0], fz.canonical(sp_n[k])[0]) and
               np.array_equal(fz.canonical(sp_p[k])[1], fz.canonical(sp_n[k])[1]) for k in ("E", "I"))
    op, on = np.lexsort((w_p[2], w_p[1], w_p[0])), np.lexsort((w_n[2], w_n[1], w_n[0]))
    late = np.isin(w_n[0][on], sp_n["E"][1][sp_n["E"][0] > 400.0 - 1.0 - 1e-9])
    d = np.abs(w_p[2][op][~late] - w_n[2][on][~late])
    bits = np.mean(w_p[2][op][~late] == w_n[2][on][~late])
    print(wp, "spikes equal:", same, "E spikes", sp_p["E"][0].size, "weights max |diff| %.3g pA, identical %.3f, n %d" % (d.max(), bits, d.size))
