"""Peers for axpby.dtl / fused.dtl / exp.dtl on one core: NumPy whole-array expressions and a Numba @njit
loop writing into a preallocated array. Prints `name value_ms` per repetition.
usage: python axpby.py {axpby|fused|exp} N REPS"""
import sys
import time

import numpy as np
from numba import njit


@njit(cache=False)
def axpby_loop(a, b, c):
    for i in range(a.shape[0]):
        c[i] = 2.0 * a[i] - 4.5 * b[i]


@njit(cache=False)
def fused_loop(a, b, c):
    for i in range(a.shape[0]):
        c[i] = 2.0 * a[i] - 4.5 * b[i] + 1.1 * (np.sin(a[i]) + np.cos(b[i]))


@njit(cache=False)
def exp_loop(a, b, c):
    for i in range(a.shape[0]):
        c[i] = np.exp(a[i]) - 2.0 * np.exp(b[i])


def main():
    kind, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    a = np.arange(n, dtype=np.float64) / n
    b = 1.0 - a
    c = np.zeros(n)
    if kind == "axpby":
        loop = axpby_loop
        def npy():
            return 2.0 * a - 4.5 * b
    elif kind == "exp":
        loop = exp_loop
        def npy():
            return np.exp(a) - 2.0 * np.exp(b)
    else:
        loop = fused_loop
        def npy():
            return 2.0 * a - 4.5 * b + 1.1 * (np.sin(a) + np.cos(b))
    loop(a, b, c)  # compile + touch c
    npy()
    for _ in range(reps):
        t = time.perf_counter()
        r = npy()
        print(f"numpy_{kind}_ms {(time.perf_counter() - t) * 1e3:.4f}")
        del r
        t = time.perf_counter()
        loop(a, b, c)
        print(f"numba_{kind}_ms {(time.perf_counter() - t) * 1e3:.4f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
