"""Reference for examples/kmeans1d.dtl.

The run is repeated with the partial sums formed as 1, 2, 3, 4 and 8 ranks form them; all
must print the same, and no point may lie near the midpoint between two centroids."""
import numpy as np
from dtlref import out, rand, randn, block_bounds, seq_sum, stable_round, rust_fmt

n, k, iters = 60000, 3, 15
i = np.arange(n)
which = (rand(5, i) * 3.0).astype(np.int64)
centre = np.where(which == 0, -4.0, np.where(which == 1, 1.0, 5.0))
spread = np.where(which == 1, 0.5, 1.0)
x = centre + spread * randn(6, i)


def assign(x, c):
    d = np.abs(x[:, None] - c[None, :])
    best = np.argmin(d, axis=1)                     # first minimum, as the strict `<` loop
    srt = np.sort(d, axis=1)
    return best, srt


def run(p):
    lo, hi = float(x.min()), float(x.max())
    c = np.array([lo + (hi - lo) * (float(j) + 0.5) / float(k) for j in range(k)])
    counts = np.zeros(k, dtype=np.int64)
    for it in range(iters):
        best, srt = assign(x, c)
        assert (srt[:, 1] - srt[:, 0]).min() > 1e-9, "a point is (nearly) equidistant"
        s = np.zeros(k)
        cnt = np.zeros(k, dtype=np.int64)
        for a, b in block_bounds(n, p):
            for j in range(k):
                sel = x[a:b][best[a:b] == j]
                s[j] += seq_sum(sel)
                cnt[j] += sel.size
        for j in range(k):
            if cnt[j] > 0:
                c[j] = s[j] / float(cnt[j])
            counts[j] = cnt[j]
    best, srt = assign(x, c)
    dmin = srt[:, 0]
    w = [seq_sum(dmin[a:b] * dmin[a:b]) for a, b in block_bounds(n, p)]
    return c, counts, sum(w) / float(n), float(np.sum(dmin * dmin)) / float(n)


runs = [run(p) for p in (1, 2, 3, 4, 8)]
for j in range(k):
    assert len({int(r[1][j]) for r in runs}) == 1
    out("cluster", j, "centre", stable_round([r[0][j] for r in runs], 6), "size", int(runs[0][1][j]))
out("wcss per point", stable_round([r[2] for r in runs] + [r[3] for r in runs], 6))
