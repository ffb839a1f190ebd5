"""Reference for examples/stats_demo.dtl (every sum taken in the orders of 1..8 ranks)."""
import math
import numpy as np
from dtlref import out, rand, randn, stable_round, block_sums, dround

n = 50000
idx = np.arange(n)
u = rand(21, idx)
g = randn(22, idx)
noise = randn(23, idx)


def means(a):
    return [s / float(n) for s in block_sums(a)]


def variances(a):
    return [s / float(n) for m in means(a) for s in block_sums((a - m) * (a - m))]


umean = means(u)
uvar = variances(u)
s = 10.0 + 2.0 * g
smean = means(s)
ssd = [math.sqrt(v) for v in variances(s)]
y = 0.6 * g + 0.8 * noise
corrs = []
for mg, my in zip(means(g), means(y)):
    gc, yc = g - mg, y - my
    corrs += [a / (math.sqrt(b) * math.sqrt(c))
              for a, b, c in zip(block_sums(gc * yc), block_sums(gc * gc), block_sums(yc * yc))]
out("uniform mean", stable_round(umean, 6), "variance", stable_round(uvar, 6), "expected", dround(1.0 / 12.0, 6))
out("scaled normal mean", stable_round(smean, 6), "stddev", stable_round(ssd, 6))
out("correlation", stable_round(corrs, 5))
out("smallest uniform", float(u.min()), "at", int(np.argmin(u)))
assert np.abs(np.abs(g) - 3.0).min() > 1e-12
out("normal beyond 3 sigma", int((np.abs(g) > 3.0).sum()))
