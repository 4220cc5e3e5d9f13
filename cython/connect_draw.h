/* The build's innermost value loop for realisation scheme v2 (cython/connect.pyx): the weights
 * and delays of a target's synapses from its value stream, in C so that the ziggurat is inlined
 * with the distribution kinds known at compile time for the common case (normal weights and
 * normal delays). It draws exactly what px2_draw does, in the same order (weight, delay, weight, ...). */
#ifndef PARSNN_CONNECT_DRAW_H
#define PARSNN_CONNECT_DRAW_H
#include "philox.h"

/* a delay in ms rounded to whole steps, at least 1, 65536 flagging an overflow: floor(x) < 1 iff
 * x < 1 and floor(x) > 65535 iff x >= 65536; in between x >= 1, so truncation is floor */
static inline int64_t px_delay_steps(double dms, double inv_h)
{
    double x = dms * inv_h + 0.5;
    if (x < 1.0)
        return 1;
    if (x >= 65536.0)
        return 65536;
    return (int64_t)x;
}

/* The ziggurat's quick path for every 64-bit value of the stream's buffer at once: x[j] the
 * candidate normal of value j (words 2j, 2j+1), bit j of ok set when it is accepted without the
 * wedge or tail test. px2z_normal then draws exactly what px2_normal draws, reading the candidates
 * instead of computing them one at a time. Valid while the buffer holds blocks up to nb. */
#define PX2Z_VALUES (2 * PX2_LANES)
typedef struct {
    double x[PX2Z_VALUES];
    uint32_t ok;
    uint64_t nb;
} px2_zcache;

static inline void px2z_fill_portable(const uint32_t *buf, px2_zcache *z)
{
    uint32_t m = 0;
    for (int j = 0; j < PX2Z_VALUES; ++j) {
        uint64_t r = (uint64_t)buf[2 * j] | ((uint64_t)buf[2 * j + 1] << 32);
        int idx = (int)(r & 0xff);
        uint64_t rabs = (r >> 9) & 0x000fffffffffffffULL;
        double x = (double)(int64_t)rabs * px2_zig_wi[idx];
        z->x[j] = ((r >> 8) & 1) ? -x : x;
        m |= (uint32_t)(rabs < px2_zig_ki[idx]) << j;
    }
    z->ok = m;
}

#ifdef PX2_X86_KERNELS
/* the same with AVX-512 (8 values per vector; the table entries gathered; rabs < 2^52 is
 * converted exactly through the 2^52 exponent trick; the sign flip is -x) */
__attribute__((target("avx512f"), noinline))
static void px2z_fill_avx512(const uint32_t *buf, px2_zcache *z)
{
    uint32_t m = 0;
    const __m512i low8 = _mm512_set1_epi64(0xff), mask52 = _mm512_set1_epi64(0x000fffffffffffffLL);
    const __m512i exp52 = _mm512_set1_epi64(0x4330000000000000LL);
    const __m512d two52 = _mm512_set1_pd(4503599627370496.0);
    for (int v = 0; v < PX2Z_VALUES / 8; ++v) {
        __m512i r = _mm512_loadu_si512((const void *)(buf + 16 * v));     /* little-endian: value j = words 2j, 2j+1 */
        __m512i idx = _mm512_and_si512(r, low8);
        __m512i sign = _mm512_slli_epi64(_mm512_srli_epi64(r, 8), 63);
        __m512i rabs = _mm512_and_si512(_mm512_srli_epi64(r, 9), mask52);
        __m512d wi = _mm512_i64gather_pd(idx, (const void *)px2_zig_wi, 8);
        __m512i ki = _mm512_i64gather_epi64(idx, (const void *)px2_zig_ki, 8);
        __m512d fr = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(rabs, exp52)), two52);
        __m512d x = _mm512_mul_pd(fr, wi);
        _mm512_storeu_pd(z->x + 8 * v, _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), sign)));
        m |= (uint32_t)_mm512_cmplt_epu64_mask(rabs, ki) << (8 * v);
    }
    z->ok = m;
}
#endif

