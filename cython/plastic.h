/* Plastic synapses (stdp_synapse, stdp_pl_synapse_hom) and the postsynaptic spike archive,
 * with NEST's semantics (models/stdp_synapse.h, models/stdp_pl_synapse_hom.h,
 * nestkernel/archiving_node.cpp); used by cython/engine.pyx (plastic.pxi).
 *
 * Times are integer steps: a spike emitted in step s carries the stamp s + 1 (NEST's time
 * stamp in steps); the dendritic delay is the synaptic delay d (steps). NEST's comparisons with
 * stdp_eps on ms values become exact integer comparisons on the grid.
 *
 * Threads: thread th owns the th-th part of every population's local neurons (the engine's
 * owner[]); the row of (projection, source) is split into T sub-rows, ptr[base + th] ..
 * ptr[base + th + 1] with base = row_off[q] + source * T, holding the synapses onto thread th's
 * neurons in the order of the whole row (rows are generated target by target, so the sub-rows
 * are consecutive slices of it and the store does not depend on T).
 *
 * Three entry points (the engine's "plastic hook" call sites):
 *   parsnn_archive_spikes  per thread, the spikes of its own neurons of one interval, in step
 *                          order (NEST's ArchivingNode::set_spiketime: prune, update Kminus, append);
 *   parsnn_plastic_prepare once per interval, serially, over the received spikes in canonical
 *                          order: records each spike's Kplus and last spike time of the source
 *                          (as they are before the spike) for every plastic projection with a row
 *                          here, then advances them. So the source traces are updated once, by one
 *                          thread, and every thread reads the same values;
 *   parsnn_plastic_deliver per thread and received spike, in the canonical order, after the
 *                          spike's static sub-row: for the thread's sub-row of every plastic
 *                          projection from the spike's source, updates each synapse's weight from
 *                          the target's archive (facilitation for the post spikes in
 *                          (t_last - d, t - d], then depression with Kminus just before t - d)
 *                          and adds the new weight to the ring buffer.
 * A thread touches only its own neurons' weights, archives and ring entries: no atomics, and
 * every sum into a ring entry is formed in the same order for any T.
 *
 * Storage per plastic synapse: weight (double), target local index (uint16 when the rank has at most
 * 65,536 local nodes, else uint32) and, only for a projection whose synapses do not all have one
 * delay, the delay (uint16 steps; a projection with one delay keeps it once, dconst): 10 to 14
 * bytes. Kplus and the last spike time depend only on the source's spikes and the
 * projection's tau_plus: one pair per (projection, source), as NEST's per-synapse copies of them
 * are all equal. Every synapse's update depends only on its own weight, its source's pair and
 * its target's archive, so the weights do not depend on the number of ranks, threads or the
 * partition; ring additions follow the canonical order like static ones.
 */
#ifndef PARSNN_PLASTIC_H
#define PARSNN_PLASTIC_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PARSNN_STDP 1
#define PARSNN_STDP_PL_HOM 2

/* an entry of a post-spike history: what facilitation reads and counts, on one cache line */
typedef struct {
    int64_t t;           /* spike stamp (steps) */
    int32_t cnt;         /* access counter: synapses that have read the entry */
    int32_t unused;
} parsnn_hent_t;

/* the post-spike history of one neuron: entries [start, end) of arrays of capacity cap (32 bytes) */
typedef struct {
    parsnn_hent_t *e;    /* stamps ascending, with their access counters */
    double *k;           /* Kminus just after each spike */
    int32_t start, end, cap;
} parsnn_hist_t;

/* what every synapse onto a neuron reads, dense (64 bytes per neuron, one cache line, apart from its
 * history's 32-byte header): the three newest archived stamps, the reads of the two newest entries not yet
 * added to their access counters, the memo of the last Kminus query, and what a Kminus query after the
 * newest entry needs (its Kminus, the neuron's 1 / tau_minus): such a query (the common one) reads
 * neither the history's header nor its arrays (parsnn_k_value). A facilitation whose window
 * holds only the newest entry, or the two newest, or nothing (the common cases) needs neither the
 * history's header nor its entries: it counts its reads in pn and pp (the newest entry's access
 * counter is e[end - 1].cnt + pn, the one before it e[end - 2].cnt + pp). */
typedef struct {
    int64_t newest;      /* stamp of the newest entry (INT64_MIN: none) */
    int64_t prev;        /* stamp of the entry before it, e[end - 2] (INT64_MIN: none) */
    int64_t prev2;       /* an upper bound of the older entries' stamps: e[end - 3]'s stamp, or, after
                          * pruning, of an entry pruned before it (INT64_MIN: none) */
    int32_t pn, pp;      /* reads of the newest entry and of the one before it not yet counted in e[] */
    int64_t kq_t;        /* memo of the last Kminus query: its time (INT64_MIN: none) and value; */
    double kq_v;         /*   valid for ever, as later entries are always later than any past query */
    double knew;         /* Kminus of the newest entry (hist k[end - 1]; 0 without one) */
    double tmi;          /* the neuron's tau_minus_inv */
} parsnn_hq_t;

/* entries of the Kminus decay table (see parsnn_plastic_tables) */
#define PARSNN_KTAB_LEN 16384

/* synapses per chunk of a row in parsnn_row's three passes */
#define PARSNN_ROW_CHUNK 256

/* entries of the facilitation table of a projection (see parsnn_plastic_tables) */
#define PARSNN_FTAB_LEN 16384

