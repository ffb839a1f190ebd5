"""Reference for examples/jacobi2d.dtl."""
import numpy as np
from dtlref import out, stable_round, block_sums

n, maxit, check, tol = 48, 5000, 250, 0.00001
u = np.zeros((n, n))
u[0, 1:-1] = 1.0
w = u.copy()
it, change = 0, 1.0
while it < maxit and change >= tol:
    w[1:-1, 1:-1] = 0.25 * (((u[:-2, 1:-1] + u[2:, 1:-1]) + u[1:-1, :-2]) + u[1:-1, 2:])
    it += 1
    if it % check == 0:
        change = float(np.abs(w - u).max())
        # the stopping sweep must not hinge on the last bits
        assert abs(change - tol) > 1e-12
        out("sweep", it, "max change", stable_round(change, 9))
    u, w = w, u
out("sweeps", it)
out("centre", stable_round(float(u[n // 2, n // 2]), 6))
out("mean", stable_round([s / float(n * n) for s in block_sums(u)], 6), "max", float(u.max()))
