"""Cost of a checkpoint and of a resume, for issue 14's targets (run under mpiexec).

    mpiexec -n 2 python benchmarks/checkpoint_cost.py save --n-scaling 1 --t-sim 10000 --dir DIR --json OUT.json
    mpiexec -n 2 python benchmarks/checkpoint_cost.py restore --n-scaling 1 --dir DIR --json OUT.json

``save`` builds PD14 (no recording, like the benchmark runs), simulates --t-sim ms, writes one
checkpoint to DIR/pd14.ckpt.h5 and records: build time, simulate time of the --t-sim ms, the
checkpoint's time (per phase: connectivity checksum, gather on rank 0, file write) and size.
``restore`` (a separate job, as ``parsnn resume`` is) builds the network again and restores the
checkpoint: build time + read time (per phase: checksum, read and check, scatter), compared with
the fresh build of ``save``. Peak memory per rank is reported too. Rank 0 adds to the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

from mpi4py import MPI

from parsnn import registry
from parsnn.cli import build_parser
from parsnn.engine import Simulation
from parsnn.engine.performance import peak_rss_bytes


def _network(n_scaling: float):
    """PD14 exactly as ``parsnn run pd14 --n-scaling N --no-record`` builds it."""
    args = build_parser().parse_args(["run", "pd14", "--n-scaling", str(n_scaling), "--no-record"])
    return registry.get("pd14").from_args(args)


def _max(comm, value: float) -> float:
    """The maximum of ``value`` over the ranks."""
    return comm.allreduce(value, op=MPI.MAX)


def main():
    """Measure, print and (rank 0) write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=("save", "restore"))
    p.add_argument("--n-scaling", type=float, default=1.0)
    p.add_argument("--t-sim", type=float, default=10000.0)
    p.add_argument("--seed", type=int, default=55)
    p.add_argument("--dir", required=True, help="directory of the checkpoint")
    p.add_argument("--json", required=True, help="result file")
    a = p.parse_args()
    comm = MPI.COMM_WORLD
    path = os.path.join(a.dir, "pd14.ckpt.h5")
    res = {}
    if a.phase == "restore":
        with open(a.json) as f:
            res = json.load(f)
    else:
        res = {"n_scaling": a.n_scaling, "t_sim_ms": a.t_sim, "ranks": comm.Get_size(), "seed": a.seed,
               "machine": platform.node(), "cpu_count": os.cpu_count()}
        _save(comm, a, path, res)
    if a.phase == "restore":
        _restore(comm, a, path, res)
    if comm.Get_rank() == 0:
        print(json.dumps(res, indent=1))
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


def _save(comm, a, path: str, res: dict):
    """Build, simulate, checkpoint; the figures into ``res``."""

    sim = Simulation(_network(a.n_scaling), seed=a.seed, comm=comm, keep_spikes=False)
    sim.build()
    res["fresh_build_s"] = _max(comm, sim.build_seconds)
    res["num_neurons"], res["num_synapses"] = int(sim.num_nodes), int(sim.num_synapses)
    sim.run(a.t_sim)
    res["simulate_s"] = _max(comm, sim.simulate_seconds)
    t0 = time.perf_counter()
    sim.checkpoint(path)
    res["checkpoint_s"] = _max(comm, time.perf_counter() - t0)
    res["checkpoint_phases_s"] = {k: _max(comm, v) for k, v in sim.checkpoint_phases.items()}
    res["checkpoint_without_checksum_s"] = res["checkpoint_s"] - res["checkpoint_phases_s"]["checksum"]
    res["peak_rss_after_checkpoint_bytes"] = comm.gather(peak_rss_bytes(), root=0)
    if comm.Get_rank() == 0:
        size = os.path.getsize(path)
        res["checkpoint_bytes"] = size
        res["checkpoint_bytes_per_neuron"] = size / sim.num_nodes
        res["ring_slots"] = int(sim.st.D)
        res["checkpoint_over_simulate"] = res["checkpoint_s"] / res["simulate_s"]
        res["checkpoint_without_checksum_over_simulate"] = res["checkpoint_without_checksum_s"] / res["simulate_s"]


def _restore(comm, a, path: str, res: dict):
    """Build again and restore; the figures into ``res``."""
    resumed = Simulation(_network(a.n_scaling), seed=a.seed, comm=comm, keep_spikes=False)
    resumed.build()
    res["resume_build_s"] = _max(comm, resumed.build_seconds)
    t0 = time.perf_counter()
    resumed.restore(path)
    res["restore_s"] = _max(comm, time.perf_counter() - t0)
    res["restore_phases_s"] = {k: _max(comm, v) for k, v in resumed.restore_phases.items()}
    res["peak_rss_after_restore_bytes"] = comm.gather(peak_rss_bytes(), root=0)
    if comm.Get_rank() == 0:
        res["resume_over_fresh_build"] = (res["resume_build_s"] + res["restore_s"]) / res["fresh_build_s"]


if __name__ == "__main__":
    main()
