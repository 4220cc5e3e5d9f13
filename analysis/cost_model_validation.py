#!/usr/bin/env python
"""Calibrate and validate the communication cost model (parsnn.mapping.cluster) on this machine,
and predict PD14's strong scaling on a cluster.

    python analysis/cost_model_validation.py validate --force   # PD14 and Brunel on 1-4 ranks (+ noisebench)
    python analysis/cost_model_validation.py calibrate --force --reuse-validation   # constants, same batch
    python analysis/cost_model_validation.py validate    # predicted vs measured (no new runs)
    python analysis/cost_model_validation.py curve       # PD14 full scale, 1..1024 ranks: JSON + PNG
    python analysis/cost_model_validation.py report      # analysis/results/cost_model_report.md from the saved JSON
    mpiexec -n P python analysis/cost_model_validation.py worker --model pd14 ...   (used by the above)

Every measurement waits until the machine is quiet (other processes busy < 0.2 cores over 2 s, and no
other parsnn/nest/mpiexec process) and is short (about 20 s at most). Results go to
analysis/results/cost_model_*.{json,md,png}.

Calibration (this machine's constants; machines/this_machine.toml records them):
- ``mpibench``: analysis/cost_model_mpibench.c with the mpich wheel's mpicc, 2 ranks: ping-pong,
  Isend burst, Alltoall of one int, Alltoallv, and libc qsort per comparison;
- ``null``: a network whose 2 neurons never fire, min delay 1 step, 20,000 intervals, on 1 and 2
  ranks: the fixed cost per interval of each phase (Python calls and timers) and, from the 2-rank
  run minus the MPI costs of mpibench, the mpi4py call overhead per collective;
- PD14 n_scaling 0.1 on 1 rank (DC and Poisson background), Brunel (regime A, scale 0.5) on 1 rank,
  and 10,000 neurons without input ('delta': iaf_psc_delta; 'expscalar': iaf_psc_exp with one I_e
  per neuron): update cost per neuron step of the vectorized and the scalar iaf_psc_exp kernel, of
  iaf_psc_delta and per Poisson input;
- the delivery cost per received spike ('spikes': one synapse per spike) and per synaptic event by
  where the ring entry lives (L2 / L3 / memory prefetched / memory not prefetched): Brunel and PD14
  0.1 on 1 rank, 'shortrows' (rows of 64 synapses, shorter than the 128-synapse prefetch distance,
  into a 160 MB ring) on 1 rank, and full-scale PD14 on 2 ranks (run in the batch, 1 s, ~3.2 GB;
  or benchmarks/results/pd14_full.json);
- ``noisebench``: analysis/cost_model_noisebench.c, 2 ranks doing identical fixed work per interval:
  machine noise (the wait for the slower rank) without the simulator, interleaved with the
  validation repeats.

Validation runs are PD14 n_scaling 0.1 and Brunel on 1, 2, 3 and 4 ranks (1 s model time), predicted
with the spike rates each run measured; 1 rank is in-sample for the compute constants, 2 ranks
out-of-sample, 3 and 4 ranks oversubscribe the 2 cores.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
RUNS = os.path.join(RESULTS, "cost_model_runs")
CALIB = os.path.join(RESULTS, "cost_model_calibration.json")
VALID = os.path.join(RESULTS, "cost_model_validation.json")
CURVE = os.path.join(RESULTS, "cost_model_pd14_strong_scaling.json")
BIN = os.path.dirname(sys.executable)
MPIEXEC = os.path.join(BIN, "mpiexec")

PD14 = {"model": "pd14", "n_scaling": 0.1}
BRUNEL = {"model": "brunel", "regime": "A", "scale": 0.5}
SHORTROWS = {"model": "shortrows", "row": 64, "rate": 250.0}
PD14_FULL = {"model": "pd14", "n_scaling": 1.0}


# --------------------------------------------------------------------------- quiet machine

def _foreign_processes() -> list[str]:
    me = {os.getpid(), os.getppid()}
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()[1:]
    busy = []
    for line in out:
        pid, _, args = line.strip().partition(" ")
        if int(pid) in me or "cost_model_validation" in args or "grep" in args:
            continue
        if any(w in args for w in ("parsnn", "nest", "mpiexec", "roofline")):
            busy.append(line.strip()[:120])
    return busy


def _busy_cores(dt=2.0) -> float:
    """Cores kept busy by all processes over the next ``dt`` seconds (/proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return v[0] + v[1] + v[2] + v[5] + v[6]
    a = sample()
    time.sleep(dt)
    return (sample() - a) / os.sysconf("SC_CLK_TCK") / dt


def wait_quiet(max_busy=0.2, poll=10, log=print):
    """Block until other processes keep less than ``max_busy`` cores busy (sampled over 2 s) and no
    other simulator runs. Returns the busy cores measured."""
    while True:
        busy_cores = _busy_cores()
        busy = _foreign_processes()
        if busy_cores < max_busy and not busy:
            return busy_cores
        log(f"[{time.strftime('%H:%M:%S')}] waiting for a quiet machine: {busy_cores:.2f} busy cores, "
            f"{len(busy)} other process(es){': ' + busy[0] if busy else ''}")
        time.sleep(poll)


# --------------------------------------------------------------------------- worker (under mpiexec)

def _build(spec: dict):
    if spec["model"] == "pd14":
        from parsnn.models import pd14
        return pd14.build_network(n_scaling=spec.get("n_scaling", 0.1), k_scaling=1.0, bg=spec.get("bg", "dc"))
    if spec["model"] == "brunel":
        from parsnn.models import brunel
        return brunel.build_network(regime=spec.get("regime", "A"), scale=spec.get("scale", 0.5))
    if spec["model"] == "spikes":
        # many spikes, one synapse each: the per-spike delivery and pack costs
        from parsnn.network import Network, OneToOne
        n = spec.get("neurons", 2000)
        net = Network(0.1, name="spikes")
        net.add_population("S", n, "poisson_source", params={"rate": float(spec.get("rate", 500.0))})
        net.add_population("T", n, "iaf_psc_exp")
        net.connect("S", "T", OneToOne(), weight=1.0, delay=0.1)
        net.record_spikes(["S"])
        net.metadata = {"model": "spikes"}
        return net
    if spec["model"] == "shortrows":
        # rows far shorter than the prefetch distance into a ring far larger than the caches:
        # the memory-bound cost of an event whose ring entry is not prefetched
        from parsnn.network import FixedTotalNumber, Network, Uniform
        n_s, n_t, row = spec.get("sources", 2000), spec.get("targets", 100000), spec.get("row", 16)
        net = Network(0.1, name="shortrows")
        net.add_population("S", n_s, "poisson_source", params={"rate": float(spec.get("rate", 1000.0))})
        net.add_population("T", n_t, "iaf_psc_exp")
        net.connect("S", "T", FixedTotalNumber(n_s * row), weight=1e-3, delay=Uniform(0.1, 10.0))
        net.metadata = {"model": "shortrows"}
        return net
    if spec["model"] in ("delta", "expscalar"):
        # neurons without input (no spikes): the update kernel alone; 'expscalar': iaf_psc_exp with
        # one I_e per neuron, so the engine takes its scalar kernel
        from parsnn.network import Network, OneToOne
        n = spec.get("neurons", 10000)
        net = Network(0.1, name=spec["model"])
        if spec["model"] == "delta":
            net.add_population("A", n, "iaf_psc_delta")
        else:
            net.add_population("A", n, "iaf_psc_exp", params={"I_e": list(np.linspace(0.0, 1.0, n))})
        net.connect("A", "A", OneToOne(), weight=0.0, delay=0.1)
        net.metadata = {"model": spec["model"], "expected_rates": {"A": 0.0}}
        return net
    if spec["model"] == "null":
        from parsnn.network import Network, OneToOne
        net = Network(0.1, name="null")
        net.add_population("A", spec.get("neurons", 2), "iaf_psc_exp")
        net.connect("A", "A", OneToOne(), weight=0.0, delay=0.1)
        net.metadata = {"model": "null", "expected_rates": {"A": 0.0}}
        return net
    raise SystemExit(f"unknown model {spec['model']}")


def worker(spec: dict, t_sim: float, out: str):
    from mpi4py import MPI
    from parsnn.engine import Simulation
    comm = MPI.COMM_WORLD
    net = _build(spec)
    sim = Simulation(net, seed=55, comm=comm, partition=spec.get("partition", "round_robin"), out=None,
                     keep_spikes=True)
    sim.build()
    comm.Barrier()
    t0 = time.perf_counter()
    sim.run(t_sim)
    comm.Barrier()
    wall = time.perf_counter() - t0
    perf = sim.performance()
    st = sim.st
    extra = comm.allgather({"delivered_spikes": int(st.n_delivered_spikes),
                            "intervals": int(-(-sim.t_steps // sim.min_delay_steps))})
    spikes = sim.spikes()
    calls = _mpi4py_call_costs(comm) if spec.get("callbench") else None
    if comm.Get_rank() == 0:
        counts = {k: int(v[0].size) for k, v in spikes.items()}
        res = {"spec": spec, "ranks": comm.Get_size(), "t_sim_ms": t_sim, "wall_s": wall,
               "min_delay_steps": sim.min_delay_steps, "max_delay_steps": sim.max_delay_steps,
               "rank_of": sim.rank_of.tolist(), "spike_counts": counts,
               "rates": {k: c / net.populations[k].size / (t_sim * 1e-3) for k, c in counts.items()},
               "perf": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in perf.items()},
               "delivered_spikes": [e["delivered_spikes"] for e in extra],
               "intervals": extra[0]["intervals"], "description": net.describe(), "mpi4py_calls": calls}
        with open(out, "w") as f:
            json.dump(res, f, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def _mpi4py_call_costs(comm, n=20000) -> dict:
    """Seconds per mpi4py Alltoall(int32 counts) / Alltoallv(empty) on COMM_SELF and on comm."""
    from mpi4py import MPI
    out = {}
    for name, c in (("self", MPI.COMM_SELF), ("world", comm)):
        P = c.Get_size()
        s = np.zeros(P, np.int32)
        r = np.zeros(P, np.int32)
        sb = np.zeros(max(P, 1), np.uint64)
        rb = np.zeros(max(P, 1), np.uint64)
        z = np.zeros(P, np.int32)
        spec_s = [sb, (z, z), MPI.UINT64_T]
        spec_r = [rb, (z, z), MPI.UINT64_T]
        for rep in range(2):
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(n):
                c.Alltoall(s, r)
            a = (time.perf_counter() - t0) / n
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(n):
                c.Alltoallv(spec_s, spec_r)
            v = (time.perf_counter() - t0) / n
        out[name] = {"alltoall_s": a, "alltoallv_s": v}
    return out


# --------------------------------------------------------------------------- running

def _tag(spec, P, t_sim):
    parts = [spec["model"]] + [f"{k}{v}" for k, v in sorted(spec.items()) if k not in ("model", "callbench")]
    parts = [p for p in parts if p != "repeat0"]
    return "_".join(map(str, parts)) + f"_P{P}_T{int(t_sim)}"


def run(spec: dict, P: int, t_sim: float, force=False, log=print, mpiexec_args=()) -> dict:
    os.makedirs(RUNS, exist_ok=True)
    out = os.path.join(RUNS, _tag(spec, P, t_sim) + ".json")
    if os.path.exists(out) and not force:
        with open(out) as f:
            return json.load(f)
    load = wait_quiet(log=log)
    cmd = [MPIEXEC, *mpiexec_args, "-n", str(P), sys.executable, os.path.abspath(__file__), "worker",
           "--spec", json.dumps(spec), "--t-sim", str(t_sim), "--out", out]
    log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: {spec} on {P} rank(s), {t_sim:g} ms")
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed: {p.stderr[-3000:]}")
    with open(out) as f:
        res = json.load(f)
    res["busy_cores_before"] = load
    res["started"] = _dt.datetime.now().isoformat(timespec="seconds")
    res["process_seconds"] = time.time() - t0
    res["load_after"] = os.getloadavg()[0]
    with open(out, "w") as f:
        json.dump(res, f)
    return res


def mpibench(force=False, log=print) -> dict:
    os.makedirs(RUNS, exist_ok=True)
    out = os.path.join(RUNS, "mpibench_P2.json")
    if os.path.exists(out) and not force:
        with open(out) as f:
            return json.load(f)
    exe = os.path.join(RUNS, "cost_model_mpibench")
    subprocess.run([os.path.join(BIN, "mpicc"), "-O2", "-o", exe, os.path.join(HERE, "cost_model_mpibench.c"),
                    "-lm"], check=True)
    load = wait_quiet(log=log)
    log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: mpibench on 2 ranks")
    p = subprocess.run([MPIEXEC, "-n", "2", exe, "20000"], capture_output=True, text=True, check=True, timeout=300)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["started"] = _dt.datetime.now().isoformat(timespec="seconds")
    with open(out, "w") as f:
        json.dump(res, f)
    os.remove(exe)
    return res


NOISE_CONFIGS = {
    # two ranks, identical fixed work per interval (compute loop + row scatter, as update + deliver),
    # then MPI_Alltoall: a ~3 ms interval (about half compute, half memory-bound scatter) and a ~17 us one
    "long": ["1500", "1690", "643000", "312", "0.8", "20"],
    "short": ["20000", "3.7", "6360", "1950", "7", "150"],
}


NOISE_FILE = os.path.join(RUNS, "noisebench_P2.json")


def noisebench(launches=8, force=False, log=print, append=False, tag="") -> list[dict]:
    """analysis/cost_model_noisebench.c on 2 ranks, ``launches`` fresh launches of each configuration
    (alternating): machine noise without the simulator. ``append``: add the launches to the saved
    ones (validate interleaves them with its repeats)."""
    os.makedirs(RUNS, exist_ok=True)
    out = NOISE_FILE
    if os.path.exists(out) and not force and not append:
        with open(out) as f:
            return json.load(f)
    exe = os.path.join(RUNS, "cost_model_noisebench")
    subprocess.run([os.path.join(BIN, "mpicc"), "-O2", "-o", exe, os.path.join(HERE, "cost_model_noisebench.c"),
                    "-lm"], check=True)
    res = []
    if append and os.path.exists(out):
        with open(out) as f:
            res = json.load(f)
    for k in range(launches):
        for name, args in NOISE_CONFIGS.items():
            load = wait_quiet(log=log)
            log(f"[{time.strftime('%H:%M:%S')}] {load:.2f} busy cores before: noisebench {name} #{k} on 2 ranks")
            p = subprocess.run([MPIEXEC, "-n", "2", exe, *args], capture_output=True, text=True, check=True,
                               timeout=300)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.update(config=name, launch=k, started=_dt.datetime.now().isoformat(timespec="seconds"),
                     busy_cores_before=load, tag=tag)
            res.append(r)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    os.remove(exe)
    return res


def noise_constants(nb: list[dict]) -> dict:
    """sigma_rel and sigma_us from the noisebench launches: the mean wait of a rank in the Alltoall
    above the Alltoall alone is E[max of the 2 ranks' work] - mean = e(2) sigma; sigma^2 =
    (sigma_rel busy)^2 + sigma_us^2 through the long and the short configuration."""
    from parsnn.mapping.cluster import expected_max_normal
    e2 = expected_max_normal(2)
    per = {}
    for r in nb:
        pr = r["per_rank"]
        busy = float(np.mean([q["compute_us"] + q["scatter_us"] for q in pr]))
        wait = float(np.mean([q["alltoall_us"] for q in pr])) - r["alltoall_alone_us"]
        per.setdefault(r["config"], []).append({"busy_us": busy, "wait_us": wait,
                                                "rank_ratio": pr[0]["scatter_us"] / pr[1]["scatter_us"]})
    out = {"e2": e2, "launches": per}
    sig = {}
    for name, v in per.items():
        b = float(np.mean([x["busy_us"] for x in v]))
        w = max(0.0, float(np.mean([x["wait_us"] for x in v])))
        sig[name] = (b, w / e2)
        out[name] = {"busy_us": b, "wait_us_mean": w, "wait_us_range": [float(min(x["wait_us"] for x in v)),
                                                                        float(max(x["wait_us"] for x in v))],
                     "sigma_us": w / e2}
    (bl, sl), (bs, ss) = sig["long"], sig["short"]
    rel2 = max(0.0, (sl ** 2 - ss ** 2) / (bl ** 2 - bs ** 2))
    out["sigma_rel"] = float(math.sqrt(rel2))
    out["sigma_us"] = float(math.sqrt(max(0.0, ss ** 2 - rel2 * bs ** 2)))
    return out


# --------------------------------------------------------------------------- calibration

def _per_rank(res, key):
    return np.asarray(res["perf"][key], dtype=float)


def _measured_rates(res):
    return res["rates"]


def _mean_runs(rs: list[dict]) -> dict:
    """One run record whose timers are the means of the given repeats (same configuration)."""
    out = json.loads(json.dumps(rs[0]))
    for k in ("timer_update", "timer_deliver", "timer_exchange", "timer_record", "simulate_seconds"):
        out["perf"][k] = np.mean([r["perf"][k] for r in rs], axis=0).tolist()
    out["perf"]["rtf"] = float(np.mean([r["perf"]["rtf"] for r in rs]))
    out["repeats"] = [r.get("started") for r in rs]
    return out


class _ThisMachineCaches:
    """This machine's caches as written into this_machine.toml (lscpu)."""
    def cache_levels(self):
        return 1024 * 1024.0, (1024 + 16 * 1024) * 1024.0


def _ws_fractions(machine, ring_bytes):
    l2, l23 = machine.cache_levels()
    ws = max(float(ring_bytes), 1.0)
    f2 = min(1.0, l2 / ws)
    f3 = min(1.0, l23 / ws) - f2
    return f2, f3, 1.0 - f2 - f3


def _ring_ws(desc_or_net, P, rank_of=None, rates=None, m=None):
    """Ring bytes written per interval on the busiest rank, as the model computes them."""
    from parsnn.mapping import cluster
    wl = cluster.workload(desc_or_net, P, rank_of if rank_of is not None else "round_robin", rates=rates)
    mm = wl["min_delay_steps"] if m is None else m
    slots = min(wl["max_delay_steps"] + 1, mm + wl["max_delay_steps"] - wl["min_synaptic_delay_steps"])
    return float(cluster.RING_BYTES_PER_NEURON_SLOT * slots * wl["ring_neurons"].max()), wl


def calibrate(force=False, log=print, full_scale=True, reuse_validation=False) -> dict:
    """Run the calibration set, derive this machine's constants and write this_machine.toml.

    ``full_scale``: run full-scale PD14 on 2 ranks (1 s, ~3.2 GB, ~30 s) in the batch for the
    memory-bound event cost; otherwise take the benchmark harness's run (benchmarks/results/
    pd14_full.json), measured at another time (this VM's speed drifts by up to 30 %).
    ``reuse_validation``: take the 1-rank PD14 and Brunel runs and the noisebench launches from the
    last ``validate --force`` (which interleaves them with the multi-rank runs) instead of re-running
    them, so that constants and validation runs come from the same minutes."""
    rforce = force and not reuse_validation
    from parsnn.mapping import cluster
    mb = mpibench(force, log)
    null1 = run({"model": "null", "callbench": True}, 1, 2000.0, force, log)
    null2 = run({"model": "null", "callbench": True}, 2, 2000.0, force, log)
    spk1 = run({"model": "spikes"}, 1, 1000.0, force, log)
    dl1 = run({"model": "delta"}, 1, 1000.0, force, log)
    xs1 = run({"model": "expscalar"}, 1, 1000.0, force, log)
    # the 1-rank runs of PD14 and Brunel: the mean of the validation repeats (this VM's speed varies by
    # up to ~30 % from run to run, so one run is not enough); 1 rank is in-sample for the compute constants
    pd1 = _mean_runs([run(PD14 if k == 0 else {**PD14, "repeat": k}, 1, 1000.0, rforce, log) for k in range(3)])
    pdp = run({**PD14, "bg": "poisson"}, 1, 300.0, force, log)
    br1 = _mean_runs([run(BRUNEL if k == 0 else {**BRUNEL, "repeat": k}, 1, 1000.0, rforce, log) for k in range(3)])
    pd3 = run(PD14, 3, 1000.0, force, log)
    sr1 = _mean_runs([run({**SHORTROWS, "repeat": k} if k else SHORTROWS, 1, 300.0, force, log) for k in range(3)])
    nb = noisebench(force=rforce, log=log)

    c = {"date": _dt.date.today().isoformat(), "mpibench": mb}
    # -- MPI (C level, 2 ranks): shm link and the collectives' fixed costs
    c["shm_overhead_us"] = mb["isend_burst_us_per_msg"]
    c["shm_latency_us"] = mb["pingpong_half_rtt_us"] - mb["isend_burst_us_per_msg"]
    c["alltoall_fixed_us"] = mb["alltoall_int_us"] - (c["shm_latency_us"] + 2 * c["shm_overhead_us"])
    c["alltoallv_fixed_us"] = mb["alltoallv_empty_us"]
    c["compare_ns"] = mb["qsort_ns_per_compare"]
    # -- per-interval fixed costs (null network: no spikes, m = 1)
    for tag, res in (("null1", null1), ("null2", null2)):
        for ph in ("update", "deliver", "exchange"):
            c[f"{tag}_{ph}_us"] = float(_per_rank(res, f"timer_{ph}").mean() / res["intervals"] * 1e6)
    calls = null2["mpi4py_calls"]
    c["mpi4py_calls_us"] = {k: {kk: vv * 1e6 for kk, vv in v.items()} for k, v in calls.items()}
    # Python + mpi4py cost of one collective call above the C library's cost of the same call
    c["collective_call_us"] = 0.5 * ((calls["world"]["alltoall_s"] * 1e6 - mb["alltoall_int_us"])
                                     + (calls["world"]["alltoallv_s"] * 1e6 - mb["alltoallv_empty_us"]))
    o_upd, o_del = c["null1_update_us"] * 1e-6, c["null1_deliver_us"] * 1e-6

    def nsteps(res):
        return res["t_sim_ms"] / 0.1

    def n_local(res, pop=None):
        if pop is None:
            return float(np.sum(res["perf"]["num_local_neurons"]))
        return float(next(p["size"] for p in res["description"]["populations"] if p["name"] == pop))

    # -- update: iaf_psc_exp (PD14, DC), Poisson input (PD14, Poisson background), poisson_source
    #    (spikes network), iaf_psc_delta (Brunel: one Poisson input per neuron)
    upd_exp = (pd1["perf"]["timer_update"][0] - o_upd * pd1["intervals"]) / (n_local(pd1) * nsteps(pd1))
    upd_pois = (pdp["perf"]["timer_update"][0] - o_upd * pdp["intervals"]) / (n_local(pdp) * nsteps(pdp))
    upd_src = ((spk1["perf"]["timer_update"][0] - o_upd * spk1["intervals"]) / nsteps(spk1)
               - n_local(spk1, "T") * upd_exp) / n_local(spk1, "S")
    upd_br = (br1["perf"]["timer_update"][0] - o_upd * br1["intervals"]) / (n_local(br1) * nsteps(br1))
    # the kernels alone (neurons without input): iaf_psc_delta and the scalar iaf_psc_exp; the
    # Poisson input from Brunel (one input per neuron, lambda = 2 per step) minus the delta kernel;
    # PD14 with Poisson background (scalar exp kernel + one input, lambda 0.8-1.3) is the check
    upd_delta = (dl1["perf"]["timer_update"][0] - o_upd * dl1["intervals"]) / (n_local(dl1) * nsteps(dl1))
    upd_xs = (xs1["perf"]["timer_update"][0] - o_upd * xs1["intervals"]) / (n_local(xs1) * nsteps(xs1))
    c_pois = upd_br - upd_delta
    c.update(update_ns_iaf_psc_exp=upd_exp * 1e9, poisson_input_ns=c_pois * 1e9,
             update_ns_poisson_source=upd_src * 1e9, update_ns_iaf_psc_delta=upd_delta * 1e9,
             update_ns_iaf_psc_exp_scalar=upd_xs * 1e9,
             poisson_input_ns_pd14_check=(upd_pois - upd_xs) * 1e9)
    # -- exchange phase on 1 rank = fixed per interval + per spike copy packed: PD14 0.1 (few spikes,
    #    m = 1) and Brunel A 0.5 (2,000 spikes per interval) give both
    S_spk = float(np.sum(spk1["delivered_spikes"]))
    A = [[pd1["intervals"], float(np.sum(pd1["delivered_spikes"]))],
         [br1["intervals"], float(np.sum(br1["delivered_spikes"]))]]
    o_x, c_pack = np.linalg.solve(np.array(A), np.array([pd1["perf"]["timer_exchange"][0],
                                                         br1["perf"]["timer_exchange"][0]]))
    c["exchange_us"], c["pack_ns"] = o_x * 1e6, c_pack * 1e9
    c["pack_ns_spikes_network"] = ((spk1["perf"]["timer_exchange"][0] / spk1["intervals"]
                                    - c["null1_exchange_us"] * 1e-6) / (S_spk / spk1["intervals"]) * 1e9)
    # -- per received spike ('spikes' network: one synapse per spike, tiny cached rows, presorted)
    #    and per synaptic event by working set (L2 / L3 / memory): solved together, iterating twice
    # (the synapses of one row are prefetched 128 ahead: each run's unprefetched share u of its events
    #  splits the memory-served fraction into memory_no_prefetch (u) and memory (1 - u); the 'shortrows'
    #  network, rows of 64 synapses into a 160 MB ring, gives the unprefetched cost)
    m_tmp = _ThisMachineCaches()
    full = _full_scale_in_batch(run(PD14_FULL, 2, 1000.0, force, log)) if full_scale else _full_scale_run()
    c2 = 1.5e-9
    for _ in range(3):
        c_spk = (spk1["perf"]["timer_deliver"][0] - o_del * spk1["intervals"]) / S_spk - c2
        rows, rhs, info = [], [], []
        for tag, res in (("brunel_P1", br1), ("pd14_P1", pd1), ("shortrows_P1", sr1)):
            ws, wl = _ring_ws(res["description"], 1, np.asarray(res["rank_of"]), res["rates"])
            u = float(wl["events_unprefetched_per_s"][0] / wl["events_per_s"][0])
            E = float(np.sum(res["perf"]["synaptic_events"]))
            S = float(np.sum(res["delivered_spikes"]))
            d = res["perf"]["timer_deliver"][0] - o_del * res["intervals"] - S * c_spk
            f2, f3, fm = _ws_fractions(m_tmp, ws)
            rows.append((f2, f3, fm * (1 - u), fm * u))
            rhs.append(d / E)
            info.append({"run": tag, "ring_bytes_per_interval": ws, "ns_per_event": d / E * 1e9,
                         "fractions_l2_l3_mem_memnopf": rows[-1], "unprefetched": u})
        if full is not None:
            from parsnn.models import pd14
            ws, wl = _ring_ws(pd14.build_network(n_scaling=1.0, record=False), full["ranks"])
            u = float(wl["events_unprefetched_per_s"].sum() / wl["events_per_s"].sum())
            E = full["synaptic_events"] / full["ranks"]
            # spikes received per rank (counted, or: every spike reaches both ranks)
            S = full.get("spikes_in_per_rank", 2.5e5 * full["t_sim_ms"] * 1e-3)
            d = float(np.mean(full["timers"]["timer_deliver"])) - o_del * full.get("intervals", 0) - S * c_spk
            f2, f3, fm = _ws_fractions(m_tmp, ws)
            rows.append((f2, f3, fm * (1 - u), fm * u))
            rhs.append(d / E)
            info.append({"run": f"pd14_full_P{full['ranks']} ({full.get('source')}, "
                                f"{full.get('started')}, {full['t_sim_ms']:g} ms)",
                         "ring_bytes_per_interval": ws, "ns_per_event": d / E * 1e9,
                         "fractions_l2_l3_mem_memnopf": rows[-1], "unprefetched": u})
            c2, c3, cm, cn = np.linalg.solve(np.array(rows), np.array(rhs))
        else:
            A = np.array(rows)
            c2, c3, cn = np.linalg.solve(np.column_stack([A[:, 0], A[:, 1], A[:, 2] + A[:, 3]]), np.array(rhs))
            cm = cn
    c["spike_ns"] = c_spk * 1e9
    c["event_fit"] = info
    c["event_ns_memory_no_prefetch"] = cn * 1e9
    # recording: the record timer per recorded spike, Brunel A 0.5 on 1 rank (every neuron is recorded
    # and has targets, so the spikes delivered on 1 rank are the spikes recorded)
    c["record_ns"] = float(_per_rank(br1, "timer_record")[0] / float(np.sum(br1["delivered_spikes"])) * 1e9)
    c.update(event_ns_l2=c2 * 1e9, event_ns_l3=c3 * 1e9, event_ns_memory=cm * 1e9)
    c["calibration_runs"] = {k: _run_summary(v) for k, v in
                             (("null_P1", null1), ("null_P2", null2), ("spikes_P1", spk1), ("pd14_P1", pd1),
                              ("pd14_poisson_P1", pdp), ("brunel_P1", br1), ("pd14_P3", pd3),
                              ("shortrows_P1", sr1))}
    c["roofline"] = _roofline()
    # -- machine noise: noisebench (two ranks, identical fixed work per interval, no simulator)
    c["noise_fit"] = noise_constants(nb)
    c["sigma_rel"], c["sigma_us"] = c["noise_fit"]["sigma_rel"], c["noise_fit"]["sigma_us"]
    write_machine_toml(c, yield_us=0.0)
    # -- oversubscription: the spin before MPICH yields, from PD14 on 3 ranks (one number)
    pred, _ = predict_run(pd3)
    meas = pd3["perf"]["rtf"] * 1e-3 * pd3["min_delay_steps"] * 0.1      # wall seconds per interval
    extra = -(-pd3["ranks"] // cluster.load_machine("this_machine").cores) - 1   # on the most crowded core
    c["yield_us"] = max(0.0, (meas - pred["critical_path_s"]) * 1e6 / extra)
    write_machine_toml(c, yield_us=c["yield_us"])
    os.makedirs(RESULTS, exist_ok=True)
    with open(CALIB, "w") as f:
        json.dump(c, f, indent=1)
    log(json.dumps({k: v for k, v in c.items() if not isinstance(v, (dict, list))}, indent=1))
    return c


def _full_scale_in_batch(res):
    """The full-scale 2-rank calibration run in the form of a benchmark record."""
    return {"ranks": res["ranks"], "synaptic_events": float(np.sum(res["perf"]["synaptic_events"])),
            "timers": {"timer_deliver": res["perf"]["timer_deliver"]}, "t_sim_ms": res["t_sim_ms"],
            "intervals": res["intervals"], "spikes_in_per_rank": float(np.mean(res["delivered_spikes"])),
            "started": res.get("started"), "rtf": res["perf"]["rtf"],
            "source": "analysis/results/cost_model_runs/" + _tag(res["spec"], res["ranks"], res["t_sim_ms"]) + ".json"}


def _full_scale_run():
    path = os.path.join(ROOT, "benchmarks", "results", "pd14_full.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        d = json.load(f)
    # undisturbed runs only (the harness records other processes' CPU use as foreign_cores)
    runs = [r for r in d.get("runs", []) if r.get("simulator") == "parsnn" and r.get("ok") and "timers" in r
            and r.get("foreign_cores", 0.0) < 0.1]
    if not runs:
        return None
    r = dict(sorted(runs, key=lambda x: x["rtf"])[(len(runs) - 1) // 2])
    r["source"] = "benchmarks/results/pd14_full.json"
    return r


TOML_TEMPLATE = """# This machine, measured. Written by `python analysis/cost_model_validation.py calibrate` on {date}
# (git {git}); raw runs in analysis/results/cost_model_runs/, derivation in
# analysis/results/cost_model_calibration.json. Every run waited for a quiet machine (other processes < 0.2
# busy cores over 2 s, no other parsnn/nest/mpiexec process).
[machine]
name = "this_machine"
description = "2-core KVM guest, AMD EPYC family 26 model 2 (Zen 5), ~4.2 GHz, 24 GiB, mpich 5.0.2 wheel"
cores_per_node = 2
nodes = 1
# lscpu: L2 2 MiB (2 instances), L3 32 MiB (1 instance)
l2_kib_per_core = 1024
l3_mib_per_group = 32
cores_per_l3 = 2
clock_ghz = 4.2

[compute]
# ns per neuron and step, from 1-rank runs (timer_update minus the null network's per-interval cost):
#   iaf_psc_exp (the vectorized kernel: one parameter set, no Poisson input devices): PD14 n_scaling
#   0.1, DC drive, 1 s (mean of 3 runs; this VM's speed varies by up to 30 % between runs);
#   iaf_psc_exp_scalar (the scalar kernel, for the other iaf_psc_exp populations) and iaf_psc_delta:
#   10,000 neurons without input, 1 s; poisson_source: 2,000 sources at 500/s ('spikes' network), 1 s
update_ns = {{ iaf_psc_exp = {update_ns_iaf_psc_exp:.3f}, iaf_psc_exp_scalar = {update_ns_iaf_psc_exp_scalar:.3f}, iaf_psc_delta = {update_ns_iaf_psc_delta:.3f}, poisson_source = {update_ns_poisson_source:.3f} }}
# ns per neuron, step and Poisson input device: Brunel A 0.5 (1 rank, mean of 3; one input per neuron,
# lambda = 2 per step) minus the iaf_psc_delta kernel; check: PD14 n_scaling 0.1 with Poisson background
# (lambda 0.8-1.3) minus the scalar iaf_psc_exp kernel gives {poisson_input_ns_pd14_check:.3f}
poisson_input_ns = {poisson_input_ns:.3f}
# ns per synaptic event by where the ring-buffer slots of one interval live (L2 / L3 / memory):
# equations from Brunel A 0.5 (1 rank), PD14 0.1 (1 rank) and PD14 full scale on 2 ranks, deliver
# timer minus per-interval and per-spike costs; full scale: {full_source}
# memory: the entry was prefetched (the engine prefetches 128 synapses ahead within a row);
# memory_no_prefetch: the first 128 synapses of a row ('shortrows' network, 1 rank: rows of 64 synapses
# into a 160 MB ring, mean of 3 runs; a fourth equation)
event_ns = {{ l2 = {event_ns_l2:.3f}, l3 = {event_ns_l3:.3f}, memory = {event_ns_memory:.3f}, memory_no_prefetch = {event_ns_memory_no_prefetch:.3f} }}
# ns per received spike: row lookup and loop setup ('spikes' network: one synapse per spike)
spike_ns = {spike_ns:.3f}
# ns per comparison of libc qsort on uint64 (analysis/cost_model_mpibench.c), times log2 of the sorted runs
compare_ns = {compare_ns:.3f}
# ns per spike word packed: exchange timer on 1 rank = fixed + copies x pack_ns, solved from PD14 0.1 and
# Brunel A 0.5 (the small 'spikes' network, all in L1/L2, gives {pack_ns_spikes_network:.2f} ns)
pack_ns = {pack_ns:.3f}
# ns per recorded spike on rank 0 (gather, sort, HDF5 write): Brunel A 0.5, 1 rank, record timer / spikes
record_ns = {record_ns:.3f}
# ns per peer rank per interval for the O(P) loops (pack, displacements, MPICH's alltoallv loop): assumed
peer_ns = 2.0
# ns for the first cache miss of a synapse row when the rank's synapses exceed its caches: assumed
# (one DRAM latency; the three arrays of a row miss in parallel)
row_miss_ns = 100.0

[overhead]
# us per interval: null network (2 neurons that never fire, min delay 0.1 ms, 20,000 intervals, 1 rank)
update_us = {null1_update_us:.3f}
deliver_us = {null1_deliver_us:.3f}
# exchange phase on 1 rank (pack call, copy, timers) in real runs: with pack_ns, from PD14 0.1 and Brunel A 0.5
exchange_us = {exchange_us:.3f}
# Python + mpi4py per collective call on top of the C library's cost (mpi4py loop minus mpibench, 2 ranks)
collective_call_us = {collective_call_us:.3f}

[network.shm]
# mpibench (C, 2 ranks): overhead = time per message of a burst of 64 Isend; latency = half
# ping-pong round trip ({pp:.3f} us) minus that overhead
latency_us = {shm_latency_us:.3f}
overhead_us = {shm_overhead_us:.3f}
bandwidth_gbs = 10.0

[network.inter]
# this machine has one node: placeholders (a gigabit-Ethernet-like network), never used here
latency_us = 30.0
overhead_us = 2.0
bandwidth_gbs = 0.125

[collectives]
# MPICH defaults (mpivars): Bruck's alltoall for <= 256 B per rank and >= 8 ranks; alltoallv
# 'scattered' with MPIR_CVAR_ALLTOALL_THROTTLE = 32 requests in flight
alltoall_bruck_min_ranks = 8
alltoallv_throttle = 32
# mpibench: MPI_Alltoall of one int on 2 ranks ({a2a:.3f} us) minus latency + 2 overheads
alltoall_fixed_us = {alltoall_fixed_us:.3f}
# mpibench: MPI_Alltoallv with all counts 0 on 2 ranks
alltoallv_fixed_us = {alltoallv_fixed_us:.3f}
# Bruck's per-round datatype pack/unpack: assumed (not measurable on 2 ranks)
bruck_round_us = 0.3
bruck_block_ns = 2.0

[oversubscription]
cores = 2
# us per interval and extra rank on the most crowded core: a waiting rank spins before MPICH yields the core
# (MPIR_CVAR_POLLS_BEFORE_YIELD = 1000), then the switch; fitted so that PD14 0.1 on 3 ranks matches its
# measured wall time (the one number fitted on a validation-type run; PD14 on 4 and Brunel on 3-4 check it)
yield_us = {yield_us:.3f}

[noise]
# machine noise, measured without the simulator: analysis/cost_model_noisebench.c, two ranks doing
# identical fixed work per interval (compute loop + row scatter) then MPI_Alltoall; the mean wait in
# the Alltoall is e(2) sigma; sigma^2 = (sigma_rel busy)^2 + sigma_us^2 through a ~3 ms interval
# (wait {nb_long_wait:.1f} us, launches {nb_long_lo:.1f}-{nb_long_hi:.1f}) and a ~17 us interval
# (wait {nb_short_wait:.2f} us, launches {nb_short_lo:.2f}-{nb_short_hi:.2f}), {nb_launches} launches each
sigma_rel = {sigma_rel:.4f}
sigma_us = {sigma_us:.3f}

[sources]
calibration = "python analysis/cost_model_validation.py calibrate ({date}); runs in analysis/results/cost_model_runs/"
cpu = "lscpu: AMD EPYC, family 26 model 2, 2 cores, 1 thread per core, KVM; clock ~4.2 GHz from a dependent-add loop"
mpi = "mpich 5.0.2 wheel (ch4:ucx/ofi, shared memory within the node); defaults from mpivars"
"""


def write_machine_toml(c: dict, yield_us: float):
    import parsnn
    path = os.path.join(os.path.dirname(parsnn.__file__), "mapping", "machines", "this_machine.toml")
    try:
        git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        if subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "parsnn",
                           "cython", "analysis/cost_model_validation.py"], capture_output=True,
                          text=True).stdout.strip():
            git += " with uncommitted changes"
    except OSError:
        git = "?"
    mb = c["mpibench"]
    nf = c["noise_fit"]
    nbk = {"nb_long_wait": nf["long"]["wait_us_mean"], "nb_long_lo": nf["long"]["wait_us_range"][0],
           "nb_long_hi": nf["long"]["wait_us_range"][1], "nb_short_wait": nf["short"]["wait_us_mean"],
           "nb_short_lo": nf["short"]["wait_us_range"][0], "nb_short_hi": nf["short"]["wait_us_range"][1],
           "nb_launches": len(nf["launches"]["long"])}
    nbk["full_source"] = next((f["run"] for f in c.get("event_fit", []) if f["run"].startswith("pd14_full")),
                              "not available")
    text = TOML_TEMPLATE.format(**{**c, **nbk, "yield_us": yield_us, "git": git, "pp": mb["pingpong_half_rtt_us"],
                                   "a2a": mb["alltoall_int_us"]})
    with open(path, "w") as f:
        f.write(text)


def _run_summary(res):
    return {"ranks": res["ranks"], "t_sim_ms": res["t_sim_ms"], "started": res.get("started"),
            "busy_cores_before": res.get("busy_cores_before"), "timers": {ph: res["perf"][f"timer_{ph}"] for ph in
                                                             ("update", "exchange", "deliver", "record")},
            "synaptic_events": res["perf"]["synaptic_events"], "delivered_spikes": res["delivered_spikes"],
            "intervals": res["intervals"], "rates": res["rates"], "rtf": res["perf"]["rtf"]}


def _roofline():
    path = os.path.join(ROOT, "benchmarks", "results", "roofline.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        d = json.load(f)
    return {k: d[k] for k in d if k.startswith(("ns_", "rtf_min")) or k == "procs"}


# --------------------------------------------------------------------------- validation

def predict_run(res: dict, machine="this_machine") -> dict:
    """Model prediction for a measured run: same description, partition map and measured rates."""
    from parsnn.mapping import cluster
    P = res["ranks"]
    desc = res["description"]
    if "spike_recorder" not in desc:
        # runs saved before descriptions listed the recorded populations: rebuild the description
        rec = _build(res["spec"]).spike_recorder
        desc = {**desc, "spike_recorder": list(rec.populations) if rec else []}
    rank_of = np.asarray(res["rank_of"])
    wl = cluster.workload(desc, P, rank_of, rates=res["rates"], min_delay_steps=res["min_delay_steps"])
    return cluster.predict(desc, P, machine, rank_of, rates=res["rates"], wl=wl, t_sim_ms=res["t_sim_ms"]), wl


def compare_run(res: dict, machine="this_machine") -> dict:
    pred, wl = predict_run(res, machine)
    I = res["intervals"]
    row = {"model": res["spec"]["model"], "ranks": res["ranks"], "intervals": I,
           "oversubscribed": pred["oversubscribed"]}
    for ph in ("update", "deliver", "exchange"):
        meas = float(np.mean(res["perf"][f"timer_{ph}"]))
        pr = pred["phases"][ph] * I
        row[f"{ph}_measured_s"] = meas
        row[f"{ph}_predicted_s"] = pr
        row[f"{ph}_error"] = (pr - meas) / meas if meas > 0 else float("nan")
    meas_rtf = float(res["perf"]["rtf"])
    row["rtf_measured"] = meas_rtf
    row["rtf_predicted"] = pred["rtf"]
    row["rtf_error"] = (row["rtf_predicted"] - meas_rtf) / meas_rtf
    # the workload part alone: events and received spikes, predicted vs counted
    T = res["t_sim_ms"] * 1e-3
    row["events_measured"] = float(np.sum(res["perf"]["synaptic_events"]))
    row["events_predicted"] = float(wl["events_per_s"].sum() * T)
    row["spikes_in_measured"] = float(np.sum(res["delivered_spikes"]))
    row["spikes_in_predicted"] = float(wl["spikes_in_per_s"].sum() * T)
    row["remote_measured"] = float(np.sum(res["perf"]["remote_deliveries"]))
    row["remote_predicted"] = float(wl["spikes_to_per_s"].sum() * T)
    row["busy_cores_before"] = res.get("busy_cores_before")
    row["exchange_terms_us"] = {k: (v * 1e6 if isinstance(v, float) else v) for k, v in pred["exchange_terms"].items()
                                if not isinstance(v, dict)}
    return row


def validate(force=False, log=print, ranks=(1, 2, 3, 4), repeats=3, noise_launches=3) -> list[dict]:
    """Every configuration ``repeats`` times (fresh processes, separated in time); the table compares
    the prediction with the mean of the repeats and gives their range. With ``force``, each repeat
    starts with ``noise_launches`` noisebench launches of each configuration."""
    runs = {}
    if force and os.path.exists(NOISE_FILE):
        os.remove(NOISE_FILE)
    for rep in range(repeats):
        if force:
            # machine noise measured in the same minutes as the runs (used by calibrate --reuse-validation)
            noisebench(noise_launches, log=log, append=True, tag=f"validate repeat {rep}")
        for spec in (PD14, BRUNEL):
            for P in ranks:
                sp = spec if rep == 0 else {**spec, "repeat": rep}
                runs.setdefault((spec["model"], P), []).append(run(sp, P, 1000.0, force, log))
    rows = []
    for (model, P), rs in runs.items():
        row = compare_run(rs[0])
        per = [compare_run(r) for r in rs]
        for key in ("update", "deliver", "exchange"):
            vals = [r[f"{key}_measured_s"] for r in per]
            row[f"{key}_measured_s"] = float(np.mean(vals))
            row[f"{key}_measured_range"] = [float(min(vals)), float(max(vals))]
            row[f"{key}_error"] = (row[f"{key}_predicted_s"] - row[f"{key}_measured_s"]) / row[f"{key}_measured_s"]
        vals = [r["rtf_measured"] for r in per]
        row["rtf_measured"] = float(np.mean(vals))
        row["rtf_measured_range"] = [float(min(vals)), float(max(vals))]
        row["rtf_error"] = (row["rtf_predicted"] - row["rtf_measured"]) / row["rtf_measured"]
        row["repeats"] = len(rs)
        rows.append(row)
    os.makedirs(RESULTS, exist_ok=True)
    with open(VALID, "w") as f:
        json.dump(rows, f, indent=1)
    md = format_validation(rows)
    with open(VALID.replace(".json", ".md"), "w") as f:
        f.write(md + "\n")
    log(md)
    return rows


def format_validation(rows) -> str:
    def rng(r, key):
        lo, hi = r.get(f"{key}_range", [None, None])
        return f" ({lo:.3f}-{hi:.3f})" if lo is not None and r.get("repeats", 1) > 1 else ""
    lines = ["Phase timers: seconds per rank (mean over ranks) for 1 s of model time; measured: mean of the "
             "repeats (range); error = predicted / measured - 1.", "",
             "| model | ranks | phase | measured (s) | predicted (s) | error |", "|---|---|---|---|---|---|"]
    for r in rows:
        tag = f"{r['ranks']}{' (oversubscribed)' if r['oversubscribed'] else ''}"
        for ph in ("update", "deliver", "exchange"):
            lines.append(f"| {r['model']} | {tag} | {ph} | {r[f'{ph}_measured_s']:.3f}{rng(r, f'{ph}_measured')} | "
                         f"{r[f'{ph}_predicted_s']:.3f} | {100 * r[f'{ph}_error']:+.0f} % |")
        lines.append(f"| {r['model']} | {tag} | **RTF** | {r['rtf_measured']:.3f}{rng(r, 'rtf_measured')} | "
                     f"{r['rtf_predicted']:.3f} | {100 * r['rtf_error']:+.0f} % |")
    lines += ["", "| model | ranks | events measured | predicted | spikes received measured | predicted | "
                  "remote copies measured | predicted |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['ranks']} | {r['events_measured']:.4g} | {r['events_predicted']:.4g} | "
                     f"{r['spikes_in_measured']:.4g} | {r['spikes_in_predicted']:.4g} | {r['remote_measured']:.4g} | "
                     f"{r['remote_predicted']:.4g} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- large-scale curve

PUBLISHED = [  # ../shared/reference/pd14_published_performance.md
    {"study": "van Albada et al. 2018", "simulator": "NEST (CPU)", "hardware": "2x Xeon E5-2680v3 per node",
     "nodes": 12, "cores": 12 * 24, "rtf": 2.465},
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node (128 cores)",
     "nodes": 1, "cores": 128, "rtf": 0.67},
    {"study": "Kurth et al. 2022", "simulator": "NEST (CPU)", "hardware": "2x AMD EPYC 7702 per node",
     "nodes": 2, "cores": 256, "rtf": 0.53},
]
RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 768, 1024]


def curve(log=print, machines=("jureca_dc", "this_machine")) -> dict:
    from parsnn.mapping import cluster
    from parsnn.models import brunel, pd14
    net = pd14.build_network(n_scaling=1.0, record=False)
    out = {"model": "pd14 full scale, DC drive, expected (reference) rates, round_robin", "curves": {},
           "published": PUBLISHED, "date": _dt.date.today().isoformat()}
    for mname in machines:
        m = cluster.load_machine(mname)
        ranks = [p for p in RANKS if p <= max(m.cores, 1)] if mname == "this_machine" else RANKS
        out["curves"][mname] = cluster.sweep(net, ranks, mname)
        log(f"PD14 full scale on {mname}:\n" + cluster.format_table(out["curves"][mname]))
    # sensitivity to the per-core speed assumption (derived compute/overhead scale)
    for mname in ("jureca_dc",):
        m = cluster.load_machine(mname)
        lo, hi = m.data["derived"]["compute_scale_range"]
        for f in (lo, hi):
            out["curves"][f"{mname}_scale{f:g}"] = cluster.sweep(net, RANKS, _rescaled(mname, f))
    # the van Albada (2018) hardware: 12 nodes of 24 Haswell cores = 288 ranks
    hw = cluster.load_machine("jureca_2015_haswell")
    out["curves"]["jureca_2015_haswell"] = cluster.sweep(net, [24, 48, 96, 144, 192, 288, 384, 768], hw)
    log("PD14 full scale on jureca_2015_haswell:\n" + cluster.format_table(out["curves"]["jureca_2015_haswell"]))
    # the same network with a 1.5 ms min delay (what-if), and a Brunel network of similar size
    out["curves"]["jureca_dc_pd14_min_delay_1.5ms"] = cluster.sweep(net, RANKS, "jureca_dc", min_delay_steps=15)
    # Brunel regime A with ~the PD14 full-scale neuron count (75,000 neurons, in-degrees 1,000 + 250) at its
    # mean-field rate (models/brunel: 327 spikes/s with these in-degrees; the full-scale network, 12,500
    # neurons with the same in-degrees, measured 333 here; the validation runs' scale 0.5 has half the
    # in-degrees and fires at 220)
    bnet = brunel.build_network(regime="A", scale=6.0, keep_indegree=True, record=False)
    rate = brunel.mean_field_rate("A", 6.0, keep_indegree=True)
    rates = {"E": rate, "I": rate}
    out["curves"]["jureca_dc_brunel_A_scale6"] = cluster.sweep(bnet, RANKS, "jureca_dc", rates=rates)
    out["brunel_rates_assumed"] = rates
    out["crossover"] = {k: cluster.crossover(v) for k, v in out["curves"].items()}
    for k in ("jureca_dc_pd14_min_delay_1.5ms", "jureca_dc_brunel_A_scale6"):
        log(f"{k}:\n" + cluster.format_table(out["curves"][k]))
    log(f"exchange dominates from: {out['crossover']}")
    os.makedirs(RESULTS, exist_ok=True)
    with open(CURVE, "w") as f:
        json.dump(out, f, indent=1)
    plot_curve(out, CURVE.replace(".json", ".png"))
    return out


def _rescaled(name, f):
    """The machine ``name`` with its derived compute and overhead scale set to ``f``."""
    import tempfile
    from parsnn.mapping import cluster
    m = cluster.load_machine(name)
    with open(m.path) as fh:
        text = fh.read()
    import re
    text = re.sub(r"(?m)^compute_scale = .*$", f"compute_scale = {f}", text)
    text = re.sub(r"(?m)^overhead_scale = .*$", f"overhead_scale = {f}", text)
    text = text.replace(f'name = "{name}"', f'name = "{name}_scale{f:g}"')
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    try:
        return cluster.load_machine(tmp)
    finally:
        os.remove(tmp)


def plot_curve(out, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    styles = {"jureca_dc": ("C0", "-", "parsnn predicted, JURECA-DC-like (128 ranks/node)"),
              "this_machine": ("C3", "-", "parsnn predicted, this machine (2 cores)"),
              "jureca_dc_pd14_min_delay_1.5ms": ("C0", ":", "same, if PD14's min delay were 1.5 ms")}
    for k, (c, ls, lab) in styles.items():
        cv = out["curves"].get(k)
        if not cv:
            continue
        ax.loglog([p["ranks"] for p in cv], [p["rtf"] for p in cv], ls, color=c, marker="o", ms=3, label=lab)
    band = [out["curves"].get(k) for k in out["curves"] if k.startswith("jureca_dc_scale")]
    if len(band) == 2:
        ax.fill_between([p["ranks"] for p in band[0]], [p["rtf"] for p in band[0]], [p["rtf"] for p in band[1]],
                        color="C0", alpha=0.15, lw=0, label="JURECA-DC-like, core speed x1.4 ... x2.2 slower")
    full = _full_scale_run()
    if full is not None:
        ax.plot(full["ranks"], full["rtf"], "x", color="C3", ms=8, mew=2,
                label=f"parsnn measured here, {full['ranks']} ranks (benchmarks/results/pd14_full.json)")
    hw = out["curves"].get("jureca_2015_haswell")
    if hw:
        ax.loglog([p["ranks"] for p in hw], [p["rtf"] for p in hw], "-", color="C2", marker="s", ms=3,
                  label="parsnn predicted, JURECA-2015-like (24 ranks/node, Haswell)")
    for p in out["published"]:
        ax.plot(p["cores"], p["rtf"], "k*" if "Kurth" in p["study"] else "ks", ms=9)
        ax.annotate(f"NEST, {p['study'].split(' et')[0]} {p['study'][-4:]}\n{p['nodes']} node(s)",
                    (p["cores"], p["rtf"]), textcoords="offset points", xytext=(6, -4), fontsize=7)
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("MPI ranks (NEST: cores)")
    ax.set_ylabel("real-time factor")
    ax.set_title("PD14 full scale: strong scaling")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    cv = out["curves"]["jureca_dc"]
    P = [p["ranks"] for p in cv]
    ipm = cv[0]["intervals_per_model_s"]
    comp = [p["compute_s"] * ipm for p in cv]
    terms = {"alltoallv (spikes)": [p["exchange_terms"]["alltoallv"] * ipm for p in cv],
             "alltoall (counts)": [p["exchange_terms"]["alltoall_counts"] * ipm for p in cv],
             "mpi4py calls": [p["exchange_terms"]["collective_calls"] * ipm for p in cv]}
    ax.loglog(P, comp, "-o", ms=3, label="update + deliver + pack (slowest rank)")
    for k, v in terms.items():
        ax.loglog(P[1:], v[1:], "--", label=k)
    x = out["crossover"].get("jureca_dc")
    if x:
        ax.axvline(x, color="0.5", lw=0.8)
        ax.text(x * 1.1, 3.0, f"exchange > compute\nfrom {x} ranks", fontsize=7)
    ax.set_xlabel("MPI ranks")
    ax.set_ylabel("seconds per model second")
    ax.set_title("JURECA-DC-like: where the time goes (0.1 ms intervals)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


# --------------------------------------------------------------------------- report

REPORT = os.path.join(RESULTS, "cost_model_report.md")


def report(log=print) -> str:
    """Markdown summary of calibration, validation and the predicted strong scaling."""
    from parsnn.mapping import cluster
    with open(CALIB) as f:
        cal = json.load(f)
    with open(VALID) as f:
        rows = json.load(f)
    with open(CURVE) as f:
        cv = json.load(f)
    m = cluster.load_machine("this_machine")
    L = ["# Cost model: calibration, validation, predicted PD14 strong scaling", "",
         f"Generated by `python analysis/cost_model_validation.py report` from analysis/results/cost_model_*.json "
         f"(calibration {cal['date']}). Model: `parsnn.mapping.cluster`; machines: `parsnn/mapping/machines/*.toml`.",
         "", "One batch on this machine: `validate --force` (3 repeats of every run, each repeat preceded by "
         "noisebench launches), then `calibrate --force --reuse-validation` (the other calibration runs; the "
         "1-rank PD14/Brunel runs and the noise are those of the validation batch), then `validate` (the table).",
         "", "## This machine's constants (this_machine.toml)", "",
         "| constant | value | measured by |", "|---|---|---|"]
    ev = m.data["compute"]["event_ns"]
    up = m.data["compute"]["update_ns"]
    items = [
        ("update, iaf_psc_exp vectorized", f"{up['iaf_psc_exp']:.2f} ns / neuron step", "PD14 0.1, 1 rank, DC"),
        ("update, iaf_psc_exp scalar kernel", f"{up.get('iaf_psc_exp_scalar', up['iaf_psc_exp']):.2f} ns / neuron step",
         "10,000 neurons with one I_e each, no input, 1 rank"),
        ("update, iaf_psc_delta", f"{up['iaf_psc_delta']:.2f} ns / neuron step", "10,000 neurons, no input, 1 rank"),
        ("Poisson input", f"{m.data['compute']['poisson_input_ns']:.1f} ns / neuron step",
         f"Brunel A 0.5 minus iaf_psc_delta (check, PD14 0.1 Poisson bg minus scalar exp: "
         f"{cal.get('poisson_input_ns_pd14_check', float('nan')):.1f})"),
        ("synaptic event, L2 / L3 / memory (prefetched) / memory (not prefetched)",
         f"{ev['l2']:.2f} / {ev['l3']:.2f} / {ev['memory']:.2f} / {ev.get('memory_no_prefetch', ev['memory']):.2f} ns",
         "Brunel A 0.5 (1 rank), PD14 0.1 (1 rank), PD14 full (2 ranks, 1 s), "
         "'shortrows' (1 rank, rows of 64 into a 160 MB ring)"),
        ("received spike", f"{m.data['compute']['spike_ns']:.1f} ns", "'spikes' network: 1 synapse per spike"),
        ("qsort comparison", f"{m.data['compute']['compare_ns']:.2f} ns", "mpibench (C)"),
        ("pack, per spike copy", f"{m.data['compute']['pack_ns']:.1f} ns", "PD14 0.1 + Brunel A 0.5, 1 rank"),
        ("spike recording on rank 0", f"{m.data['compute'].get('record_ns', 0.0):.1f} ns / recorded spike",
         "Brunel A 0.5, 1 rank, record timer"),
        ("fixed per interval: update / deliver / exchange",
         f"{m.data['overhead']['update_us']:.2f} / {m.data['overhead']['deliver_us']:.2f} / "
         f"{m.data['overhead']['exchange_us']:.2f} us", "null network (exchange: real runs)"),
        ("Python + mpi4py per collective call", f"{m.data['overhead']['collective_call_us']:.2f} us",
         "mpi4py loop minus C mpibench, 2 ranks"),
        ("shm latency / overhead per message", f"{m.data['network']['shm']['latency_us']:.2f} / "
         f"{m.data['network']['shm']['overhead_us']:.2f} us", "mpibench ping-pong, Isend burst"),
        ("MPI_Alltoall / Alltoallv fixed (2 ranks)", f"{m.data['collectives']['alltoall_fixed_us']:.2f} / "
         f"{m.data['collectives']['alltoallv_fixed_us']:.2f} us", "mpibench"),
        ("machine noise (sd of a rank's work per interval)",
         f"{100 * m.data['noise']['sigma_rel']:.1f} % + {m.data['noise'].get('sigma_us', 0.0):.2f} us",
         "noisebench (C, 2 ranks, no simulator): mean wait "
         + ", ".join(f"{k} interval {cal['noise_fit'][k]['busy_us']:.0f} us: {cal['noise_fit'][k]['wait_us_mean']:.2f} us "
                     f"({cal['noise_fit'][k]['wait_us_range'][0]:.2f}-{cal['noise_fit'][k]['wait_us_range'][1]:.2f})"
                     for k in ("long", "short") if k in cal.get("noise_fit", {}))),
        ("oversubscription spin per extra rank on a core", f"{m.data['oversubscription']['yield_us']:.1f} us / interval",
         "fitted on PD14 0.1, 3 ranks (its first validation repeat: in-sample)"),
    ]
    for a, b, c_ in items:
        L.append(f"| {a} | {b} | {c_} |")
    if cal.get("roofline"):
        r = cal["roofline"]
        full = [f for f in cal.get("event_fit", []) if f["run"].startswith("pd14_full")]
        L += ["", "Hardware floor (benchmarks/results/roofline.json, C probe, full-scale PD14 sizes, 2 processes) "
              f"vs parsnn's effective costs: synaptic event {r.get('ns_event_prefetch_2proc', float('nan')):.2f} ns "
              f"(rows sorted by delay and prefetched, as parsnn) / "
              f"{r.get('ns_event_sorted_2proc', float('nan')):.2f} ns (sorted, no prefetch) / "
              f"{r.get('ns_event_random_2proc', float('nan')):.2f} ns (random)"
              + (f" vs parsnn {full[0]['ns_per_event']:.2f} ns at full scale on 2 ranks" if full else "")
              + f"; neuron update {r.get('ns_update_2proc', float('nan')):.2f} ns vs parsnn "
              f"{up['iaf_psc_exp']:.2f} ns (PD14 0.1, 1 rank, cache-resident)."]
    L += ["", "## Measured vs predicted (this machine)", "", format_validation(rows), ""]
    b2 = os.path.join(RESULTS, "cost_model_batch2", "cost_model_validation.json")
    if os.path.exists(b2):
        with open(b2) as f:
            rows2 = {(r["model"], r["ranks"]): r for r in json.load(f)}
        L += ["A second batch, the same procedure run again right after (analysis/results/cost_model_batch2/: "
              "its constants and table; this VM ran ~10 % slower and noisier then): error of the prediction, "
              "this batch / second batch.", "",
              "| model | ranks | update | deliver | exchange | RTF |", "|---|---|---|---|---|---|"]
        for r in rows:
            q = rows2.get((r["model"], r["ranks"]))
            if q is None:
                continue
            cells = [f"{100 * r[f'{k}_error']:+.0f} / {100 * q[f'{k}_error']:+.0f} %"
                     for k in ("update", "deliver", "exchange", "rtf")]
            L.append(f"| {r['model']} | {r['ranks']}{' (oversubscribed)' if r['oversubscribed'] else ''} | "
                     + " | ".join(cells) + " |")
        L.append("")
    L += ["## Predicted PD14 full-scale strong scaling", "",
          "| ranks | JURECA-DC-like RTF (core x1.4 .. x2.2) | exchange share | JURECA-2015-like RTF |",
          "|---|---|---|---|"]
    hw = {p["ranks"]: p for p in cv["curves"].get("jureca_2015_haswell", [])}
    lo = {p["ranks"]: p for p in cv["curves"].get("jureca_dc_scale1.4", [])}
    hi = {p["ranks"]: p for p in cv["curves"].get("jureca_dc_scale2.2", [])}
    dc = {p["ranks"]: p for p in cv["curves"]["jureca_dc"]}
    for P in sorted(set(dc) | set(hw)):
        a = b = c_ = ""
        if P in dc:
            a = f"{dc[P]['rtf']:.2f}" + (f" ({lo[P]['rtf']:.2f} .. {hi[P]['rtf']:.2f})" if P in lo and P in hi else "")
            b = f"{100 * dc[P]['exchange_fraction']:.0f} %"
        if P in hw:
            c_ = f"{hw[P]['rtf']:.2f}"
        L.append(f"| {P} | {a} | {b} | {c_} |")
    L += ["", f"Exchange outweighs computation from: {cv['crossover']}", "",
          "Published NEST figures: " + "; ".join(f"{p['study']}, {p['nodes']} node(s) ({p['hardware']}): RTF {p['rtf']}"
                                                 for p in cv["published"])]
    text = "\n".join(L) + "\n"
    with open(REPORT, "w") as f:
        f.write(text)
    log(text)
    return text


# --------------------------------------------------------------------------- CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--spec", required=True)
    w.add_argument("--t-sim", type=float, required=True)
    w.add_argument("--out", required=True)
    for name in ("calibrate", "validate", "all"):
        s = sub.add_parser(name)
        s.add_argument("--force", action="store_true", help="rerun measurements that are already saved")
        if name == "calibrate":
            s.add_argument("--reuse-validation", action="store_true",
                           help="take the 1-rank PD14/Brunel runs and the noisebench launches of the last "
                                "'validate --force' (same minutes as the validation runs)")
    sub.add_parser("curve")
    sub.add_parser("report")
    args = ap.parse_args(argv)
    if args.cmd == "worker":
        worker(json.loads(args.spec), args.t_sim, args.out)
    elif args.cmd == "calibrate":
        calibrate(args.force, reuse_validation=args.reuse_validation)
    elif args.cmd == "validate":
        validate(args.force)
    elif args.cmd == "curve":
        curve()
    elif args.cmd == "all":
        # one batch: validation runs with interleaved noise measurements, then the other calibration
        # runs, then the constants (from the same minutes) and the table
        validate(args.force)
        calibrate(args.force, reuse_validation=True)
        validate(False)
        curve()
        report()
    elif args.cmd == "report":
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
