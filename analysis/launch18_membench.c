/* Launch-variance micro-benchmark (issue 18), independent of parsnn.
 *
 * One launch: map SIZE_MIB of anonymous memory (mode thp: MADV_HUGEPAGE, nothp: MADV_NOHUGEPAGE,
 * hugetlb: MAP_HUGETLB from the vm.nr_hugepages pool), optionally MAP_POPULATE, fault it in (timed),
 * then REPS times: a dependent random chase (latency, ns/access) and an independent random gather
 * (throughput, ns/access) over the whole buffer, in thread CPU time (chase_ns, gather_ns: not inflated
 * when the process waits for a CPU on a loaded machine; EPT faults and host-side stalls still count)
 * and in wall time (*_wall_ns).  Prints one JSON line with the timings, the
 * process's AnonHugePages (smaps_rollup), minor faults, and (root) the fraction of sampled pages
 * whose guest-physical frame lies in a 2 MiB-aligned contiguous run.  If PFN_OUT is set, the sampled
 * guest-physical frame numbers are written there (one per line) so the driver can tell whether a
 * launch got back the frames the previous launch freed.
 *
 * Build: gcc -O2 -o launch18_membench launch18_membench.c
 * Usage: launch18_membench SIZE_MIB MODE POPULATE REPS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu_now(void) { /* this thread's CPU time: not inflated when the process waits for a CPU */
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static long smaps_kib(const char *key) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') { v = atol(line + n + 1); break; }
    fclose(f);
    return v;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s SIZE_MIB thp|nothp|hugetlb POPULATE REPS\n", argv[0]); return 2; }
    size_t size = (size_t)atol(argv[1]) << 20;
    const char *mode = argv[2];
    int populate = atoi(argv[3]), reps = atoi(argv[4]);
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (!strcmp(mode, "hugetlb")) flags |= MAP_HUGETLB;
    if (populate) flags |= MAP_POPULATE;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    /* over-allocate 2 MiB so the region can be 2 MiB aligned (THP needs aligned ranges) */
    size_t pad = strcmp(mode, "hugetlb") ? (2u << 20) : 0;
    char *raw = mmap(NULL, size + pad, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (raw == MAP_FAILED) { perror("mmap"); return 1; }
    uint64_t *a = (uint64_t *)(((uintptr_t)raw + pad - 1) & ~((uintptr_t)pad - 1 + (pad == 0)));
    if (pad == 0) a = (uint64_t *)raw;
    if (!strcmp(mode, "thp")) madvise(a, size, MADV_HUGEPAGE);
    else if (!strcmp(mode, "nothp")) madvise(a, size, MADV_NOHUGEPAGE);
    size_t n = size / 8, mask = n - 1; /* size must be a power of two */
    for (size_t i = 0; i < n; i++) a[i] = mix(i);
    double t_fault = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    long anon_huge = smaps_kib("AnonHugePages");
    /* guest-physical frames of sampled pages (needs root for PFNs) */
    int pm = open("/proc/self/pagemap", O_RDONLY);
    size_t npages = size >> 12, step = 64, aligned = 0, sampled = 0;
    FILE *pout = getenv("PFN_OUT") ? fopen(getenv("PFN_OUT"), "w") : NULL;
    for (size_t p = 0; pm >= 0 && p < npages; p += step) {
        uint64_t e = 0, e2 = 0;
        uintptr_t va = (uintptr_t)a + (p << 12);
        if (pread(pm, &e, 8, (va >> 12) * 8) != 8) break;
        uint64_t pfn = e & ((1ULL << 55) - 1);
        if (!(e >> 63) || pfn == 0) continue;
        sampled++;
        if (pout) fprintf(pout, "%llu\n", (unsigned long long)pfn);
        /* is the whole 2 MiB virtual block backed by one aligned 2 MiB guest-physical block? */
        uintptr_t vb = va & ~((uintptr_t)(2u << 20) - 1);
        if (pread(pm, &e, 8, (vb >> 12) * 8) == 8 && pread(pm, &e2, 8, ((vb >> 12) + 511) * 8) == 8) {
            uint64_t f0 = e & ((1ULL << 55) - 1), f1 = e2 & ((1ULL << 55) - 1);
            if ((f0 & 511) == 0 && f1 == f0 + 511) aligned++;
        }
    }
    if (pout) fclose(pout);
    if (pm >= 0) close(pm);
    printf("{\"mode\":\"%s\",\"populate\":%d,\"size_mib\":%zu,\"fault_s\":%.4f,\"minflt\":%ld,"
           "\"anon_huge_kib\":%ld,\"pfn_sampled\":%zu,\"pfn_2m_frac\":%.4f,\"chase_ns\":[",
           mode, populate, size >> 20, t_fault, r1.ru_minflt - r0.ru_minflt, anon_huge, sampled,
           sampled ? (double)aligned / sampled : -1.0);
    const long nchase = 4000000, ngather = 40000000;
    uint64_t sink = 0;
    double gather[64], chase_wall[64], gather_wall[64];
    for (int r = 0; r < reps && r < 64; r++) {
        size_t idx = mix(r + 12345) & mask;
        double w = now(), t = cpu_now();
        for (long i = 0; i < nchase; i++) idx = mix(a[idx] ^ (uint64_t)i) & mask;
        double tc = cpu_now() - t;
        chase_wall[r] = (now() - w) / nchase * 1e9;
        sink += idx;
        uint64_t s = 0;
        w = now();
        t = cpu_now();
        for (long i = 0; i < ngather; i++) s += a[mix((uint64_t)i * 0x9e3779b97f4a7c15ULL + r) & mask];
        gather[r] = (cpu_now() - t) / ngather * 1e9;
        gather_wall[r] = (now() - w) / ngather * 1e9;
        sink += s;
        printf("%s%.2f", r ? "," : "", tc / nchase * 1e9);
    }
    printf("],\"gather_ns\":[");
    for (int r = 0; r < reps && r < 64; r++) printf("%s%.3f", r ? "," : "", gather[r]);
    printf("],\"chase_wall_ns\":[");
    for (int r = 0; r < reps && r < 64; r++) printf("%s%.2f", r ? "," : "", chase_wall[r]);
    printf("],\"gather_wall_ns\":[");
    for (int r = 0; r < reps && r < 64; r++) printf("%s%.3f", r ? "," : "", gather_wall[r]);
    printf("],\"sink\":%llu}\n", (unsigned long long)(sink & 0xff));
    return 0;
}
