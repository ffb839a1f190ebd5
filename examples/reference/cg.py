"""Reference for examples/cg.dtl.

CG is run once per summation order of the dot products (NumPy's, and the block-partitioned
sequential order of 1..8 ranks); every run must print the same lines."""
import numpy as np
from dtlref import out, dround, block_bounds, seq_sum, rust_fmt

n, maxit, tol = 499, 2000, 0.0000000001


def make_dot(p):
    if p is None:
        return lambda a, b: float(np.dot(a, b))

    def d(a, b):
        s = 0.0
        for lo, hi in block_bounds(n, p):
            s += seq_sum(a[lo:hi] * b[lo:hi])
        return s
    return d


def run(dot):
    h = 1.0 / (n + 1)
    x = np.zeros(n)
    r = np.full(n, h * h)
    p = r.copy()
    rr0 = dot(r, r)
    rr = rr0
    it = 0
    while it < maxit and rr > tol * tol * rr0:
        q = 2.0 * p
        q[1:] -= p[:-1]
        q[:-1] -= p[1:]
        alpha = rr / dot(p, q)
        x = x + alpha * p
        r = r - alpha * q
        rr_new = dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        it += 1
    xi = np.arange(1, n + 1, dtype=np.float64) * h
    exact = 0.5 * xi * (1.0 - xi)
    err = float(np.abs(x - exact).max())
    mid = float(x[n // 2])
    assert abs(abs(mid * 1e9 - round(mid * 1e9)) - 0.5) > 0.02
    assert abs(err - 1e-9) > 1e-10
    lines = [
        ("iterations", it, "converged", rr <= tol * tol * rr0),
        ("u(0.5)", dround(mid, 9)),
        ("max error below 1e-9", err < 0.000000001),
        ("relative residual below tol", float(np.sqrt(rr / rr0)) <= tol),
    ]
    return [" ".join(rust_fmt(a) for a in l) for l in lines]


results = [run(make_dot(p)) for p in (None, 1, 2, 3, 4, 8)]
assert all(r == results[0] for r in results), results
for line in results[0]:
    print(line)
