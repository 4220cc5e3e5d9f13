import sys, numpy as np
from parsnn.runfile import RunFile
for f in sys.argv[1:]:
    with RunFile(f) as r:
        p = r.performance
        n_int = r.t_sim / 1.5
        print(f, "rtf", round(float(np.max(p["rtf"])) if np.ndim(p["rtf"]) else float(p["rtf"]), 3),
              "deliver us/interval", [round(x / n_int * 1e6) for x in np.atleast_1d(p["timer_deliver"])],
              "update", [round(x / n_int * 1e6) for x in np.atleast_1d(p["timer_update"])],
              "fac", int(np.sum(p["plastic_facilitations"])))
