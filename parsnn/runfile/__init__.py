"""The run file: one schema (:mod:`~parsnn.runfile.schema`, with its version), one writer
(:mod:`~parsnn.runfile.writer`, used by the engine's recording), one reader
(:mod:`~parsnn.runfile.reader`, :class:`~parsnn.runfile.reader.RunFile`) and the SONATA spike
I/O they share (:mod:`~parsnn.runfile.sonata`: streaming, windowed spike readers)."""
from parsnn.runfile.reader import RunFile
from parsnn.runfile.sonata import IncompleteRunError

__all__ = ["RunFile", "IncompleteRunError"]
