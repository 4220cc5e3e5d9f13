/* CPU ns per call (thread CPU time), glibc pow vs fpow_proto.h, independent calls and a dependent chain, 5 rounds.
 * gcc -O2 -mfma -ffp-contract=off -o timeit timeit.c -lm */
#include <stdio.h>
#include <time.h>
#include "fpow_proto.h"
static uint64_t s = 88172645463325252ULL;
static inline uint64_t xr(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
__attribute__((noinline)) double run_glibc(const double *x, long n, double mu) { double a = 0; for (long i = 0; i < n; i++) a += pow(x[i], mu); return a; }
__attribute__((noinline)) double run_fpow(const fpow_t *t, const double *x, long n) { double a = 0; for (long i = 0; i < n; i++) a += fpow(t, x[i]); return a; }
/* a dependent chain, like the facilitation: w = w + c*pow(w)*k */
__attribute__((noinline)) double chain_glibc(double w, long n) { for (long i = 0; i < n; i++) { w = w + 1e-9 * pow(w, 0.4); } return w; }
__attribute__((noinline)) double chain_fpow(const fpow_t *t, double w, long n) { for (long i = 0; i < n; i++) { w = w + 1e-9 * fpow(t, w); } return w; }
static double cpu(void) { struct timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
int main(void)
{
    long n = 4000000;
    double *x = malloc(n * sizeof(double));
    for (long i = 0; i < n; i++) x[i] = 20 + 100 * ((xr() >> 11) * 0x1p-53);
    static fpow_t t; fpow_init(&t, 0.4);
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu(); volatile double a = run_glibc(x, n, 0.4); double t1 = cpu(); volatile double b = run_fpow(&t, x, n); double t2 = cpu();
        volatile double c = chain_glibc(45.0, n); double t3 = cpu(); volatile double d = chain_fpow(&t, 45.0, n); double t4 = cpu();
        printf("indep: glibc %.2f ns fpow %.2f ns ratio %.3f | chain: glibc %.2f ns fpow %.2f ns ratio %.3f %s\n", (t1-t0)/n*1e9, (t2-t1)/n*1e9, (t2-t1)/(t1-t0),
               (t3-t2)/n*1e9, (t4-t3)/n*1e9, (t4-t3)/(t3-t2), (a == b && c == d) ? "same" : "DIFFER");
    }
    return 0;
}
