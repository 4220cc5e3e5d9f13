"""parsnn_pd14.py with the alignment unit patched: PAGE=1 -> 4096-byte "lines" (every written per-neuron array and
ring slot starts a page), the threads' split points at multiples of 1024 nodes (session 23).

    PAGE=1 python page_align_probe.py --n-scaling 0.25 --t-sim 2000 --warmup 200 --threads 2 --thread-owners mixed
"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from parsnn.engine import aligned, decomposition
if os.environ.get("PAGE") == "1":
    aligned.LINE = 4096
    aligned.SPLIT_ITEMS = 1024
    decomposition.split_owners.__defaults__ = (1024,)
    decomposition.thread_owners.__defaults__ = (1024,)
    decomposition.mixed_owners.__defaults__ = (1024,)
import parsnn_pd14
sys.exit(parsnn_pd14.main())
