"""The input ring buffers of the delivery: one per receptor, or one per synaptic time constant.

``per-receptor`` (the scheme of parsnn <= session 5): two rings, ``ring_ex`` for weights >= 0 and
``ring_in`` for weights < 0, and two synaptic currents per neuron, as NEST's iaf_psc_exp / alpha
keep them. ``per-tau`` (the default): when the excitatory and inhibitory currents of every local
neuron of every rank decay with the same propagators (tau_syn_ex == tau_syn_in, as in PD14 and the
iaf_psc_exp defaults), one ring and one current serve both receptors: half the ring footprint and no
sign branch in the scatter. The sums then mix the two receptors' inputs in the canonical delivery
order, so a result differs from ``per-receptor`` in the last bits only, and is still the same for
any ranks, threads and partition. Otherwise ``per-tau`` falls back to the two rings.

With one ring the engine keeps ``ring_in`` as one slot of zeros (read, never written) and the
inhibitory currents at zero; the vector kernel of iaf_psc_exp then skips them (cython/update.h).
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from parsnn.errors import ParameterError

#: the ring schemes a Simulation accepts (``rings=``, ``parsnn run --rings``)
SCHEMES = ("per-tau", "per-receptor")
DEFAULT = "per-tau"
#: the propagators of the excitatory / inhibitory currents that must agree for one ring
_PAIRS = (("p21ex", "p21in"), ("p11ex", "p11in"), ("p31ex", "p31in"), ("a21ex", "a21in"), ("psc_ex", "psc_in"))


def check_scheme(scheme) -> str:
    """The scheme name, or ParameterError naming the allowed ones."""
    if scheme not in SCHEMES:
        raise ParameterError(f"rings must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    return scheme


def one_ring(scheme: str, st, comm) -> bool:
    """Whether one ring serves both receptors (collective: the same answer on every rank, so the
    realisation does not depend on the partition): ``per-tau`` and every local neuron of every rank
    has equal excitatory and inhibitory propagators."""
    if scheme != "per-tau":
        return False
    local = all(np.array_equal(np.asarray(getattr(st, a)), np.asarray(getattr(st, b))) for a, b in _PAIRS)
    return bool(comm.allreduce(local, op=MPI.LAND)) if comm.Get_size() > 1 else local


def run_info(scheme: str, merged: bool, target_types=("uint32",)) -> dict:
    """The delivery scheme that ran, for the run file's run_info; ``target_types``: the stored
    target types of the ranks (uint16 on a rank with <= 2 x 65536 neurons, else uint32:
    parsnn.engine.synapses.target_dtype)."""
    return {"rings": scheme, "ring_buffers": 1 if merged else 2,
            "synapse_row": f"{' or '.join(target_types)} target + float32 weight per synapse, delay runs per sub-row"}
