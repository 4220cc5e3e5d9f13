"""The run file: one schema (:mod:`~parsnn.runfile.schema`, with its version), one writer
(:mod:`~parsnn.runfile.writer`, used by the engine's recording), one reader
(:mod:`~parsnn.runfile.reader`, :class:`~parsnn.runfile.reader.RunFile`), the SONATA spike
I/O they share (:mod:`~parsnn.runfile.sonata`: streaming, windowed spike readers), the
checks of ``parsnn verify`` (:mod:`~parsnn.runfile.verify`, :mod:`~parsnn.runfile.verify_checkpoint`),
the checkpoint file (:mod:`~parsnn.runfile.checkpoint`) and the continuation of a run file at a
checkpoint (:mod:`~parsnn.runfile.append`, ``parsnn resume --append``).

Errors on reading: :class:`IncompleteRunError` (the run did not finish; ``allow_incomplete`` reads
it anyway) and :class:`CorruptRunError` (a dataset fails its HDF5 checksum: the file was damaged
after it was written; the message names the dataset)."""
from parsnn.runfile.reader import RunFile
from parsnn.runfile.sonata import CorruptRunError, IncompleteRunError

__all__ = ["RunFile", "IncompleteRunError", "CorruptRunError"]
