/* The neighbourhood exchange's latency against the fixed-block Alltoall (parsnn's two exchange schemes,
 * parsnn/engine/exchange.py), for the cost model's neighbor_fixed_us / neighbor_edge_us.
 *
 *   mpicc -O2 -o neighbor_exchange benchmarks/neighbor_exchange.c && mpiexec -n P ./neighbor_exchange [iters] [words]
 *
 * For every neighbour count k = 1 .. P-1 (rank r's out-neighbours r+1 .. r+k, in-neighbours r-1 .. r-k,
 * mod P), a distributed-graph communicator; timed (rank 0 prints one JSON object, us per call, the
 * median of 5 repetitions, each after a barrier):
 *   neighbor_us[k-1]  MPI_Neighbor_alltoallv of `words` uint64 per edge (the engine's call)
 *   alltoall_us       MPI_Alltoall of `words` uint64 per rank on the whole communicator
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median5(double *v) { qsort(v, 5, sizeof(double), cmp_d); return v[2]; }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    int iters = argc > 1 ? atoi(argv[1]) : 20000;
    int words = argc > 2 ? atoi(argv[2]) : 32;
    uint64_t *sb = calloc((size_t)P * words, sizeof(uint64_t)), *rb = calloc((size_t)P * words, sizeof(uint64_t));
    int *cnt = malloc(P * sizeof(int)), *disp = malloc(P * sizeof(int)), *src = malloc(P * sizeof(int)),
        *dst = malloc(P * sizeof(int));
    double rep[5], nb[64], a2a = 0.0;
    for (int r = 0; r < 5; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++)
            MPI_Alltoall(sb, words, MPI_UINT64_T, rb, words, MPI_UINT64_T, MPI_COMM_WORLD);
        rep[r] = (MPI_Wtime() - t0) / iters * 1e6;
    }
    a2a = median5(rep);
    int kmax = P - 1 < 64 ? P - 1 : 64;
    for (int k = 1; k <= kmax; k++) {
        for (int e = 0; e < k; e++) {
            dst[e] = (rank + 1 + e) % P;
            src[e] = (rank - 1 - e + P) % P;
            cnt[e] = words;
            disp[e] = e * words;
        }
        MPI_Comm g;
        MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, k, src, MPI_UNWEIGHTED, k, dst, MPI_UNWEIGHTED,
                                       MPI_INFO_NULL, 0, &g);
        for (int r = 0; r < 5; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < iters; i++)
                MPI_Neighbor_alltoallv(sb, cnt, disp, MPI_UINT64_T, rb, cnt, disp, MPI_UINT64_T, g);
            rep[r] = (MPI_Wtime() - t0) / iters * 1e6;
        }
        nb[k - 1] = median5(rep);
        MPI_Comm_free(&g);
    }
    if (rank == 0) {
        printf("{\"ranks\": %d, \"iterations\": %d, \"words\": %d, \"alltoall_us\": %.4f, \"neighbor_us\": [", P, iters,
               words, a2a);
        for (int k = 1; k <= kmax; k++) printf("%s%.4f", k > 1 ? ", " : "", nb[k - 1]);
        printf("]}\n");
    }
    free(sb); free(rb); free(cnt); free(disp); free(src); free(dst);
    MPI_Finalize();
    return 0;
}
