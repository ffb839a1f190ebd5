/* Micro-benchmark behind docs/performance-notes.md, "One-sided access and waits under
 * oversubscription" (issue #13): how waiting policies change the cost of a one-sided read
 * when the target process waits in a collective, and of a small collective itself.
 * Build: mpicc -O2 mpi_wait_policies.c -o mpi_wait_policies
 * Run:   mpirun -n 3 ./mpi_wait_policies get WAITER ORIGIN [K]
 *          rank 0 does K (default 1000) 8-byte gets from ranks 1.. while they wait in an
 *          allreduce. WAITER: block (MPICH's MPI_Allreduce), yield, nap, adapt (our
 *          Iallreduce + MPI_Test loop with that pacing); ORIGIN: flush (MPI_Get +
 *          MPI_Win_flush_local), spin, yield, nap, adapt (MPI_Rget + that loop).
 *          Prints microseconds per get.
 *        mpirun -n 2 ./mpi_wait_policies header [L]
 *          L (default 20000) allreduces of a 56-byte record under a user operator (the
 *          runtime's collective header): blocking, MPI_Iallreduce + test loop, persistent
 *          (MPI_Allreduce_init + MPI_Start + test loop). Prints microseconds per call. */
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BLOCK, YIELD, NAP, ADAPT, SPIN, FLUSH };
static const char *NAMES[] = {"block", "yield", "nap", "adapt", "spin", "flush"};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void nap(void) {
    struct timespec ts = {0, 1000};
    nanosleep(&ts, 0);
}

/* Polls `r` 64 times, then paces each further poll as `mode` says. */
static void wait_req(MPI_Request *r, int mode) {
    int flag = 0, napping = 0;
    long it = 0, naps = 0;
    for (;;) {
        MPI_Test(r, &flag, MPI_STATUS_IGNORE);
        if (flag) return;
        if (++it < 64 || mode == SPIN) continue;
        if (mode == YIELD) {
            sched_yield();
        } else if (mode == NAP) {
            nap();
        } else if (!napping || ++naps % 64 == 0) {
            double t = now();
            sched_yield();
            napping = now() - t > 200e-6;
        } else {
            nap();
        }
    }
}

static int mode_of(const char *s) {
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, NAMES[i])) return i;
    fprintf(stderr, "unknown mode %s\n", s);
    exit(2);
}

typedef struct {
    long key;
    int bad;
    char flags[12];
    char payload[32];
} Header;

static void header_op(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    Header *a = inout, *b = in;
    for (int i = 0; i < *len; i++) {
        double x, y;
        memcpy(&x, a[i].payload, 8);
        memcpy(&y, b[i].payload, 8);
        x += y;
        memcpy(a[i].payload, &x, 8);
    }
}

static void header(int rank, int size, int L) {
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Datatype t;
    MPI_Type_contiguous(sizeof(Header), MPI_UINT8_T, &t);
    MPI_Type_commit(&t);
    MPI_Op op;
    MPI_Op_create(header_op, 1, &op);
    Header x = {0}, y;
    MPI_Request pr;
    MPI_Allreduce_init(&x, &y, 1, t, op, comm, MPI_INFO_NULL, &pr);
    for (int rep = 0; rep < 5; rep++) {
        MPI_Barrier(comm);
        double t0 = MPI_Wtime();
        for (int i = 0; i < L; i++) MPI_Allreduce(&x, &y, 1, t, op, comm);
        double t1 = MPI_Wtime();
        for (int i = 0; i < L; i++) {
            MPI_Request r;
            MPI_Iallreduce(&x, &y, 1, t, op, comm, &r);
            wait_req(&r, ADAPT);
        }
        double t2 = MPI_Wtime();
        for (int i = 0; i < L; i++) {
            MPI_Start(&pr);
            wait_req(&pr, ADAPT);
        }
        double t3 = MPI_Wtime();
        if (rank == 0)
            printf("n=%d blocking %.3f  iallreduce %.3f  persistent %.3f us\n", size,
                   (t1 - t0) / L * 1e6, (t2 - t1) / L * 1e6, (t3 - t2) / L * 1e6);
    }
    MPI_Request_free(&pr);
    MPI_Op_free(&op);
    MPI_Type_free(&t);
    MPI_Comm_free(&comm);
}

static void gets(int rank, int size, int waiter, int origin, int K) {
    long *mem = calloc(1024, sizeof(long));
    MPI_Win win;
    MPI_Win_create(mem, 1024 * sizeof(long), 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0 && size > 1) {
        double t0 = MPI_Wtime();
        for (int i = 0; i < K; i++) {
            long v;
            int tgt = 1 + i % (size - 1);
            if (origin == FLUSH) {
                MPI_Get(&v, 1, MPI_LONG, tgt, 0, 1, MPI_LONG, win);
                MPI_Win_flush_local(tgt, win);
            } else {
                MPI_Request r;
                MPI_Rget(&v, 1, MPI_LONG, tgt, 0, 1, MPI_LONG, win, &r);
                wait_req(&r, origin);
            }
        }
        printf("n=%d waiter=%s origin=%s: %.2f us per get\n", size, NAMES[waiter], NAMES[origin],
               (MPI_Wtime() - t0) / K * 1e6);
    }
    long x = 1, y;
    if (waiter == BLOCK) {
        MPI_Allreduce(&x, &y, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    } else {
        MPI_Request r;
        MPI_Iallreduce(&x, &y, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &r);
        wait_req(&r, waiter);
    }
    MPI_Win_unlock_all(win);
    MPI_Win_free(&win);
    free(mem);
}

int main(int argc, char **argv) {
    int prov, rank, size;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &prov);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc >= 4 && !strcmp(argv[1], "get")) {
        gets(rank, size, mode_of(argv[2]), mode_of(argv[3]), argc > 4 ? atoi(argv[4]) : 1000);
    } else if (argc >= 2 && !strcmp(argv[1], "header")) {
        header(rank, size, argc > 2 ? atoi(argv[2]) : 20000);
    } else if (rank == 0) {
        fprintf(stderr, "usage: mpi_wait_policies get WAITER ORIGIN [K] | header [L]\n");
    }
    MPI_Finalize();
    return 0;
}
