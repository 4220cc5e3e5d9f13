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

# realisation scheme v2 (philox.h, second part)
cdef extern from "philox.h" nogil:
    ctypedef struct px2_stream:
        uint32_t key[2]
        uint32_t fix[2]
        uint64_t next_block
        int pos
        uint32_t buf[64]
    void px2_block(const uint32_t* ctr, const uint32_t* key, uint32_t* out)
    int px2_kernel()
    void px2_blocks_with(int level, uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1,
                         uint32_t* out)
    void px2_init(px2_stream* s, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra)
    uint32_t px2_next32(px2_stream* s)
    uint64_t px2_next64(px2_stream* s)
    double px2_uniform(px2_stream* s)
    double px2_uniform_pos(px2_stream* s)
    uint64_t px2_below(px2_stream* s, uint64_t n)
    double px2_normal(px2_stream* s)
    double px2_draw(px2_stream* s, int kind, double a, double b, double lo, double hi)

# A stream of either scheme: kernels written once over ``pxs`` are compiled for both (Cython fused type).
ctypedef fused pxs:
    px_stream
    px2_stream


cdef inline void s_init(pxs* s, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra) noexcept nogil:
    """Start the stream (seed, purpose, id, extra) of the scheme of ``s``."""
    if pxs is px_stream:
        px_init(s, seed, purpose, id, extra)
    else:
        px2_init(s, seed, purpose, id, extra)


cdef inline double s_uniform(pxs* s) noexcept nogil:
    """Uniform on [0, 1)."""
    if pxs is px_stream:
        return px_uniform(s)
    else:
        return px2_uniform(s)


cdef inline double s_normal(pxs* s) noexcept nogil:
    """Standard normal."""
    if pxs is px_stream:
        return px_normal(s)
    else:
        return px2_normal(s)


cdef inline double s_uniform_pos(pxs* s) noexcept nogil:
    """Uniform on (0, 1]."""
    if pxs is px_stream:
        return px_uniform_pos(s)
    else:
        return px2_uniform_pos(s)


cdef inline uint64_t s_below(pxs* s, uint64_t n) noexcept nogil:
    """Integer uniform on [0, n)."""
    if pxs is px_stream:
        return px_below(s, n)
    else:
        return px2_below(s, n)


cdef inline double s_draw(pxs* s, int kind, double a, double b, double lo, double hi) noexcept nogil:
    """A value of the distribution (kind, a, b, lo, hi) (see px_draw)."""
    if pxs is px_stream:
        return px_draw(s, kind, a, b, lo, hi)
    else:
        return px2_draw(s, kind, a, b, lo, hi)
