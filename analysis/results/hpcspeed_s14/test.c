/* fpow_proto.h against glibc's pow, and exp(mu*log(x)) against pow: test MU N LO HI [x] (x: arbitrary positive
 * finite doubles instead of uniform in [LO, HI)). gcc -O2 -mfma -ffp-contract=off -o test test.c -lm */
#include <stdio.h>
#include "fpow_proto.h"
static uint64_t s = 88172645463325252ULL;
static inline uint64_t xr(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
int main(int argc, char **argv)
{
    double mu = atof(argv[1]); long n = atol(argv[2]); double lo = atof(argv[3]), hi = atof(argv[4]);
    static fpow_t t; fpow_init(&t, mu);
    long bad = 0, badexp = 0; long long maxulp = 0;
    for (long i = 0; i < n; i++) {
        double x = lo + (hi - lo) * ((xr() >> 11) * 0x1p-53);
        if (argc > 5) x = f_dbl(xr() & 0x7fefffffffffffffULL);   /* arbitrary positive finite */
        double a = fpow(&t, x), b = pow(x, mu);
        if (f_bits(a) != f_bits(b)) { if (bad < 5) printf("DIFF x=%a mine=%a glibc=%a\n", x, a, b); bad++; }
        const double ex = exp(mu * log(x));
        if (f_bits(ex) != f_bits(b)) badexp++;
        long long du = (long long) f_bits(ex) - (long long) f_bits(b);
        if (du < 0) du = -du;
        if (du > maxulp) maxulp = du;
    }
    printf("mu=%g n=%ld range=[%g,%g]%s: fpow differs %ld, fallback %.4f; exp(mu*log x) differs from pow in %.4f, by up to %lld ulp\n",
           mu, n, lo, hi, argc > 5 ? " arbitrary" : "", bad, fpow_slow_calls / n, (double) badexp / n, maxulp);
    return bad != 0;
}