typedef struct {
    /* per local neuron */
    int64_t n;
    parsnn_hist_t *hist;
    parsnn_hq_t *hq;              /* newest stamps, pending reads and Kminus memo (parsnn_hq_reset after
                                   * setting the archives) */
    double *kminus;               /* Kminus after the last spike */
    int64_t *last_t;              /* stamp of the last spike */
    const double *tau_minus_inv;  /* 1 / tau_minus (1/ms) */
    const int32_t *n_incoming;    /* plastic synapses onto the neuron (0: no archive) */
    const int32_t *max_delay;     /* largest delay (steps) of those synapses */
    int64_t min_delay;            /* the network's min delay (steps) */
    double h;                     /* resolution (ms) */
    /* projections: parameters and the offsets of their rows and source traces */
    int64_t n_proj;
    const int64_t *soff, *nsrc;   /* first source gid, number of sources */
    int64_t T;                    /* threads: every row is split into T sub-rows */
    const int64_t *row_off;       /* projection p, source s, thread th: ptr[row_off[p] + s*T + th] .. [.. + 1] */
    const int64_t *src_off;       /* projection p's source traces: kplus[src_off[p] + s] */
    const int32_t *model;
    const double *tau_plus, *lambda, *alpha, *mu_plus, *mu_minus, *wmax;
    /* synapses */
    const int64_t *ptr;
    const void *tgt;              /* target local index: uint16 if tgt16, else uint32 */
    int32_t tgt16;
    const uint16_t *d;            /* delays (steps) of the projections q with dconst[q] == 0: */
    const int64_t *d_base;        /*   synapse k's delay is d[k - d_base[q]] */
    const int32_t *dconst;        /* projection q's one delay (steps), or 0: one per synapse in d */
    double *w;
    /* per (projection, source) */
    double *kplus;
    int64_t *tlast;
    /* per received spike k of the interval and projection q: the source's Kplus and last spike
     * stamp before the spike (pre_k[k * n_proj + q], pre_t[...]; parsnn_plastic_prepare) */
    double *pre_k;
    int64_t *pre_t;
    int64_t pre_cap;
    /* per projection q: ftab[q * PARSNN_FTAB_LEN + j] = the factor exp(-j h / tau_plus) of Kplus for a post
     * spike j steps after the last pre spike reached the dendrite, computed by the very expression of
     * the rule (so equal bit for bit); larger j call exp() */
    double *ftab;
    /* per projection q: the argument pw_x[q] (bits) of the facilitation's pow for the weight of its
     * first synapse here when the tables were made (the initial weight: in hpc_benchmark every
     * synapse's until its first update) and pow's value pw_y[q] for it; in the ftab block */
    uint64_t *pw_x;
    double *pw_y;
    /* ktab[j] = exp((double) (-j) * h * tmi) for the one value tmi (bits: ktab_tmi) of tau_minus_inv of the
     * first neuron with plastic inputs, by the very expression of parsnn_k_value (so equal bit for bit); a
     * neuron with another tau_minus_inv, or j >= PARSNN_KTAB_LEN, calls exp(); in the ftab block */
    double *ktab;
    uint64_t ktab_tmi;
    /* how stdp_pl_synapse_hom's facilitation computes w^mu (PARSNN_POWER_*; parsnn_wpow) */
    int32_t power;
    /* facilitations so far (post spikes read by a plastic synapse), thread th's at fac[th * 8] (one cache line
     * each), and its history windows at fac[th * 8 + 1] (facilitation windows that may hold older entries than
     * the dense record's two newest, so the history's arrays are searched); NULL: not counted */
    int64_t *fac;
} parsnn_plastic_t;

/* Append an entry to a history, growing it if needed; 0 on success, -1 if out of memory. */
static int parsnn_hist_push(parsnn_hist_t *hs, int64_t t, double k, int32_t cnt)
{
    if (hs->end == hs->cap) {
        int32_t len = hs->end - hs->start;
        if (hs->start > 0 && len <= hs->cap / 2) {          /* compact in place */
            memmove(hs->e, hs->e + hs->start, (size_t) len * sizeof(parsnn_hent_t));
            memmove(hs->k, hs->k + hs->start, (size_t) len * sizeof(double));
        } else {                                            /* grow */
            int32_t cap = hs->cap ? 2 * hs->cap : 8;
            parsnn_hent_t *e2 = (parsnn_hent_t *) malloc((size_t) cap * sizeof(parsnn_hent_t));
            double *k2 = (double *) malloc((size_t) cap * sizeof(double));
            if (!e2 || !k2) {
                free(e2); free(k2);
                return -1;
            }
            if (len) {
                memcpy(e2, hs->e + hs->start, (size_t) len * sizeof(parsnn_hent_t));
                memcpy(k2, hs->k + hs->start, (size_t) len * sizeof(double));
            }
            free(hs->e); free(hs->k);
            hs->e = e2; hs->k = k2;
            hs->cap = cap;
        }
        hs->start = 0;
        hs->end = len;
    }
    hs->e[hs->end].t = t;
    hs->e[hs->end].cnt = cnt;
    hs->e[hs->end].unused = 0;
    hs->k[hs->end] = k;
    hs->end++;
    return 0;
}

/* n empty histories (zeroed; call parsnn_hist_free on each); NULL if out of memory. */
static parsnn_hist_t *parsnn_hist_alloc(int64_t n)
{
    void *m = NULL;
    const size_t bytes = (size_t) (n > 0 ? n : 1) * sizeof(parsnn_hist_t);
    if (posix_memalign(&m, 64, bytes))
        return NULL;
    memset(m, 0, bytes);
    return (parsnn_hist_t *) m;
}

static void parsnn_hist_free(parsnn_hist_t *hs)
{
    free(hs->e); free(hs->k);
    hs->e = NULL; hs->k = NULL;
    hs->start = hs->end = hs->cap = 0;
}

/* Every neuron's newest stamp from its archive, and no Kminus memo (after the archives were set). */
static void parsnn_hq_reset(parsnn_plastic_t *p)
{
    for (int64_t i = 0; i < p->n; i++) {
        const parsnn_hist_t *hs = &p->hist[i];
        p->hq[i].newest = (hs->end > hs->start) ? hs->e[hs->end - 1].t : INT64_MIN;
        p->hq[i].prev = (hs->end - hs->start > 1) ? hs->e[hs->end - 2].t : INT64_MIN;
        p->hq[i].prev2 = (hs->end - hs->start > 2) ? hs->e[hs->end - 3].t : INT64_MIN;
        p->hq[i].pn = 0;
        p->hq[i].pp = 0;
        p->hq[i].kq_t = INT64_MIN;
        p->hq[i].kq_v = 0.0;
        p->hq[i].knew = (hs->end > hs->start) ? hs->k[hs->end - 1] : 0.0;
        p->hq[i].tmi = p->tau_minus_inv[i];
    }
}

/* Local neuron i spiked with stamp t (steps): NEST's ArchivingNode::set_spiketime. Prunes the
 * entries every incoming synapse has read that no later read can need, updates Kminus and
 * appends the spike. Returns -1 if out of memory, else 0. */
static int parsnn_archive_spike(parsnn_plastic_t *p, int64_t i, int64_t t)
{
    const int32_t n_in = p->n_incoming[i];
    if (n_in == 0) {
        p->last_t[i] = t;
        return 0;
    }
    parsnn_hist_t *hs = &p->hist[i];
    const int64_t keep = (int64_t) p->max_delay[i] + p->min_delay;
    parsnn_hq_t *q = &p->hq[i];
    if (hs->end > hs->start)           /* the two newest entries' pending reads into their counters */
        hs->e[hs->end - 1].cnt += q->pn;
    if (hs->end - hs->start > 1)
        hs->e[hs->end - 2].cnt += q->pp;
    q->pn = 0;
    q->pp = 0;
    while (hs->end - hs->start > 1) {
        if (hs->e[hs->start].cnt >= n_in && t - hs->e[hs->start + 1].t > keep)
            hs->start++;
        else
            break;
    }
    p->kminus[i] = p->kminus[i] * exp((double) (p->last_t[i] - t) * p->h * p->tau_minus_inv[i]) + 1.0;
    p->last_t[i] = t;
    if (parsnn_hist_push(hs, t, p->kminus[i], 0))
        return -1;
    /* pruning never removes the newest entry, so the entry before the new one is the old newest;
     * the old prev is e[end - 3] or was pruned (then every remaining older entry is older still) */
    q->prev2 = q->prev;
    q->prev = q->newest;
    q->newest = t;
    q->knew = p->kminus[i];           /* the k of the entry just pushed */
    return 0;
}

