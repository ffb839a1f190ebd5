"""Python peers of coll.dtl (bench/suite/collectives.py): the same loops, sizes and data.
usage: mpirun -n 2 python coll_py.py TOOL KIND LO HI STEP REPS WARM SAMPLE_US MAXCALLS
TOOL: buffer  mpi4py upper-case calls on NumPy arrays (Allreduce/Bcast/Allgather/Barrier)
      pickle  mpi4py lower-case calls on Python objects (a float for 8 B, else a NumPy array,
              pickled; allgather/bcast of the array object; barrier is comm.barrier())
      numba   numba-mpi calls inside one @njit loop (allreduce/bcast/allgather/barrier)
KIND: 0 allreduce (sum, f64), 1 broadcast from 0, 2 allgather (m f64 per rank), 3 barrier.
Prints `size B calls C check X` per size, then REPS lines `time_us T` (slowest rank's loop
time / calls)."""
import sys

import numpy as np
from mpi4py import MPI


def make_loops(tool, kind, comm):
    """Returns loop(x, y, calls) -> None running `calls` collectives."""
    if tool == "buffer":
        if kind == 0:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.Allreduce(x, y, op=MPI.SUM)
        elif kind == 1:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.Bcast(x, root=0)
        elif kind == 2:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.Allgather(x, y)
        else:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.Barrier()
        return loop
    if tool == "pickle":
        if kind == 0:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.allreduce(x, op=MPI.SUM)
        elif kind == 1:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.bcast(x, root=0)
        elif kind == 2:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.allgather(x)
        else:
            def loop(x, y, calls):
                for _ in range(calls):
                    comm.barrier()
        return loop
    import numba
    import numba_mpi as nm
    if kind == 0:
        @numba.njit
        def loop(x, y, calls):
            for _ in range(calls):
                nm.allreduce(x, y, nm.Operator.SUM)
    elif kind == 1:
        @numba.njit
        def loop(x, y, calls):
            for _ in range(calls):
                nm.bcast(x, 0)
    elif kind == 2:
        @numba.njit
        def loop(x, y, calls):
            for _ in range(calls):
                nm.allgather(x, y, x.size)
    else:
        @numba.njit
        def loop(x, y, calls):
            for _ in range(calls):
                nm.barrier()
    return loop


def first_result(tool, kind, comm, x, y):
    """One collective whose result is checked; returns the result as a flat NumPy array."""
    if tool == "pickle":
        if kind == 0:
            return np.atleast_1d(np.asarray(comm.allreduce(x, op=MPI.SUM), dtype=float))
        if kind == 1:
            return np.atleast_1d(np.asarray(comm.bcast(x, root=0), dtype=float))
        return np.concatenate([np.atleast_1d(np.asarray(v, dtype=float)) for v in comm.allgather(x)])
    if kind == 0:
        comm.Allreduce(x, y, op=MPI.SUM)
        return y
    if kind == 1:
        comm.Bcast(x, root=0)
        return x
    comm.Allgather(x, y)
    return y


def main():
    tool = sys.argv[1]
    kind, lo, hi, step, reps, warm, sample_us, maxcalls = (int(a) for a in sys.argv[2:10])
    comm = MPI.COMM_WORLD
    rank, p = comm.Get_rank(), comm.Get_size()
    loop = make_loops(tool, kind, comm)

    def timed(x, y):
        loop(x, y, 1)  # compiles the Numba loop before the calibration
        # doubled from 2 until the fastest of 3 loops takes sample_us (as coll.dtl does)
        calls = 2
        while calls < maxcalls:
            ts = []
            for _ in range(3):
                t0 = MPI.Wtime()
                loop(x, y, calls)
                ts.append(comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX))
            if min(ts) * 1e6 >= sample_us:
                break
            calls *= 2
        if rank == 0:
            print(f"calls {calls}", flush=True)
        for rep in range(-warm, reps):
            comm.Barrier()
            t0 = MPI.Wtime()
            loop(x, y, calls)
            t = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
            if rank == 0 and rep >= 0:
                print(f"time_us {t * 1e6 / calls:.6f}", flush=True)

    if kind == 3:
        if rank == 0:
            print("size 0 check 0", flush=True)
        timed(None, None)
        return
    nbytes = lo
    while nbytes <= hi:
        n = nbytes // 8
        k = np.arange(n) % 7 + 1
        if kind == 1:
            x = k.astype(float) if rank == 0 else np.zeros(n)
        else:
            x = ((rank + 1) * k).astype(float)
        y = np.zeros(n * p if kind == 2 else n)
        if tool == "pickle" and n == 1:
            x = float(x[0])  # a Python float, the pickle API's common case
        res = first_result(tool, kind, comm, x, y)
        check = comm.allreduce(float(res.sum()), op=MPI.MIN)
        if rank == 0:
            print(f"size {nbytes} check {check!r}", flush=True)
        timed(x, y)
        nbytes *= step


if __name__ == "__main__":
    main()
