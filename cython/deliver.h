/* Scatter of one spike's synapse sub-row into the delay ring buffers (cython/engine.pyx: deliver).
 *
 * A sub-row is stored as target uint32 + weight float32 per synapse (8 bytes) and, since it is
 * grouped by delay, as runs of equal delay (run_d[k]: the delay in steps, run_n[k]: the number of
 * synapses): the delay is stored once per run, not per synapse. The synapses are visited in their
 * stored order (grouped by delay, then target), so every ring entry receives its inputs in the
 * same order as the plain loop this replaces. The targets of the synapses pf places ahead are
 * known (a second cursor walks the runs ahead), so their ring entries are prefetched: the scatter
 * is bound by cache misses into ring buffers far larger than the caches. The distance pf is a
 * run-time argument (parsnn/engine/prefetch.py tunes it per machine; PARSNN_PREFETCH is the
 * default; 0: no prefetch); it changes only the time, never the sums.
 *
 * Targets: uint32, or uint16 on a rank with at most 2 x 65536 local neurons (6 bytes per synapse
 * with the weight); the two kernels visit the synapses in the same order and add the same weights.
 * A thread's synapses of one source are nw consecutive sub-rows, one per window of its neurons
 * (parsnn.engine.synapses.TargetBlocks): window j's runs are wr[j] .. wr[j+1]-1 and its targets are
 * stored relative to local index wofs[j] (a rank of at most 65536 neurons: nw = 1, wofs[0] = 0).
 * The kernel walks the windows as one row, so the prefetch runs on across them.
 *
 * Two ring schemes (parsnn.engine.rings): per receptor (rex for w >= 0, rin for w < 0) and
 * per time constant (one ring: rin == NULL, no sign branch).
 *
 * Each target receives w x mult, mult the spike's multiplicity (NEST: mult spikes of weight w, or
 * weight * multiplicity in the neuron's handle()); w x 1.0 is w exactly, so spikes of multiplicity 1
 * add what they always did.
 */
#ifndef PARSNN_DELIVER_H
#define PARSNN_DELIVER_H

#include <stdint.h>
#include <stddef.h>

#ifndef PARSNN_PREFETCH
#define PARSNN_PREFETCH 128
#endif

#endif

/* The kernel is written once for both target widths: cython/deliver_kernels.h includes this file
 * twice, as parsnn_scatter_runs (uint32 targets) and parsnn_scatter_runs16 (uint16 targets). */
#ifndef PARSNN_SCATTER_NAME
#define PARSNN_SCATTER_NAME parsnn_scatter_runs
#define PARSNN_TGT_T uint32_t
#endif

/* Synapses a .. b-1 = runs wr[0] .. wr[nw]-1 (nw windows: see above); slot0: the ring slot of the
 * emission step; mult: the spike's multiplicity (>= 1: the sign of w x mult is that of w); pf: the
 * prefetch distance in synapses (0: none). */
static inline void PARSNN_SCATTER_NAME(int64_t a, int64_t b, const int64_t *restrict wr, int64_t nw,
                                       const int64_t *restrict wofs, int64_t slot0,
                                       int64_t D, int64_t n, const PARSNN_TGT_T *restrict tgt,
                                       const float *restrict w, const uint16_t *restrict run_d,
                                       const uint32_t *restrict run_n, double *restrict rex,
                                       double *restrict rin, const double mult, const int64_t pf)
{
    const int64_t r0 = wr[0], r1 = wr[nw];
    int64_t q = a, p = (pf > 0) ? a + pf : b, pr = r0, pend = a, pbase = 0, cw = 0, pw = 0;
    for (int64_t r = r0; r < r1; r++) {
        int64_t slot = slot0 + run_d[r];      /* delays are < D: one wrap at most */
        if (slot >= D)
            slot -= D;
        while (r >= wr[cw + 1])               /* the window of run r */
            cw++;
        const int64_t qend = q + run_n[r];
        double *ex = rex + slot * n + wofs[cw];
        if (rin == NULL) {
            for (; q < qend; q++, p++) {
                if (p < b) {
                    while (p >= pend) {
                        int64_t ps = slot0 + run_d[pr];
                        if (ps >= D)
                            ps -= D;
                        while (pr >= wr[pw + 1])
                            pw++;
                        pbase = ps * n + wofs[pw];
                        pend += run_n[pr++];
                    }
                    __builtin_prefetch(rex + pbase + tgt[p], 1, 3);
                }
                ex[tgt[q]] += (double) w[q] * mult;
            }
        } else {
            double *in = rin + slot * n + wofs[cw];
            for (; q < qend; q++, p++) {
                if (p < b) {
                    while (p >= pend) {
                        int64_t ps = slot0 + run_d[pr];
                        if (ps >= D)
                            ps -= D;
                        while (pr >= wr[pw + 1])
                            pw++;
                        pbase = ps * n + wofs[pw];
                        pend += run_n[pr++];
                    }
                    __builtin_prefetch(((w[p] >= 0.0f) ? rex : rin) + pbase + tgt[p], 1, 3);
                }
                const float wq = w[q];
                if (wq >= 0.0f)
                    ex[tgt[q]] += (double) wq * mult;
                else
                    in[tgt[q]] += (double) wq * mult;
            }
        }
    }
}
