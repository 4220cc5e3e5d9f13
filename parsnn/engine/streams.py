"""Random-stream ids: every random number of a run is drawn from a counter-based Philox stream
keyed by (seed, purpose, node id), so the network and the spike trains depend on neither the
number of ranks nor the partition. :func:`purpose` turns a readable purpose such as
``("proj", 3, "EI", "struct")`` into the stream's 64-bit id."""
from __future__ import annotations

import hashlib


def purpose(*parts) -> int:
    """Stable 64-bit stream id for a purpose such as ('proj', 3, 'struct')."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
