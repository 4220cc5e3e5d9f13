"""The history-window counter's cost (session 23): hpc_benchmark scale 0.5 on 1 rank, 50 ms warm-up, 200 ms timed;
argv[1] a checkout (its parsnn imported). Alternated between main and 4a419dd (the commit before the counter):
counter_ab_pointer.txt (the first version, a counter behind a pointer: pair ratios main / 4a419dd median 1.011, 8 pairs)
and counter_ab_local.txt (the committed one, a local count returned by the batched pass: medians 1.009 and 1.001 over
two sets of 8 pairs, 0.971-1.041: within this VM's noise)."""
import sys, time
sys.path.insert(0, sys.argv[1])
from mpi4py import MPI
from parsnn.engine import Simulation
from parsnn.models.hpc_benchmark import build_network
import parsnn
assert parsnn.__file__.startswith(sys.argv[1]), parsnn.__file__
sim = Simulation(build_network(scale=0.5, record=False, plastic=True), seed=1, comm=MPI.COMM_SELF)
sim.build(); sim.run(50.0)
t0 = time.perf_counter(); sim.run(200.0); dt = time.perf_counter() - t0
print(sys.argv[1], round(dt, 3), round(sim.timers["deliver"], 3))
