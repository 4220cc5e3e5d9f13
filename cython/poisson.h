/* Batched Poisson counts of the v1 streams (philox.h's px_poisson), for the Poisson input devices
 * of the neuron update (cython/engine.pyx _poisson_input).
 *
 * parsnn_poisson_batch(tb, seed, n, purpose, id, extra, lam, cnt, u, c) gives cnt[e] = px_poisson of
 * the stream (seed, purpose[e], id[e], extra[e]) with mean lam[e], bit for bit, for n draws at once:
 *   pass 1, for the draws by inversion (means in (0, 10): one uniform, the first word of the
 *           stream's first block): the Philox blocks of all n streams one after the other,
 *           independent of each other, so the processor overlaps them (the per-draw path waited
 *           for each block, then for exp(), then for the branches of the inversion's loop);
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

/* cnt[e] = px_poisson(stream (seed, purpose[e], id[e], extra[e]), lam[e]) for e < n; u: scratch of n
 * doubles, c another; tb: the inversion table, rebuilt for the batch's first mean in (0, 10) if it has another.
 * The table's counts without branches: F is non-decreasing, so the first k with u <= F[k] is the
 * number of k < len with u > F[k] (len of them: u is above every sum, the cap); the k loop stops at
 * the first F[k] >= the batch's largest u, beyond which no u is above. */
static void parsnn_poisson_batch(parsnn_pinv_t *tb, uint64_t seed, int64_t n, const uint64_t *purpose,
                                 const uint64_t *id, const uint64_t *extra, const double *lam,
                                 int64_t *restrict cnt, double *restrict u, double *restrict c)
{
    double umax = 0.0;
    int first = 1;
    for (int64_t e = 0; e < n; e++) {               /* pass 1: the uniforms of the table's inversions */
        const double l = lam[e];
        u[e] = 0.0;
        if (l > 0.0 && l < PX_POISSON_SMALL) {
            if (first && (tb->len == 0 || tb->lam != l))
                parsnn_pinv_build(tb, l);           /* the table follows the batch's first mean */
            first = 0;
            if (l == tb->lam) {
                u[e] = (double) (parsnn_px_first(seed, purpose[e], id[e], extra[e]) >> 11) * (1.0 / 9007199254740992.0);
                umax = u[e] > umax ? u[e] : umax;
            }
        }
    }
    for (int64_t e = 0; e < n; e++)                 /* pass 2: the table's counts */
        c[e] = 0.0;
    for (int32_t k = 0; k < tb->len && tb->F[k] < umax; k++)
        parsnn_count_above(u, c, n, tb->F[k]);
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

#endif
