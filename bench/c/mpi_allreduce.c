/* Peer for bench/mpi.sh: MPI_Allreduce (MPI_DOUBLE, MPI_SUM) of 1 value, 1 MiB and 16 MiB on
 * MPI_COMM_WORLD, with the same loops as runtime/examples/mpi/bench.rs.
 * Build: mpicc -O3 -march=native mpi_allreduce.c -o mpi_allreduce
 * Run:   mpirun -n 2 ./mpi_allreduce
 * Prints one line per figure: name median min max (microseconds per call). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { SAMPLES = 11 };

static void run(int rank, const char *name, size_t n, int calls) {
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = (double)(i % 1000) + rank;
    double s[SAMPLES];
    for (int i = 0; i < calls; i++) MPI_Allreduce(a, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (int k = 0; k < SAMPLES; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        for (int i = 0; i < calls; i++)
            MPI_Allreduce(a, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        s[k] = (MPI_Wtime() - t) / calls * 1e6;
    }
    if (rank == 0) {
        qsort(s, SAMPLES, sizeof(double), cmp);
        printf("%s %.3f %.3f %.3f\n", name, s[SAMPLES / 2], s[0], s[SAMPLES - 1]);
    }
    free(a);
    free(b);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    run(rank, "allreduce_f64_1_us", 1, 20000);
    run(rank, "allreduce_1MiB_us", (1u << 20) / sizeof(double), 50);
    run(rank, "allreduce_16MiB_us", (16u << 20) / sizeof(double), 4);
    MPI_Finalize();
    return 0;
}
