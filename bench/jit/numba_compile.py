"""Compile-latency peer, run once per fresh process: Numba's first compile (njit, no cache) of
the loop of fused.dtl. Prints `numba_import_ms` (import numba) and `numba_compile_ms` (the first
call, which compiles; the call itself runs over 1000 elements).
usage: python numba_compile.py"""
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
from numba import njit  # noqa: E402
t1 = time.perf_counter()


@njit(cache=False)
def fused_loop(a, b, c):
    for i in range(a.shape[0]):
        c[i] = 2.0 * a[i] - 4.5 * b[i] + 1.1 * (np.sin(a[i]) + np.cos(b[i]))


a = np.linspace(0.0, 1.0, 1000)
b = 1.0 - a
c = np.empty_like(a)
t2 = time.perf_counter()
fused_loop(a, b, c)
t3 = time.perf_counter()
print(f"numba_import_ms {(t1 - t0) * 1e3:.3f}")
print(f"numba_compile_ms {(t3 - t2) * 1e3:.3f}")
