"""Peer for heat.dtl: the same 3-point stencil as a Numba @njit loop on one core, two arrays
swapped after every step. Prints `numba_heat_ms value` per repetition (all steps).
usage: python heat_numba.py N STEPS REPS"""
import sys
import time

import numpy as np
from numba import njit


@njit(cache=False)
def run(u, v, steps):
    n = u.shape[0]
    for _ in range(steps):
        v[0] = u[0]
        for i in range(1, n - 1):
            v[i] = 0.25 * u[i - 1] + 0.5 * u[i] + 0.25 * u[i + 1]
        v[n - 1] = u[n - 1]
        u, v = v, u
    return u


def main():
    n, steps, reps = (int(x) for x in sys.argv[1:4])
    u = np.zeros(n)
    u[n // 2] = 1.0
    v = np.zeros(n)
    run(u.copy(), v, 2)  # compile
    for _ in range(reps):
        t = time.perf_counter()
        u = run(u, v, steps)
        dt = time.perf_counter() - t
        v = np.zeros(n) if u is v else v
        print(f"numba_heat_ms {dt * 1e3:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
