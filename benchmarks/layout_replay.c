/* Replay of recorded spikes through the engine's static delivery kernel (cython/deliver.h, 16-bit targets,
 * one ring), step by step, per thread: benchmarks/layout_replay.py builds the arrays and calls probe_run.
 * After each step's delivery a thread reads and zeroes its neurons' entries of the next step's ring slot
 * (the update's ring access; update = 0: not). Per thread: the CPU seconds of the delivery alone and
 * its synaptic events. Modes: 0 the T threads together, an OpenMP barrier after every step (the team's
 * meeting); 1 each thread's work alone, one after the other, on one thread; 2 together, no barrier. */
#include <stdint.h>
#include <time.h>
#include <omp.h>
#include "deliver_kernels.h"

static double tcpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

typedef struct {
    const int64_t *syn_ptr, *run_ptr; const uint16_t *tgt; const float *w; const uint16_t *run_d; const uint32_t *run_n;
    int64_t B, W; const int64_t *wofs;  /* wofs[th*W + w] */
    int64_t D; double *ring;
    const int64_t *n_th, *rofs;  /* per thread: slot stride, offset of its ring (ring + rofs[th]) */
    const int64_t *lo, *hi;      /* per thread: its local neurons [lo, hi) */
    const int64_t *step_ptr; int64_t nsteps; const int64_t *gids; int64_t t_first;  /* spikes of step s: step_ptr[s]..; emitted at t_first+s */
    int64_t pf; int update;
} probe_t;

static double run_thread(const probe_t *p, int th, int nth_barrier, int64_t *events_out, double *dcpu)
{
    double acc = 0.0, dt = 0.0; int64_t ev = 0;
    double *rex = p->ring + p->rofs[th];
    int64_t n = p->n_th[th];
    for (int64_t s = 0; s < p->nsteps; s++) {
        int64_t t = p->t_first + s + 1;      /* delivery of step t-1's spikes, then update of step t */
        int64_t slot0 = (t - 1) % p->D;
        double c0 = tcpu();
        for (int64_t k = p->step_ptr[s]; k < p->step_ptr[s + 1]; k++) {
            int64_t j = p->gids[k] * p->B + th * p->W;
            int64_t a = p->syn_ptr[j], b = p->syn_ptr[j + p->W];
            parsnn_scatter_runs16(a, b, &p->run_ptr[j], p->W, &p->wofs[th * p->W], slot0, p->D, n, p->tgt, p->w,
                                  p->run_d, p->run_n, rex, NULL, 1.0, p->pf);
            ev += b - a;
        }
        dt += tcpu() - c0;
        if (p->update) {
            double *row = rex + (t % p->D) * n;
            for (int64_t i = p->lo[th]; i < p->hi[th]; i++) { acc += row[i]; row[i] = 0.0; }
        }
        if (nth_barrier > 1) {
            #pragma omp barrier
        }
    }
    *events_out = ev; *dcpu = dt;
    return acc;
}

/* mode 0: threads concurrently (barrier per step); mode 1: each thread alone, one after the other (on 1 thread) */
double probe_run(const probe_t *p, int T, int mode, int64_t *events, double *dcpu)
{
    double acc = 0.0;
    if (mode == 0 || mode == 2) {
        #pragma omp parallel num_threads(T) reduction(+:acc)
        { int th = omp_get_thread_num(); acc += run_thread(p, th, mode == 0 ? T : 1, &events[th], &dcpu[th]); }
    } else {
        for (int th = 0; th < T; th++) acc += run_thread(p, th, 1, &events[th], &dcpu[th]);
    }
    return acc;
}
