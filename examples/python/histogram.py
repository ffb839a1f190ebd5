"""Global histogram and a distributed CDF with prefix scans, compared with NumPy.

    python examples/python/histogram.py [ranks]
"""

import sys

import numpy as np

import dtl

N = 400_000
BINS = 16


def data() -> np.ndarray:
    return np.random.default_rng(11).normal(0.0, 1.0, N)


def body(ctx: dtl.Context) -> tuple[np.ndarray, float, np.ndarray | None]:
    v = dtl.DistributedVector.from_numpy(ctx, data() if ctx.is_root else None)
    local = v.local_view()
    edges = np.linspace(-4.0, 4.0, BINS + 1)
    counts = np.histogram(local, bins=edges)[0].astype(np.int64)
    hist = dtl.allreduce(ctx, counts, op=dtl.SUM)
    # Where this rank's part starts in the global order, from an exclusive scan.
    start = dtl.exscan(ctx, np.int64(len(local)))
    assert start == v.local_offset
    cdf = dtl.scan(v, op=dtl.SUM)  # distributed prefix sums of the values
    hi = dtl.reduce(v, op=dtl.MAX)
    return hist, hi, cdf.gather_to_numpy()


def main() -> None:
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    hist, hi, prefix = dtl.spmd(ranks)(body)()[0]
    x = data()
    ref = np.histogram(x, bins=np.linspace(-4.0, 4.0, BINS + 1))[0]
    assert (hist == ref).all() and hi == x.max()
    assert prefix is not None and np.allclose(prefix, np.cumsum(x))
    bar = " ".join(f"{c // 1000:d}" for c in hist)
    print(f"histogram (thousands per bin) on {ranks} ranks: {bar}")


if __name__ == "__main__":
    main()
