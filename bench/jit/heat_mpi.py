"""Peer for heat.dtl: mpi4py + NumPy, block partition with one ghost cell on each side,
Sendrecv halo exchange and a sliced NumPy update every step. Run with `mpirun -n 2`.
Prints `mpi4py_heat_ms value` per repetition (all steps, slowest rank) on rank 0.
usage: mpirun -n P python heat_mpi.py N STEPS REPS"""
import sys
import time

import numpy as np
from mpi4py import MPI


def main():
    n, steps, reps = (int(x) for x in sys.argv[1:4])
    comm = MPI.COMM_WORLD
    r, p = comm.Get_rank(), comm.Get_size()
    m = n // p + (1 if r < n % p else 0)
    off = r * (n // p) + min(r, n % p)
    u = np.zeros(m + 2)
    v = np.zeros(m + 2)
    g = np.arange(off, off + m)
    u[1:-1][g == n // 2] = 1.0
    left = r - 1 if r > 0 else MPI.PROC_NULL
    right = r + 1 if r < p - 1 else MPI.PROC_NULL
    for _ in range(reps):
        comm.Barrier()
        t = MPI.Wtime()
        for _ in range(steps):
            comm.Sendrecv(u[1:2], dest=left, recvbuf=u[m + 1:m + 2], source=right)
            comm.Sendrecv(u[m:m + 1], dest=right, recvbuf=u[0:1], source=left)
            v[1:-1] = 0.25 * u[:-2] + 0.5 * u[1:-1] + 0.25 * u[2:]
            if r == 0:
                v[1] = u[1]
            if r == p - 1:
                v[m] = u[m]
            u, v = v, u
        dt = comm.allreduce(MPI.Wtime() - t, op=MPI.MAX)
        if r == 0:
            print(f"mpi4py_heat_ms {dt * 1e3:.3f}", flush=True)
    total = comm.allreduce(float(u[1:-1].sum()))
    if r == 0:
        print(f"# mpi4py heat total {total:.9f}", flush=True)


if __name__ == "__main__":
    main()
