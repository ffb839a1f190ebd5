"""Reference for examples/heat2d_plate.dtl."""
import numpy as np
from dtlref import out, stable_round, block_sums

nx, ny, steps = 96, 64, 300
t = np.zeros((nx, ny))
t[0, :] = 100.0
t2 = t.copy()
k = 0.2
for s in range(steps):
    c = t[1:-1, 1:-1]
    t2[1:-1, 1:-1] = c + k * ((((t[:-2, 1:-1] + t[2:, 1:-1]) + t[1:-1, :-2]) + t[1:-1, 2:]) - 4.0 * c)
    t, t2 = t2, t
total = block_sums(t)
hottest = float(np.where(t < 100.0, t, 0.0).max())
warm = int(np.count_nonzero(t > 1.0))
probe = float(t[nx // 2, ny // 2])
out("total", stable_round(total, 6))
out("hottest interior", stable_round(hottest, 6))
out("cells above 1 degree", warm)
out("centre", stable_round(probe, 9))
# robustness of the count: no cell within 1e-9 of the threshold
assert np.abs(t - 1.0).min() > 1e-9
