/* Roofline probe for PD14 on this machine: how fast can one core deliver synaptic events into
 * delay ring buffers, and update iaf_psc_exp neurons?  Compiled and run by benchmarks/roofline.py.
 *
 *   roofline [--neurons N] [--sources S] [--outdeg K] [--slots D] [--spikes-per-step R]
 *            [--events E] [--steps T] [--seed X] [--start-at EPOCH] [--prefetch PF]
 *
 * Data layout as in parsnn's engine (cython/engine.pyx): per rank, a ring buffer of D slots x N local
 * neurons for excitatory and one for inhibitory input (float64, [slot][neuron]); the synapses of each
 * source in one row of a CSR store, struct-of-arrays: uint32 target, float32 weight, uint16 delay
 * (10 bytes per synapse).  Defaults are PD14 at full scale on 2 ranks: 38,585 local neurons, 77,169
 * sources (every neuron has targets on every rank), 1,936 local synapses per source (2.99e8 / 77,169 / 2),
 * 25 spikes per 0.1 ms step (2.5e5 spikes/s), 80 % excitatory sources with delays ~ N(1.5 ms, 0.75 ms),
 * inhibitory ~ N(0.75 ms, 0.375 ms), redrawn below one step; uniform random targets.
 *
 * Measurements (each prints ns per unit; all results as one JSON object on stdout):
 *   scatter_random: each step, R random sources (sorted by id, the engine's canonical order) are
 *                   delivered: ring[(t + d) mod D][target] += w, rows in random target order;
 *   scatter_sorted: the same with every row sorted by (delay, target) at build time;
 *   scatter_prefetch: sorted rows, and the ring entry of the synapse --prefetch places ahead
 *                   (default 128) is prefetched, as parsnn's engine did up to session 6;
 *   scatter_runs1:  the engine's present kernel (cython/deliver.h, per-tau rings): sorted rows of
 *                   8 bytes per synapse (uint32 target, float32 weight) whose delays are stored once
 *                   per run of equal delay (uint16 delay + uint32 length), ONE ring for both signs
 *                   (no sign branch, half the ring bytes), prefetching --prefetch synapses ahead;
 *   scatter_runs16: the same with uint16 targets, 6 bytes per synapse (cython/deliver.h's
 *                   parsnn_scatter_runs16, the engine's kernel on a rank with <= 65536 neurons);
 *                   -1 ns per event when --neurons exceeds 65536;
 *   update:         the iaf_psc_exp step over N neurons (read and clear the ring slot, exact
 *                   propagators, refractoriness, threshold), DC drive, no synaptic input, written
 *                   as parsnn's engine does (branches in the loop);
 *   update_vec:     the same step without branches (vectorisable), then a threshold scan;
 *   update_uniform: branch-free with one parameter set for all neurons (PD14's neurons share their
 *                   parameters) and the threshold test fused into the loop, blocks of 64 neurons
 *                   (the design of parsnn's cython/update.h).
 *   update_1ring:   the same with one input ring (no inhibitory current or second ring slot: the
 *                   engine's one-ring kernel, PD14's default).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;
static inline uint64_t rnd(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static inline double unif(void) { return (rnd() >> 11) * (1.0 / 9007199254740992.0); }
static double normal(void) {
    double u1 = unif(), u2 = unif();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct { uint16_t d; uint32_t t; float w; } syn_t;
static int cmp_syn(const void *a, const void *b) {
    const syn_t *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}
static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* deliver `nsteps` steps of `rps` random sources each; returns events. pf > 0: prefetch the ring
 * entry of the synapse pf places ahead in the row */
static int64_t scatter(double *ring_ex, double *ring_in, int64_t n, int64_t D, const uint32_t *tgt,
                       const float *w, const uint16_t *d, int64_t K, int64_t S, int64_t nsteps, int64_t rps,
                       uint32_t *srcbuf, int64_t pf) {
    int64_t events = 0;
    for (int64_t t = 0; t < nsteps; t++) {
        for (int64_t k = 0; k < rps; k++) srcbuf[k] = (uint32_t)(rnd() % (uint64_t)S);
        qsort(srcbuf, rps, sizeof(uint32_t), cmp_u32);
        int64_t slot0 = t % D;
        for (int64_t k = 0; k < rps; k++) {
            int64_t row = (int64_t)srcbuf[k] * K;
            const uint32_t *tg = tgt + row;
            const float *ww = w + row;
            const uint16_t *dd = d + row;
            double *ring = ww[0] >= 0.0f ? ring_ex : ring_in;   /* a row has one sign (Dale) */
            for (int64_t q = 0; q < K; q++) {
                if (pf > 0 && q + pf < K) {
                    int64_t ps = slot0 + dd[q + pf];
                    if (ps >= D) ps -= D;
                    __builtin_prefetch(ring + ps * n + tg[q + pf], 1, 3);
                }
                int64_t s = slot0 + dd[q];
                if (s >= D) s -= D;
                ring[s * n + tg[q]] += ww[q];
            }
            events += K;
        }
    }
    return events;
}

