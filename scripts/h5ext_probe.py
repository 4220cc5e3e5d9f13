"""Two HDF5 calls that h5py does not wrap, made through ctypes on the HDF5 library h5py loaded:

* :func:`dont_filter_partial_chunks`: ``H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)``
  (HDF5 >= 1.10, file format >= v110): a dataset's partial edge chunks (the growing tail of an
  appended dataset) are stored unfiltered, and get their filters (Fletcher32) once they are full;
* :func:`open_clearing_flags`: open a file whose writer was killed (superblock v3 status flags still
  set: "file is already open for write") after clearing those flags, as ``h5clear -s`` does (the
  file-access property ``clear_status_flags``, which h5clear sets through ``H5Pset``)."""
from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

import h5py

H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS = 0x0002


@functools.lru_cache(maxsize=None)
def _lib() -> ctypes.CDLL:
    """The HDF5 library h5py uses (already loaded: dlopen returns the same handle)."""
    import h5py.h5 as _h5   # noqa: F401  (makes sure the library is loaded)
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "libhdf5" in line and "hl" not in line.split("/")[-1]}
    paths = [p for p in paths if os.path.basename(p).startswith("libhdf5") and ".so" in p]
    if len(paths) != 1:
        raise RuntimeError(f"cannot identify h5py's HDF5 library among {sorted(paths)}")
    lib = ctypes.CDLL(paths[0])
    lib.H5Pset_chunk_opts.argtypes = [ctypes.c_int64, ctypes.c_uint]
    lib.H5Pset_chunk_opts.restype = ctypes.c_int
    lib.H5Pset.argtypes = [ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p]
    lib.H5Pset.restype = ctypes.c_int
    return lib


def dont_filter_partial_chunks(dcpl) -> None:
    """Set H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS on the h5py dataset-creation property list ``dcpl``."""
    if _lib().H5Pset_chunk_opts(dcpl.id, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) < 0:
        raise RuntimeError("H5Pset_chunk_opts failed")


def open_clearing_flags(path, mode: str = "r") -> "h5py.File":
    """``h5py.File(path, mode)`` for a file left with its status flags set by a killed writer."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST)
    flag = ctypes.c_bool(True)
    if _lib().H5Pset(fapl.id, b"clear_status_flags", ctypes.byref(flag)) < 0:
        raise RuntimeError("H5Pset(clear_status_flags) failed")
    flags = h5py.h5f.ACC_RDONLY if mode == "r" else h5py.h5f.ACC_RDWR
    fid = h5py.h5f.open(os.fsencode(path), flags, fapl=fapl)
    return h5py.File(fid)


def create_appendable(group, name: str, shape, maxshape, dtype, chunks, *, fletcher32: bool = True,
                      dont_filter_partial: bool = True) -> "h5py.Dataset":
    """``group.create_dataset(name, shape, maxshape=..., dtype=..., chunks=..., fletcher32=...)`` with,
    if ``dont_filter_partial``, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS (h5py's create_dataset sets the
    chunk shape last, which resets the chunk options, so the dataset is made here with h5py.h5d)."""
    h5p, h5s, h5t, h5d = h5py.h5p, h5py.h5s, h5py.h5t, h5py.h5d
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk(tuple(int(c) for c in chunks))
    if fletcher32:
        dcpl.set_fletcher32()
    if dont_filter_partial:
        dont_filter_partial_chunks(dcpl)
    dcpl.set_obj_track_times(False)
    sid = h5s.create_simple(tuple(shape), tuple(h5s.UNLIMITED if m is None else m for m in maxshape))
    tid = h5t.py_create(np.dtype(dtype), logical=True)
    dsid = h5d.create(group.id, name.encode(), tid, sid, dcpl=dcpl)
    return h5py.Dataset(dsid)
