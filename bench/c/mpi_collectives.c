/* Peer benchmark: MPICH's MPI_Allreduce and MPI_Bcast, measured in the same run as dtl.
 * Build: mpicc -O3 -march=native mpi_collectives.c -o mpi_collectives
 * Run:   mpirun -n 2 ./mpi_collectives
 * Prints one line per figure: name median min max (unit in the name). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(int rank, const char *name, double *s, int n) {
    if (rank != 0) return;
    qsort(s, n, sizeof(double), cmp);
    printf("%s %.4f %.4f %.4f\n", name, s[n / 2], s[0], s[n - 1]);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    enum { SAMPLES = 9 };
    double s[SAMPLES];

    /* allreduce of one double: microseconds per call, 20000 calls per sample */
    double x = rank, y;
    for (int i = 0; i < 20000; i++) MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (int k = 0; k < SAMPLES; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        for (int i = 0; i < 20000; i++) MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        s[k] = (MPI_Wtime() - t) / 20000 * 1e6;
    }
    report(rank, "allreduce_f64_1_us", s, SAMPLES);

    size_t n = (16u << 20) / sizeof(double);
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = (double)i;
    for (int i = 0; i < 2; i++) MPI_Allreduce(a, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (int k = 0; k < SAMPLES; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        MPI_Allreduce(a, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        s[k] = (MPI_Wtime() - t) * 1e3;
    }
    report(rank, "allreduce_16MiB_ms", s, SAMPLES);
    for (int k = 0; k < SAMPLES; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        MPI_Bcast(a, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        s[k] = (MPI_Wtime() - t) * 1e3;
    }
    report(rank, "broadcast_16MiB_ms", s, SAMPLES);
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
