/* Branch-free, vectorizable neuron-update kernels for the engine (cython/engine.pyx).
 *
 * One call advances one segment of neurons by one step. The arithmetic is the
 * same sequence of IEEE operations as the scalar reference in engine.pyx
 * (compiled with -ffp-contract=off, so no fused multiply-add): each SIMD lane
 * performs exactly the operations of one scalar iteration and the results
 * are bit-identical. The refractory branch and the threshold test become
 * selects; spiking neurons are marked with r = -1 in the vector loop and
 * collected afterwards, block by block, only in blocks where one spiked.
 *
 * target_clones builds an AVX-512, an AVX2 and a baseline x86-64 version and
 * picks one at load time, so the extension stays portable; the versions differ
 * only in the vector width (the same IEEE operations per lane, no contraction),
 * so their results are bit-identical. With AVX-512's 32 vector registers the
 * loop's constants stay in registers (AVX2's 16 spill some to the stack).
 */
#ifndef PARSNN_UPDATE_H
#define PARSNN_UPDATE_H

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PARSNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PARSNN_CLONES
#endif

#define PARSNN_UPD_BLOCK 64

/* The spike collection of a block [b0, b1) in which some neuron spiked (both kernels below): every
 * neuron marked r = -1 by the vector loop gets its refractory count and its local index appended to
 * out, ascending; returns the new number of spikes in out. */
static inline int64_t parsnn_collect_spikes(int64_t b0, int64_t b1, int32_t *restrict r, int32_t refr,
                                            int64_t *restrict out, int64_t n_out)
{
    for (int64_t i = b0; i < b1; i++) {
        if (r[i] < 0) {
            r[i] = refr;
            out[n_out++] = i;
        }
    }
    return n_out;
}

/* iaf_psc_exp, one parameter set for the whole segment [start, end), no
 * Poisson input devices. Ring slots rex/rin are read and cleared. Writes the
 * local indices of the neurons that spike, ascending, to out; returns their
 * number. */
PARSNN_CLONES
static int64_t parsnn_update_exp_uniform(
        int64_t start, int64_t end,
        double *restrict V, double *restrict iex, double *restrict iin, int32_t *restrict r,
        double *restrict rex, double *restrict rin,
        double p22, double p21ex, double p21in, double p20, double p11ex, double p11in, double ie,
        double theta, double vreset, int32_t refr, int64_t *restrict out)
{
    int64_t n_out = 0;
    const double drive = ie * p20;
    for (int64_t b0 = start; b0 < end; b0 += PARSNN_UPD_BLOCK) {
        const int64_t b1 = (end - b0 > PARSNN_UPD_BLOCK) ? b0 + PARSNN_UPD_BLOCK : end;
        int32_t any = 0;
        for (int64_t i = b0; i < b1; i++) {
            const double wex = rex[i], win = rin[i];
            const double x = iex[i], y = iin[i], v0 = V[i];
            const int32_t ri = r[i];
            rex[i] = 0.0;
            rin[i] = 0.0;
            /* same operation order as the scalar kernel: ((v p22 + iex p21ex) + iin p21in) + ie p20 */
            const double vp = v0 * p22 + x * p21ex + y * p21in + drive;
            const double v = (ri == 0) ? vp : v0;
            const int32_t rn = (ri == 0) ? 0 : ri - 1;
            iex[i] = x * p11ex + wex;
            iin[i] = y * p11in + win;
            const int32_t s = v >= theta;
            any |= s;
            V[i] = s ? vreset : v;
            r[i] = s ? -1 : rn;
        }
        if (any)
            n_out = parsnn_collect_spikes(b0, b1, r, refr, out, n_out);
    }
    return n_out;
}

/* parsnn_update_exp_uniform for one ring (parsnn/engine/rings.py) while every i_in is +0.0: ring_in
 * is a slot of +0.0 and i_in stays +0.0 (+0 x p11in + +0 = +0 for any finite p11in), so the full kernel's
 * inhibitory term y * p21in is the constant zin = +0.0 * p21in in every step. This kernel adds that
 * constant in the same place of the sum, so V is bit-identical (including the sign of an exact zero),
 * and neither reads nor writes i_in and ring_in: 2 of the 6 arrays per neuron less memory traffic.
 * The caller checks the precondition (one ring, every i_in of the segment bit-zero). */
PARSNN_CLONES
static int64_t parsnn_update_exp_uniform_1ring(
        int64_t start, int64_t end,
        double *restrict V, double *restrict iex, int32_t *restrict r, double *restrict rex,
        double p22, double p21ex, double p21in, double p20, double p11ex, double ie,
        double theta, double vreset, int32_t refr, int64_t *restrict out)
{
    int64_t n_out = 0;
    const double drive = ie * p20;
    const double zin = 0.0 * p21in;
    for (int64_t b0 = start; b0 < end; b0 += PARSNN_UPD_BLOCK) {
        const int64_t b1 = (end - b0 > PARSNN_UPD_BLOCK) ? b0 + PARSNN_UPD_BLOCK : end;
        int32_t any = 0;
        for (int64_t i = b0; i < b1; i++) {
            const double wex = rex[i];
            const double x = iex[i], v0 = V[i];
            const int32_t ri = r[i];
            rex[i] = 0.0;
            const double vp = v0 * p22 + x * p21ex + zin + drive;
            const double v = (ri == 0) ? vp : v0;
            const int32_t rn = (ri == 0) ? 0 : ri - 1;
            iex[i] = x * p11ex + wex;
            const int32_t s = v >= theta;
            any |= s;
            V[i] = s ? vreset : v;
            r[i] = s ? -1 : rn;
        }
        if (any)
            n_out = parsnn_collect_spikes(b0, b1, r, refr, out, n_out);
    }
    return n_out;
}

#endif
