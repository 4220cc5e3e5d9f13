# cython: language_level=3
"""Connectivity checksum kernel (parsnn.engine.checkpoint.connectivity_checksum): the sums modulo
2^64 of two splitmix64 hashes of every synapse (source gid, target gid, float32 weight bits, delay
steps) of one rank's CSR table, in one pass without temporaries (nogil). It computes exactly what
the numpy reference ``parsnn.engine.checkpoint._local_hash_sums_numpy`` does."""
from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t


cdef inline uint64_t _splitmix(uint64_t x) noexcept nogil:
    x += 0x9E3779B97F4A7C15ULL
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


def hash_sums(const int64_t[::1] ptr, const uint32_t[::1] tgt, const uint32_t[::1] wbits,
              const uint16_t[::1] delay, const int64_t[::1] local_gids):
    """(lane 1, lane 2): the wrapping sums of the synapse hashes of the CSR table (``ptr`` by source
    gid, ``tgt`` local target index, ``wbits`` the float32 weights' bits, ``delay`` in steps,
    ``local_gids`` the gid of every local index)."""
    cdef Py_ssize_t src, j
    cdef uint64_t key, lane1 = 0, lane2 = 0
    with nogil:
        for src in range(ptr.shape[0] - 1):
            for j in range(ptr[src], ptr[src + 1]):
                key = _splitmix((<uint64_t>src << 32) ^ <uint64_t>local_gids[tgt[j]])
                key = _splitmix(key ^ ((<uint64_t>wbits[j] << 16) | <uint64_t>delay[j]))
                lane1 += key
                lane2 += _splitmix(key ^ 0x5851F42D4C957F2DULL)
    return int(lane1), int(lane2)
