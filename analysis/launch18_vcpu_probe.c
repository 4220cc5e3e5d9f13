/* Per-vCPU speed over time (issue 18).  Pinned by the caller (taskset), chases a small buffer (SIZE_KIB,
 * default 1024: L2-resident, no memory or TLB effect) in samples of ~20 ms for SECONDS seconds and prints
 * one line per sample: wall time since start, ns per access in thread CPU time, in wall time, and the
 * involuntary context switches during the sample (a sample without any was not preempted in the guest:
 * a slow one then is the host's doing: SMT sibling, host scheduling, frequency).
 * Build: gcc -O2 -o launch18_vcpu_probe launch18_vcpu_probe.c
 * Usage: launch18_vcpu_probe SECONDS [SIZE_KIB]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double clk(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 30.0;
    size_t n = (size_t)(argc > 2 ? atol(argv[2]) : 1024) * 1024 / 8, mask = n - 1;
    uint64_t *a = malloc(n * 8), idx = 1;
    for (size_t i = 0; i < n; i++) a[i] = mix(i);
    const long steps = 1000000;
    double t0 = clk(CLOCK_MONOTONIC);
    while (clk(CLOCK_MONOTONIC) - t0 < secs) {
        struct rusage r0, r1;
        getrusage(RUSAGE_THREAD, &r0);
        double w = clk(CLOCK_MONOTONIC), c = clk(CLOCK_THREAD_CPUTIME_ID);
        for (long i = 0; i < steps; i++) idx = mix(a[idx] ^ (uint64_t)i) & mask;
        double dc = clk(CLOCK_THREAD_CPUTIME_ID) - c, dw = clk(CLOCK_MONOTONIC) - w;
        getrusage(RUSAGE_THREAD, &r1);
        printf("%.3f %.3f %.3f %ld\n", w - t0, dc / steps * 1e9, dw / steps * 1e9, r1.ru_nivcsw - r0.ru_nivcsw);
    }
    fprintf(stderr, "sink %llu\n", (unsigned long long)(idx & 0xff)); /* keeps the chase */
    return 0;
}
