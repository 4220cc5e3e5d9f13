/* Counter-based random numbers for parsnn: Philox4x64-10 (Salmon et al.,
 * SC'11, "Parallel random numbers: as easy as 1, 2, 3"), and the streams of the
 * realisation schemes v1 (px_*) and v2 (px2_*, at the end of this file).
 *
 * Every draw in parsnn is a pure function of (seed, purpose, id, counter):
 * key = (seed, purpose), counter = (block, id, extra, 0). A stream therefore
 * gives the same numbers on whichever rank it is evaluated, which is what makes
 * networks and spike trains independent of the number of ranks.
 *
 * The block function agrees with numpy's Philox bit generator (tested).
 */
#ifndef PARSNN_PHILOX_H
#define PARSNN_PHILOX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define PX_M0 0xD2E7470EE14C6C93ULL
#define PX_M1 0xCA5A826395121157ULL
#define PX_W0 0x9E3779B97F4A7C15ULL
#define PX_W1 0xBB67AE8584CAA73BULL

static inline void px_block(const uint64_t ctr_in[4], const uint64_t key_in[2], uint64_t out[4])
{
    uint64_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint64_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; ++r) {
        __uint128_t p0 = (__uint128_t)PX_M0 * c0;
        __uint128_t p1 = (__uint128_t)PX_M1 * c2;
        uint64_t hi0 = (uint64_t)(p0 >> 64), lo0 = (uint64_t)p0;
        uint64_t hi1 = (uint64_t)(p1 >> 64), lo1 = (uint64_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PX_W0;
        k1 += PX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* A stream: fixed key and id, the block counter advances as numbers are used. */
typedef struct {
    uint64_t key[2];
    uint64_t ctr[4];
    uint64_t buf[4];
    int pos;
} px_stream;

static inline void px_init(px_stream *s, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra)
{
    s->key[0] = seed; s->key[1] = purpose;
    s->ctr[0] = 0; s->ctr[1] = id; s->ctr[2] = extra; s->ctr[3] = 0;
    s->pos = 4;
}

static inline uint64_t px_next(px_stream *s)
{
    if (s->pos == 4) {
        px_block(s->ctr, s->key, s->buf);
        s->ctr[0]++;
        s->pos = 0;
    }
    return s->buf[s->pos++];
}

/* uniform on [0, 1) with 53 random bits */
static inline double px_uniform(px_stream *s)
{
    return (double)(px_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform on (0, 1] */
static inline double px_uniform_pos(px_stream *s)
{
    return (double)((px_next(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* integer uniform on [0, n) (multiply-shift; bias below 2^-64 * n) */
static inline uint64_t px_below(px_stream *s, uint64_t n)
{
    return (uint64_t)(((__uint128_t)px_next(s) * n) >> 64);
}

/* standard normal, Box-Muller (one of the pair; uses two draws) */
static inline double px_normal(px_stream *s)
{
    double u1 = px_uniform_pos(s);
    double u2 = px_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* distribution spec: kind 0 const(a), 1 normal(a=mean, b=std) redrawn until in [lo, hi],
 * 2 uniform [a, b); NAME(stream, kind, a, b, lo, hi) for the streams STREAM of one scheme */
#define PX_DEFINE_DRAW(NAME, STREAM, UNIFORM, NORMAL)                                          \
    static inline __attribute__((always_inline)) double NAME(STREAM *s, int kind, double a, double b, double lo, double hi)   \
    {                                                                                          \
        if (kind == 0) return a;                                                               \
        if (kind == 2) return a + (b - a) * UNIFORM(s);                                        \
        double x;                                                                              \
        do {                                                                                   \
            x = a + b * NORMAL(s);                                                             \
        } while (x < lo || x > hi);                                                            \
        return x;                                                                              \
    }

PX_DEFINE_DRAW(px_draw, px_stream, px_uniform, px_normal)

/* px_poisson's inversion: means below PX_POISSON_SMALL, counts capped at PX_POISSON_KMAX */
#define PX_POISSON_SMALL 10.0
#define PX_POISSON_KMAX 1000

/* the inversion of px_poisson for the uniform u on [0, 1) and a mean 0 < lam < PX_POISSON_SMALL
 * (cython/poisson.h tabulates its sums F with the same operations) */
static inline int64_t px_poisson_small(double u, double lam)
{
    double p = exp(-lam), F = p;
    int64_t k = 0;
    while (u > F && k < PX_POISSON_KMAX) {
        k += 1;
        p *= lam / (double)k;
        F += p;
    }
    return k;
}

/* Poisson-distributed count with mean lam. Inversion for small means; PTRS
 * (Hoermann 1993, transformed rejection with squeeze) above. */
static inline int64_t px_poisson(px_stream *s, double lam)
{
    if (lam <= 0.0) return 0;
    if (lam < PX_POISSON_SMALL)
        return px_poisson_small(px_uniform(s), lam);
    double slam = sqrt(lam), loglam = log(lam);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double U = px_uniform(s) - 0.5;
        double V = px_uniform(s);
        double us = 0.5 - fabs(U);
        int64_t k = (int64_t)floor((2.0 * a / us + b) * U + lam + 0.43);
        if (us >= 0.07 && V <= vr) return k;
        if (k < 0 || (us < 0.013 && V > us)) continue;
        if (log(V) + log(invalpha) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma((double)k + 1.0))
            return k;
    }
}


/* ------------------------------------------------------------------------------------------
 * Realisation scheme v2: the same keys (seed, purpose, id, extra), faster streams.
 *
 * A v2 stream is Philox4x32-10 (Random123's known answers hold, tested). Its 64-bit key and
 * the two upper counter words are derived once per stream from one Philox4x64-10 block,
 *     (k, c) = px_block(ctr = (0, id, extra, PX2_TAG), key = (seed, purpose)),
 * k = key (low word: k0, high word: k1), c = the fixed counter words (c2 = low, c3 = high),
 * so the whole 256-bit identity of a v1 stream selects the v2 stream (PX2_TAG in the fourth
 * counter word, which v1 always leaves 0, keeps these blocks apart from any v1 draw). Block b of
 * the stream has the counter (lo32(b), hi32(b), c2, c3); the stream's 32-bit words are the blocks'
 * words in order (block 0 word 0..3, block 1 word 0..3, ...). Blocks are computed PX2_LANES at a
 * time (x86-64: AVX-512 or AVX2 kernels with vpmuludq, else a portable loop the compiler vectorises); the
 * batch size and the kernel do not change the sequence.
 *
 * Draws: 64-bit values are two words (first = low half); a uniform double has 53 bits of one
 * 64-bit value; an integer in [0, n) (n < 2^32) uses Lemire's unbiased multiply-shift with
 * rejection on one word; a standard normal is the 256-layer ziggurat (ziggurat.h) on one 64-bit
 * value per attempt (low 8 bits: layer, next bit: sign, next 52 bits: magnitude), with
 * Marsaglia's tail and exact wedge tests.
 * ------------------------------------------------------------------------------------------ */
#include "ziggurat.h"

#define PX2_M0 0xD2511F53U
#define PX2_M1 0xCD9E8D57U
#define PX2_W0 0x9E3779B9U
#define PX2_W1 0xBB67AE85U
#define PX2_TAG 0x7632000000000000ULL      /* "v2" */
#define PX2_LANES 16                       /* blocks per batch */

/* The 10 rounds of Philox4x32-10 on the counter words c0..c3 with key k0, k1 (all uint32_t lvalues;
 * the key is bumped after each round) */
#define PX2_ROUNDS(c0, c1, c2, c3, k0, k1)                                                     \
    for (int r_ = 0; r_ < 10; ++r_) {                                                          \
        uint64_t p0_ = (uint64_t)PX2_M0 * (c0), p1_ = (uint64_t)PX2_M1 * (c2);                 \
        (c0) = (uint32_t)(p1_ >> 32) ^ (c1) ^ (k0);                                            \
        (c1) = (uint32_t)p1_;                                                                  \
        (c2) = (uint32_t)(p0_ >> 32) ^ (c3) ^ (k1);                                            \
        (c3) = (uint32_t)p0_;                                                                  \
        (k0) += PX2_W0;                                                                        \
        (k1) += PX2_W1;                                                                        \
    }

/* One Philox4x32-10 block (the reference form, for tests and single blocks). */
static inline void px2_block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    PX2_ROUNDS(c0, c1, c2, c3, k0, k1);
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* PX2_LANES consecutive blocks b0 .. b0+PX2_LANES-1 of one stream into out (4 words per block,
 * in stream order; b0 a multiple of PX2_LANES). The lanes are independent: the portable loop
 * vectorises; on x86-64 the kernels below use vpmuludq explicitly (the compiler's form of the
 * loop widens to 64 x 64-bit multiplies), chosen once by the CPU's features. Integer arithmetic
 * only: every kernel gives the same words (tested). */
static void px2_blocks_portable(uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1,
                                uint32_t *restrict out)
{
    #pragma omp simd
    for (int i = 0; i < PX2_LANES; ++i) {
        uint64_t b = b0 + (uint64_t)i;
        uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = fix2, c3 = fix3, r0 = k0, r1 = k1;
        PX2_ROUNDS(c0, c1, c2, c3, r0, r1);
        out[4 * i] = c0; out[4 * i + 1] = c1; out[4 * i + 2] = c2; out[4 * i + 3] = c3;
    }
}

/* x86-64 kernels of px2_blocks: explicit 32 x 32 -> 64-bit multiplies (vpmuludq) on NV
 * independent vectors at once (the rounds' latency hides behind the other vectors' work). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(PX2_NO_VECTOR_KERNELS)
#include <immintrin.h>
#define PX2_X86_KERNELS 1

__attribute__((target("avx512f"), noinline))
static void px2_blocks_avx512(uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1, uint32_t *out)
{
    enum { NV = PX2_LANES / 16 };
    __m512i c0[NV], c1[NV], c2[NV], c3[NV];
    const __m512i m0 = _mm512_set1_epi64(PX2_M0), m1 = _mm512_set1_epi64(PX2_M1);
    for (int v = 0; v < NV; ++v) {
        /* b0 is a multiple of PX2_LANES: the low words of the counters do not carry */
        c0[v] = _mm512_add_epi32(_mm512_set1_epi32((int)((uint32_t)b0 + 16u * v)),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        c1[v] = _mm512_set1_epi32((int)(uint32_t)(b0 >> 32));
        c2[v] = _mm512_set1_epi32((int)fix2);
        c3[v] = _mm512_set1_epi32((int)fix3);
    }
    uint32_t r0 = k0, r1 = k1;
    for (int r = 0; r < 10; ++r) {
        const __m512i kk0 = _mm512_set1_epi32((int)r0), kk1 = _mm512_set1_epi32((int)r1);
        for (int v = 0; v < NV; ++v) {
            __m512i e0 = _mm512_mul_epu32(c0[v], m0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(c0[v], 32), m0);
            __m512i e1 = _mm512_mul_epu32(c2[v], m1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(c2[v], 32), m1);
            __m512i lo0 = _mm512_mask_blend_epi32((__mmask16)0xAAAA, e0, _mm512_slli_epi64(o0, 32));
            __m512i hi0 = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(e0, 32), o0);
            __m512i lo1 = _mm512_mask_blend_epi32((__mmask16)0xAAAA, e1, _mm512_slli_epi64(o1, 32));
            __m512i hi1 = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(e1, 32), o1);
            c0[v] = _mm512_ternarylogic_epi32(hi1, c1[v], kk0, 0x96);
            c1[v] = lo1;
            c2[v] = _mm512_ternarylogic_epi32(hi0, c3[v], kk1, 0x96);
            c3[v] = lo0;
        }
        r0 += PX2_W0;
        r1 += PX2_W1;
    }
    for (int v = 0; v < NV; ++v) {
        __m512i l01 = _mm512_unpacklo_epi32(c0[v], c1[v]), h01 = _mm512_unpackhi_epi32(c0[v], c1[v]);
        __m512i l23 = _mm512_unpacklo_epi32(c2[v], c3[v]), h23 = _mm512_unpackhi_epi32(c2[v], c3[v]);
        __m512i q[4] = {_mm512_unpacklo_epi64(l01, l23), _mm512_unpackhi_epi64(l01, l23),
                        _mm512_unpacklo_epi64(h01, h23), _mm512_unpackhi_epi64(h01, h23)};
        /* q[j]'s 128-bit lane L holds block 4 L + j of this vector */
        __m128i *o = (__m128i *)(out + 64 * v);
        for (int L = 0; L < 4; ++L)
            for (int j = 0; j < 4; ++j)
                _mm_storeu_si128(o + 4 * L + j, _mm512_extracti32x4_epi32(q[j], L));
    }
}

__attribute__((target("avx2"), noinline))
static void px2_blocks_avx2(uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1, uint32_t *out)
{
    enum { NV = PX2_LANES / 8 };
    __m256i c0[NV], c1[NV], c2[NV], c3[NV];
    const __m256i m0 = _mm256_set1_epi64x((long long)PX2_M0), m1 = _mm256_set1_epi64x((long long)PX2_M1);
    for (int v = 0; v < NV; ++v) {
        c0[v] = _mm256_add_epi32(_mm256_set1_epi32((int)((uint32_t)b0 + 8u * v)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        c1[v] = _mm256_set1_epi32((int)(uint32_t)(b0 >> 32));
        c2[v] = _mm256_set1_epi32((int)fix2);
        c3[v] = _mm256_set1_epi32((int)fix3);
    }
    uint32_t r0 = k0, r1 = k1;
    for (int r = 0; r < 10; ++r) {
        const __m256i kk0 = _mm256_set1_epi32((int)r0), kk1 = _mm256_set1_epi32((int)r1);
        for (int v = 0; v < NV; ++v) {
            __m256i e0 = _mm256_mul_epu32(c0[v], m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0[v], 32), m0);
            __m256i e1 = _mm256_mul_epu32(c2[v], m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2[v], 32), m1);
            __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
            __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
            __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
            __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
            c0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[v]), kk0);
            c1[v] = lo1;
            c2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[v]), kk1);
            c3[v] = lo0;
        }
        r0 += PX2_W0;
        r1 += PX2_W1;
    }
    for (int v = 0; v < NV; ++v) {
        __m256i l01 = _mm256_unpacklo_epi32(c0[v], c1[v]), h01 = _mm256_unpackhi_epi32(c0[v], c1[v]);
        __m256i l23 = _mm256_unpacklo_epi32(c2[v], c3[v]), h23 = _mm256_unpackhi_epi32(c2[v], c3[v]);
        __m256i q[4] = {_mm256_unpacklo_epi64(l01, l23), _mm256_unpackhi_epi64(l01, l23),
                        _mm256_unpacklo_epi64(h01, h23), _mm256_unpackhi_epi64(h01, h23)};
        __m128i *o = (__m128i *)(out + 32 * v);
        for (int j = 0; j < 4; ++j) {
            _mm_storeu_si128(o + j, _mm256_castsi256_si128(q[j]));
            _mm_storeu_si128(o + 4 + j, _mm256_extracti128_si256(q[j], 1));
        }
    }
}
#endif

/* the kernel of this CPU: 2 AVX-512, 1 AVX2, 0 portable (found on first use; a race only
 * writes the same value twice) */
static int px2_kernel_level = -1;

static inline int px2_kernel(void)
{
#ifdef PX2_X86_KERNELS
    if (px2_kernel_level < 0) {
        __builtin_cpu_init();
        px2_kernel_level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return px2_kernel_level;
#else
    return 0;
#endif
}

/* the blocks with the kernel ``level`` (2 AVX-512, 1 AVX2, 0 portable; a level above the CPU's
 * falls back to the best it has): for the tests, which compare every kernel's words */
static inline void px2_blocks_with(int level, uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1,
                                   uint32_t *out)
{
    if (level > px2_kernel())
        level = px2_kernel();
#ifdef PX2_X86_KERNELS
    if (level == 2) { px2_blocks_avx512(b0, fix2, fix3, k0, k1, out); return; }
    if (level == 1) { px2_blocks_avx2(b0, fix2, fix3, k0, k1, out); return; }
#endif
    px2_blocks_portable(b0, fix2, fix3, k0, k1, out);
}

static inline void px2_blocks(uint64_t b0, uint32_t fix2, uint32_t fix3, uint32_t k0, uint32_t k1, uint32_t *out)
{
    px2_blocks_with(2, b0, fix2, fix3, k0, k1, out);
}

typedef struct {
    uint32_t key[2];
    uint32_t fix[2];            /* counter words 2 and 3 */
    uint64_t next_block;        /* first block of the next batch */
    int pos;                    /* next word in buf; 4 * PX2_LANES: refill */
    uint32_t buf[4 * PX2_LANES];
} px2_stream;

static inline void px2_init(px2_stream *s, uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra)
{
    uint64_t ctr[4] = {0, id, extra, PX2_TAG}, key[2] = {seed, purpose}, o[4];
    px_block(ctr, key, o);
    s->key[0] = (uint32_t)o[0]; s->key[1] = (uint32_t)(o[0] >> 32);
    s->fix[0] = (uint32_t)o[1]; s->fix[1] = (uint32_t)(o[1] >> 32);
    s->next_block = 0;
    s->pos = 4 * PX2_LANES;
}

static inline uint32_t px2_next32(px2_stream *s)
{
    if (s->pos == 4 * PX2_LANES) {
        px2_blocks(s->next_block, s->fix[0], s->fix[1], s->key[0], s->key[1], s->buf);
        s->next_block += PX2_LANES;
        s->pos = 0;
    }
    return s->buf[s->pos++];
}

static inline uint64_t px2_next64(px2_stream *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (s->pos <= 4 * PX2_LANES - 2) {      /* both words buffered: one load (first word = low half) */
        uint64_t v;
        memcpy(&v, &s->buf[s->pos], sizeof v);
        s->pos += 2;
        return v;
    }
#endif
    uint64_t lo = px2_next32(s);
    return lo | ((uint64_t)px2_next32(s) << 32);
}

/* uniform on [0, 1) with 53 random bits */
static inline double px2_uniform(px2_stream *s)
{
    return (double)(px2_next64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform on (0, 1] */
static inline double px2_uniform_pos(px2_stream *s)
{
    return (double)((px2_next64(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* integer uniform on [0, n), unbiased (Lemire 2019 for n < 2^32; two words above) */
static inline uint64_t px2_below(px2_stream *s, uint64_t n)
{
    if (n > 0xFFFFFFFFULL)
        return (uint64_t)(((__uint128_t)px2_next64(s) * n) >> 64);
    uint32_t n32 = (uint32_t)n;
    uint64_t m = (uint64_t)px2_next32(s) * n32;
    if ((uint32_t)m < n32) {
        uint32_t t = (uint32_t)(-n32) % n32;
        while ((uint32_t)m < t)
            m = (uint64_t)px2_next32(s) * n32;
    }
    return m >> 32;
}

/* The ziggurat's rare cases, for a candidate x of layer idx (sign neg) that is not inside its layer's
 * rectangle: the tail beyond r (idx 0: always accepts, *x = the tail value) or the wedge under the curve
 * (accepts x or not). 1 if *x is the draw, 0 to try a new candidate. Shared by px2_normal and the build's
 * batched draws (connect_draw.h), so both consume the stream alike. */
static inline int px2_zig_outside(px2_stream *s, int idx, int neg, double *x)
{
    if (idx == 0) {                         /* the tail beyond r */
        for (;;) {
            double xx = -PX2_ZIG_INV_R * log1p(-px2_uniform(s));
            double yy = -log1p(-px2_uniform(s));
            if (yy + yy > xx * xx) {
                *x = neg ? -(PX2_ZIG_R + xx) : PX2_ZIG_R + xx;
                return 1;
            }
        }
    }
    /* in the wedge under the curve? */
    return (px2_zig_fi[idx - 1] - px2_zig_fi[idx]) * px2_uniform(s) + px2_zig_fi[idx] < exp(-0.5 * *x * *x);
}

/* standard normal: the 256-layer ziggurat (inlined: it sits in the build's innermost loops) */
static inline __attribute__((always_inline)) double px2_normal(px2_stream *s)
{
    for (;;) {
        uint64_t r = px2_next64(s);
        int idx = (int)(r & 0xff);
        r >>= 8;
        int neg = (int)(r & 1);
        uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
        double x = (double)(int64_t)rabs * px2_zig_wi[idx];     /* 52 bits: exact either way, the signed form is faster */
        if (neg)
            x = -x;
        if (rabs < px2_zig_ki[idx])
            return x;                       /* inside the layer's rectangle: about 99 % */
        if (px2_zig_outside(s, idx, neg, &x))
            return x;
    }
}

/* as px_draw: kind 0 const(a), 1 normal(a, b) redrawn until in [lo, hi], 2 uniform [a, b) */
PX_DEFINE_DRAW(px2_draw, px2_stream, px2_uniform, px2_normal)

#endif
