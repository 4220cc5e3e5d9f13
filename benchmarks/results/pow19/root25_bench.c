/* micro-benchmark: glibc pow(x, 0.4) against x^(2/5) by Newton's method on y^5 = x^2 (plain IEEE
 * double arithmetic, no FMA: the same bits in scalar and vector code), over weights around hpc_benchmark's */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double root25(double x) {
    const double a = x * x;
    uint64_t b; memcpy(&b, &x, 8);
    const int64_t B = (int64_t) 1023 << 52;
    int64_t by = B + (int64_t) ((double) ((int64_t) b - B) * 0.4);
    double y; memcpy(&y, &by, 8);
    for (int it = 0; it < 3; it++) {
        const double y2 = y * y, y4 = y2 * y2;
        y = 0.8 * y + 0.2 * (a / y4);
    }
    {   /* the last step as a small correction: its rounding errors are scaled by 0.2 */
        const double y2 = y * y, y4 = y2 * y2;
        y = y + 0.2 * (a / y4 - y);
    }
    return y;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

int main(void) {
    const int N = 1 << 22;
    double *x = malloc(N * 8), *y = malloc(N * 8), *z = malloc(N * 8);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = 1.0 + 99.0 * ((s >> 11) * 0x1.0p-53);          /* weights 1..100 pA */
    }
    double best_p = 1e9, best_r = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int i = 0; i < N; i++) y[i] = pow(x[i], 0.4);
        double t1 = now();
        for (int i = 0; i < N; i++) z[i] = root25(x[i]);
        double t2 = now();
        if (t1 - t0 < best_p) best_p = t1 - t0;
        if (t2 - t1 < best_r) best_r = t2 - t1;
    }
    long hist[8] = {0}; double maxrel = 0;
    for (int i = 0; i < N; i++) {
        int64_t a, b; memcpy(&a, &y[i], 8); memcpy(&b, &z[i], 8);
        long d = labs(a - b); hist[d < 7 ? d : 7]++;
    }
    printf("pow: %.2f ns/call  root25 (loop, compiler-vectorized if it can): %.2f ns/call\n", 1e9 * best_p / N, 1e9 * best_r / N);
    printf("ulp difference to glibc pow: 0: %ld, 1: %ld, 2: %ld, 3: %ld, >=4: %ld of %d\n", hist[0], hist[1], hist[2], hist[3],
           hist[4] + hist[5] + hist[6] + hist[7], N);
    return 0;
}
