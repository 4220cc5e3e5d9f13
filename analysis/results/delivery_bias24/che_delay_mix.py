"""Che's approximation (che_ring.py) for session 20's delay-mix probe (scatter_structure20/delay_mix_probe_19292.py:
19,292 targets, 2,500 sources at 20 Hz x 2,048, a fifth of them with delays Normal(0.75, 0.375)), against its
measured -3 to -5 %; and PD14 0.25's share of events with the inhibitory delays.
    python analysis/results/delivery_bias24/che_delay_mix.py MACHINE.toml PD14_0.25_RUN.h5"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import che_ring as c
from parsnn.machines import load_machine
from parsnn.mapping import cluster
from parsnn.mapping.cluster import scatter
mach = load_machine(sys.argv[1]); cur = scatter.curve(mach)
C, D, n = 32768, 57, 19292
nb = int(np.ceil(n / 8)); ev = 2500 * 20.0 * 2048 * 1e-4
pe, pi = c.delay_pmf(1.5, 0.75, 0.1, D), c.delay_pmf(0.75, 0.375, 0.1, D)
grid = [(t, t * 8 * D / 2 ** 20, c.scatter_miss(t, C, D)[0]) for t in (8000, 10000, 12000, 14000, 16000, 19292, 24000, 32000)]
def ws_for(m):
    return float(np.exp(np.interp(m, [g[2] for g in grid], np.log([g[1] for g in grid]))))
def cd(ws):
    return float(scatter._interp_log(ws * 2 ** 20, np.array(cur["mib"]) * 2 ** 20, cur["ns"]))
m_e = c.che(np.full(nb, ev / nb), np.tile(pe, (nb, 1)), C)[0]
for f in (0.2, 0.3, 0.4):
    m_mix = c.che(np.full(nb, ev / nb), np.tile((1 - f) * pe + f * pi, (nb, 1)), C)[0]
    print(f"inh-delay share {f:.1f}: L2 miss {m_e:.3f} -> {m_mix:.3f}; ws_eff {ws_for(m_mix):.2f} MiB, c_d {cd(ws_for(m_e)):.3f} -> {cd(ws_for(m_mix)):.3f} ns ({cd(ws_for(m_mix)) / cd(ws_for(m_e)) - 1:+.1%})")
inp = cluster.run_inputs(sys.argv[2]); conn = inp["connectivity"]; K = conn.expected_synapses()
evs = np.array([K[j] * inp["rates"].get(conn.names[conn.src[j]], 0.0) for j in range(K.size)])
inh = np.array([q["delay"]["mean"] < 1.0 for q in conn.description["projections"]])
print(f"PD14 {sys.argv[2]}: share of events with inhibitory delays {evs[inh].sum() / evs.sum():.3f}")
