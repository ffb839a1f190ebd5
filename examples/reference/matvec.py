"""Reference for examples/matvec.dtl (dot products in several rank orders)."""
import math
import numpy as np
from dtlref import out, stable_round, block_bounds, seq_sum

m, iters = 200, 30
a = 1.0 / (np.add.outer(np.arange(m), np.arange(m)) + 1).astype(np.float64)


def matvec(x):
    # row i: sequential sum over j of a[i, j] * x[j]
    return np.cumsum(a * x[None, :], axis=1)[:, -1]


def run(p):
    def dot(u, v):
        if p is None:
            return float(np.dot(u, v))
        return sum(seq_sum(u[lo:hi] * v[lo:hi]) for lo, hi in block_bounds(m, p))
    y = matvec(np.ones(m))
    first_row = float(y[0])
    total = float(np.sum(y)) if p is None else sum(seq_sum(y[lo:hi]) for lo, hi in block_bounds(m, p))
    x = np.full(m, 1.0 / math.sqrt(float(m)))
    lam = 0.0
    for it in range(iters):
        y = matvec(x)
        lam = math.sqrt(dot(y, y))
        y = y / lam
        x = y.copy()
    y = matvec(x)
    ray = dot(x, y) / dot(x, x)
    return first_row, total, lam, ray, bool(x[0] > x[m - 1])


runs = [run(p) for p in (None, 1, 2, 3, 4, 8)]
out("row 0 sum (harmonic number H_200)", stable_round([r[0] for r in runs], 9))
out("sum of all entries", stable_round([r[1] for r in runs], 9))
out("power iteration lambda", stable_round([r[2] for r in runs], 9))
out("rayleigh quotient", stable_round([r[3] for r in runs], 9))
out("x[0] > x[m-1]", runs[0][4])
