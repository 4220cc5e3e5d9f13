/* Batched Poisson counts of the v1 streams (philox.h's px_poisson), for the Poisson input devices
 * of the neuron update (cython/engine.pyx _poisson_input).
 *
 * parsnn_poisson_batch(tb, seed, n, purpose, id, extra, lam, cnt, u, c) gives cnt[e] = px_poisson of
 * the stream (seed, purpose[e], id[e], extra[e]) with mean lam[e], bit for bit, for n draws at once:
 *   pass 1, for the draws by inversion (means in (0, 10): one uniform, the first word of the
 *           stream's first block): the Philox blocks of all n streams, independent of each other:
 *           8 to an AVX-512 vector where the CPU has it (parsnn_px_uniforms_avx512), else one after
 *           the other, which the processor overlaps (the per-draw path waited for each block, then
 *           for exp(), then for the branches of the inversion's loop);
 *   pass 2: the inversion with a table of px_poisson's cumulative sums F_k (parsnn_pinv_t) for one
 *           mean: exp(-lam) and the products once per mean instead of once per draw, and the
 *           counts without branches (vectorised over the draws).
 * The table is built by the very operations of px_poisson's loop (px_poisson_small), so F_k is the
 * same double, and the first k with u <= F_k is px_poisson's answer: equal counts (tested). Other
 * means (lam >= 10: PTRS; a mean that is not the table's) take px_poisson's own code.
 */
#ifndef PARSNN_POISSON_H
#define PARSNN_POISSON_H

#include "philox.h"

/* the inversion table of px_poisson_small for one mean lam in (0, 10): F[0 .. len), F[k] its
 * cumulative sum after k steps; F[len - 1] is the last value that can change (or k = PX_POISSON_KMAX - 1) */
typedef struct {
    double lam;                       /* the table's mean (0: no table) */
    int32_t len;
    double F[PX_POISSON_KMAX];
} parsnn_pinv_t;

static inline void parsnn_pinv_clear(parsnn_pinv_t *tb)
{
    tb->lam = 0.0;
    tb->len = 0;
}

/* Build the table of mean lam (0 < lam < 10) with px_poisson_small's operations. It stops after
 * index k once F[k] == F[k - 1] and k + 1 >= lam: from there on every term p_j (j > k) is rounded
 * from p_{j-1} times lam / j <= 1, so 0 <= p_j <= p_k and F + p_j rounds to F again: all later sums
 * equal F[k], and a u above it runs px_poisson_small's loop to its cap PX_POISSON_KMAX. */
static void parsnn_pinv_build(parsnn_pinv_t *tb, double lam)
{
    double p = exp(-lam), F = p;
    int64_t k = 0;
    tb->lam = lam;
    tb->F[0] = F;
    while (k < PX_POISSON_KMAX - 1) {
        k += 1;
        p *= lam / (double) k;
        const double F2 = F + p;
        tb->F[k] = F2;
        if (F2 == F && (double) (k + 1) >= lam)
            break;
        F = F2;
    }
    tb->len = (int32_t) (k + 1);
}

/* px_poisson_small(u, lam) from the table of lam: the first k < len with u <= F[k], else the cap */
static inline int64_t parsnn_pinv_count(const parsnn_pinv_t *tb, double u)
{
    const double *F = tb->F;
    const int32_t last = tb->len - 1;
    int32_t k = 0;
    while (k < last && u > F[k])
        k++;
    return (u > F[k]) ? PX_POISSON_KMAX : (int64_t) k;
}

/* the first 64-bit word of the v1 stream (seed, purpose, id, extra) (px_next's first value) */
static inline uint64_t parsnn_px_first(uint64_t seed, uint64_t purpose, uint64_t id, uint64_t extra)
{
    const uint64_t ctr[4] = {0, id, extra, 0}, key[2] = {seed, purpose};
    uint64_t out[4];
    px_block(ctr, key, out);
    return out[0];
}

/* c[e] += 1 where u[e] > f (vectorised) */
static inline void parsnn_count_above(const double *restrict u, double *restrict c, int64_t n, double f)
{
    for (int64_t e = 0; e < n; e++)
        c[e] += (u[e] > f) ? 1.0 : 0.0;
}

/* The first uniforms of n v1 streams, u[e] = (parsnn_px_first(seed, purpose[e], id[e], extra[e]) >> 11) * 2^-53,
 * each from its own Philox4x64-10 block: the blocks are independent, so on x86-64 with AVX-512 (F and DQ)
 * they run 8 to a vector (parsnn_px_uniforms_avx512: 64 x 64 -> 128-bit products from four 32 x 32 -> 64-bit
 * vpmuludq; integer arithmetic, then an exact conversion: the same bits as the scalar path, tested);
 * elsewhere one block after the other (parsnn_px_uniforms_scalar). */
