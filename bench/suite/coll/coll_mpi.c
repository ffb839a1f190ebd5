/* C MPI peer of coll.dtl (bench/suite/collectives.py): the same loops, sizes and data.
 * Build: mpicc -O3 -march=native coll_mpi.c -o coll_mpi
 * Run:   mpirun -n 2 ./coll_mpi KIND LO HI STEP REPS WARM SAMPLE_US MAXCALLS
 * KIND: 0 MPI_Allreduce (MPI_DOUBLE, MPI_SUM), 1 MPI_Bcast from 0, 2 MPI_Allgather (m doubles
 * per rank), 3 MPI_Barrier. Prints, per size, `size B calls C check X` and REPS lines
 * `time_us T` (slowest rank's loop time / calls). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static long sample_us = 10000, maxcalls = 4000;
static int reps = 7, warm = 2;

/* `calls` collectives; returns the slowest rank's time in seconds */
static double loop(int kind, double *x, double *y, long n, long calls) {
    double t0 = MPI_Wtime();
    for (long c = 0; c < calls; c++) {
        if (kind == 0) MPI_Allreduce(x, y, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        else if (kind == 1) MPI_Bcast(x, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        else if (kind == 2) MPI_Allgather(x, (int)n, MPI_DOUBLE, y, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
        else MPI_Barrier(MPI_COMM_WORLD);
    }
    double dt = MPI_Wtime() - t0, t;
    MPI_Allreduce(&dt, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return t;
}

static void timed(int rank, int kind, double *x, double *y, long n) {
    /* doubled from 2 until the fastest of 3 loops takes sample_us (as coll.dtl does) */
    long calls = 2;
    for (;;) {
        double t = loop(kind, x, y, n, calls), t2 = loop(kind, x, y, n, calls), t3 = loop(kind, x, y, n, calls);
        if (t2 < t) t = t2;
        if (t3 < t) t = t3;
        if (t * 1e6 >= (double)sample_us || calls >= maxcalls) break;
        calls *= 2;
    }
    if (rank == 0) printf("calls %ld\n", calls);
    for (int rep = -warm; rep < reps; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = loop(kind, x, y, n, calls);
        if (rank == 0 && rep >= 0) printf("time_us %.6f\n", t * 1e6 / (double)calls);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, p;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    if (argc < 9) {
        if (rank == 0) fprintf(stderr, "usage: coll_mpi KIND LO HI STEP REPS WARM SAMPLE_US MAXCALLS\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int kind = atoi(argv[1]);
    long lo = atol(argv[2]), hi = atol(argv[3]), step = atol(argv[4]);
    reps = atoi(argv[5]);
    warm = atoi(argv[6]);
    sample_us = atol(argv[7]);
    maxcalls = atol(argv[8]);
    if (kind == 3) {
        if (rank == 0) printf("size 0 check 0\n");
        timed(rank, 3, NULL, NULL, 0);
    } else {
        for (long bytes = lo; bytes <= hi; bytes *= step) {
            long n = bytes / 8;
            long outn = kind == 2 ? n * p : n;
            double *x = malloc(n * sizeof(double)), *y = malloc(outn * sizeof(double));
            for (long k = 0; k < n; k++) {
                if (kind == 1) x[k] = rank == 0 ? (double)(k % 7 + 1) : 0.0;
                else x[k] = (double)((rank + 1) * (k % 7 + 1));
            }
            if (kind == 0) MPI_Allreduce(x, y, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            else if (kind == 1) MPI_Bcast(x, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
            else MPI_Allgather(x, (int)n, MPI_DOUBLE, y, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
            double s = 0.0, check;
            double *res = kind == 1 ? x : y;
            for (long k = 0; k < outn; k++) s += res[k];
            MPI_Allreduce(&s, &check, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
            if (rank == 0) printf("size %ld check %.17g\n", bytes, check);
            timed(rank, kind, x, y, n);
            free(x);
            free(y);
        }
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
