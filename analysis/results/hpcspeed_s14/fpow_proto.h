/* Prototype: x^mu for a fixed mu through tables and double-double arithmetic, with a test
 * whether the result is provably glibc's (correctly rounded and far enough from a rounding
 * midpoint that glibc's own documented pre-rounding error of < 0.04 ulp cannot change it);
 * otherwise glibc's pow. Not landed. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

typedef struct {
    double mu;
    double b[9];          /* binom(mu, k), k = 0..8 */
    double ah[512], al[512], invc[512];
    double bh[2048], bl[2048];
    unsigned char bok[2048];
} fpow_t;

static inline uint64_t f_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double f_dbl(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

static void fpow_init(fpow_t *t, double mu)
{
    t->mu = mu;
    long double bk = 1.0L;
    for (int k = 0; k < 9; k++) {
        t->b[k] = (double) bk;
        bk = bk * ((long double) mu - k) / (k + 1);
    }
    for (int j = 0; j < 512; j++) {
        double c = 1.0 + (j + 0.5) / 512.0;
        t->invc[j] = 1.0 / c;
        long double v = powl(1.0L / (long double) t->invc[j], (long double) mu);
        t->ah[j] = (double) v;
        t->al[j] = (double) (v - (long double) t->ah[j]);
    }
    for (int e = 0; e < 2048; e++) {
        long double a = (long double) mu * (long double) (e - 1023);
        t->bok[e] = (e >= 1 && e <= 2046 && fabsl(a) < 900.0L);
        long double v = t->bok[e] ? exp2l(a) : 1.0L;
        t->bh[e] = (double) v;
        t->bl[e] = (double) (v - (long double) t->bh[e]);
    }
}

double fpow_slow_calls;

static inline double fpow(const fpow_t *t, double x)
{
    const uint64_t ix = f_bits(x);
    const uint64_t e = ix >> 52;                    /* sign and biased exponent */
    if (__builtin_expect(!t->bok[e & 0x7ff] || (ix >> 63), 0))
        goto slow;
    {
        const int j = (int) ((ix >> 43) & 511);
        const double m = f_dbl((ix & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
        const double r = __builtin_fma(m, t->invc[j], -1.0);
        const double ph = t->mu * r, pl = __builtin_fma(t->mu, r, -ph);
        const double r2 = r * r;
        const double q = r2 * (t->b[2] + r * t->b[3]) + (r2 * r2) * (t->b[4] + r * t->b[5]);
        const double sh = 1.0 + ph, sl = ((1.0 - sh) + ph) + (pl + q);
        const double Ah = t->ah[j], Al = t->al[j], Bh = t->bh[e], Bl = t->bl[e];
        const double h1 = Ah * Bh, l1 = __builtin_fma(Ah, Bh, -h1) + (Ah * Bl + Al * Bh);
        const double h = h1 * sh, l = __builtin_fma(h1, sh, -h) + (h1 * sl + l1 * sh);
        const double y = h + l;
        const double d = l - (y - h);               /* (h + l) - y */
        const uint64_t iy = f_bits(y);
        const double u = f_dbl(iy + 1) - y;         /* ulp above y */
        /* tolerance: this approximation's relative error (< 2^-59) and glibc's pre-rounding error (< 0.04 ulp) */
        const double tol = 0.04 * u + y * 0x1p-59;
        if (__builtin_expect((iy & 0x000fffffffffffffULL) != 0 && fabs(d) < 0.5 * u - tol, 1))
            return y;
    }
slow:
    fpow_slow_calls += 1;
    return pow(x, t->mu);
}
