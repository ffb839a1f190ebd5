"""mpi4py + NumPy peers of the seed workloads (bench/suite/seeds.py), the way the mpi4py
tutorial and the Python-HPC course write them: block partition by the spec's rule, NumPy on
the local block, mpi4py collectives/Sendrecv for the rest.
usage: mpirun -n P python seeds_mpi.py REPS WARM WORKLOAD[:k=v,...] ...
  dot:n  mean:n  heat1d:n,steps  pi:n  sort:n  heat2d:nx,ny,steps
For each workload prints `begin NAME`, REPS lines `time_ms T` (slowest rank, between
barriers; data setup not timed) and `check X` (sort also `bad B`)."""
import sys

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
R, P = comm.Get_rank(), comm.Get_size()


def block(n):
    m = n // P + (1 if R < n % P else 0)
    return R * (n // P) + min(R, n % P), m


def mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def rand(seed, i):
    """The spec's counter-based rand(seed, i) for a uint64 index array."""
    with np.errstate(over="ignore"):
        s = mix(np.array([(seed + 0x9E3779B97F4A7C15) % 2**64], dtype=np.uint64))[0]
        return (mix(s ^ i) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def timed(kernel, reps, warm, setup=None):
    out = None
    for r in range(warm + reps):
        if setup:
            setup()
        comm.Barrier()
        t0 = MPI.Wtime()
        out = kernel()
        t = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
        if R == 0 and r >= warm:
            print(f"time_ms {t * 1e3:.6f}", flush=True)
    return out


def dot(reps, warm, n=10_000_000):
    off, m = block(n)
    i = np.arange(off, off + m)
    a = (i % 1000).astype(np.float64) * 0.5
    b = (i % 7 + 1).astype(np.float64)
    return timed(lambda: comm.allreduce(float(a @ b), op=MPI.SUM), reps, warm)


def mean(reps, warm, n=10_000_000):
    off, m = block(n)
    u = (np.arange(off, off + m) % 1000).astype(np.float64) * 0.25
    return timed(lambda: comm.allreduce(float(u.sum()), op=MPI.SUM) / n, reps, warm)


def pi(reps, warm, n=100_000_000, chunk=1 << 20):
    off, m = block(n)
    h = 1.0 / n

    def kernel():
        s = 0.0
        for c in range(off, off + m, chunk):
            x = h * (np.arange(c, min(c + chunk, off + m), dtype=np.float64) + 0.5)
            s += float((4.0 / (1.0 + x * x)).sum())
        return comm.allreduce(s, op=MPI.SUM) * h
    return timed(kernel, reps, warm)


def heat1d(reps, warm, n=10_000_000, steps=20):
    off, m = block(n)
    st = {}
    left = R - 1 if R > 0 else MPI.PROC_NULL
    right = R + 1 if R < P - 1 else MPI.PROC_NULL

    def setup():
        u = np.zeros(m + 2)
        g = np.arange(off, off + m)
        u[1:-1][g == n // 2] = 1.0
        st["u"], st["v"] = u, np.zeros(m + 2)

    def kernel():
        u, v = st["u"], st["v"]
        for _ in range(steps):
            comm.Sendrecv(u[1:2], dest=left, recvbuf=u[m + 1:m + 2], source=right)
            comm.Sendrecv(u[m:m + 1], dest=right, recvbuf=u[0:1], source=left)
            v[1:-1] = 0.25 * u[:-2] + 0.5 * u[1:-1] + 0.25 * u[2:]
            if R == 0:
                v[1] = u[1]
            if R == P - 1:
                v[m] = u[m]
            u, v = v, u
        st["u"], st["v"] = u, v
    timed(kernel, reps, warm, setup)
    u = st["u"][1:-1]
    return comm.allreduce(float(u @ u), op=MPI.SUM)


def heat2d(reps, warm, nx=2000, ny=2000, steps=20):
    off, m = block(nx)
    st = {}
    up = R - 1 if R > 0 else MPI.PROC_NULL
    down = R + 1 if R < P - 1 else MPI.PROC_NULL

    def setup():
        t = np.zeros((m + 2, ny))
        if off <= nx // 2 < off + m:
            t[nx // 2 - off + 1, ny // 2] = 100.0
        st["t"], st["t2"] = t, np.zeros((m + 2, ny))

    def kernel():
        t, t2 = st["t"], st["t2"]
        for _ in range(steps):
            comm.Sendrecv(t[1], dest=up, recvbuf=t[m + 1], source=down)
            comm.Sendrecv(t[m], dest=down, recvbuf=t[0], source=up)
            c = t[1:-1, 1:-1]
            t2[1:-1, 1:-1] = c + 0.1 * (t[:-2, 1:-1] + t[2:, 1:-1] + t[1:-1, :-2] + t[1:-1, 2:] - 4.0 * c)
            t2[1:-1, 0] = t[1:-1, 0]
            t2[1:-1, -1] = t[1:-1, -1]
            if R == 0:
                t2[1] = t[1]
            if R == P - 1:
                t2[m] = t[m]
            t, t2 = t2, t
        st["t"], st["t2"] = t, t2
    timed(kernel, reps, warm, setup)
    t = st["t"][1:-1]
    return comm.allreduce(float((t * t).sum()), op=MPI.SUM)


def sort(reps, warm, n=10_000_000):
    off, m = block(n)
    idx = np.arange(off, off + m, dtype=np.uint64)
    data = rand(42, idx)
    st = {}

    def setup():
        st["u"] = data.copy()

    def kernel():
        u = np.sort(st["u"])
        if P == 1:
            return u
        # sample sort: regular samples -> P-1 splitters -> one Alltoallv -> merge by np.sort
        samples = u[np.linspace(0, len(u) - 1, 8 * P).astype(np.int64)] if len(u) else np.zeros(0)
        allsamp = np.sort(np.concatenate(comm.allgather(samples)))
        spl = allsamp[np.linspace(0, len(allsamp), P + 1).astype(np.int64)[1:-1]]
        cuts = np.concatenate(([0], np.searchsorted(u, spl, side="right"), [len(u)]))
        sc = np.diff(cuts).astype(np.int64)
        rc = np.empty(P, dtype=np.int64)
        comm.Alltoall(sc, rc)
        recv = np.empty(int(rc.sum()))
        comm.Alltoallv([u, sc, cuts[:-1], MPI.DOUBLE],
                       [recv, rc, np.concatenate(([0], np.cumsum(rc)[:-1])), MPI.DOUBLE])
        recv.sort()
        return recv
    u = timed(kernel, reps, warm, setup)
    start = comm.exscan(len(u)) or 0
    g = np.arange(start, start + len(u))
    bad = int(np.count_nonzero(u[1:] < u[:-1]))
    # across the block edge: my first vs the previous rank's last
    last = comm.allgather(float(u[-1]) if len(u) else None)
    if R > 0 and len(u) and last[R - 1] is not None and last[R - 1] > u[0]:
        bad += 1
    bad = comm.allreduce(bad, op=MPI.SUM)
    w = comm.allreduce(float(u @ (g % 1000).astype(np.float64)), op=MPI.SUM)
    if R == 0:
        print(f"bad {bad}", flush=True)
    return w


def main():
    reps, warm = int(sys.argv[1]), int(sys.argv[2])
    for spec in sys.argv[3:]:
        name, _, kv = spec.partition(":")
        kw = {k: int(v) for k, v in (p.split("=") for p in kv.split(",") if p)}
        if R == 0:
            print(f"begin {name}", flush=True)
        check = globals()[name](reps, warm, **kw)
        if R == 0:
            print(f"check {check!r}", flush=True)


if __name__ == "__main__":
    main()
