"""Random-stream ids and realisation schemes: every random number of a run is drawn from a
counter-based Philox stream keyed by (seed, purpose, node id), so the network and the spike trains
depend on neither the number of ranks nor the partition. :func:`purpose` turns a readable purpose
such as ``("proj", 3, "EI", "struct")`` into the stream's 64-bit id.

A *realisation scheme* fixes how the build turns those streams into a network (connections,
weights, delays, per-neuron initial values); see ``cython/philox.h``:

- ``v1``: Philox4x64-10 streams, Box-Muller normals, multiply-shift integers (the networks of
  every run file and checkpoint written before schemes were recorded);
- ``v2``: Philox4x32-10 streams (key derived per stream, blocks computed 16 at a time in vector
  registers), ziggurat normals, Lemire's unbiased integers. Same keys, other numbers: a network of
  the same statistics, not the same network.

The spike generators' Poisson draws during the run are the same in both schemes.
"""
from __future__ import annotations

import hashlib

from parsnn.errors import ParameterError

#: realisation scheme name -> the kernels' scheme code
REALISATIONS = {"v1": 1, "v2": 2}
#: the scheme of a run that names none (Simulation, ``parsnn run``, PyNN)
DEFAULT_REALISATION = "v2"


def purpose(*parts) -> int:
    """Stable 64-bit stream id for a purpose such as ('proj', 3, 'struct')."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def scheme_code(realisation: str) -> int:
    """The kernels' code (1, 2) of a realisation scheme name; ParameterError for an unknown one."""
    if realisation not in REALISATIONS:
        raise ParameterError(f"realisation must be one of {', '.join(REALISATIONS)}, got {realisation!r}")
    return REALISATIONS[realisation]
