"""A closed-form effective working set (a proposal, not in the library): the ring read at the participation ratio
of the events over delay slots and over target blocks, (sum p)^2 / sum p^2, relative to the calibration's scatter
networks (uniform targets, excitatory delays Normal(1.5, 0.75)), so that the curve's axis keeps its meaning:
    ws_eff = ws_nominal x [slots_pr(net) / slots_pr(scatter)] x [blocks_pr(net) / blocks(net)] x [D_scatter / D_net]
(D: the slots ring_working_set counts). Compared with che_ring.py's Che-equivalent working set.
    python analysis/results/delivery_bias24/effective_ws.py MACHINE.toml RUN.h5 [...]"""
import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import che_ring as c
from parsnn.machines import load_machine
from parsnn.mapping import cluster
from parsnn.mapping.cluster import scatter
from parsnn.mapping.cluster.workload import ring_working_set, workload

mach = load_machine(sys.argv[1])
cur = scatter.curve(mach)
D_sc = 57
p_sc = c.delay_pmf(1.5, 0.75, 0.1, D_sc)
pr_sc = 1.0 / np.sum(p_sc ** 2)
for path in sys.argv[2:]:
    inp = cluster.run_inputs(path)
    conn, desc, rates = inp["connectivity"], inp["connectivity"].description, inp["rates"]
    wl = workload(conn, 1, inp["rank_of"], rates=rates)
    D = int(wl["max_delay_steps"]) + 1
    slots_nom = min(wl["max_delay_steps"] + 1, wl["min_delay_steps"] + wl["max_delay_steps"] - wl["min_synaptic_delay_steps"])
    K = conn.expected_synapses()
    names = list(conn.names)
    lam_pop = np.zeros(len(names))
    pm = np.zeros(D)
    for j, q in enumerate(desc["projections"]):
        ev = K[j] * rates.get(names[conn.src[j]], 0.0)
        d = q["delay"]
        pm += ev * c.delay_pmf(d["mean"], d["std"], d.get("low") or 0.0, D)
        lam_pop[conn.tgt[j]] += ev
    pm /= pm.sum()
    per_neuron = lam_pop / conn.sizes
    w = np.repeat(per_neuron, conn.sizes.astype(int))
    blocks_pr = w.sum() ** 2 / np.sum(w ** 2) / len(w)
    ws = float(ring_working_set(wl).max())
    # the scatter networks' nominal rings count D_sc slots for pr_sc effective ones: PD14 onto that axis
    ws_eff = len(w) * 8 * D_sc * (1 / np.sum(pm ** 2)) / pr_sc * blocks_pr
    c_nom = float(scatter._interp_log(ws, np.array(cur["mib"]) * 2 ** 20, cur["ns"]))
    c_eff = float(scatter._interp_log(ws_eff, np.array(cur["mib"]) * 2 ** 20, cur["ns"]))
    print(f"{path}: nominal ws {ws / 2**20:.2f} MiB ({slots_nom} slots); delay participation ratio {1 / np.sum(pm ** 2):.1f} "
          f"slots (scatter {pr_sc:.1f}); target blocks' participation ratio {blocks_pr:.3f} of the neurons; "
          f"ws_eff on the curve's axis {ws_eff / 2**20:.2f} MiB; c_d {c_nom:.3f} -> {c_eff:.3f} ns ({c_eff / c_nom - 1:+.1%})")
