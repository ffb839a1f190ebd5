"""Numba peers of the seed workloads (bench/suite/seeds.py), one process, no MPI.
usage: python seeds_numba.py THREADS REPS WARM WORKLOAD[:k=v,...] ...
THREADS 1: plain @njit loops (the 1-rank row). THREADS 2: the same source compiled with
@njit(parallel=True) (prange) and numba.set_num_threads(2) (the 2-"rank" row); sort splits
into THREADS runs sorted in a prange and merges them.
Same workloads/output as seeds_mpi.py: `begin NAME`, REPS x `time_ms T`, `check X`."""
import sys
import time

import numba
import numpy as np
from numba import prange

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
if THREADS > 1:
    numba.set_num_threads(THREADS)
jit = numba.njit(parallel=True, cache=True) if THREADS > 1 else numba.njit(cache=True)


@numba.njit(cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def fill_rand(u, seed):
    s = _mix(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15))
    for i in range(u.size):
        u[i] = np.float64(_mix(s ^ np.uint64(i)) >> np.uint64(11)) * (2.0 ** -53)


@jit
def k_dot(a, b):
    s = 0.0
    for i in prange(a.size):
        s += a[i] * b[i]
    return s


@jit
def k_sum(u):
    s = 0.0
    for i in prange(u.size):
        s += u[i]
    return s


@jit
def k_pi(n):
    h = 1.0 / n
    s = 0.0
    for i in prange(n):
        x = h * (i + 0.5)
        s += 4.0 / (1.0 + x * x)
    return s * h


@jit
def k_heat1d(u, v, steps):
    n = u.size
    for _ in range(steps):
        for i in prange(n):
            if i > 0 and i < n - 1:
                v[i] = 0.25 * u[i - 1] + 0.5 * u[i] + 0.25 * u[i + 1]
            else:
                v[i] = u[i]
        u, v = v, u
    return u


@jit
def k_heat2d(t, t2, steps):
    nx, ny = t.shape
    for _ in range(steps):
        for i in prange(nx):
            if i == 0 or i == nx - 1:
                for j in range(ny):
                    t2[i, j] = t[i, j]
            else:
                t2[i, 0] = t[i, 0]
                for j in range(1, ny - 1):
                    t2[i, j] = t[i, j] + 0.1 * (t[i - 1, j] + t[i + 1, j] + t[i, j - 1] + t[i, j + 1] - 4.0 * t[i, j])
                t2[i, ny - 1] = t[i, ny - 1]
        t, t2 = t2, t
    return t


@numba.njit(cache=True)
def _merge(a, b, out):
    i = j = k = 0
    while i < a.size and j < b.size:
        if b[j] < a[i]:
            out[k] = b[j]
            j += 1
        else:
            out[k] = a[i]
            i += 1
        k += 1
    while i < a.size:
        out[k] = a[i]
        i += 1
        k += 1
    while j < b.size:
        out[k] = b[j]
        j += 1
        k += 1


@jit
def k_sort(u, parts):
    n = u.size
    if parts == 1:
        u[:] = np.sort(u)
        return u
    for p in prange(parts):
        lo = p * n // parts
        hi = (p + 1) * n // parts
        u[lo:hi] = np.sort(u[lo:hi])
    out = np.empty_like(u)
    _merge(u[:n // 2], u[n // 2:], out)  # parts == 2
    return out


@numba.njit(cache=True)
def sort_checks(u):
    bad = 0
    w = 0.0
    for i in range(u.size):
        if i > 0 and u[i - 1] > u[i]:
            bad += 1
        w += u[i] * (i % 1000)
    return bad, w


def timed(kernel, reps, warm, setup=None):
    out = None
    for r in range(warm + reps):
        if setup:
            setup()
        t0 = time.perf_counter()
        out = kernel()
        t = time.perf_counter() - t0
        if r >= warm:
            print(f"time_ms {t * 1e3:.6f}", flush=True)
    return out


def dot(reps, warm, n=10_000_000):
    i = np.arange(n)
    a = (i % 1000).astype(np.float64) * 0.5
    b = (i % 7 + 1).astype(np.float64)
    return timed(lambda: k_dot(a, b), reps, warm)


def mean(reps, warm, n=10_000_000):
    u = (np.arange(n) % 1000).astype(np.float64) * 0.25
    return timed(lambda: k_sum(u) / n, reps, warm)


def pi(reps, warm, n=100_000_000):
    return timed(lambda: k_pi(n), reps, warm)


def heat1d(reps, warm, n=10_000_000, steps=20):
    st = {}

    def setup():
        u = np.zeros(n)
        u[n // 2] = 1.0
        st["u"], st["v"] = u, np.zeros(n)
    u = timed(lambda: k_heat1d(st["u"], st["v"], steps), reps, warm, setup)
    return float(u @ u)


def heat2d(reps, warm, nx=2000, ny=2000, steps=20):
    st = {}

    def setup():
        t = np.zeros((nx, ny))
        t[nx // 2, ny // 2] = 100.0
        st["t"], st["t2"] = t, np.zeros((nx, ny))
    t = timed(lambda: k_heat2d(st["t"], st["t2"], steps), reps, warm, setup)
    return float((t * t).sum())


def sort(reps, warm, n=10_000_000):
    data = np.empty(n)
    fill_rand(data, 42)
    st = {}

    def setup():
        st["u"] = data.copy()
    u = timed(lambda: k_sort(st["u"], THREADS), reps, warm, setup)
    bad, w = sort_checks(u)
    print(f"bad {bad}", flush=True)
    return w


def main():
    reps, warm = int(sys.argv[2]), int(sys.argv[3])
    for spec in sys.argv[4:]:
        name, _, kv = spec.partition(":")
        kw = {k: int(v) for k, v in (p.split("=") for p in kv.split(",") if p)}
        print(f"begin {name}", flush=True)
        print(f"check {globals()[name](reps, warm, **kw)!r}", flush=True)


if __name__ == "__main__":
    main()
