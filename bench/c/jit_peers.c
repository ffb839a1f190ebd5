/* C peers for bench/jit.sh (built with -O2 -fopenmp):
 *   c_axpby_ms    c = 2.0*a - 4.5*b over N f64, one thread, preallocated c (ms per pass)
 *   triad1_GBps   STREAM triad a = b + s*c over N f64 on 1 thread (24 bytes per element)
 *   triad2_GBps   the same triad on 2 threads (OpenMP static schedule, first-touch by thread)
 *   c_pi1_ms      the loop of bench/jit/pi.dtl over PI_N points on 1 thread
 *   c_pi2_ms      the same on 2 threads (OpenMP reduction): the 2-core speedup that this machine
 *                 can give at the moment of the run, the control for dtl's 1 -> 2 rank speedups
 * One line `name value` per repetition. usage: jit_peers N REPS PI_N */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void axpby(long n, const double *restrict a, const double *restrict b, double *restrict c) {
    for (long i = 0; i < n; i++) c[i] = 2.0 * a[i] - 4.5 * b[i];
}

static void triad(long n, double *restrict a, const double *restrict b, const double *restrict c,
                  int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
}

static double pi(long n, int threads) {
    double h = 1.0 / n, s = 0.0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : s)
    for (long i = 0; i < n; i++) {
        double x = h * (i + 0.5);
        s += 4.0 / (1.0 + x * x);
    }
    return s * h;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    int reps = argc > 2 ? atoi(argv[2]) : 10;
    long pi_n = argc > 3 ? atol(argv[3]) : 100000000;
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)),
           *c = malloc(n * sizeof(double));
    double sink = 0;
    for (long i = 0; i < n; i++) { a[i] = (double)i / n; b[i] = 1.0 - a[i]; c[i] = 0; }
    axpby(n, a, b, c);
    for (int k = 0; k < reps; k++) {
        double t = now();
        axpby(n, a, b, c);
        printf("c_axpby_ms %.4f\n", (now() - t) * 1e3);
        sink += c[k];
    }
    for (int threads = 1; threads <= 2; threads++) {
        /* first touch by the threads that will use the pages */
#pragma omp parallel for schedule(static) num_threads(threads)
        for (long i = 0; i < n; i++) { a[i] = 0; b[i] = 1.0; c[i] = 2.0; }
        triad(n, a, b, c, threads);
        for (int k = 0; k < reps; k++) {
            double t = now();
            triad(n, a, b, c, threads);
            double dt = now() - t;
            printf("triad%d_GBps %.3f\n", threads, 24.0 * n / dt / 1e9);
            sink += a[k];
        }
    }
    for (int threads = 1; threads <= 2; threads++) {
        sink += pi(1000, threads);
        for (int k = 0; k < (reps + 1) / 2; k++) {
            double t = now();
            sink += pi(pi_n, threads);
            printf("c_pi%d_ms %.3f\n", threads, (now() - t) * 1e3);
        }
    }
    fprintf(stderr, "# sink %g\n", sink);
    free(a); free(b); free(c);
    return 0;
}