/* as scatter(), with 8-byte rows (tgt, w), the delays as runs (run_ptr per row; run k: run_n[k]
 * synapses of delay run_d[k]) and one ring for both signs: the loop of cython/deliver.h;
 * scatter_runs1 with uint32 targets (parsnn_scatter_runs), scatter_runs16 with uint16 targets,
 * 6-byte rows (parsnn_scatter_runs16, a rank with <= 65536 neurons) */
#define DEFINE_SCATTER_RUNS(NAME, TGT_T)                                                                  \
static int64_t NAME(double *ring, int64_t n, int64_t D, const TGT_T *tgt, const float *w,                \
                    const int64_t *run_ptr, const uint16_t *run_d, const uint32_t *run_n, int64_t K,      \
                    int64_t S, int64_t nsteps, int64_t rps, uint32_t *srcbuf, int64_t pf) {               \
    int64_t events = 0;                                                                                   \
    for (int64_t t = 0; t < nsteps; t++) {                                                                \
        for (int64_t k = 0; k < rps; k++) srcbuf[k] = (uint32_t)(rnd() % (uint64_t)S);                    \
        qsort(srcbuf, rps, sizeof(uint32_t), cmp_u32);                                                    \
        int64_t slot0 = t % D;                                                                            \
        for (int64_t k = 0; k < rps; k++) {                                                               \
            const int64_t row = srcbuf[k], a = row * K, b = a + K;                                        \
            int64_t q = a, p = a + pf, pr = run_ptr[row], pend = a, pbase = 0;                           \
            for (int64_t r = run_ptr[row]; r < run_ptr[row + 1]; r++) {                                   \
                int64_t s = slot0 + run_d[r];                                                             \
                if (s >= D) s -= D;                                                                       \
                double *ring_s = ring + s * n;                                                            \
                const int64_t qend = q + run_n[r];                                                        \
                for (; q < qend; q++, p++) {                                                              \
                    if (pf > 0 && p < b) {                                                                \
                        while (p >= pend) {                                                               \
                            int64_t ps = slot0 + run_d[pr];                                               \
                            if (ps >= D) ps -= D;                                                         \
                            pbase = ps * n;                                                               \
                            pend += run_n[pr++];                                                          \
                        }                                                                                 \
                        __builtin_prefetch(ring + pbase + tgt[p], 1, 3);                                  \
                    }                                                                                     \
                    ring_s[tgt[q]] += w[q];                                                               \
                }                                                                                         \
            }                                                                                             \
            events += K;                                                                                  \
        }                                                                                                 \
    }                                                                                                     \
    return events;                                                                                        \
}
DEFINE_SCATTER_RUNS(scatter_runs1, uint32_t)
DEFINE_SCATTER_RUNS(scatter_runs16, uint16_t)

