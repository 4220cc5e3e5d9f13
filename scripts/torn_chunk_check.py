"""For each dataset of a killed run file whose chunks fail Fletcher32: is the bad chunk an old chunk
torn by a partial in-place rewrite? Compares the stored checksum with the one of the raw chunk and of
the raw chunk with everything beyond the on-disk extent zeroed (= the chunk as the last flush wrote it)."""
import sys
import h5py
import numpy as np


def fletcher32(b: bytes) -> int:
    a = np.frombuffer(b[: len(b) // 2 * 2], dtype=">u2").astype(np.uint64)
    n = a.size
    s1 = int(a.sum() % 65535)
    s2 = int((a * np.arange(n, 0, -1, dtype=np.uint64)).sum() % 65535)
    return s1, s2


def stored(b: bytes):
    v = int.from_bytes(b[-4:], "little")
    return (v & 0xFFFF) % 65535, (v >> 16) % 65535


for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        def visit(name, ds):
            if not isinstance(ds, h5py.Dataset) or ds.chunks is None:
                return
            for i in range(ds.id.get_num_chunks()):
                info = ds.id.get_chunk_info(i)
                try:
                    ds.id.read_direct_chunk(info.chunk_offset)
                    mask, raw = ds.id.read_direct_chunk(info.chunk_offset)
                except Exception:
                    continue
                try:
                    sl = tuple(slice(o, o + c) for o, c in zip(info.chunk_offset, ds.chunks))
                    ds[sl[0]]
                    continue
                except OSError:
                    pass
                data, ck = raw[:-4], stored(raw)
                row = int(np.prod(ds.chunks[1:])) * ds.dtype.itemsize
                keep = (min(ds.shape[0], info.chunk_offset[0] + ds.chunks[0]) - info.chunk_offset[0]) * row
                z = bytearray(data); z[keep:] = bytes(len(z) - keep)
                nz = np.flatnonzero(np.frombuffer(data, np.uint8))
                last_nz = int(nz[-1]) + 1 if nz.size else 0
                print(f"{path}: {name} chunk {info.chunk_offset} addr {info.byte_offset} size {info.size}: "
                      f"extent ends at byte {keep} of the chunk, nonzero bytes up to {last_nz} "
                      f"(page {last_nz / 4096:.1f}); stored {ck}, raw {fletcher32(data)}, "
                      f"raw zeroed beyond extent {fletcher32(bytes(z))} -> "
                      f"{'TORN OLD CHUNK (prefix verified)' if fletcher32(bytes(z)) == ck else 'not explained'}")
        f.visititems(visit)
