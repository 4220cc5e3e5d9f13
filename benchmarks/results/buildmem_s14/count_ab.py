"""Pass 1 only (engine _count_chunked) of PD14 at n_scaling S, T threads, repeated R times in this process:
the counting kernel's per-thread CPU (min over repeats, thread 0 and max) and the whole call's process CPU."""
import importlib, json, sys, time, resource
import numpy as np
from parsnn import _connect
from parsnn.engine import decomposition, synapses as es
from parsnn.engine.streams import REALISATIONS, DEFAULT_REALISATION
S, T, R = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
net = importlib.import_module("models.pd14").build_network(n_scaling=S)
offsets, local = net.offsets(), np.arange(net.num_nodes, dtype=np.int64)
pop_local = decomposition.population_ranges(net, local, offsets)
blocks = es.TargetBlocks(pop_local, local.size, T)
kern, call = [], []
for _ in range(R):
    _connect.thread_cpu_seconds(T, reset=True)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    es._count_chunked(net, local, offsets, pop_local, 55, 0.1, blocks, T, REALISATIONS[DEFAULT_REALISATION])
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    kern.append(float(_connect.thread_cpu_seconds(T)[:, 0].max()))
    call.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
print(json.dumps({"tree": es.__file__, "S": S, "T": T, "kernel_max_thread_cpu_min": round(min(kern), 4),
                  "kernel_max_thread_cpu_all": [round(x, 4) for x in kern], "call_cpu_min": round(min(call), 4)}))
