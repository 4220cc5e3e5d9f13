/* Scatter of one spike's synapse row into the delay ring buffers (cython/engine.pyx: deliver).
 *
 * The synapses of a row are visited in their stored order (grouped by delay,
 * then target), so every ring entry receives its inputs in the same order as
 * the plain loop this replaces. The targets of the synapses PARSNN_PREFETCH
 * places ahead are known, so their ring entries are prefetched: the scatter is
 * bound by cache misses into ring buffers far larger than the caches.
 */
#ifndef PARSNN_DELIVER_H
#define PARSNN_DELIVER_H

#include <stdint.h>

#ifndef PARSNN_PREFETCH
#define PARSNN_PREFETCH 128
#endif

static inline void parsnn_scatter_row(int64_t a, int64_t b, int64_t slot0, int64_t D, int64_t n,
                                      const uint32_t *restrict tgt, const float *restrict w,
                                      const uint16_t *restrict d, double *restrict rex, double *restrict rin)
{
    int64_t q;
    const int64_t pf_end = b - PARSNN_PREFETCH;
    for (q = a; q < b; q++) {
        if (q < pf_end) {
            const int64_t p = q + PARSNN_PREFETCH;
            int64_t ps = slot0 + d[p];
            if (ps >= D)
                ps -= D;
            double *ring = (w[p] >= 0.0f) ? rex : rin;
            __builtin_prefetch(ring + ps * n + tgt[p], 1, 3);
        }
        int64_t slot = slot0 + d[q];      /* delays are < D: one wrap at most */
        if (slot >= D)
            slot -= D;
        const int64_t idx = slot * n + tgt[q];
        const float wq = w[q];
        if (wq >= 0.0f)
            rex[idx] += wq;
        else
            rin[idx] += wq;
    }
}

#endif
