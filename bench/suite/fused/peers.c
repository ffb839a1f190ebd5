/* C peers of the fused group: the two elementwise expressions as plain loops and the STREAM
 * triad, compiled with gcc -O3 -march=native -fopenmp (bench/suite/fused.py builds it).
 *
 *   peers KIND N REPS THREADS      KIND: axpby | fused | triad
 *
 * axpby: c[i] = 2 a[i] - 4.5 b[i];  fused: c[i] = 2 a[i] - 4.5 b[i] + 1.1 (sin a[i] + cos b[i]);
 * triad (STREAM): a[i] = b[i] + 3 c[i]. Inputs a[i] = i/n, b[i] = 1 - a[i] as in the other
 * tools. Pages are first touched by the threads that later use them, one untimed warm-up pass,
 * then REPS timed passes. Prints `checksum S` (the sum of the output, after the warm-up, before
 * any timing) and one `time_ms T` line per repetition. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void axpby(const double *restrict a, const double *restrict b, double *restrict c, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) c[i] = 2.0 * a[i] - 4.5 * b[i];
}

static void fused(const double *restrict a, const double *restrict b, double *restrict c, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) c[i] = 2.0 * a[i] - 4.5 * b[i] + 1.1 * (sin(a[i]) + cos(b[i]));
}

static void triad(double *restrict a, const double *restrict b, const double *restrict c, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s axpby|fused|triad N REPS THREADS\n", argv[0]);
        return 2;
    }
    const char *kind = argv[1];
    long n = atol(argv[2]);
    int reps = atoi(argv[3]);
    omp_set_num_threads(atoi(argv[4]));
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)),
           *c = malloc(n * sizeof(double));
    if (!a || !b || !c) return 1;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = (double)i / (double)n;
        b[i] = 1.0 - a[i];
        c[i] = 0.0;
    }
    int k = strcmp(kind, "axpby") == 0 ? 0 : strcmp(kind, "fused") == 0 ? 1 : 2;
    double *out = k == 2 ? a : c;
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        if (k == 0) axpby(a, b, c, n);
        else if (k == 1) fused(a, b, c, n);
        else triad(a, b, c, n);
        double t = now() - t0;
        if (r < 0) {
            double s = 0.0;
            for (long i = 0; i < n; i++) s += out[i];
            printf("checksum %.17g\n", s);
        } else {
            printf("time_ms %.6f\n", t * 1e3);
        }
        fflush(stdout);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
