"""Mean and standard deviation of a distributed vector (the guide's example 1, checked).

    python examples/python/distributed_mean.py [ranks]

Runs on in-process thread ranks (dtl.spmd); the same body runs under mpirun with an MPI build.
"""

import sys

import numpy as np

import dtl

N = 1_000_000


def body(ctx: dtl.Context) -> tuple[float, float]:
    vec = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
    local = vec.local_view()
    # Element i gets the same value whatever the rank count: a function of its global index.
    idx = np.arange(vec.local_offset, vec.local_offset + len(local))
    local[:] = np.sin(idx * 0.001) * 3.0 + 1.0
    global_sum = dtl.allreduce(ctx, float(np.sum(local)), op=dtl.SUM)
    mean = global_sum / vec.global_size
    sq = dtl.allreduce(ctx, float(np.sum((local - mean) ** 2)), op=dtl.SUM)
    return mean, (sq / vec.global_size) ** 0.5


def main() -> None:
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    mean, std = dtl.spmd(ranks)(body)()[0]
    ref = np.sin(np.arange(N) * 0.001) * 3.0 + 1.0
    assert abs(mean - ref.mean()) < 1e-9 and abs(std - ref.std()) < 1e-9
    print(f"mean {mean:.6f} std {std:.6f} on {ranks} ranks (matches NumPy)")


if __name__ == "__main__":
    main()
