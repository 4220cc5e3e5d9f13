"""Stop a run cleanly on SIGTERM or SIGUSR1 (a batch system's warning before the wall-time limit).

A Python signal handler only records the signal (:class:`StopOnSignal`); nothing is done inside
the handler. The run loop calls :func:`at_boundary` after every flush of recorded data (every
``flush_ms`` of model time, the same step on every rank): there the ranks agree with one
``allreduce(MAX)`` of the recorded signal number, so a signal that reached any rank stops all of
them at the same step. :func:`at_boundary` then returns True, the loop ends, and ``run()`` writes the
checkpoint (to ``sim.checkpoint_path``, or the default :func:`at_boundary` sets) as at the end of a
run. The caller (the command line) sees ``sim.stopped`` (the signal's name) and leaves the output
incomplete-but-consistent: its data end at the checkpoint time (``t_flushed``), ``complete=False``.

The agreement costs one small allreduce per flush interval, only when a watcher is attached
(:func:`watch`); the reaction time is at most one flush interval of model time (its wall time is
``flush_ms`` x the real-time factor) plus the checkpoint write.

mpiexec (MPICH's hydra, Open MPI's mpirun) and srun forward SIGTERM and SIGUSR1 to every rank;
each rank then records it, and the allreduce would stop the job even if only one rank got it.
"""
from __future__ import annotations

import signal
import threading

from mpi4py import MPI

#: the signals that stop a run at the next boundary
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class StopOnSignal:
    """Records the first of ``signals`` this process receives (``received``: its number, 0 before).

    :meth:`install` replaces the handlers (main thread only; elsewhere it does nothing and the
    signals keep their previous action), :meth:`uninstall` puts the previous ones back."""

    def __init__(self, signals=STOP_SIGNALS):
        self.signals = tuple(signals)
        self.received = 0
        self._previous = {}

    def _handle(self, signum, frame):
        """The handler: remember the first signal, nothing else (no I/O, no MPI)."""
        if not self.received:
            self.received = int(signum)

    def install(self) -> "StopOnSignal":
        """Handle ``signals`` from now on (in the main thread); returns self."""
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def uninstall(self):
        """Give the signals their previous handlers back."""
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        self._previous = {}


def watch(sim, watcher: StopOnSignal, default_checkpoint: str | None = None):
    """Let ``watcher``'s signals stop ``sim`` at its next flush boundary: the checkpoint then goes to
    the simulation's checkpoint path, or to ``default_checkpoint`` if it has none (None: no
    checkpoint is written)."""
    sim.stop_watch = watcher
    sim.stop_default_checkpoint = default_checkpoint


def at_boundary(sim, t: int, t_end: int) -> bool:
    """Called by the run loop after the flush at step ``t`` (collective when a watcher is attached):
    True if any rank received a stop signal and the run should end at ``t`` (before ``t_end``).
    Sets ``sim.stopped`` to the signal's name and the checkpoint path the end of run() writes."""
    watcher = getattr(sim, "stop_watch", None)
    if watcher is None or t >= t_end:
        return False
    signum = sim.comm.allreduce(watcher.received, op=MPI.MAX) if sim.size > 1 else watcher.received
    if not signum:
        return False
    sim.stopped = signal.Signals(signum).name
    if sim.checkpoint_path is None:
        sim.checkpoint_path = getattr(sim, "stop_default_checkpoint", None)
    return True