int main(int argc, char **argv) {
    int64_t n = 38585, S = 77169, K = 1936, D = 0, rps = 25, T = 4000, PF = 128;
    double events_target = 2e8, start_at = 0;
    uint64_t seed = 12345;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--neurons")) n = atoll(v);
        else if (!strcmp(a, "--sources")) S = atoll(v);
        else if (!strcmp(a, "--outdeg")) K = atoll(v);
        else if (!strcmp(a, "--slots")) D = atoll(v);
        else if (!strcmp(a, "--spikes-per-step")) rps = atoll(v);
        else if (!strcmp(a, "--events")) events_target = atof(v);
        else if (!strcmp(a, "--steps")) T = atoll(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, 0, 10);
        else if (!strcmp(a, "--start-at")) start_at = atof(v);
        else if (!strcmp(a, "--prefetch")) PF = atoll(v);
        else { fprintf(stderr, "roofline: unknown option %s\n", a); return 2; }
    }
    if (n < 1 || S < 1 || K < 1 || rps < 1 || T < 1) { fprintf(stderr, "roofline: sizes must be >= 1\n"); return 2; }
    rng_state = seed;

    /* ---- synapse store: S rows of K synapses; delays in steps (h = 0.1 ms) */
    size_t nsyn = (size_t)S * (size_t)K;
    uint32_t *tgt = malloc(nsyn * sizeof(uint32_t));
    float *w = malloc(nsyn * sizeof(float));
    uint16_t *d = malloc(nsyn * sizeof(uint16_t));
    syn_t *tmp = malloc((size_t)K * sizeof(syn_t));
    uint32_t *srcbuf = malloc((size_t)rps * sizeof(uint32_t));
    if (!tgt || !w || !d || !tmp || !srcbuf) { fprintf(stderr, "roofline: out of memory\n"); return 1; }
    int64_t dmax = 1;
    for (int64_t s = 0; s < S; s++) {
        int inh = (rnd() % 5) == 0;
        double dm = inh ? 7.5 : 15.0, wm = inh ? -351.2 : 87.8;
        for (int64_t q = 0; q < K; q++) {
            double x;
            do { x = dm + 0.5 * dm * normal(); } while (x < 0.5);
            int64_t di = (int64_t)llround(x);
            if (di < 1) di = 1;
            if (di > 65000) di = 65000;
            if (di > dmax) dmax = di;
            size_t j = (size_t)s * K + q;
            tgt[j] = (uint32_t)(rnd() % (uint64_t)n);
            d[j] = (uint16_t)di;
            w[j] = (float)(wm * (1.0 + 0.1 * normal()));
            if (inh ? w[j] > 0 : w[j] < 0) w[j] = -w[j];
        }
    }
    if (D <= dmax) D = dmax + 1;
    size_t ring_n = (size_t)D * (size_t)n;
    double *ring_ex = calloc(ring_n, sizeof(double)), *ring_in = calloc(ring_n, sizeof(double));
    if (!ring_ex || !ring_in) { fprintf(stderr, "roofline: out of memory\n"); return 1; }
    memset(ring_ex, 0, ring_n * sizeof(double));   /* fault the pages in before timing */
    memset(ring_in, 0, ring_n * sizeof(double));

    int64_t nsteps = (int64_t)ceil(events_target / ((double)rps * (double)K));
    if (nsteps < 1) nsteps = 1;

    if (start_at > 0) {   /* start together with the other copies (wall clock) */
        struct timespec ts;
        for (;;) {
            clock_gettime(CLOCK_REALTIME, &ts);
            double t = ts.tv_sec + 1e-9 * ts.tv_nsec;
            if (t >= start_at) break;
            double dt = start_at - t;
            struct timespec sl = {(time_t)dt, (long)((dt - (time_t)dt) * 1e9)};
            nanosleep(&sl, 0);
        }
    }

    /* warm the caches/TLB once, then time */
    scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps / 10 + 1, rps, srcbuf, 0);
    double t0 = now();
    int64_t ev_random = scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps, rps, srcbuf, 0);
    double t_random = now() - t0;

    /* rows sorted by (delay, target) */
    for (int64_t s = 0; s < S; s++) {
        size_t base = (size_t)s * K;
        for (int64_t q = 0; q < K; q++) { tmp[q].d = d[base + q]; tmp[q].t = tgt[base + q]; tmp[q].w = w[base + q]; }
        qsort(tmp, K, sizeof(syn_t), cmp_syn);
        for (int64_t q = 0; q < K; q++) { d[base + q] = tmp[q].d; tgt[base + q] = tmp[q].t; w[base + q] = tmp[q].w; }
    }
    scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps / 10 + 1, rps, srcbuf, 0);
    t0 = now();
    int64_t ev_sorted = scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps, rps, srcbuf, 0);
    double t_sorted = now() - t0;
    /* sorted rows with prefetching */
    scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps / 10 + 1, rps, srcbuf, PF);
    t0 = now();
    int64_t ev_pf = scatter(ring_ex, ring_in, n, D, tgt, w, d, K, S, nsteps, rps, srcbuf, PF);
    double t_pf = now() - t0;

    /* 8-byte rows with delay runs, one ring (cython/deliver.h with rin == NULL) */
    int64_t *run_ptr = malloc(((size_t)S + 1) * sizeof(int64_t));
    uint16_t *run_d = malloc(nsyn * sizeof(uint16_t));
    uint32_t *run_n = malloc(nsyn * sizeof(uint32_t));
    if (!run_ptr || !run_d || !run_n) { fprintf(stderr, "roofline: out of memory\n"); return 1; }
    int64_t nruns = 0;
    for (int64_t s = 0; s < S; s++) {
        run_ptr[s] = nruns;
        size_t base = (size_t)s * K;
        for (int64_t q = 0; q < K; q++) {
            if (q == 0 || d[base + q] != d[base + q - 1]) { run_d[nruns] = d[base + q]; run_n[nruns++] = 0; }
            run_n[nruns - 1]++;
        }
    }
    run_ptr[S] = nruns;
    free(d);
    scatter_runs1(ring_ex, n, D, tgt, w, run_ptr, run_d, run_n, K, S, nsteps / 10 + 1, rps, srcbuf, PF);
    t0 = now();
    int64_t ev_runs1 = scatter_runs1(ring_ex, n, D, tgt, w, run_ptr, run_d, run_n, K, S, nsteps, rps, srcbuf, PF);
    double t_runs1 = now() - t0;

    /* the same with 16-bit targets (6-byte rows), when the local indices fit */
    int64_t ev_runs16 = 0;
    double t_runs16 = -1.0;
    if (n <= 65536) {
        uint16_t *tgt16 = malloc(nsyn * sizeof(uint16_t));
        if (!tgt16) { fprintf(stderr, "roofline: out of memory\n"); return 1; }
        for (size_t j = 0; j < nsyn; j++) tgt16[j] = (uint16_t)tgt[j];
        free(tgt);
        tgt = NULL;
        scatter_runs16(ring_ex, n, D, tgt16, w, run_ptr, run_d, run_n, K, S, nsteps / 10 + 1, rps, srcbuf, PF);
        t0 = now();
        ev_runs16 = scatter_runs16(ring_ex, n, D, tgt16, w, run_ptr, run_d, run_n, K, S, nsteps, rps, srcbuf, PF);
        t_runs16 = now() - t0;
        free(tgt16);
    }

    double check = 0;
    for (size_t i = 0; i < ring_n; i += 4099) check += ring_ex[i] + ring_in[i];
    free(tgt); free(w); free(tmp); free(run_ptr); free(run_d); free(run_n);

    /* ---- neuron update: iaf_psc_exp, PD14 parameters, exact propagators (h = 0.1 ms) */
    double h = 0.1, tau_m = 10.0, C = 250.0, ts_ = 0.5, theta = 15.0, vreset = 0.0;
    double p22 = exp(-h / tau_m), p11 = exp(-h / ts_);
    double p21 = ts_ * tau_m / (tau_m - ts_) / C * exp(-h / ts_) * expm1(h * (tau_m - ts_) / (ts_ * tau_m));
    double p20 = -tau_m / C * expm1(-h / tau_m);
    double *V = malloc(n * sizeof(double)), *iex = calloc(n, sizeof(double)), *iin = calloc(n, sizeof(double));
    double *P22 = malloc(n * sizeof(double)), *P21e = malloc(n * sizeof(double)), *P21i = malloc(n * sizeof(double));
    double *P20 = malloc(n * sizeof(double)), *P11e = malloc(n * sizeof(double)), *P11i = malloc(n * sizeof(double));
    double *ie = malloc(n * sizeof(double)), *th = malloc(n * sizeof(double)), *vr = malloc(n * sizeof(double));
    int32_t *r = calloc(n, sizeof(int32_t)), *refr = malloc(n * sizeof(int32_t));
    uint64_t *spk = malloc(((size_t)n + 1) * sizeof(uint64_t));
    for (int64_t i = 0; i < n; i++) {
        V[i] = 15.0 * unif(); P22[i] = p22; P21e[i] = p21; P21i[i] = p21; P20[i] = p20; P11e[i] = p11;
        P11i[i] = p11; ie[i] = 300.0 + 100.0 * unif(); th[i] = theta; vr[i] = vreset; refr[i] = 20;
    }
    int64_t nspk_total = 0;
    memset(ring_ex, 0, ring_n * sizeof(double));
    memset(ring_in, 0, ring_n * sizeof(double));
    /* (a) as parsnn's engine: one loop with the refractory and threshold branches */
    t0 = now();
    for (int64_t t = 0; t < T; t++) {
        int64_t base = (t % D) * n, nspk = 0;
        for (int64_t i = 0; i < n; i++) {
            double wex = ring_ex[base + i], win = ring_in[base + i];
            ring_ex[base + i] = 0.0;
            ring_in[base + i] = 0.0;
            if (r[i] == 0) V[i] = V[i] * P22[i] + iex[i] * P21e[i] + iin[i] * P21i[i] + ie[i] * P20[i];
            else r[i] -= 1;
            iex[i] = iex[i] * P11e[i] + wex;
            iin[i] = iin[i] * P11i[i] + win;
            if (V[i] >= th[i]) { r[i] = refr[i]; V[i] = vr[i]; spk[nspk++] = ((uint64_t)t << 32) | (uint64_t)i; }
        }
        nspk_total += nspk;
    }
    double t_update = now() - t0;
    for (int64_t i = 0; i < n; i += 97) check += V[i];
    /* (b) branch-free, vectorisable update, then a separate threshold scan */
    int64_t nspk_total_b = 0;
    t0 = now();
    for (int64_t t = 0; t < T; t++) {
        int64_t base = (t % D) * n, nspk = 0;
        double *restrict rex = ring_ex + base, *restrict rin = ring_in + base;
        for (int64_t i = 0; i < n; i++) {
            double wex = rex[i], win = rin[i];
            rex[i] = 0.0;
            rin[i] = 0.0;
            double vn = V[i] * P22[i] + iex[i] * P21e[i] + iin[i] * P21i[i] + ie[i] * P20[i];
            int32_t ri = r[i];
            V[i] = ri == 0 ? vn : V[i];
            r[i] = ri > 0 ? ri - 1 : 0;
            iex[i] = iex[i] * P11e[i] + wex;
            iin[i] = iin[i] * P11i[i] + win;
        }
        for (int64_t i = 0; i < n; i++) {
            if (V[i] >= th[i]) { r[i] = refr[i]; V[i] = vr[i]; spk[nspk++] = ((uint64_t)t << 32) | (uint64_t)i; }
        }
        nspk_total_b += nspk;
    }
    double t_update_b = now() - t0;
    for (int64_t i = 0; i < n; i += 97) check += V[i];
    /* (c) branch-free with scalar parameters, fused with the threshold test: blocks of 64 neurons,
     * spiking neurons collected only in blocks where one spiked (as cython/update.h) */
    int64_t nspk_total_c = 0;
    const double ie0 = 350.0;
    t0 = now();
    for (int64_t t = 0; t < T; t++) {
        int64_t base = (t % D) * n, nspk = 0;
        double *restrict rex = ring_ex + base, *restrict rin = ring_in + base;
        for (int64_t b0 = 0; b0 < n; b0 += 64) {
            int64_t b1 = n - b0 > 64 ? b0 + 64 : n;
            int32_t any = 0;
            for (int64_t i = b0; i < b1; i++) {
                double wex = rex[i], win = rin[i], x = iex[i], y = iin[i], v0 = V[i];
                int32_t ri = r[i];
                rex[i] = 0.0;
                rin[i] = 0.0;
                double vn = v0 * p22 + x * p21 + y * p21 + ie0 * p20;
                double v = ri == 0 ? vn : v0;
                int32_t rn = ri == 0 ? 0 : ri - 1;
                iex[i] = x * p11 + wex;
                iin[i] = y * p11 + win;
                int32_t sp = v >= theta;
                any |= sp;
                V[i] = sp ? vreset : v;
                r[i] = sp ? -1 : rn;
            }
            if (any)
                for (int64_t i = b0; i < b1; i++)
                    if (r[i] < 0) { r[i] = 20; spk[nspk++] = ((uint64_t)t << 32) | (uint64_t)i; }
        }
        nspk_total_c += nspk;
    }
    double t_update_c = now() - t0;
    for (int64_t i = 0; i < n; i += 97) check += V[i] + (double)nspk_total_b + (double)nspk_total_c;
    /* (d) as (c) with one input ring (cython/update.h's one-ring kernel): the inhibitory current stays
     * zero, so neither it nor a second ring slot is read or written */
    int64_t nspk_total_d = 0;
    t0 = now();
    for (int64_t t = 0; t < T; t++) {
        int64_t base = (t % D) * n, nspk = 0;
        double *restrict rex = ring_ex + base;
        for (int64_t b0 = 0; b0 < n; b0 += 64) {
            int64_t b1 = n - b0 > 64 ? b0 + 64 : n;
            int32_t any = 0;
            for (int64_t i = b0; i < b1; i++) {
                double wex = rex[i], x = iex[i], v0 = V[i];
                int32_t ri = r[i];
                rex[i] = 0.0;
                double vn = v0 * p22 + x * p21 + 0.0 * p21 + ie0 * p20;
                double v = ri == 0 ? vn : v0;
                int32_t rn = ri == 0 ? 0 : ri - 1;
                iex[i] = x * p11 + wex;
                int32_t sp = v >= theta;
                any |= sp;
                V[i] = sp ? vreset : v;
                r[i] = sp ? -1 : rn;
            }
            if (any)
                for (int64_t i = b0; i < b1; i++)
                    if (r[i] < 0) { r[i] = 20; spk[nspk++] = ((uint64_t)t << 32) | (uint64_t)i; }
        }
        nspk_total_d += nspk;
    }
    double t_update_d = now() - t0;
    for (int64_t i = 0; i < n; i += 97) check += V[i] + (double)nspk_total_d;

    printf("{\"neurons\": %lld, \"sources\": %lld, \"outdeg\": %lld, \"slots\": %lld, \"spikes_per_step\": %lld, "
           "\"ring_bytes\": %llu, \"synapse_bytes\": %llu, "
           "\"scatter_random_events\": %lld, \"scatter_random_seconds\": %.6f, \"scatter_random_ns_per_event\": %.4f, "
           "\"scatter_sorted_events\": %lld, \"scatter_sorted_seconds\": %.6f, \"scatter_sorted_ns_per_event\": %.4f, "
           "\"scatter_prefetch_events\": %lld, \"scatter_prefetch_seconds\": %.6f, "
           "\"scatter_prefetch_ns_per_event\": %.4f, \"prefetch_distance\": %lld, "
           "\"scatter_runs1_events\": %lld, \"scatter_runs1_seconds\": %.6f, \"scatter_runs1_ns_per_event\": %.4f, "
           "\"runs1_ring_bytes\": %llu, \"runs1_synapse_bytes\": %llu, "
           "\"scatter_runs16_events\": %lld, \"scatter_runs16_seconds\": %.6f, "
           "\"scatter_runs16_ns_per_event\": %.4f, \"runs16_synapse_bytes\": %llu, "
           "\"update_neuron_steps\": %lld, \"update_seconds\": %.6f, \"update_ns_per_neuron_step\": %.4f, "
           "\"update_spikes\": %lld, \"update_vec_seconds\": %.6f, \"update_vec_ns_per_neuron_step\": %.4f, "
           "\"update_uniform_seconds\": %.6f, \"update_uniform_ns_per_neuron_step\": %.4f, "
           "\"update_1ring_seconds\": %.6f, \"update_1ring_ns_per_neuron_step\": %.4f, "
           "\"checksum\": %.6g}\n",
           (long long)n, (long long)S, (long long)K, (long long)D, (long long)rps,
           (unsigned long long)(2 * ring_n * sizeof(double)), (unsigned long long)(nsyn * 10),
           (long long)ev_random, t_random, 1e9 * t_random / (double)ev_random,
           (long long)ev_sorted, t_sorted, 1e9 * t_sorted / (double)ev_sorted,
           (long long)ev_pf, t_pf, 1e9 * t_pf / (double)ev_pf, (long long)PF,
           (long long)ev_runs1, t_runs1, 1e9 * t_runs1 / (double)ev_runs1,
           (unsigned long long)(ring_n * sizeof(double)),
           (unsigned long long)(nsyn * 8 + (size_t)nruns * 6 + ((size_t)S + 1) * 16),
           (long long)ev_runs16, t_runs16, ev_runs16 > 0 ? 1e9 * t_runs16 / (double)ev_runs16 : -1.0,
           (unsigned long long)(nsyn * 6 + (size_t)nruns * 6 + ((size_t)S + 1) * 16),
           (long long)(n * T), t_update, 1e9 * t_update / ((double)n * (double)T),
           (long long)nspk_total, t_update_b, 1e9 * t_update_b / ((double)n * (double)T),
           t_update_c, 1e9 * t_update_c / ((double)n * (double)T),
           t_update_d, 1e9 * t_update_d / ((double)n * (double)T), check);
    return 0;
}