static inline void px2z_fill(const uint32_t *buf, px2_zcache *z)
{
#if defined(PX2_X86_KERNELS) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (px2_kernel() == 2) {
        px2z_fill_avx512(buf, z);
        return;
    }
#endif
    px2z_fill_portable(buf, z);
}

/* px2_normal on a stream read 64 bits at a time (its position even), with the candidates of ``z`` */
static inline __attribute__((always_inline)) double px2z_normal(px2_stream *s, px2_zcache *z)
{
    for (;;) {
        if (s->pos == 4 * PX2_LANES) {
            px2_blocks(s->next_block, s->fix[0], s->fix[1], s->key[0], s->key[1], s->buf);
            s->next_block += PX2_LANES;
            s->pos = 0;
        }
        if (z->nb != s->next_block) {
            px2z_fill(s->buf, z);
            z->nb = s->next_block;
        }
        int j = s->pos >> 1;
        s->pos += 2;
        double x = z->x[j];
        if ((z->ok >> j) & 1)
            return x;                       /* inside the layer's rectangle */
        uint64_t r = (uint64_t)s->buf[2 * j] | ((uint64_t)s->buf[2 * j + 1] << 32);
        int idx = (int)(r & 0xff);
        int neg = (int)((r >> 8) & 1);
        if (px2_zig_outside(s, idx, neg, &x))
            return x;
    }
}

/* px2_draw with px2z_normal */
static inline __attribute__((always_inline)) double px2z_draw(px2_stream *s, px2_zcache *z, int kind, double a,
                                                              double b, double lo, double hi)
{
    if (kind == 0) return a;
    if (kind == 2) return a + (b - a) * px2_uniform(s);
    double x;
    do {
        x = a + b * px2z_normal(s, z);
    } while (x < lo || x > hi);
    return x;
}

static inline __attribute__((always_inline)) void px2_values_kinds(
    px2_stream *sv, int64_t cnt, int wk, int dk, const double *ws, const double *ds, double inv_h,
    float *wbuf, uint16_t *dbuf, int64_t *dext)
{
    int64_t dmin = dext[0], dmax = dext[1];
    const double wa = ws[0], wb = ws[1], wlo = ws[2], whi = ws[3], da = ds[0], db = ds[1], dlo = ds[2], dhi = ds[3];
    px2_zcache z;
    z.nb = ~(uint64_t)0;
    for (int64_t k = 0; k < cnt; ++k) {
        wbuf[k] = (float)px2z_draw(sv, &z, wk, wa, wb, wlo, whi);
        int64_t d = px_delay_steps(px2z_draw(sv, &z, dk, da, db, dlo, dhi), inv_h);
        dmin = d < dmin ? d : dmin;
        dmax = d > dmax ? d : dmax;
        dbuf[k] = (uint16_t)(d < 65536 ? d : 65535);
    }
    dext[0] = dmin;
    dext[1] = dmax;
}

/* ``cnt`` weights (kind wk, parameters ws) and delays in steps (kind dk, ds; inv_h = 1 / resolution)
 * into wbuf, dbuf; dext[0], dext[1]: running min and max delay in steps. */
static inline void px2_values(px2_stream *sv, int64_t cnt, int wk, int dk, const double *ws, const double *ds,
                              double inv_h, float *wbuf, uint16_t *dbuf, int64_t *dext)
{
    if (sv->pos & 1) {                  /* not at a value boundary: the plain draws */
        for (int64_t k = 0; k < cnt; ++k) {
            wbuf[k] = (float)px2_draw(sv, wk, ws[0], ws[1], ws[2], ws[3]);
            int64_t d = px_delay_steps(px2_draw(sv, dk, ds[0], ds[1], ds[2], ds[3]), inv_h);
            dext[0] = d < dext[0] ? d : dext[0];
            dext[1] = d > dext[1] ? d : dext[1];
            dbuf[k] = (uint16_t)(d < 65536 ? d : 65535);
        }
        return;
    }
    if (wk == 1 && dk == 1)
        px2_values_kinds(sv, cnt, 1, 1, ws, ds, inv_h, wbuf, dbuf, dext);
    else
        px2_values_kinds(sv, cnt, wk, dk, ws, ds, inv_h, wbuf, dbuf, dext);
}
#endif