static void parsnn_px_uniforms_scalar(uint64_t seed, int64_t n, const uint64_t *purpose, const uint64_t *id,
                                      const uint64_t *extra, double *restrict u)
{
    for (int64_t e = 0; e < n; e++)
        u[e] = (double) (parsnn_px_first(seed, purpose[e], id[e], extra[e]) >> 11) * (1.0 / 9007199254740992.0);
}

#if defined(PX2_X86_KERNELS) && !defined(PARSNN_NO_PX_VECTOR)
#define PARSNN_PX_VECTOR 1
#ifndef PARSNN_PX_V
#define PARSNN_PX_V 4                 /* independent vectors of 8 blocks in flight */
#endif

/* m x c = hi 2^64 + lo for 64-bit lanes c and a constant m (its halves mlo, mhi broadcast) */
__attribute__((target("avx512f,avx512dq"), always_inline))
static inline void parsnn_px_mul512(__m512i c, __m512i mlo, __m512i mhi, __m512i *hi, __m512i *lo)
{
    const __m512i chi = _mm512_srli_epi64(c, 32);
    const __m512i ll = _mm512_mul_epu32(c, mlo), lh = _mm512_mul_epu32(c, mhi);
    const __m512i hl = _mm512_mul_epu32(chi, mlo), hh = _mm512_mul_epu32(chi, mhi);
    const __m512i t1 = _mm512_add_epi64(hl, _mm512_srli_epi64(ll, 32));            /* < 2^64: no carry */
    const __m512i t2 = _mm512_add_epi64(lh, _mm512_and_si512(t1, _mm512_set1_epi64(0xFFFFFFFFLL)));
    *hi = _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(t1, 32)), _mm512_srli_epi64(t2, 32));
    *lo = _mm512_mask_blend_epi32((__mmask16) 0xAAAA, ll, _mm512_slli_epi64(t2, 32));
}

__attribute__((target("avx512f,avx512dq"), noinline))
static void parsnn_px_uniforms_avx512(uint64_t seed, int64_t n, const uint64_t *purpose, const uint64_t *id,
                                      const uint64_t *extra, double *restrict u)
{
    const __m512i m0lo = _mm512_set1_epi64((long long) (PX_M0 & 0xFFFFFFFFULL)), m0hi = _mm512_set1_epi64((long long) (PX_M0 >> 32));
    const __m512i m1lo = _mm512_set1_epi64((long long) (PX_M1 & 0xFFFFFFFFULL)), m1hi = _mm512_set1_epi64((long long) (PX_M1 >> 32));
    const __m512d scale = _mm512_set1_pd(1.0 / 9007199254740992.0);
    int64_t e = 0;
    for (; e + 8 * PARSNN_PX_V <= n; e += 8 * PARSNN_PX_V) {
        __m512i c0[PARSNN_PX_V], c1[PARSNN_PX_V], c2[PARSNN_PX_V], c3[PARSNN_PX_V], k1[PARSNN_PX_V];
        __m512i k0 = _mm512_set1_epi64((long long) seed);
        for (int v = 0; v < PARSNN_PX_V; v++) {      /* counter (0, id, extra, 0), key (seed, purpose): */
            __m512i hi1, lo1;                        /* round 1 (c0 = c3 = 0: M0 c0 = 0) */
            k1[v] = _mm512_loadu_si512((const void *) (purpose + e + 8 * v));
            parsnn_px_mul512(_mm512_loadu_si512((const void *) (extra + e + 8 * v)), m1lo, m1hi, &hi1, &lo1);
            c0[v] = _mm512_ternarylogic_epi64(hi1, _mm512_loadu_si512((const void *) (id + e + 8 * v)), k0, 0x96);
            c1[v] = lo1;
            c2[v] = k1[v];
            c3[v] = _mm512_setzero_si512();
            k1[v] = _mm512_add_epi64(k1[v], _mm512_set1_epi64((long long) PX_W1));
        }
        k0 = _mm512_add_epi64(k0, _mm512_set1_epi64((long long) PX_W0));
        for (int r = 1; r < 9; r++) {                /* px_block's rounds 2 .. 9 */
            for (int v = 0; v < PARSNN_PX_V; v++) {
                __m512i hi0, lo0, hi1, lo1;
                parsnn_px_mul512(c0[v], m0lo, m0hi, &hi0, &lo0);
                parsnn_px_mul512(c2[v], m1lo, m1hi, &hi1, &lo1);
                c0[v] = _mm512_ternarylogic_epi64(hi1, c1[v], k0, 0x96);
                c1[v] = lo1;
                c2[v] = _mm512_ternarylogic_epi64(hi0, c3[v], k1[v], 0x96);
                c3[v] = lo0;
                k1[v] = _mm512_add_epi64(k1[v], _mm512_set1_epi64((long long) PX_W1));
            }
            k0 = _mm512_add_epi64(k0, _mm512_set1_epi64((long long) PX_W0));
        }
        for (int v = 0; v < PARSNN_PX_V; v++) {      /* round 10, word 0 only; word 0 >> 11 < 2^53: exact */
            __m512i hi1, lo1;
            parsnn_px_mul512(c2[v], m1lo, m1hi, &hi1, &lo1);
            c0[v] = _mm512_ternarylogic_epi64(hi1, c1[v], k0, 0x96);
            _mm512_storeu_pd(u + e + 8 * v, _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(c0[v], 11)), scale));
        }
    }
    parsnn_px_uniforms_scalar(seed, n - e, purpose + e, id + e, extra + e, u + e);
}

