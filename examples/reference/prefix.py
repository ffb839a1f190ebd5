"""Reference for examples/prefix.dtl."""
import numpy as np
from dtlref import out

n = 50000
u = (np.arange(n, dtype=np.int64) * 7919) % 101
inc = np.cumsum(u)
exc = inc - u
runmax = np.maximum.accumulate(u)
flag = (u % 10 == 0).astype(np.int64)
idx = np.nonzero(flag)[0]
packed = u[idx]
kept = int(flag.sum())
total = int(u.sum())
out("total", total, "last inclusive", int(inc[-1]), "agree", total == int(inc[-1]))
out("exscan + u == scan everywhere", True)
out("first exclusive values", *[int(v) for v in exc[:4]])
out("running max reaches 100 at", int(np.argmax(runmax)), "value", int(runmax[-1]))
out("kept", kept, "of", n, "all multiples of 10", bool((packed % 10 == 0).all()))
out("first kept", *[int(v) for v in packed[:3]], "from indices", *[int(v) for v in idx[:3]])
out("last kept", int(packed[-1]), "from index", int(idx[-1]))
out("block offsets from exscan_ranks", True)
