/* What the facilitation's pow(w, mu) costs, and what a vectorised pow would cost (issue 15).
 *
 *   cc -O3 -ffp-contract=off benchmarks/pow_cost.c -lm -o /tmp/pow_cost && /tmp/pow_cost
 *   cc -O3 -march=native -ffast-math -fopenmp-simd benchmarks/pow_cost.c -lm -lmvec -o /tmp/pow_cost_vec \
 *      && /tmp/pow_cost_vec
 *
 * n weights around hpc_benchmark's J (45.6 pA, spread +-20 %), mu = 0.4 (stdp_pl_synapse_hom's mu_plus);
 * each pass computes w + lambda w^mu kp for every weight (independent calls, as over the synapses of a
 * row). The first build calls glibc's scalar pow (what cython/plastic.h does, bit for bit NEST's);
 * the second lets gcc call glibc's vector pow (libmvec, 4 ulp: other weights, so a new realisation
 * version if the engine used it). Prints ns per call and the sum of the results (they differ between
 * the two builds in the last bits). Not a test: a measurement of one machine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);      /* CPU time: robust to a loaded machine */
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(void)
{
    const int n = 4096, reps = 4000;
    const double mu = 0.4, lambda = 0.1, kp = 0.7;
    double *w = malloc(n * sizeof(double)), *o = malloc(n * sizeof(double));
    unsigned long long s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        w[i] = 45.61 * (0.8 + 0.4 * (double) (s >> 11) / 9007199254740992.0);
    }
    double best = 1e30, sum = 0.0;
    for (int round = 0; round < 5; round++) {
        const double t0 = now();
        for (int r = 0; r < reps; r++) {
#pragma omp simd
            for (int i = 0; i < n; i++)
                o[i] = w[i] + lambda * pow(w[i], mu) * kp;
            w[r % n] += 1e-9;     /* keep the loop from being hoisted */
        }
        const double dt = (now() - t0) / ((double) n * reps) * 1e9;
        best = dt < best ? dt : best;
    }
    for (int i = 0; i < n; i++)
        sum += o[i];
    printf("%.2f ns per facilitation (best of 5), checksum %.17g\n", best, sum);
    free(w);
    free(o);
    return 0;
}
