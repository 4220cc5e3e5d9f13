/* Instructions per call (callgrind) of x^0.4 on 10^6 weights-like x in [20, 120): 0 glibc pow (with its
 * errno wrapper), 1 the prototype (fpow_proto.h), 2 exp(mu*log(x)), 3 __pow_finite (as the engine calls it),
 * 4 __exp_finite(mu*__log_finite(x)).  gcc -O2 -mfma -ffp-contract=off -o bench bench.c -lm
 * for w in 0 1 2 3 4; do valgrind --tool=callgrind --callgrind-out-file=cgb.$w ./bench $w; done */
#include <stdio.h>
#include "fpow_proto.h"
static uint64_t s = 88172645463325252ULL;
static inline uint64_t xr(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
__attribute__((noinline)) double run_glibc(const double *x, long n, double mu) { double a = 0; for (long i = 0; i < n; i++) a += pow(x[i], mu); return a; }
__attribute__((noinline)) double run_fpow(const fpow_t *t, const double *x, long n) { double a = 0; for (long i = 0; i < n; i++) a += fpow(t, x[i]); return a; }
__asm__(".symver f_exp,__exp_finite@GLIBC_2.15");
__asm__(".symver f_log,__log_finite@GLIBC_2.15");
__asm__(".symver f_pow,__pow_finite@GLIBC_2.15");
extern double f_exp(double), f_log(double), f_pow(double, double);
__attribute__((noinline)) double run_powfinite(const double *x, long n, double mu) { double a = 0; for (long i = 0; i < n; i++) a += f_pow(x[i], mu); return a; }
__attribute__((noinline)) double run_explogfinite(const double *x, long n, double mu) { double a = 0; for (long i = 0; i < n; i++) a += f_exp(mu * f_log(x[i])); return a; }
__attribute__((noinline)) double run_explog(const double *x, long n, double mu) { double a = 0; for (long i = 0; i < n; i++) a += exp(mu * log(x[i])); return a; }
int main(int argc, char **argv)
{
    long n = 1000000; int which = atoi(argv[1]);
    double *x = malloc(n * sizeof(double));
    for (long i = 0; i < n; i++) x[i] = 20 + 100 * ((xr() >> 11) * 0x1p-53);
    static fpow_t t; fpow_init(&t, 0.4);
    double a = which == 0 ? run_glibc(x, n, 0.4) : which == 1 ? run_fpow(&t, x, n) : which == 2 ? run_explog(x, n, 0.4) : which == 3 ? run_powfinite(x, n, 0.4) : run_explogfinite(x, n, 0.4);
    printf("%d %.17g fallback %g\n", which, a, fpow_slow_calls / n);
    return 0;
}
