/* MPI and qsort micro-benchmarks for the cost model (parsnn calibrate; analysis/cost_model_validation.py mpibench).
 *
 *   mpicc -O2 -o mpibench parsnn/machines/bench/mpibench.c && mpiexec -n 2 ./mpibench [iterations]
 *
 * Prints one JSON object (rank 0), times in microseconds:
 *   pingpong_half_rtt_us  half the round trip of an 8-byte Send/Recv
 *   isend_burst_us_per_msg  rank 0 posts 64 Isend of 8 bytes to rank 1 and waits: time per message
 *   alltoall_int_us       MPI_Alltoall of one int per rank (the engine's counts)
 *   alltoallv_empty_us    MPI_Alltoallv with all counts 0
 *   alltoallv_1word_us    MPI_Alltoallv with one uint64 to every other rank
 *   barrier_us            MPI_Barrier
 *   qsort_ns_per_compare  libc qsort of uint64 (function-pointer compare), per n log2 n, n = 64..4096
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    int iters = argc > 1 ? atoi(argv[1]) : 20000;
    uint64_t buf[64], rbuf[64];
    memset(buf, 0, sizeof buf);
    double t0, pp = 0, burst = 0, a2a = 0, a2av0 = 0, a2av1 = 0, bar = 0;
    int *sc = calloc(P, sizeof(int)), *rc = calloc(P, sizeof(int)), *sd = calloc(P, sizeof(int)),
        *rd = calloc(P, sizeof(int)), *cnt = calloc(P, sizeof(int)), *rcnt = calloc(P, sizeof(int));
    uint64_t *sb = calloc(P, sizeof(uint64_t)), *rb = calloc(P, sizeof(uint64_t));
    for (int rep = 0; rep < 2; rep++) {          /* first pass warms up */
        MPI_Barrier(MPI_COMM_WORLD);
        if (P >= 2 && rank < 2) {
            t0 = MPI_Wtime();
            for (int i = 0; i < iters; i++) {
                if (rank == 0) {
                    MPI_Send(buf, 1, MPI_UINT64_T, 1, 0, MPI_COMM_WORLD);
                    MPI_Recv(rbuf, 1, MPI_UINT64_T, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else {
                    MPI_Recv(rbuf, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buf, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD);
                }
            }
            pp = (MPI_Wtime() - t0) / iters / 2 * 1e6;
            MPI_Request req[64];
            int nb = iters / 64 + 1;
            t0 = MPI_Wtime();
            for (int i = 0; i < nb; i++) {
                if (rank == 0) {
                    for (int k = 0; k < 64; k++) MPI_Isend(&buf[k], 1, MPI_UINT64_T, 1, k, MPI_COMM_WORLD, &req[k]);
                    MPI_Waitall(64, req, MPI_STATUSES_IGNORE);
                    MPI_Recv(rbuf, 1, MPI_UINT64_T, 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else {
                    for (int k = 0; k < 64; k++) MPI_Irecv(&rbuf[k], 1, MPI_UINT64_T, 0, k, MPI_COMM_WORLD, &req[k]);
                    MPI_Waitall(64, req, MPI_STATUSES_IGNORE);
                    MPI_Send(buf, 1, MPI_UINT64_T, 0, 99, MPI_COMM_WORLD);
                }
            }
            burst = ((MPI_Wtime() - t0) / nb * 1e6 - 2 * pp) / 64;
        }
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++) MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD);
        a2a = (MPI_Wtime() - t0) / iters * 1e6;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++)
            MPI_Alltoallv(sb, sc, sd, MPI_UINT64_T, rb, rc, rd, MPI_UINT64_T, MPI_COMM_WORLD);
        a2av0 = (MPI_Wtime() - t0) / iters * 1e6;
        for (int q = 0; q < P; q++) { sc[q] = rc[q] = (q != rank); sd[q] = rd[q] = q; }
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++)
            MPI_Alltoallv(sb, sc, sd, MPI_UINT64_T, rb, rc, rd, MPI_UINT64_T, MPI_COMM_WORLD);
        a2av1 = (MPI_Wtime() - t0) / iters * 1e6;
        for (int q = 0; q < P; q++) sc[q] = rc[q] = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++) MPI_Barrier(MPI_COMM_WORLD);
        bar = (MPI_Wtime() - t0) / iters * 1e6;
    }
    /* qsort cost per comparison: n log2 n model over n = 64 .. 4096 */
    double qs_sum = 0; int qs_n = 0;
    if (rank == 0) {
        for (int n = 64; n <= 4096; n *= 4) {
            uint64_t *a = malloc(n * sizeof(uint64_t)), *b = malloc(n * sizeof(uint64_t));
            for (int i = 0; i < n; i++) b[i] = xr();
            int reps = (int)(4e6 / n) + 1;
            double tt = 0;
            for (int r = 0; r < reps; r++) {
                memcpy(a, b, n * sizeof(uint64_t));
                double s = MPI_Wtime();
                qsort(a, n, sizeof(uint64_t), cmp_u64);
                tt += MPI_Wtime() - s;
                b[r % n] = xr();
            }
            qs_sum += tt / reps / (n * log2((double)n)) * 1e9; qs_n++;
            free(a); free(b);
        }
    }
    if (rank == 0)
        printf("{\"ranks\": %d, \"iterations\": %d, \"pingpong_half_rtt_us\": %.4f, \"isend_burst_us_per_msg\": %.4f, "
               "\"alltoall_int_us\": %.4f, \"alltoallv_empty_us\": %.4f, \"alltoallv_1word_us\": %.4f, "
               "\"barrier_us\": %.4f, \"qsort_ns_per_compare\": %.4f}\n",
               P, iters, pp, burst, a2a, a2av0, a2av1, bar, qs_sum / qs_n);
    MPI_Finalize();
    return 0;
}