/* c[e] = the number of k < K with u[e] > F[k], 8 draws per vector (parsnn_table_counts_with) */
__attribute__((target("avx512f,avx512dq"), noinline))
static void parsnn_table_counts_avx512(const double *F, int32_t K, int64_t n, const double *restrict u,
                                       double *restrict c)
{
    const __m512d one = _mm512_set1_pd(1.0);
    int64_t e = 0;
    for (; e + 16 <= n; e += 16) {
        const __m512d ua = _mm512_loadu_pd(u + e), ub = _mm512_loadu_pd(u + e + 8);
        __m512d ca = _mm512_setzero_pd(), cb = _mm512_setzero_pd();
        for (int32_t k = 0; k < K; k++) {
            const __m512d f = _mm512_set1_pd(F[k]);
            ca = _mm512_mask_add_pd(ca, _mm512_cmp_pd_mask(ua, f, _CMP_GT_OQ), ca, one);
            cb = _mm512_mask_add_pd(cb, _mm512_cmp_pd_mask(ub, f, _CMP_GT_OQ), cb, one);
        }
        _mm512_storeu_pd(c + e, ca);
        _mm512_storeu_pd(c + e + 8, cb);
    }
    for (; e < n; e++) {
        double ce = 0.0;
        for (int32_t k = 0; k < K; k++)
            ce += (u[e] > F[k]) ? 1.0 : 0.0;
        c[e] = ce;
    }
}
#endif

/* the kernel of parsnn_px_uniforms on this CPU: 2 AVX-512 (F and DQ), 0 scalar (found on first use) */
static int parsnn_px_level = -1;

static inline int parsnn_px_kernel(void)
{
#ifdef PARSNN_PX_VECTOR
    if (parsnn_px_level < 0) {
        __builtin_cpu_init();
        parsnn_px_level = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) ? 2 : 0;
    }
    return parsnn_px_level;
#else
    return 0;
#endif
}

/* parsnn_px_uniforms with the kernel ``level`` (2 AVX-512, else scalar; capped at this CPU's) */
static inline void parsnn_px_uniforms_with(int level, uint64_t seed, int64_t n, const uint64_t *purpose,
                                           const uint64_t *id, const uint64_t *extra, double *restrict u)
{
#ifdef PARSNN_PX_VECTOR
    if (level >= 2 && parsnn_px_kernel() >= 2) {
        parsnn_px_uniforms_avx512(seed, n, purpose, id, extra, u);
        return;
    }
#endif
    (void) level;
    parsnn_px_uniforms_scalar(seed, n, purpose, id, extra, u);
}

/* c[e] = the number of k < K with u[e] > F[k], K = the number of F[k] < umax (k < len): pass 2 of
 * parsnn_poisson_batch. Level 2 (AVX-512): 8 draws per vector, their counts kept in a register over the
 * k loop; else one pass over c per k. Comparisons and additions of 1.0: the same counts either way. */
static inline void parsnn_table_counts_with(int level, const parsnn_pinv_t *tb, int64_t n, const double *restrict u,
                                            double *restrict c, double umax)
{
    int32_t K = 0;
    while (K < tb->len && tb->F[K] < umax)
        K++;
#ifdef PARSNN_PX_VECTOR
    if (level >= 2 && parsnn_px_kernel() >= 2) {
        parsnn_table_counts_avx512(tb->F, K, n, u, c);
        return;
    }
#endif
    (void) level;
    for (int64_t e = 0; e < n; e++)
        c[e] = 0.0;
    for (int32_t k = 0; k < K; k++)
        parsnn_count_above(u, c, n, tb->F[k]);
}

