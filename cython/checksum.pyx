# cython: language_level=3
"""Connectivity checksum kernel (parsnn.engine.checkpoint.connectivity_checksum): the sums modulo
2^64 of two splitmix64 hashes of every synapse (source gid, target gid, float32 weight bits, delay
steps) of one rank's CSR table, in one pass without temporaries (nogil); the delays are read from
the rows' delay runs (the synapses of run k, in storage order, all have delay run_d[k]). It computes
exactly what the numpy reference of tests/test_engine_checkpoint.py does."""
from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t

# the stored target index: uint16 or uint32 (parsnn.engine.synapses.target_dtype)
ctypedef fused tgt_t:
    uint16_t
    uint32_t


cdef inline uint64_t _splitmix(uint64_t x) noexcept nogil:
    x += 0x9E3779B97F4A7C15ULL
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


def hash_sums(const int64_t[::1] ptr, const tgt_t[::1] tgt, const uint32_t[::1] wbits,
              const uint16_t[::1] run_d, const uint32_t[::1] run_n, const int64_t[::1] local_gids,
              const int64_t[::1] base=None, const int64_t[::1] sources=None):
    """(lane 1, lane 2): the wrapping sums of the synapse hashes of the CSR table (``ptr`` by source
    gid, ``tgt`` local target index (uint16 or uint32), ``wbits`` the float32 weights' bits, the
    delays in steps as runs in storage order: ``run_n[k]`` synapses of delay ``run_d[k]``,
    ``local_gids`` the gid of every local index). With ``base`` (B entries), ``ptr`` has B sub-rows
    per source (parsnn.engine.synapses.TargetBlocks) and sub-row b's targets are relative to local
    index base[b]. With ``sources`` (one gid per row of B sub-rows: the compact rows of
    parsnn.engine.source_rows), row r holds the synapses of source ``sources[r]`` instead of r's."""
    cdef Py_ssize_t row, src, j
    cdef int64_t r = -1, left = 0, nb = 1, off = 0
    cdef bint has_base = base is not None, has_sources = sources is not None
    cdef uint64_t key, lane1 = 0, lane2 = 0, delay = 0
    if has_base:
        nb = base.shape[0]
        if nb < 1 or (ptr.shape[0] - 1) % nb:
            raise ValueError("ptr must hold len(base) sub-rows per source")
    if has_sources and sources.shape[0] != (ptr.shape[0] - 1) // nb:
        raise ValueError("sources needs one gid per row of ptr")
    with nogil:
        for row in range(ptr.shape[0] - 1):
            src = sources[row // nb] if has_sources else row // nb
            off = base[row % nb] if has_base else 0
            for j in range(ptr[row], ptr[row + 1]):
                while left == 0:
                    r += 1
                    left = run_n[r]
                    delay = run_d[r]
                left -= 1
                key = _splitmix((<uint64_t>src << 32) ^ <uint64_t>local_gids[tgt[j] + off])
                key = _splitmix(key ^ ((<uint64_t>wbits[j] << 16) | delay))
                lane1 += key
                lane2 += _splitmix(key ^ 0x5851F42D4C957F2DULL)
    return int(lane1), int(lane2)
