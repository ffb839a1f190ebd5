"""1-D heat equation with explicit halo exchange through dtl.sendrecv, checked against NumPy.

    python examples/python/heat1d.py [ranks]
"""

import sys

import numpy as np

import dtl

N = 2_000
STEPS = 500
ALPHA = 0.25


def initial(n: int) -> np.ndarray:
    x = np.linspace(0.0, 1.0, n)
    return np.exp(-200.0 * (x - 0.3) ** 2) + 0.5 * np.exp(-500.0 * (x - 0.7) ** 2)


def body(ctx: dtl.Context) -> np.ndarray | None:
    u = dtl.DistributedVector.from_numpy(ctx, initial(N) if ctx.is_root else None)
    local = u.local_view()
    left, right = ctx.rank - 1, ctx.rank + 1
    for _ in range(STEPS):
        # Ghost values: the neighbour's edge element, or the fixed boundary value.
        lo = local[0]
        hi = local[-1]
        if ctx.size > 1:
            if ctx.rank % 2 == 0:
                if right < ctx.size:
                    hi = dtl.sendrecv(ctx, float(local[-1]), dest=right, source=right)
                if left >= 0:
                    lo = dtl.sendrecv(ctx, float(local[0]), dest=left, source=left)
            else:
                if left >= 0:
                    lo = dtl.sendrecv(ctx, float(local[0]), dest=left, source=left)
                if right < ctx.size:
                    hi = dtl.sendrecv(ctx, float(local[-1]), dest=right, source=right)
        padded = np.concatenate([[lo], local, [hi]])
        new = local + ALPHA * (padded[:-2] - 2.0 * local + padded[2:])
        # Global ends stay fixed (Dirichlet boundaries).
        if ctx.rank == 0:
            new[0] = local[0]
        if ctx.rank == ctx.size - 1:
            new[-1] = local[-1]
        local[:] = new
    return u.gather_to_numpy(root=0)


def reference() -> np.ndarray:
    u = initial(N)
    for _ in range(STEPS):
        new = u.copy()
        new[1:-1] = u[1:-1] + ALPHA * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        u = new
    return u


def main() -> None:
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    got = dtl.spmd(ranks)(body)()[0]
    assert got is not None
    err = float(np.max(np.abs(got - reference())))
    assert err < 1e-12, err
    print(f"heat1d: {N} cells, {STEPS} steps on {ranks} ranks; max |u - numpy| = {err:.1e}; total heat {got.sum():.6f}")


if __name__ == "__main__":
    main()