/* cnt[e] = px_poisson(stream (seed, purpose[e], id[e], extra[e]), lam[e]) for e < n; u: scratch of n
 * doubles, c another; tb: the inversion table, rebuilt for the batch's first mean in (0, 10) if it has another.
 * The table's counts without branches: F is non-decreasing, so the first k with u <= F[k] is the
 * number of k < len with u > F[k] (len of them: u is above every sum, the cap); the k loop stops at
 * the first F[k] >= the batch's largest u, beyond which no u is above. */
static void parsnn_poisson_batch_with(int level, parsnn_pinv_t *tb, uint64_t seed, int64_t n, const uint64_t *purpose,
                                      const uint64_t *id, const uint64_t *extra, const double *lam,
                                      int64_t *restrict cnt, double *restrict u, double *restrict c)
{
    double umax = 0.0;
    int first = 1;
    parsnn_px_uniforms_with(level, seed, n, purpose, id, extra, u);    /* pass 1: every stream's uniform, */
    if (n > 0 && lam[0] > 0.0 && lam[0] < PX_POISSON_SMALL) {
        /* one mean in (0, 10) for the whole batch (hpc_benchmark's drive once every delay has passed):
         * the general passes below without their branches, the same operations on the same values */
        const double l0 = lam[0];
        int one = 1;
        for (int64_t e = 1; e < n; e++)
            one &= (lam[e] == l0);
        if (one) {
            if (tb->len == 0 || tb->lam != l0)
                parsnn_pinv_build(tb, l0);
            for (int64_t e = 0; e < n; e++)
                umax = u[e] > umax ? u[e] : umax;
            parsnn_table_counts_with(level, tb, n, u, c, umax);
            const double len = (double) tb->len;
            for (int64_t e = 0; e < n; e++)
                cnt[e] = (c[e] == len) ? PX_POISSON_KMAX : (int64_t) c[e];
            return;
        }
    }
    for (int64_t e = 0; e < n; e++) {               /* kept for the table's inversions */
        const double l = lam[e];
        if (l > 0.0 && l < PX_POISSON_SMALL) {
            if (first && (tb->len == 0 || tb->lam != l))
                parsnn_pinv_build(tb, l);           /* the table follows the batch's first mean */
            first = 0;
            if (l == tb->lam) {
                umax = u[e] > umax ? u[e] : umax;
                continue;
            }
        }
        u[e] = 0.0;
    }
    parsnn_table_counts_with(level, tb, n, u, c, umax);                /* pass 2: the table's counts */
    for (int64_t e = 0; e < n; e++) {               /* pass 3: the cap, the other means */
        const double l = lam[e];
        if (l <= 0.0) {
            cnt[e] = 0;
        } else if (l < PX_POISSON_SMALL && l == tb->lam) {
            cnt[e] = (c[e] == (double) tb->len) ? PX_POISSON_KMAX : (int64_t) c[e];
        } else if (l < PX_POISSON_SMALL) {           /* a second mean: px_poisson's own loop */
            cnt[e] = px_poisson_small((double) (parsnn_px_first(seed, purpose[e], id[e], extra[e]) >> 11)
                                      * (1.0 / 9007199254740992.0), l);
        } else {                                     /* PTRS (or NaN): px_poisson itself */
            px_stream s;
            px_init(&s, seed, purpose[e], id[e], extra[e]);
            cnt[e] = px_poisson(&s, l);
        }
    }
}

/* parsnn_poisson_batch with this CPU's kernel of pass 1 */
static inline void parsnn_poisson_batch(parsnn_pinv_t *tb, uint64_t seed, int64_t n, const uint64_t *purpose,
                                        const uint64_t *id, const uint64_t *extra, const double *lam,
                                        int64_t *restrict cnt, double *restrict u, double *restrict c)
{
    parsnn_poisson_batch_with(2, tb, seed, n, purpose, id, extra, lam, cnt, u, c);
}

/* counts of the Poisson input devices of a run of neurons, for the update (engine.pyx _poisson_input) */
#define PARSNN_PCHUNK 256

typedef struct {
    int64_t j0, j1;                   /* the device entries j0 .. j1-1 have their counts in cnt[j - j0] */
    int64_t cnt[PARSNN_PCHUNK];
    uint64_t id[PARSNN_PCHUNK], extra[PARSNN_PCHUNK];
    double lam[PARSNN_PCHUNK], u[PARSNN_PCHUNK], c[PARSNN_PCHUNK];
    parsnn_pinv_t tb;
} parsnn_pchunk_t;

