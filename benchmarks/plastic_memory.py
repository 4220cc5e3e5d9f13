"""Where the memory of a build goes: the peak resident memory of every build phase per rank, the
synapse stores and what else is alive at the peak (hpc_benchmark, or PD14 for the static build).

    mpiexec -n 2 python benchmarks/plastic_memory.py --model hpc_benchmark --scale 0.5 [--t-sim 50]
                                                     [--threads 1] [--json-out F]
    mpiexec -n 2 python benchmarks/plastic_memory.py --model pd14 --n-scaling 0.25

Phases are measured by the kernel's high-water mark of the resident set (``VmHWM`` in
/proc/self/status), reset (``/proc/self/clear_refs``: 5) at every phase boundary, so each phase
reports its own peak; the functions of the build are wrapped for that from here (nothing in parsnn
changes). Rank 0 prints one JSON object: per rank the baseline (interpreter, numpy, mpi4py and
parsnn imported, MPI up; ``imports``: the resident memory after each import), the phases (resident memory before, peak during, after), the overall peak
and the peak per synapse, and the bytes of what the build keeps: the static synapse table, the
plastic store (``PlasticSynapses.memory()`` where it exists: per synapse, per row and source, per
neuron, tables) and the engine's arrays (rings, spike and exchange buffers).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types

KB = 1024


def _status() -> tuple[int, int]:
    """(VmHWM, VmRSS) of this process in bytes."""
    hwm = rss = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * KB
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * KB
    return hwm, rss


class PhaseMeter:
    """Peak resident memory per (nested) phase: the high-water mark is read and reset at every
    phase boundary, and each read raises the peak of every open phase and the overall peak."""

    def __init__(self):
        self.open, self.records, self.peak, self.started = [], [], 0, 0
        self.reset()

    @staticmethod
    def reset():
        """Reset the high-water mark to the present resident memory."""
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    def sample(self) -> int:
        """Read the high-water mark into the open phases and the overall peak; the present RSS."""
        hwm, rss = _status()
        self.peak = max(self.peak, hwm)
        for ph in self.open:
            ph["peak"] = max(ph["peak"], hwm)
        return rss

    def enter(self, name: str):
        """Start phase ``name``."""
        rss = self.sample()
        self.open.append({"phase": name, "depth": len(self.open), "order": self.started, "rss_before": rss, "peak": rss,
                          "t0": time.perf_counter()})
        self.started += 1
        self.reset()

    def leave(self):
        """End the innermost phase."""
        rss = self.sample()
        ph = self.open.pop()
        ph["rss_after"], ph["seconds"] = rss, time.perf_counter() - ph.pop("t0")
        self.records.append(ph)
        self.reset()

    def wrap(self, owner, attr: str, name: str | None = None):
        """Measure every call of ``owner.attr`` as a phase (if ``owner`` has it)."""
        original = getattr(owner, attr, None)
        if original is None:
            return

        def measured(*a, **k):
            self.enter(name or attr)
            try:
                return original(*a, **k)
            finally:
                self.leave()
        setattr(owner, attr, measured)


def instrument(meter: PhaseMeter):
    """Wrap the build's phases (the ones this version of parsnn has)."""
    from parsnn.engine import exchange, neurons, plasticity, simulation, synapses
    meter.wrap(neurons, "build_neurons", "neurons")
    meter.wrap(synapses, "generate_synapses", "static synapses")
    kernels = synapses.connect_kernels
    proxy = types.SimpleNamespace(**{k: getattr(kernels, k) for k in dir(kernels) if not k.startswith("__")})
    for k, name in (("count_by_source", "  count"), ("generate", "  generate"),
                    ("group_rows_by_delay", "  group_rows_by_delay"), ("delay_runs", "  delay_runs")):
        meter.wrap(proxy, k, name)
    synapses.connect_kernels = proxy
    meter.wrap(plasticity.PlasticSynapses, "__init__", "plastic synapses")
    for attr in ("_generate", "_arrays"):              # the store of earlier versions
        meter.wrap(plasticity.PlasticSynapses, attr, "  " + attr)
    store = getattr(plasticity, "plastic_store", None)   # this version's: counted, then drawn block by block
    if store is not None:
        for attr in ("count_projection", "fill_store"):
            meter.wrap(store, attr, "  " + attr)
    meter.wrap(exchange, "build_routes", "routes")
    meter.wrap(simulation.Simulation, "_setup_buffers", "buffers (rings, spikes, exchange)")
    meter.wrap(plasticity.PlasticSynapses, "attach", "plastic attach")


#: the engine state's arrays that every build sets (an unset memoryview must not be read)
ENGINE_ARRAYS = {"rings": ("ring_ex", "ring_in"), "static table": ("syn_ptr", "syn_tgt", "syn_w", "run_ptr", "run_d", "run_n"),
                 "spike and exchange buffers": ("spk", "recvbuf", "fired", "n_fired", "g2l"),
                 "neuron state (V, currents)": ("V", "i_ex", "i_in")}


