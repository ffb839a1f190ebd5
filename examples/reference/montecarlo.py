"""Reference for examples/montecarlo.dtl."""
import math
import numpy as np
from dtlref import out, rand, randn, stable_round

n, seed = 400000, 12345
i = np.arange(n, dtype=np.int64)
x, y = rand(seed, 2 * i), rand(seed, 2 * i + 1)
hits = int(np.count_nonzero(x * x + y * y < 1.0))
pi = 4.0 * float(hits) / float(n)
x = 2.0 * rand(seed + 1, 3 * i) - 1.0
y = 2.0 * rand(seed + 1, 3 * i + 1) - 1.0
z = 2.0 * rand(seed + 1, 3 * i + 2) - 1.0
inside = int(np.count_nonzero((x * x + y * y) + z * z < 1.0))
ball = 8.0 * float(inside) / float(n)
zn = np.abs(randn(seed + 2, i))
# the counts must not depend on the last bit of log/cos: no sample near a threshold
for t in (1.0, 2.0, 3.0):
    assert np.abs(zn - t).min() > 1e-12
out("quarter circle hits", hits, "of", n)
out("pi estimate", pi, "error below 0.01", abs(pi - 3.141592653589793) < 0.01)
out("unit ball volume", ball)
out("normal within 1, 2, 3 sigma", int((zn < 1.0).sum()), int((zn < 2.0).sum()), int((zn < 3.0).sum()))
out("largest |z|", stable_round(float(zn.max()), 9))
