/* Counter-based random numbers for parsnn: Philox4x64-10 (Salmon et al.,
 * SC'11, "Parallel random numbers: as easy as 1, 2, 3").
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
 * 2 uniform [a, b) */
static inline double px_draw(px_stream *s, int kind, double a, double b, double lo, double hi)
{
    if (kind == 0) return a;
    if (kind == 2) return a + (b - a) * px_uniform(s);
    double x;
    do {
        x = a + b * px_normal(s);
    } while (x < lo || x > hi);
    return x;
}

/* Poisson-distributed count with mean lam. Inversion for small means; PTRS
 * (Hoermann 1993, transformed rejection with squeeze) above. */
static inline int64_t px_poisson(px_stream *s, double lam)
{
    if (lam <= 0.0) return 0;
    if (lam < 10.0) {
        double p = exp(-lam), F = p, u = px_uniform(s);
        int64_t k = 0;
        while (u > F && k < 1000) {
            k += 1;
            p *= lam / (double)k;
            F += p;
        }
        return k;
    }
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

#endif