def engine_arrays(st) -> dict:
    """{group: bytes} of the engine state's arrays (:data:`ENGINE_ARRAYS`)."""
    import numpy as np
    return {group: int(sum(np.asarray(getattr(st, name)).nbytes for name in names))
            for group, names in ENGINE_ARRAYS.items()}


def plastic_memory(plastic) -> dict:
    """The plastic store's bytes: this version's breakdown, or the arrays of an earlier one."""
    if not plastic.active:
        return {}
    if hasattr(plastic, "memory"):
        return plastic.memory()
    a = plastic.arrays
    n = int(a["tgt"].size)
    per_syn = sum(int(a[k].nbytes) for k in ("tgt", "w", "d"))
    other = sum(int(v.nbytes) for k, v in a.items() if k not in ("tgt", "w", "d"))
    return {"synapses": n, "per_synapse_arrays": per_syn, "other_arrays": other,
            "archive_headers": 64 * plastic.local.size, "facilitation_tables": 16384 * 8 * len(plastic.projections)}


def import_steps() -> dict:
    """Resident memory (bytes) after each step of the imports, the per-rank baseline: the
    interpreter, numpy, mpi4py (MPI initialised), h5py, then parsnn.engine with what it imports
    (``--numba-first``: numba with llvmlite before it, to see their share); ``numba loaded``: 1 if
    numba is in memory after them."""
    steps = {"python": _status()[1]}
    import numpy  # noqa: F401
    steps["numpy"] = _status()[1]
    from mpi4py import MPI  # noqa: F401
    steps["mpi4py (MPI initialised)"] = _status()[1]
    import h5py  # noqa: F401
    steps["h5py"] = _status()[1]
    if "--numba-first" in sys.argv:
        import numba  # noqa: F401
        steps["numba, llvmlite"] = _status()[1]
    import parsnn.engine  # noqa: F401
    steps["parsnn.engine (the rest)"] = _status()[1]
    steps["numba loaded"] = int("numba" in sys.modules)
    return steps


def build_net(args):
    """The network of ``args``."""
    if args.model == "hpc_benchmark":
        from parsnn.models import hpc_benchmark
        return hpc_benchmark.build_network(scale=args.scale, record=False)
    from parsnn.models import pd14
    return pd14.build_network(n_scaling=args.n_scaling, k_scaling=1.0, bg="dc", record=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("hpc_benchmark", "pd14"), default="hpc_benchmark")
    ap.add_argument("--scale", type=float, default=0.1, help="hpc_benchmark's scale")
    ap.add_argument("--n-scaling", type=float, default=0.25, help="pd14's n_scaling")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--t-sim", type=float, default=0.0, help="model time to run after the build (ms)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--numba-first", action="store_true", help="import numba before parsnn (to measure its share)")
    args = ap.parse_args(argv)
    meter = PhaseMeter()
    imported = import_steps()
    from mpi4py import MPI

    from parsnn.engine import Simulation
    comm = MPI.COMM_WORLD
    baseline = meter.sample()
    meter.peak = 0
    instrument(meter)
    net = build_net(args)
    sim = Simulation(net, seed=args.seed, comm=comm, keep_spikes=False, threads=args.threads)
    comm.Barrier()
    meter.enter("build")
    sim.build()
    meter.leave()
    build_peak = meter.peak
    if args.t_sim > 0:
        meter.enter(f"run {args.t_sim:g} ms")
        sim.run(args.t_sim)
        meter.leave()
    meter.sample()
    ptr = sim._syn_table[0]
    mine = {"rank": comm.Get_rank(), "baseline_rss": baseline, "imports": imported, "build_peak": build_peak, "peak": meter.peak,
            "local_synapses": int(sim.num_local_synapses), "static_synapses": int(ptr[-1]),
            "plastic_synapses": int(sim.plastic.num_local), "static_store": int(sim.static_synapse_bytes),
            "plastic_store": plastic_memory(sim.plastic), "engine_arrays": engine_arrays(sim.st),
            "build_seconds": sim.build_seconds,
            "phases": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in ph.items()}
                       for ph in sorted(meter.records, key=lambda r: r["order"])]}
    parts = comm.gather(mine, root=0)
    if comm.Get_rank() == 0:
        syn = sum(p["local_synapses"] for p in parts)
        out = {"model": args.model, "scale": args.scale if args.model == "hpc_benchmark" else args.n_scaling,
               "ranks": comm.Get_size(), "threads": args.threads, "t_sim": args.t_sim, "synapses": syn,
               "peak_total": sum(p["peak"] for p in parts), "build_peak_total": sum(p["build_peak"] for p in parts),
               "peak_bytes_per_synapse": sum(p["peak"] for p in parts) / syn,
               "command": "mpiexec -n %d python %s" % (comm.Get_size(), " ".join(sys.argv)), "ranks_detail": parts}
        text = json.dumps(out, indent=1)
        print(text)
        if args.json_out:
            with open(args.json_out, "w") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
