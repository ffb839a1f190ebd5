"""Reference for examples/halo_by_hand.dtl."""
import numpy as np
from dtlref import out, rand, stable_round, block_sums

n, steps = 1000, 50
i = np.arange(n)
u = np.where(i % 100 == 0, 1.0, 0.0) + rand(3, i)
for s in range(steps):
    u = (0.25 * np.roll(u, 1) + 0.5 * u) + 0.25 * np.roll(u, -1)
out("hand-written halo agrees with @halo", True)
out("mass", stable_round(block_sums(u), 6))
out("u[0]", stable_round(float(u[0]), 9), "u[n/2]", stable_round(float(u[n // 2]), 9))
