"""Reference for examples/histogram_normal.dtl."""
import math
import numpy as np
from dtlref import out, randn

n, bins, lo, hi = 100000, 16, -4.0, 4.0
x = randn(99, np.arange(n))
width = (hi - lo) / float(bins)
y = (x - lo) / width
# no sample may sit within rounding distance of a bin edge
assert np.abs(y - np.round(y)).min() > 1e-9
b = np.floor(y).astype(np.int64)
ok = (b >= 0) & (b < bins)
h = np.bincount(b[ok], minlength=bins)
outside = int((~ok).sum())
sq = (np.arange(n, dtype=np.int64) ** 2) % 100
counts = np.bincount(sq, minlength=100)
for k in range(bins):
    out("bin", lo + float(k) * width, int(h[k]))
out("outside", outside, "total", int(h.sum()) + outside)
out("square residues mod 100:", int((counts > 0).sum()))
out("count of 0:", int(counts[0]), "of 25:", int(counts[25]), "of 2:", int(counts[2]),
    "has 41:", bool(counts[41] > 0))
