"""Peer figure: NumPy's np.sort of 10^7 f64 on one core (ms), median/min/max of 7 runs."""
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
x = np.random.default_rng(42).random(n)
np.sort(x)
samples = []
for _ in range(7):
    t = time.perf_counter()
    np.sort(x)
    samples.append((time.perf_counter() - t) * 1e3)
samples.sort()
print(f"np_sort_1e7_ms {samples[3]:.3f} {samples[0]:.3f} {samples[-1]:.3f}")
