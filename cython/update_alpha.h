/* The vectorizable iaf_psc_alpha update for one parameter set (cython/engine.pyx _update_alpha).
 *
 * The same IEEE operations in the same order as the scalar loop of _update_alpha (compiled with
 * -ffp-contract=off: no fused multiply-add), one lane per neuron, the branches as selects; so V,
 * the currents and the spikes are bit-identical to it. As in update.h, spiking neurons are marked
 * with r = -1 in the vector loop and collected block by block afterwards, and target_clones builds
 * AVX-512, AVX2 and baseline versions that differ only in the vector width.
 *
 * The step's input of neuron i (ring slot plus Poisson devices, as the scalar loop sums it) comes in
 * wex[i - start], win[i - start]: the caller forms it in a scalar pass over the block, since the
 * devices' draws do not vectorize.
 */
#ifndef PARSNN_UPDATE_ALPHA_H
#define PARSNN_UPDATE_ALPHA_H

#include "update.h"

/* one parameter set of iaf_psc_alpha (parsnn/neurons/iaf_psc_alpha.py names the propagators) */
typedef struct {
    double p20, ie, p31ex, p21ex, p31in, p21in, p22, vmin, theta, vreset;
    double a21ex, p11ex, psc_ex, a21in, p11in, psc_in;
    int32_t refr;
} parsnn_alpha_par_t;

/* One step of the iaf_psc_alpha neurons [start, end) with the parameters *pp; writes the local
 * indices of the neurons that spike, ascending, to out and returns their number. */
PARSNN_CLONES
static int64_t parsnn_update_alpha_uniform(
        int64_t start, int64_t end,
        double *restrict V, double *restrict iex, double *restrict dex, double *restrict iin,
        double *restrict din, int32_t *restrict r, const double *restrict wex, const double *restrict win,
        const parsnn_alpha_par_t *pp, int64_t *restrict out)
{
    const parsnn_alpha_par_t c = *pp;
    const double drive = c.p20 * c.ie;
    int64_t n_out = 0;
    for (int64_t b0 = start; b0 < end; b0 += PARSNN_UPD_BLOCK) {
        const int64_t b1 = (end - b0 > PARSNN_UPD_BLOCK) ? b0 + PARSNN_UPD_BLOCK : end;
        int32_t any = 0;
        for (int64_t i = b0; i < b1; i++) {
            const double we = wex[i - start], wi = win[i - start];
            const double v0 = V[i], x = iex[i], dx = dex[i], y = iin[i], dy = din[i];
            const int32_t ri = r[i];
            /* the scalar loop's sum, left to right */
            double vp = drive + c.p31ex * dx + c.p21ex * x + c.p31in * dy + c.p21in * y + c.p22 * v0 + v0;
            vp = (vp < c.vmin) ? c.vmin : vp;
            const double v = (ri == 0) ? vp : v0;
            const int32_t rn = (ri == 0) ? 0 : ri - 1;
            iex[i] = c.a21ex * dx + c.p11ex * x;
            dex[i] = dx * c.p11ex + c.psc_ex * we;
            iin[i] = c.a21in * dy + c.p11in * y;
            din[i] = dy * c.p11in + c.psc_in * wi;
            const int32_t s = v >= c.theta;
            any |= s;
            V[i] = s ? c.vreset : v;
            r[i] = s ? -1 : rn;
        }
        if (any) {
            for (int64_t i = b0; i < b1; i++) {
                if (r[i] < 0) {
                    r[i] = c.refr;
                    out[n_out++] = i;
                }
            }
        }
    }
    return n_out;
}

#endif
