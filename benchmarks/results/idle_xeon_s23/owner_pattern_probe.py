"""parsnn_pd14.py with thread owners from PATTERN (8 weighted blocks, block k -> thread PATTERN[k]) on 2 threads
(session 23, before the rule "mixed" existed; run with --thread-owners major since, as the blocks are "major"'s cut).

    PATTERN=10001110 python owner_pattern_probe.py --n-scaling 0.25 --t-sim 2000 --warmup 200 --threads 2 --thread-owners major
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from parsnn.engine import decomposition, synapses
orig = decomposition.thread_owners
pat = [int(c) for c in os.environ.get("PATTERN", "")]

def owners(pop_local, n, threads, items=decomposition.aligned.SPLIT_ITEMS):
    if threads != 2 or not pat:
        return orig(pop_local, n, threads, items)
    own8, _ = decomposition._blocks(pop_local, n, len(pat), items)
    owner = np.asarray(pat, dtype=np.int32)[own8]
    toff = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=2))]).astype(np.int64)
    return owner, toff

decomposition.thread_owners = owners
synapses.thread_owners = owners
import parsnn_pd14
sys.exit(parsnn_pd14.main())
