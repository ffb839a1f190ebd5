"""Reference for examples/sorting.dtl."""
import numpy as np
from dtlref import out, rand, randn, stable_round

n = 80001
z = np.sort(randn(11, np.arange(n)))
k = np.sort((rand(12, np.arange(n)) * 1000.0).astype(np.int64))[::-1]
out("ascending", True, "sum kept", True)
out("negative samples", int((z < 0.0).sum()))
out("quartiles", stable_round(float(z[n // 4]), 6), stable_round(float(z[n // 2]), 6),
    stable_round(float(z[3 * n // 4]), 6))
out("descending", True, "sum kept", True)
out("largest", int(k[0]), "smallest", int(k[-1]), "distinct values", len(np.unique(k)))
