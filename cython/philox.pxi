# Declarations of the counter-based generator in philox.h (included by each kernel module).
from libc.stdint cimport uint64_t, int64_t, uint32_t, int32_t, uint16_t, uint8_t

cdef extern from "philox.h" nogil:
    ctypedef struct px_stream:
        uint64_t key[2]
        uint64_t ctr[4]
        uint64_t buf[4]
        int pos
    void px_block(const uint64_t* ctr, const uint64_t* key, uint64_t* out)
    void px_init(px_stream* s, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra)
    uint64_t px_next(px_stream* s)
    double px_uniform(px_stream* s)
    double px_uniform_pos(px_stream* s)
    uint64_t px_below(px_stream* s, uint64_t n)
    double px_normal(px_stream* s)
    double px_draw(px_stream* s, int kind, double a, double b, double lo, double hi)
    int64_t px_poisson(px_stream* s, double lam)