/* The lag and the multiplicity of a spike code (cython/engine.pyx: (multiplicity - 1) << 48 |
 * lag << 32 | gid) */
#define PARSNN_CODE_LAG(code) ((int64_t) (((code) >> 32) & 0xFFFFULL))
#define PARSNN_CODE_MULT(code) ((int64_t) ((code) >> 48) + 1)

/* Archive the nspk spikes codes[0..nspk) (in step order) of one thread's neurons (they receive
 * spikes: multiplicity 1), emitted in the interval starting at step t0 (g2l: gid -> local index).
 * Returns -1 if out of memory, else 0. */
static int parsnn_archive_spikes(parsnn_plastic_t *p, const uint64_t *codes, int64_t nspk, const int32_t *g2l,
                                 int64_t t0)
{
    int err = 0;
    for (int64_t k = 0; k < nspk; k++) {
        const uint64_t code = codes[k];
        if (parsnn_archive_spike(p, g2l[(int64_t) (code & 0xFFFFFFFFULL)], t0 + PARSNN_CODE_LAG(code) + 1))
            err = -1;
    }
    return err;
}

/* Kminus of neuron i at time t (steps): the trace of its last archived spike strictly before t,
 * decayed to t (NEST's get_K_value); 0 without one. When that spike is the newest entry (the common
 * case: the neuron has not spiked in (t - 1, now]), from the dense record alone: its stamp and Kminus
 * (hq's newest, knew: the history's e[end - 1].t, k[end - 1]) and the factor exp((double) (stamp - t) * h
 * * tau_minus_inv) from the table (ktab: the same expression, so the same bits) or from exp(); else the
 * history is searched as before. */
static inline double parsnn_k_value(const parsnn_plastic_t *p, int64_t i, int64_t t)
{
    const parsnn_hist_t *hs = &p->hist[i];
    parsnn_hq_t *q = &p->hq[i];
    if (q->kq_t == t)                  /* many spikes reach a neuron with the same t - d */
        return q->kq_v;
    double v = 0.0;
    if (q->newest < t && q->newest != INT64_MIN) {
        const int64_t m = t - q->newest;                 /* >= 1 */
        uint64_t bits;
        memcpy(&bits, &q->tmi, sizeof bits);
        v = q->knew * ((m < PARSNN_KTAB_LEN && bits == p->ktab_tmi) ? p->ktab[m]
                       : exp((double) (q->newest - t) * p->h * q->tmi));
    } else {
        for (int32_t j = hs->end - 1; j >= hs->start; j--)
            if (hs->e[j].t < t) {
                v = hs->k[j] * exp((double) (hs->e[j].t - t) * p->h * p->tau_minus_inv[i]);
                break;
            }
    }
    q->kq_t = t;
    q->kq_v = v;
    return v;
}

/* How the facilitation of stdp_pl_synapse_hom computes w^mu: the C library's pow (as NEST calls it), or,
 * for mu = 0.4, the fifth root of w^2 by Newton's method (parsnn_root25; every other rule and mu keeps pow) */
#define PARSNN_POWER_LIBM 0
#define PARSNN_POWER_NEWTON 1

/* pow(x, 0.4) for x in [2^-500, 2^500): the root y of y^5 = x^2, i.e. x^(2/5). With x = 2^e m (m in [1, 2)) and
 * 2e = 5q + r (r in 0..4), a first guess 2^q 2^(r/5) P(m), P a quartic for m^0.4 (relative error 1.1e-5); one
 * Newton step y <- 0.8 y + 0.2 x^2 / y^4 and a second as a correction, y + 0.2 (x^2 / y^4 - y), whose roundings
 * are scaled by 0.2; then the double 0.4, which is 2/5 + PARSNN_MU04_DELTA, by y (1 + delta ln x) (ln x from
 * the bits: a 9 % error in a term of at most 1e-14 y). Only IEEE multiplications, divisions, additions and exact
 * conversions (the build keeps -ffp-contract=off): the same bits on every machine, library and vector width;
 * within 2 ulp of the exact value (tests/test_engine_weight_power.py). */
#define PARSNN_MU04_DELTA 2.2204460492503132e-17
static const double parsnn_root25_c5[5] = {0x1p+0, 0x1.2611186bae675p+0, 0x1.51cb453b9536cp+0,
                                           0x1.8406003b2ae5cp+0, 0x1.bdb8cdadbe120p+0};     /* 2^(r/5) */
