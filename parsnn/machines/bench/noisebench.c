/* Machine noise between ranks for the cost model (parsnn calibrate; analysis/cost_model_validation.py noisebench).
 *
 *   mpicc -O2 -o noisebench parsnn/machines/bench/noisebench.c -lm
 *   mpiexec -n 2 ./noisebench INTERVALS COMPUTE_US SCATTER_EVENTS ROW RING_MIB SYN_MIB
 *
 * Every rank does the same fixed work in every "interval", then MPI_Alltoall of one int (as the
 * engine's exchange does):
 *   - compute: a dependent floating-point loop calibrated to COMPUTE_US on this rank before the run
 *     (the neuron update is compute-bound);
 *   - scatter: SCATTER_EVENTS adds of a float into a ring of RING_MIB MiB at targets read from a
 *     synapse array of SYN_MIB MiB, in rows of ROW synapses starting at random rows (the delivery:
 *     rows streamed from memory, scattered into the ring), with the engine's 128-ahead prefetch.
 * Work is identical on every rank and in every interval, so any difference in time is the machine's.
 *
 * Prints one JSON object (rank 0) with, per rank: the mean time per interval of each part (us), the
 * standard deviation of the per-interval times (us), and the mean time spent in the Alltoall (us,
 * which holds the wait for the slower rank); and the C-level Alltoall cost with no work (us).
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static uint64_t rng = 88172645463325252ULL;
static inline uint64_t xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static double sink = 0.0;

static double compute(long n) {
    double x = 1.0, y = 0.5;
    for (long i = 0; i < n; i++) { x = x * 0.9999999 + y; y = y * 0.9999998 + 1e-9; }
    return x + y;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    long I = argc > 1 ? atol(argv[1]) : 2000;
    double cus = argc > 2 ? atof(argv[2]) : 100.0;
    long E = argc > 3 ? atol(argv[3]) : 10000;
    long R = argc > 4 ? atol(argv[4]) : 600;
    double ring_mib = argc > 5 ? atof(argv[5]) : 1.0;
    double syn_mib = argc > 6 ? atof(argv[6]) : 64.0;
    long nring = (long)(ring_mib * 1048576 / sizeof(double));
    long nsyn = (long)(syn_mib * 1048576 / 8);          /* uint32 target + float weight */
    if (nring < 1) nring = 1;
    if (nsyn < R + 256) nsyn = R + 256;
    double *ring = calloc(nring, sizeof(double));
    uint32_t *tgt = malloc(nsyn * sizeof(uint32_t));
    float *w = malloc(nsyn * sizeof(float));
    rng += 7919 * (uint64_t)rank;
    for (long i = 0; i < nsyn; i++) { tgt[i] = (uint32_t)(xr() % nring); w[i] = 1e-3f; }
    /* compute loop: iterations per microsecond on this rank (median of 5) */
    double ipu[5];
    for (int k = 0; k < 5; k++) {
        double t = MPI_Wtime();
        sink += compute(2000000);
        ipu[k] = 2000000 / ((MPI_Wtime() - t) * 1e6);
    }
    for (int a = 0; a < 5; a++) for (int b = a + 1; b < 5; b++) if (ipu[b] < ipu[a]) { double t = ipu[a]; ipu[a] = ipu[b]; ipu[b] = t; }
    double ipu_all;
    MPI_Allreduce(&ipu[2], &ipu_all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);   /* same work on every rank */
    long ncomp = (long)(cus * ipu_all);
    int cnt[64] = {0}, rcnt[64];
    /* the Alltoall alone */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < 20000; i++) MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD);
    double a2a = (MPI_Wtime() - t0) / 20000 * 1e6;
    double sc = 0, sc2 = 0, ss = 0, ss2 = 0, sw = 0;
    long nrows = nsyn / R;
    for (long it = -I / 10; it < I; it++) {          /* first tenth warms up */
        double a = MPI_Wtime();
        sink += compute(ncomp);
        double b = MPI_Wtime();
        long done = 0;
        while (done < E) {
            long r0 = (long)(xr() % (uint64_t)nrows) * R;
            long n = E - done < R ? E - done : R;
            long pf_end = r0 + n - 128;
            for (long q = r0; q < r0 + n; q++) {
                if (q < pf_end) __builtin_prefetch(ring + tgt[q + 128], 1, 3);
                ring[tgt[q]] += w[q];
            }
            done += n;
        }
        double c = MPI_Wtime();
        MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD);
        double d = MPI_Wtime();
        if (it >= 0) {
            double tc = (b - a) * 1e6, ts = (c - b) * 1e6;
            sc += tc; sc2 += tc * tc; ss += ts; ss2 += ts * ts; sw += (d - c) * 1e6;
        }
    }
    double mine[5] = {sc / I, sqrt(fmax(0, sc2 / I - (sc / I) * (sc / I))), ss / I,
                      sqrt(fmax(0, ss2 / I - (ss / I) * (ss / I))), sw / I};
    double *all = malloc(5 * P * sizeof(double));
    MPI_Gather(mine, 5, MPI_DOUBLE, all, 5, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("{\"ranks\": %d, \"intervals\": %ld, \"compute_us_target\": %.3f, \"scatter_events\": %ld, "
               "\"row\": %ld, \"ring_mib\": %.3f, \"syn_mib\": %.3f, \"alltoall_alone_us\": %.4f, \"per_rank\": [",
               P, I, cus, E, R, ring_mib, syn_mib, a2a);
        for (int r = 0; r < P; r++)
            printf("%s{\"compute_us\": %.4f, \"compute_sd_us\": %.4f, \"scatter_us\": %.4f, \"scatter_sd_us\": %.4f, "
                   "\"alltoall_us\": %.4f}", r ? ", " : "", all[5 * r], all[5 * r + 1], all[5 * r + 2],
                   all[5 * r + 3], all[5 * r + 4]);
        printf("], \"sink\": %g}\n", sink > 0 ? 1.0 : 0.0);
    }
    MPI_Finalize();
    return 0;
}
