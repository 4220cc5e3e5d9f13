"""Peak memory of building one rank's plastic store (parsnn.engine.plasticity.PlasticSynapses), with
the store code of this tree ("new") or of main ea5746c ("old": `git show ea5746c:parsnn/engine/plastic_store.py`, read at run time; the kernels' new ``first``
arguments default to the old behaviour). One process per call; prints one JSON line.

    .venv/bin/python benchmarks/results/mem13_s16/build_peak.py CASE SCALE THREADS RANKS IMPL

CASE: "hpc" (hpc_benchmark at SCALE, its E->E stdp_pl_synapse_hom) or "sheet" (multicolumn
grid SCALE x SCALE at n_scaling 0.01, k_scaling 0.02, DC, with every excitatory -> excitatory
projection made stdp_pl_synapse_hom: the models have no plastic sheet, this one is made here).
The rank is rank 0 of RANKS under block placement (the first ceil(num_nodes / RANKS) nodes).
Reported: tracemalloc's peak of the build (numpy's buffers are traced) above what was traced
before it, the store's own bytes (the arrays it keeps), the largest T x nodes temporary the code
allocates (by formula), and ru_maxrss of the process (KiB -> MB; includes the network description)."""
import importlib.util
import json
import warnings
import math
import resource
import sys
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STDP = {"lambda": 0.1, "alpha": 0.0513, "mu": 0.4, "tau_plus": 15.0}


def network(case, scale):
    if case == "hpc":
        from parsnn.models import hpc_benchmark
        return hpc_benchmark.build_network(scale=float(scale), record=False)
    from parsnn.models import multicolumn
    net = multicolumn.build_network(grid=int(scale), n_scaling=0.01, k_scaling=0.02, bg="dc", record=False)
    seen = set()
    for proj in net.projections:
        if proj.source.endswith("E") and proj.target.endswith("E") and (proj.source, proj.target) not in seen:
            if not (isinstance(proj.weight, (int, float)) and proj.weight > 0) and not hasattr(proj.weight, "mean"):
                continue
            seen.add((proj.source, proj.target))
            proj.synapse_model, proj.synapse_params = "stdp_pl_synapse_hom", dict(STDP)
    return net


def main():
    warnings.simplefilter("ignore")
    case, scale, T, ranks, impl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    from parsnn.engine import plasticity
    from parsnn.engine.decomposition import population_ranges
    if impl == "old":
        # main ea5746c's plastic_store.py, read from git (not kept as a copy beside this script)
        import subprocess, tempfile
        src = subprocess.check_output(["git", "-C", str(HERE), "show", "ea5746c:parsnn/engine/plastic_store.py"])
        old_path = Path(tempfile.mkdtemp()) / "old_plastic_store.py"
        old_path.write_bytes(src)
        spec = importlib.util.spec_from_file_location("old_plastic_store", old_path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["old_plastic_store"] = mod
        spec.loader.exec_module(mod)
        plasticity.plastic_store = mod
    net = network(case, scale)
    n = net.num_nodes
    local = np.arange(0, math.ceil(n / ranks), dtype=np.int64)
    offsets = net.offsets()
    pop_local = population_ranges(net, local, offsets)
    nsrc_max = max((net.populations[p.source].size for p in net.projections if p.plastic), default=0)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    pl = plasticity.PlasticSynapses(net, local, offsets, pop_local, 17, net.resolution, T, 2)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = sum(v.nbytes for v in pl.arrays.values() if isinstance(v, np.ndarray))
    out = dict(case=case, scale=scale, threads=T, ranks=ranks, impl=impl, num_nodes=n, local=int(local.size),
               plastic_projections=len(pl.projections), synapses=int(pl.arrays["w"].size), nsrc_max=nsrc_max,
               scratch_formula_bytes=8 * T * (n if impl == "old" else nsrc_max),
               build_peak_traced_MB=round((peak - base) / 1e6, 3), kept_traced_MB=round((cur - base) / 1e6, 3),
               store_arrays_MB=round(kept / 1e6, 3),
               ru_maxrss_MB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               store_sha=__import__("hashlib").sha256(b"".join(
                   np.ascontiguousarray(pl.arrays[k]).tobytes() for k in ("ptr", "row_off", "tgt", "w", "d", "d_base",
                                                                           "dconst", "n_incoming", "max_delay"))).hexdigest()[:16])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