static inline double parsnn_root25(double x)
{
    const double a = x * x;
    uint64_t bx;
    memcpy(&bx, &x, sizeof bx);
    const int64_t t = 2 * ((int64_t) (bx >> 52) - 1023);
    int64_t q = t / 5, r = t % 5;
    if (r < 0) {
        r += 5;
        q -= 1;
    }
    const uint64_t mb = (bx & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL, sb = (uint64_t) (q + 1023) << 52;
    double m, sc;
    memcpy(&m, &mb, sizeof m);
    memcpy(&sc, &sb, sizeof sc);
    const double p = 0x1.b7f797fa301ccp-2 + m * (0x1.9dec508445d16p-1 + m * (-0x1.43a493f49101bp-2
                     + m * (0x1.6bae9f99c70e2p-4 + m * -0x1.6292e5e67aa53p-7)));
    double y = sc * parsnn_root25_c5[r] * p;
    {
        const double y2 = y * y, y4 = y2 * y2;
        y = 0.8 * y + 0.2 * (a / y4);
    }
    {
        const double y2 = y * y, y4 = y2 * y2;
        y = y + 0.2 * (a / y4 - y);
    }
    /* ln x from the bits: (bits - B) 2^-52 ln 2 */
    const double lnx = (double) ((int64_t) bx - ((int64_t) 1023 << 52)) * 0x1.62e42fefa39efp-53;
    return y + y * (PARSNN_MU04_DELTA * lnx);
}

/* stdp_pl_synapse_hom's facilitation w + lambda w^0.4 kp, with w^0.4 by parsnn_root25, for a batch of weights x[j] and
 * decayed Kplus values kp[j] into out[j] (parsnn_pass2_batched): lane by lane the same IEEE operations as parsnn_facilitate
 * and parsnn_root25 (the same bits; tests/test_engine_weight_power.py), without branches, so the compiler vectorizes the
 * loop. The exponent's two quantities come from a table (parsnn_root25_tab, filled by parsnn_root25_init): the first
 * guess's scale 2^q 2^(r/5) (parsnn_root25's product sc * c5[r], exact: sc is a power of two) and (e - 1023) 2^52, from
 * which ln x's integer (bits - B) is formed as (e - 1023) 2^52 + (m - 1) 2^52: both terms are exact, so the one rounding of
 * their sum is the conversion's. Returns the number of weights outside [2^-500, 2^500), whose values are to be replaced
 * (parsnn_fac_apply). Built for AVX-512, AVX2 and baseline x86-64, one chosen at run time (parsnn_fac_level). */
typedef struct {
    double sc, eb;
} parsnn_r25e_t;
static parsnn_r25e_t parsnn_root25_tab[2048];

static void parsnn_root25_init(void)
{
    for (int64_t e = 0; e < 2048; e++) {
        const int64_t t = 2 * (e - 1023);
        int64_t q = t / 5, r = t % 5;
        if (r < 0) {
            r += 5;
            q -= 1;
        }
        double sc = 1.0;               /* exponents whose scale is no normal double: outside the range */
        if (q + 1023 > 0 && q + 1023 < 2047) {
            const uint64_t sb = (uint64_t) (q + 1023) << 52;
            memcpy(&sc, &sb, sizeof sc);
        }
        parsnn_root25_tab[e].sc = sc * parsnn_root25_c5[r];
        parsnn_root25_tab[e].eb = (double) (e - 1023) * 0x1p52;
    }
}

static inline __attribute__((always_inline)) int32_t
parsnn_fac_batch_body(const double *restrict x, const double *restrict kp, double *restrict out, int32_t n, double lambda)
{
    int32_t nbad = 0;
    for (int32_t j = 0; j < n; j++) {
        const double xv = x[j];
        const double a = xv * xv;
        uint64_t bx;
        memcpy(&bx, &xv, sizeof bx);
        const parsnn_r25e_t *te = &parsnn_root25_tab[(bx >> 52) & 0x7FF];
        const uint64_t mb = (bx & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;
        double m;
        memcpy(&m, &mb, sizeof m);
        const double p = 0x1.b7f797fa301ccp-2 + m * (0x1.9dec508445d16p-1 + m * (-0x1.43a493f49101bp-2
                         + m * (0x1.6bae9f99c70e2p-4 + m * -0x1.6292e5e67aa53p-7)));
        double y = te->sc * p;
        {
            const double y2 = y * y, y4 = y2 * y2;
            y = 0.8 * y + 0.2 * (a / y4);
        }
        {
            const double y2 = y * y, y4 = y2 * y2;
            y = y + 0.2 * (a / y4 - y);
        }
        const double lnx = (te->eb + (m - 1.0) * 0x1p52) * 0x1.62e42fefa39efp-53;
        y = y + y * (PARSNN_MU04_DELTA * lnx);
        out[j] = xv + (lambda * y * kp[j]);
        nbad += !(xv >= 0x1p-500 && xv < 0x1p500);
    }
    return nbad;
}

static int32_t parsnn_fac_batch_base(const double *restrict x, const double *restrict kp, double *restrict out, int32_t n,
                                     double lambda)
{
    return parsnn_fac_batch_body(x, kp, out, n, lambda);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PARSNN_FAC_X86 1
__attribute__((target("avx2"), noinline))
static int32_t parsnn_fac_batch_avx2(const double *restrict x, const double *restrict kp, double *restrict out, int32_t n,
                                     double lambda)
{
    return parsnn_fac_batch_body(x, kp, out, n, lambda);
}

__attribute__((target("avx512f"), noinline))
static int32_t parsnn_fac_batch_avx512(const double *restrict x, const double *restrict kp, double *restrict out,
                                       int32_t n, double lambda)
{
    return parsnn_fac_batch_body(x, kp, out, n, lambda);
}
#endif

/* Which facilitation pass 2 runs for stdp_pl_synapse_hom with the Newton power: -1 the loop synapse by synapse (for tests),
 * 0, 1, 2 the batched pass with the baseline, AVX2 or AVX-512 kernel; the best this CPU has unless set
 * (parsnn_fac_set_level). Every level gives the same bits. */
static int parsnn_fac_level = -2;

/* the best kernel of this CPU */
static int parsnn_fac_best(void)
{
#ifdef PARSNN_FAC_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/* Set the level (-1 .. the best this CPU has; anything else: the best); returns the level now in force. */
static int parsnn_fac_set_level(int level)
{
    const int best = parsnn_fac_best();
    parsnn_fac_level = (level >= -1 && level <= best) ? level : best;
    return parsnn_fac_level;
}

static inline int parsnn_fac_get_level(void)
{
    if (parsnn_fac_level == -2)        /* a race only writes the same value twice */
        parsnn_fac_level = parsnn_fac_best();
    return parsnn_fac_level;
}

static inline int32_t parsnn_fac_batch(const double *restrict x, const double *restrict kp, double *restrict out, int32_t n,
                                       double lambda)
{
#ifdef PARSNN_FAC_X86
    const int level = parsnn_fac_get_level();
    if (level == 2)
        return parsnn_fac_batch_avx512(x, kp, out, n, lambda);
    if (level == 1)
        return parsnn_fac_batch_avx2(x, kp, out, n, lambda);
#endif
    return parsnn_fac_batch_base(x, kp, out, n, lambda);
}

/* The constants of projection q, hoisted out of the synapse loop (the loop stores through
 * pointers the compiler cannot prove distinct from the parameter arrays). */
typedef struct {
    double lambda, la, mu_plus, mu_minus, wmax, tau_plus, inv_tau_plus, h;
    const double *ftab;
    uint64_t pw_x;     /* a fixed entry of the facilitation's pow memo (parsnn_plastic_t's pw_x, pw_y) */
    double pw_y;
    int32_t newton;    /* the facilitation's w^mu by parsnn_root25 (parsnn_newton_power) */
} parsnn_proj_t;

/* Whether projection q's facilitation takes w^mu from parsnn_root25: the store's power scheme is
 * PARSNN_POWER_NEWTON, the rule stdp_pl_synapse_hom and mu exactly 0.4. */
static inline int32_t parsnn_newton_power(const parsnn_plastic_t *p, int64_t q)
{
    return p->power == PARSNN_POWER_NEWTON && p->model[q] == PARSNN_STDP_PL_HOM && p->mu_plus[q] == 0.4;
}

static inline parsnn_proj_t parsnn_proj(const parsnn_plastic_t *p, int64_t q)
{
    parsnn_proj_t c;
    c.lambda = p->lambda[q];
    c.la = p->alpha[q] * p->lambda[q];       /* (alpha lambda) w ..., as the rules group it */
    c.mu_plus = p->mu_plus[q];
    c.mu_minus = p->mu_minus[q];
    c.wmax = p->wmax[q];
    c.tau_plus = p->tau_plus[q];
    c.inv_tau_plus = 1.0 / p->tau_plus[q];
    c.h = p->h;
    c.ftab = p->ftab + q * PARSNN_FTAB_LEN;
    c.pw_x = p->pw_x[q];
    c.pw_y = p->pw_y[q];
    c.newton = parsnn_newton_power(p, q);
    return c;
}

/* The facilitation's pow without glibc's errno wrapper: on x86-64 glibc, __pow_finite is the entry
 * of the very __ieee754_pow that pow() calls and whose value pow() returns unchanged (it only sets
 * errno), so the bits are the same; the wrapper was about a sixth of pow's instructions. Elsewhere,
 * or with -DPARSNN_NO_POW_FINITE, pow() itself. */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(PARSNN_NO_POW_FINITE)
__asm__(".symver parsnn_pow_core,__pow_finite@GLIBC_2.15");
extern double parsnn_pow_core(double, double);
#else
#define parsnn_pow_core pow
#endif

/* The facilitation's x^y: parsnn_root25 where the projection takes it (y is then 0.4) and x is in its range
 * [2^-500, 2^500) (x^2 neither underflows nor overflows), else the library's pow. */
static inline double parsnn_wpow(int32_t newton, double x, double y)
{
    return (newton && x >= 0x1p-500 && x < 0x1p500) ? parsnn_root25(x) : parsnn_pow_core(x, y);
}

/* pow(x, y) through a memo of two entries: the projection's fixed one (c->pw_x, c->pw_y: the pow of
 * its initial weight) and the last argument and result (*mx, *my); pow is a pure function, so the
 * result is the same bits. In a row, many synapses still have the initial weight when they are
 * facilitated (at scale 1 over 200 ms about half the facilitations), the others a weight of their
 * own: with the last entry only, each of those evicted the initial one. */
static inline double parsnn_pow_memo(const parsnn_proj_t *c, double x, double y, uint64_t *mx, double *my)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);       /* compared bit for bit: -0.0 is not +0.0 */
    if (bits == c->pw_x)
        return c->pw_y;
    if (bits != *mx) {
        *mx = bits;
        *my = parsnn_wpow(c->newton, x, y);
    }
    return *my;
}

/* NEST's facilitate_ / depress_ of stdp_synapse (model PARSNN_STDP) and stdp_pl_synapse_hom */
static inline double parsnn_facilitate(const parsnn_proj_t *c, double w, double kplus, const int model,
                                       uint64_t *mx, double *my)
{
    if (model == PARSNN_STDP) {
        const double norm_w = (w / c->wmax) + (c->lambda * parsnn_pow_memo(c, 1.0 - (w / c->wmax), c->mu_plus, mx, my) * kplus);
        return norm_w < 1.0 ? norm_w * c->wmax : c->wmax;
    }
    return w + (c->lambda * parsnn_pow_memo(c, w, c->mu_plus, mx, my) * kplus);
}

static inline double parsnn_depress(const parsnn_proj_t *c, double w, double kminus, const int model)
{
    if (model == PARSNN_STDP) {
        const double norm_w = (w / c->wmax) - (c->la * pow(w / c->wmax, c->mu_minus) * kminus);
        return norm_w > 0.0 ? norm_w * c->wmax : 0.0;
    }
    const double new_w = w - (c->la * w * kminus);
    return new_w > 0.0 ? new_w : 0.0;
}

/* exp(minus_dt / tau_plus) for minus_dt = -j steps (the rules' expressions) */
static inline double parsnn_fexp(const parsnn_proj_t *c, int64_t j, const int model)
{
    const double minus_dt = (double) (-j) * c->h;
    return (model == PARSNN_STDP) ? exp(minus_dt / c->tau_plus) : exp(minus_dt * c->inv_tau_plus);
}

/* Fill the facilitation tables and the fixed pow memo entries (from the weights as they are now);
 * 0, or -1 if out of memory. */
static int parsnn_plastic_tables(parsnn_plastic_t *p)
{
    const int64_t np = p->n_proj > 0 ? p->n_proj : 1;
    free(p->ftab);
    p->ftab = (double *) malloc((size_t) (np * (PARSNN_FTAB_LEN + 2) + PARSNN_KTAB_LEN) * sizeof(double));
    if (!p->ftab)
        return -1;
    p->pw_x = (uint64_t *) (p->ftab + np * PARSNN_FTAB_LEN);
    p->pw_y = p->ftab + np * (PARSNN_FTAB_LEN + 1);
    p->ktab = p->ftab + np * (PARSNN_FTAB_LEN + 2);
    parsnn_root25_init();
    {   /* the Kminus table for the tau_minus_inv of the first neuron with plastic inputs (none: a NaN) */
        double tmi = NAN;
        for (int64_t i = 0; i < p->n; i++)
            if (p->n_incoming[i] > 0) {
                tmi = p->tau_minus_inv[i];
                break;
            }
        memcpy(&p->ktab_tmi, &tmi, sizeof tmi);
        for (int64_t j = 0; j < PARSNN_KTAB_LEN; j++)
            p->ktab[j] = exp((double) (-j) * p->h * tmi);
    }
    for (int64_t q = 0; q < p->n_proj; q++) {
        /* the argument of the facilitation's pow for the first synapse's weight, by the rule's expression */
        const int64_t a = p->ptr[p->row_off[q]], b = p->ptr[p->row_off[q] + p->nsrc[q] * p->T];
        const double w0 = (a < b) ? p->w[a] : 0.0;
        const double x0 = (p->model[q] == PARSNN_STDP) ? 1.0 - (w0 / p->wmax[q]) : w0;
        memcpy(&p->pw_x[q], &x0, sizeof x0);
        p->pw_y[q] = parsnn_wpow(parsnn_newton_power(p, q), x0, p->mu_plus[q]);
    }
    for (int64_t q = 0; q < p->n_proj; q++) {
        const parsnn_proj_t c = parsnn_proj(p, q);
        double *tab = p->ftab + q * PARSNN_FTAB_LEN;
        for (int64_t j = 0; j < PARSNN_FTAB_LEN; j++)
            tab[j] = (p->model[q] == PARSNN_STDP) ? parsnn_fexp(&c, j, PARSNN_STDP)
                                                   : parsnn_fexp(&c, j, PARSNN_STDP_PL_HOM);
    }
    return 0;
}

/* Kplus decayed to a post spike m >= 1 steps after the last pre spike reached the dendrite: kplus exp(-m h / tau_plus) */
static inline double parsnn_kp(const parsnn_proj_t *c, const double *ftab, double kplus, int64_t m, const int model)
{
    return kplus * (m < PARSNN_FTAB_LEN ? ftab[m] : parsnn_fexp(c, m, model));
}

/* The entries [*s, e) of a history whose stamps lie in (t1, t2]; returns e. */
static inline int32_t parsnn_hist_window(const parsnn_hist_t *hs, int64_t t1, int64_t t2, int32_t *s)
{
    const int32_t start = hs->start;
    const parsnn_hent_t *he = hs->e;
    int32_t e = hs->end, b;
    while (e > start && he[e - 1].t > t2)
        e--;
    b = e;
    while (b > start && he[b - 1].t > t1)
        b--;
    *s = b;
    return e;
}

/* A weight's facilitation from a history searched for the post spikes in (t1, t2], oldest first, each read counted in the
 * entry's access counter and in *nread (parsnn_row's pass 2 when the window may hold older entries than the dense
 * record's) */
static inline double parsnn_fac_history(const parsnn_proj_t *c, parsnn_hist_t *hs, double w, int64_t dd, int64_t t_last,
                                        int64_t t1, int64_t t2, double kplus, const int model, uint64_t *mx, double *my,
                                        int64_t *nread)
{
    parsnn_hent_t *he = hs->e;
    int32_t s;
    const int32_t e = parsnn_hist_window(hs, t1, t2, &s);
    for (int32_t j = s; j < e; j++) {
        he[j].cnt++;
        (*nread)++;
        w = parsnn_facilitate(c, w, parsnn_kp(c, c->ftab, kplus, he[j].t + dd - t_last, model), model, mx, my);
    }
    return w;
}

/* parsnn_fac_batch and, for its weights outside parsnn_root25's range (nbad of them), parsnn_facilitate's value with pow */
static inline void parsnn_fac_apply(const parsnn_proj_t *c, const double *x, const double *kp, double *out, int32_t n)
{
    if (n > 0 && parsnn_fac_batch(x, kp, out, n, c->lambda))
        for (int32_t j = 0; j < n; j++)
            if (!(x[j] >= 0x1p-500 && x[j] < 0x1p500))
                out[j] = x[j] + (c->lambda * parsnn_pow_core(x[j], c->mu_plus) * kp[j]);
}

/* parsnn_fac_apply for a projection of facilitation constant lam and exponent mu (= 0.4; tests) */
static void parsnn_fac_apply_l(double lam, double mu, const double *x, const double *kp, double *out, int32_t n)
{
    parsnn_proj_t c;
    memset(&c, 0, sizeof c);
    c.lambda = lam;
    c.mu_plus = mu;
    parsnn_fac_apply(&c, x, kp, out, n);
}

/* decayed Kplus values of the post spikes after a synapse's first in parsnn_pass2_batched (a synapse whose spikes would
 * overflow them is facilitated at once) */
#define PARSNN_KPX (4 * PARSNN_ROW_CHUNK)

/* a synapse's target and delay in parsnn_row and its pass 2 (their t16, per_syn_d, tgt16, tgt32, dq, a, dc) */
#define PARSNN_TGT(k) (t16 ? (int64_t) tgt16[k] : (int64_t) tgt32[k])
#define PARSNN_DD(k) (per_syn_d ? (int64_t) dq[(k) - a] : dc)

/* parsnn_row's pass 2 for stdp_pl_synapse_hom with w^0.4 by parsnn_root25 (c->newton), batched, with the bits of the loop
 * synapse by synapse (the other rules' pass 2, and this one's at parsnn_fac_level -1). A first loop finds each listed
 * synapse's post spikes in (t1, t2], counts the reads and notes their decayed Kplus values, oldest first: without branches
 * when the window holds only entries of the dense record (at most prev and newest), else from the history. The
 * facilitations then go in rounds: the r-th post spike of every synapse that has one, as one vectorized batch
 * (parsnn_fac_apply). Each weight gets the operations of parsnn_facilitate in the same order. The branches on each
 * synapse's window, mispredicted about as often as taken, and the memo of the loop synapse by synapse are gone: on
 * hpc_benchmark at scale 1 the pass is 5-10 % of the whole run faster (benchmarks/results/pass2_batch22/). Returns the
 * windows searched in the history (a local count: a counter behind a pointer cost ~1 % of hpc_benchmark's run). */
static inline __attribute__((always_inline)) int32_t
parsnn_pass2_batched(parsnn_plastic_t *p, const parsnn_proj_t *c, int64_t a, int64_t c0, const int32_t *fac,
                     int32_t nf, const uint16_t *dq, int64_t dc, int64_t t, int64_t t_last, double kplus, const int t16,
                     const int per_syn_d, int64_t *nread)
{
    const uint32_t *tgt32 = (const uint32_t *) p->tgt;
    const uint16_t *tgt16 = (const uint16_t *) p->tgt;
    const double *ftab = c->ftab;
    parsnn_hq_t *hq = p->hq;
    double *wp = p->w;
    uint64_t mx = 0x7ff8dead0000beefULL;
    double my = 0.0;
    int32_t off[PARSNN_ROW_CHUNK], ne[PARSNN_ROW_CHUNK], eoff[PARSNN_ROW_CHUNK], sel[PARSNN_ROW_CHUNK];
    double kp0[PARSNN_ROW_CHUNK], wa[PARSNN_ROW_CHUNK], wb[PARSNN_ROW_CHUNK], wc[PARSNN_ROW_CHUNK], kps[PARSNN_ROW_CHUNK];
    double kpx[PARSNN_KPX + PARSNN_ROW_CHUNK + 1];   /* the dense record adds at most one per synapse and writes one ahead */
    int32_t n = 0, nx = 0, maxne = 0, nhist = 0;            /* nhist: the windows searched in the history */
    for (int32_t f = 0; f < nf; f++) {
        const int64_t k = c0 + fac[f];
        const int64_t dd = PARSNN_DD(k);
        const int64_t i = PARSNN_TGT(k);
        const int64_t t1 = t_last - dd, t2 = t - dd;
        parsnn_hq_t *qi = &hq[i];
        int32_t cnt;
        const int32_t x0 = nx;
        if (__builtin_expect(qi->prev2 <= t1, 1)) {
            /* without branches: the window holds prev (e1) and/or newest (e2; newest > t1 by pass 1) */
            const int32_t e1 = (qi->prev > t1) & (qi->prev <= t2), e2 = qi->newest <= t2;
            const int64_t sa = e1 ? qi->prev : qi->newest;
            qi->pp += e1;
            qi->pn += e2;
            kp0[n] = parsnn_kp(c, ftab, kplus, sa + dd - t_last, PARSNN_STDP_PL_HOM);
            kpx[nx] = parsnn_kp(c, ftab, kplus, qi->newest + dd - t_last, PARSNN_STDP_PL_HOM);
            cnt = e1 + e2;
            nx += cnt >> 1;
        } else {
            parsnn_hist_t *hs = &p->hist[i];
            parsnn_hent_t *he = hs->e;
            int32_t s;
            const int32_t e = parsnn_hist_window(hs, t1, t2, &s);
            nhist++;
            if (nx + (e - s) > PARSNN_KPX) {                 /* not listed: facilitated at once */
                wp[k] = parsnn_fac_history(c, hs, wp[k], dd, t_last, t1, t2, kplus, PARSNN_STDP_PL_HOM, &mx, &my, nread);
                continue;
            }
            for (int32_t j = s; j < e; j++) {
                he[j].cnt++;
                const double kp = parsnn_kp(c, ftab, kplus, he[j].t + dd - t_last, PARSNN_STDP_PL_HOM);
                if (j == s)
                    kp0[n] = kp;
                else
                    kpx[nx++] = kp;
            }
            cnt = e - s;
        }
        off[n] = fac[f];                   /* listed if it has a post spike in its window */
        ne[n] = cnt;
        eoff[n] = x0;
        wa[n] = wp[k];
        maxne = cnt > maxne ? cnt : maxne;
        n += cnt > 0;
        *nread += cnt;
    }
    parsnn_fac_apply(c, wa, kp0, wb, n);                     /* round 0: every listed synapse's first post spike */
    int32_t na = 0;                                          /* the synapses with a further post spike: sel[0 .. na) */
    if (maxne > 1)
        for (int32_t j = 0; j < n; j++) {
            sel[na] = j;
            na += ne[j] > 1;
        }
    for (int32_t r = 1; na > 0; r++) {                       /* round r: their (r + 1)-th post spike */
        for (int32_t j = 0; j < na; j++) {
            wa[j] = wb[sel[j]];
            kps[j] = kpx[eoff[sel[j]] + r - 1];
        }
        parsnn_fac_apply(c, wa, kps, wc, na);
        int32_t nb = 0;
        for (int32_t j = 0; j < na; j++) {
            const int32_t q = sel[j];
            wb[q] = wc[j];
            sel[nb] = q;
            nb += ne[q] > r + 1;
        }
        na = nb;
    }
    for (int32_t j = 0; j < n; j++)
        wp[c0 + off[j]] = wb[j];
    return nhist;
}

/* The synapses a .. b-1 of one (sub-)row of projection c at a presynaptic spike with stamp t
 * (the source's previous one: t_last, Kplus before this one: kplus): each weight gets
 * facilitation for the target's archived post spikes in (t_last - d, t - d] (each read is
 * counted, in the archive and in cnt[0]; a window searched in the history counted in cnt[1]), then
 * depression with Kminus just before t - d, and is added to the ring slot of step s + d (slot0 = s % D;
 * ring_ex for w > 0, else ring_in, as NEST's alpha and exp neurons split them). The delays are dq[0 .. b-a) (per_syn_d) or all dc. A spike of multiplicity mult is
 * mult spikes of the same step, as NEST unrolls an event's multiplicity for plastic synapses
 * (EventDeliveryManager::send_remote): the further mult - 1 updates find no post spike in their
 * window (t - d, t - d] and depress with the same Kminus, each new weight added to the ring.
 * ``model``, ``t16`` (uint16 targets), ``per_syn_d`` and, for mult == 1, ``mult`` are constants at
 * each call: one specialised loop per combination.
 * The row goes in chunks of PARSNN_ROW_CHUNK synapses, each in three passes: (1) without branches,
 * the list of synapses whose target spiked since t1 (about half of them at equal pre and post rates:
 * a branch on it is mispredicted half the time); (2) their facilitation, from the target's dense
 * record alone when the window holds its newest entries only (its line is still in cache from pass 1),
 * else from its history (batched for stdp_pl_synapse_hom with the Newton power: parsnn_pass2_batched);
 * (3) every synapse in row order:
 * depression, ring addition. Each weight gets the same operations in the same order as in one pass
 * (facilitation only reads the archives, but for the access counters, whose sums do not depend on
 * the order) and the ring entries receive their additions in row order: the results are bit for bit
 * those of one pass. */
static inline __attribute__((always_inline)) void
parsnn_row(parsnn_plastic_t *p, const parsnn_proj_t *c, int64_t a, int64_t b, const uint16_t *dq, int64_t dc,
           int64_t t, int64_t t_last, double kplus, int64_t slot0, int64_t D, int64_t n, double *rex, double *rin,
           const int64_t mult, const int model, const int t16, const int per_syn_d, int64_t *cnt)
{
    const uint32_t *tgt32 = (const uint32_t *) p->tgt;
    const uint16_t *tgt16 = (const uint16_t *) p->tgt;
    double *wp = p->w;
    parsnn_hist_t *hist = p->hist;
    parsnn_hq_t *hq = p->hq;
    const double *ftab = c->ftab;
    uint64_t mx = 0x7ff8dead0000beefULL;   /* the facilitation's pow memo: empty (a NaN no weight is) */
    double my = 0.0;
    int32_t fac[PARSNN_ROW_CHUNK];         /* the chunk's synapses (offsets) whose target spiked since t1 */
    int64_t nread = 0, nhist = 0;          /* facilitations (post spikes read), history windows */
    for (int64_t c0 = a; c0 < b; c0 += PARSNN_ROW_CHUNK) {
        const int64_t c1 = (b - c0 > PARSNN_ROW_CHUNK) ? c0 + PARSNN_ROW_CHUNK : b;
        /* pass 1, without branches: which synapses have post spikes since the last pre spike
         * reached the dendrite (newest stamp > t1; INT64_MIN for an empty archive) */
        int32_t nf = 0;
        for (int64_t k = c0; k < c1; k++) {
            fac[nf] = (int32_t) (k - c0);
            nf += hq[PARSNN_TGT(k)].newest > t_last - PARSNN_DD(k);
        }
        /* pass 2: their facilitation for the post spikes in (t1, t2], oldest first (each read counted).
         * When the third newest stamp is <= t1, the window holds at most the two newest entries, whose
         * stamps are in hq and whose reads are counted there (pp, pn); else the history is searched. */
        if (model == PARSNN_STDP_PL_HOM && c->newton && parsnn_fac_get_level() >= 0) {
            nhist += parsnn_pass2_batched(p, c, a, c0, fac, nf, dq, dc, t, t_last, kplus, t16, per_syn_d, &nread);
        } else {
            for (int32_t f = 0; f < nf; f++) {
                const int64_t k = c0 + fac[f];
                const int64_t dd = PARSNN_DD(k);
                const int64_t i = PARSNN_TGT(k);
                const int64_t t1 = t_last - dd, t2 = t - dd;
                parsnn_hq_t *qi = &hq[i];
                double w = wp[k];
                if (__builtin_expect(qi->prev2 <= t1, 1)) {
                    if (qi->prev > t1 && qi->prev <= t2) {
                        qi->pp++;
                        nread++;
                        const double kp = parsnn_kp(c, ftab, kplus, qi->prev + dd - t_last, model);
                        w = parsnn_facilitate(c, w, kp, model, &mx, &my);
                    }
                    if (qi->newest <= t2) {                          /* newest > t1: pass 1 */
                        qi->pn++;
                        nread++;
                        const double kp = parsnn_kp(c, ftab, kplus, qi->newest + dd - t_last, model);
                        w = parsnn_facilitate(c, w, kp, model, &mx, &my);
                    }                                  /* else nothing more in the window */
                } else {
                    nhist++;
                    w = parsnn_fac_history(c, &hist[i], w, dd, t_last, t1, t2, kplus, model, &mx, &my, &nread);
                }
                wp[k] = w;
            }
        }
        /* pass 3, every synapse in row order: depression with Kminus just before t2, ring addition */
        for (int64_t k = c0; k < c1; k++) {
            const int64_t i = PARSNN_TGT(k);
            const int64_t dd = PARSNN_DD(k);
            const int64_t t2 = t - dd;
            const double km = (hq[i].kq_t == t2) ? hq[i].kq_v : parsnn_k_value(p, i, t2);
            int64_t slot = slot0 + dd;
            if (slot >= D)
                slot -= D;
            double w = parsnn_depress(c, wp[k], km, model);
            if (w > 0.0)
                rex[slot * n + i] += w;
            else
                rin[slot * n + i] += w;
            for (int64_t r = 1; r < mult; r++) {     /* the further spikes of the step: no post spike in */
                w = parsnn_depress(c, w, km, model); /* (t - d, t - d], depression with the same Kminus */
                if (w > 0.0)
                    rex[slot * n + i] += w;
                else
                    rin[slot * n + i] += w;
            }
            wp[k] = w;
        }
    }
    cnt[0] += nread;
    cnt[1] += nhist;
#undef PARSNN_TGT
#undef PARSNN_DD
}

/* parsnn_row specialised for the store's target width and for delays per synapse or per projection
 * (dq == NULL: all dc). */
static inline __attribute__((always_inline)) void
parsnn_row_layout(parsnn_plastic_t *p, const parsnn_proj_t *c, int64_t a, int64_t b, const uint16_t *dq,
                  int64_t dc, int64_t t, int64_t t_last, double kplus, int64_t slot0, int64_t D, int64_t n,
                  double *rex, double *rin, const int64_t mult, const int model, int64_t *cnt)
{
    if (p->tgt16) {
        if (dq)
            parsnn_row(p, c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, model, 1, 1, cnt);
        else
            parsnn_row(p, c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, model, 1, 0, cnt);
    } else {
        if (dq)
            parsnn_row(p, c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, model, 0, 1, cnt);
        else
            parsnn_row(p, c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, model, 0, 0, cnt);
    }
}

/* The Kplus of a source after its spike with stamp t, from kplus and t_last before it. */
static inline double parsnn_kplus_next(const parsnn_plastic_t *p, int64_t q, double kplus, int64_t t_last, int64_t t)
{
    return (p->model[q] == PARSNN_STDP)
        ? kplus * exp((double) (t_last - t) * p->h / p->tau_plus[q]) + 1.0
        : kplus * exp((double) (t_last - t) * p->h * (1.0 / p->tau_plus[q])) + 1.0;
}

/* Once per interval, before the threads deliver: for the nrecv received spikes codes[k] (canonical
 * order; a code of multiplicity m stands for m spikes of the same step, as NEST unrolls an event's
 * multiplicity for plastic synapses) of the interval starting at step t0, note each plastic
 * projection's Kplus
 * and last spike stamp of the spike's source as they are before the spike (pre_k, pre_t), then
 * advance them (only for sources with synapses here: the others are never read). Returns the number
 * of plastic synapses the spikes will visit, or -1 if out of memory. */
static int64_t parsnn_plastic_prepare(parsnn_plastic_t *p, const uint64_t *codes, int64_t nrecv, int64_t t0)
{
    const int64_t P = p->n_proj, T = p->T;
    int64_t events = 0;
    if (nrecv * P > p->pre_cap) {
        const int64_t cap = 2 * nrecv * P;
        double *k2 = (double *) realloc(p->pre_k, (size_t) cap * sizeof(double));
        if (k2)
            p->pre_k = k2;
        int64_t *t2 = (int64_t *) realloc(p->pre_t, (size_t) cap * sizeof(int64_t));
        if (t2)
            p->pre_t = t2;
        if (!k2 || !t2)
            return -1;
        p->pre_cap = cap;
    }
    for (int64_t k = 0; k < nrecv; k++) {
        const int64_t g = (int64_t) (codes[k] & 0xFFFFFFFFULL), t = t0 + PARSNN_CODE_LAG(codes[k]) + 1;
        const int64_t mult = PARSNN_CODE_MULT(codes[k]);
        for (int64_t q = 0; q < P; q++) {
            const int64_t src = g - p->soff[q];
            if (src < 0 || src >= p->nsrc[q])
                continue;
            const int64_t base = p->row_off[q] + src * T, tr = p->src_off[q] + src;
            const int64_t a = p->ptr[base], b = p->ptr[base + T];
            if (a == b)
                continue;
            const double kplus = p->kplus[tr];
            const int64_t t_last = p->tlast[tr];
            p->pre_k[k * P + q] = kplus;
            p->pre_t[k * P + q] = t_last;
            double kp = parsnn_kplus_next(p, q, kplus, t_last, t);
            for (int64_t r = 1; r < mult; r++)        /* the further spikes of the step: exp(0) + 1 */
                kp = parsnn_kplus_next(p, q, kp, t, t);
            p->kplus[tr] = kp;
            p->tlast[tr] = t;
            events += b - a;
        }
    }
    return events;
}

/* Thread th delivers the k-th received spike (source gid g, emitted in step s, stamp s + 1) over
 * its sub-row of every plastic projection from g: updates each synapse's weight and adds it to the
 * ring slot of step s + d (ring_ex for w > 0, else ring_in, as NEST's alpha and exp neurons split
 * them), mult times for a spike of multiplicity mult (parsnn_row), with the source's traces noted
 * by parsnn_plastic_prepare. slot0 = s % D; the rings have n columns. Adds the facilitations (post
 * spikes read) to p->fac[th * 8], the history windows to p->fac[th * 8 + 1]. Returns the number of synapses
 * visited. */
static int64_t parsnn_plastic_deliver(parsnn_plastic_t *p, int64_t k, int64_t g, int64_t s, int64_t slot0,
                                      int64_t D, int64_t n, double *rex, double *rin, int64_t th, int64_t mult)
{
    int64_t events = 0, cnt[2] = {0, 0};    /* facilitations, history windows */
    const int64_t t = s + 1, P = p->n_proj;
    for (int64_t q = 0; q < P; q++) {
        const int64_t src = g - p->soff[q];
        if (src < 0 || src >= p->nsrc[q])
            continue;
        const int64_t base = p->row_off[q] + src * p->T + th;
        const int64_t a = p->ptr[base], b = p->ptr[base + 1];
        if (a == b)
            continue;
        const double kplus = p->pre_k[k * P + q];
        const int64_t t_last = p->pre_t[k * P + q];
        const parsnn_proj_t c = parsnn_proj(p, q);
        const int64_t dc = p->dconst[q];
        const uint16_t *dq = dc ? NULL : p->d + (a - p->d_base[q]);
        if (mult == 1) {
            if (p->model[q] == PARSNN_STDP)
                parsnn_row_layout(p, &c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, 1, PARSNN_STDP, cnt);
            else
                parsnn_row_layout(p, &c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, 1, PARSNN_STDP_PL_HOM, cnt);
        } else if (p->model[q] == PARSNN_STDP) {
            parsnn_row_layout(p, &c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, PARSNN_STDP, cnt);
        } else {
            parsnn_row_layout(p, &c, a, b, dq, dc, t, t_last, kplus, slot0, D, n, rex, rin, mult, PARSNN_STDP_PL_HOM, cnt);
        }
        events += b - a;
    }
    if (p->fac) {
        p->fac[th * 8] += cnt[0];
        p->fac[th * 8 + 1] += cnt[1];
    }
    return events;
}

#endif