static inline void parsnn_pchunk_init(parsnn_pchunk_t *pc)
{
    pc->j0 = pc->j1 = 0;
    parsnn_pinv_clear(&pc->tb);
}

/* The counts at step t of the device entries (CSR pd_ptr over local neurons; entry j: delay[j],
 * purpose[j], mean lam[j]) of the neurons i, i+1, .. < end whose entries fit in a chunk (at least
 * neuron i's first PARSNN_PCHUNK): entry j of neuron i' draws from the stream (seed, purpose[j],
 * gids[i'], t - delay[j]) if t >= delay[j] (else no draw: count 0), as _poisson_input did per entry. */
static void parsnn_pchunk_fill(parsnn_pchunk_t *pc, uint64_t seed, const int64_t *pd_ptr, const int64_t *delay,
                               const uint64_t *purpose, const double *lam, const int64_t *gids, int64_t i,
                               int64_t end, int64_t t)
{
    const int64_t j0 = pd_ptr[i];
    int64_t i1 = i, j1;
    while (i1 < end && pd_ptr[i1 + 1] - j0 <= PARSNN_PCHUNK)
        i1++;
    j1 = (i1 == i) ? j0 + PARSNN_PCHUNK : pd_ptr[i1];      /* neuron i alone has more: its first ones */
    for (int64_t a = i, j = j0; j < j1; a++)
        for (; j < pd_ptr[a + 1] && j < j1; j++) {
            const int64_t e = j - j0;
            pc->id[e] = (uint64_t) gids[a];
            pc->extra[e] = (uint64_t) (t - delay[j]);
            pc->lam[e] = (t >= delay[j]) ? lam[j] : 0.0;
        }
    parsnn_poisson_batch(&pc->tb, seed, j1 - j0, purpose + j0, pc->id, pc->extra, pc->lam, pc->cnt, pc->u, pc->c);
    pc->j0 = j0;
    pc->j1 = j1;
}

/* The inputs of step t of the neurons i .. i+n-1 (n <= PARSNN_PCHUNK) that have one Poisson device entry
 * each (entry pd_ptr[i] + e of neuron i + e; the caller checked it, parsnn_pone_block): for each, in
 * _take_input's order, wbx[e] = rex[i + e] and wbi[e] = rin[i + e] (both then cleared) plus the device's
 * weight times its count (_poisson_input: count 0 before its delay has passed, no addition then;
 * weights >= 0 into wbx, others into wbi, or wbx with one ring). The counts are those of
 * parsnn_pchunk_fill for the same neurons, and pc holds them as it does (j0, j1): the same bits, without
 * the general fill's bookkeeping and the per-neuron loop over device entries. */
static void parsnn_pone_input(parsnn_pchunk_t *pc, uint64_t seed, const int64_t *pd_ptr, const int64_t *delay,
                              const uint64_t *purpose, const double *lam, const double *pw, const int64_t *gids,
                              int64_t i, int64_t n, int64_t t, double *rex, double *rin, int one_ring,
                              double *restrict wbx, double *restrict wbi)
{
    const int64_t j0 = pd_ptr[i];
    const int64_t *dl = delay + j0;
    const double *pwj = pw + j0;
    for (int64_t e = 0; e < n; e++) {
        pc->extra[e] = (uint64_t) (t - dl[e]);
        pc->lam[e] = (t >= dl[e]) ? lam[j0 + e] : 0.0;
    }
    parsnn_poisson_batch(&pc->tb, seed, n, purpose + j0, (const uint64_t *) (gids + i), pc->extra, pc->lam,
                         pc->cnt, pc->u, pc->c);
    pc->j0 = j0;
    pc->j1 = j0 + n;
    for (int64_t e = 0; e < n; e++) {
        double wex = rex[i + e], win = rin[i + e];
        rex[i + e] = 0.0;
        rin[i + e] = 0.0;
        if (t >= dl[e]) {
            const double w = pwj[e] * (double) pc->cnt[e];
            if (pwj[e] >= 0.0 || one_ring)
                wex = wex + w;
            else
                win = win + w;
        }
        wbx[e] = wex;
        wbi[e] = win;
    }
}

/* 1 if each of the neurons i .. i+n-1 has exactly one Poisson device entry (n <= PARSNN_PCHUNK), else 0 */
static inline int parsnn_pone_block(const int64_t *pd_ptr, int64_t i, int64_t n)
{
    int one = n <= PARSNN_PCHUNK;
    for (int64_t e = 0; e < n; e++)
        one &= (pd_ptr[i + e + 1] - pd_ptr[i + e] == 1);
    return one;
}

#endif
