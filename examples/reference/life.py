"""Reference for examples/life.dtl."""
import numpy as np
from dtlref import out, rand

nx, ny, soup_steps = 64, 64, 200


def step(g):
    nb = sum(np.roll(np.roll(g, di, 0), dj, 1)
             for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0))
    return ((nb == 3) | ((g == 1) & (nb == 2))).astype(np.int32)


g = np.zeros((nx, ny), dtype=np.int32)
for k in range(4):
    r, c = 4 + 16 * k, 10 + 12 * k
    for di, dj in ((0, 1), (1, 2), (2, 0), (2, 1), (2, 2)):
        g[r + di, c + dj] = 1
start = g.copy()
cells0 = int(g.sum())
for s in range(4 * ny):
    g = step(g)
out("gliders: live cells", cells0, "->", int(g.sum()), "back home", bool((g == start).all()))

i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
g = (rand(2024, (i * ny + j).ravel()).reshape(nx, ny) < 0.3).astype(np.int32)
out("soup step 0 live", int(g.sum()))
for s in range(1, soup_steps + 1):
    prev = g
    g = step(g)
    if s % 50 == 0:
        out("soup step", s, "live", int(g.sum()), "changed", int((g != prev).sum()))
