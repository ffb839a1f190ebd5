"""Numba peers on one core for pi.dtl and mandel.dtl (same loops, same sizes).
Prints `numba_pi_ms value` and `numba_mandel_ms value` per repetition.
usage: python kernels_numba.py N_PI W H MAXITER REPS"""
import sys
import time

from numba import njit


@njit(cache=False)
def pi(n):
    h = 1.0 / n
    s = 0.0
    for i in range(n):
        x = h * (i + 0.5)
        s += 4.0 / (1.0 + x * x)
    return s * h


@njit(cache=False)
def mandel(w, h, maxiter):
    dx = 3.0 / w
    dy = 3.0 / h
    inside = 0
    for p in range(w * h):
        cx = -2.0 + ((p % w) + 0.5) * dx
        cy = -1.5 + ((p // w) + 0.5) * dy
        zx = 0.0
        zy = 0.0
        k = 0
        while k < maxiter and zx * zx + zy * zy <= 4.0:
            t = zx * zx - zy * zy + cx
            zy = 2.0 * zx * zy + cy
            zx = t
            k += 1
        if k == maxiter:
            inside += 1
    return inside


def main():
    n, w, h, maxiter, reps = (int(x) for x in sys.argv[1:6])
    pi(1000)
    mandel(8, 8, 10)
    for _ in range(reps):
        t = time.perf_counter()
        pi(n)
        print(f"numba_pi_ms {(time.perf_counter() - t) * 1e3:.3f}")
    for _ in range(reps):
        t = time.perf_counter()
        c = mandel(w, h, maxiter)
        print(f"numba_mandel_ms {(time.perf_counter() - t) * 1e3:.3f}")
    print(f"# numba mandel inside {c}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
