"""Overheads of the Python API of dtl, with peers measured in the same run.

    python bench/py_api.py

Prints per-call times (median of repeats, nanoseconds) and ratios:
- dtl.allreduce(ctx, x) of a Python float on a one-rank context (target: <= 1 us), against
  mpi4py's comm.allreduce(x) (pickle path) and comm.Allreduce on 1-element buffers (COMM_SELF);
- a container local_view() round trip (create the view, write one element through it, drop
  it) against NumPy's own view creation (a[:]) and writes;
- to_numpy / gather_to_numpy of 10^6 doubles against numpy.copy.
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable

import numpy as np

import dtl


def per_call_ns(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e9


def row(name: str, ns: float, ref: float | None = None, ref_name: str = "") -> None:
    ratio = f"  ({ns / ref:.2f}x {ref_name})" if ref else ""
    print(f"{name:<52} {ns:10.1f} ns{ratio}")


def main() -> None:
    ctx = dtl.Context()
    x = 3.0
    n = 200_000
    t_dtl = per_call_ns(lambda: dtl.allreduce(ctx, x), n)
    t_dtl_max = per_call_ns(lambda: dtl.allreduce(ctx, x, op=dtl.MAX), n)
    t_call = per_call_ns(lambda: abs(x), n)
    print("== allreduce of a Python float, one rank ==")
    row("dtl.allreduce(ctx, 3.0)", t_dtl)
    row("dtl.allreduce(ctx, 3.0, op=dtl.MAX)", t_dtl_max)
    row("python call floor: abs(3.0) in the same lambda", t_call)
    try:
        from mpi4py import MPI

        comm = MPI.COMM_SELF
        t_mpi = per_call_ns(lambda: comm.allreduce(x), n // 4)
        sb = np.array([x])
        rb = np.empty(1)
        t_mpib = per_call_ns(lambda: comm.Allreduce(sb, rb), n // 4)
        row("mpi4py COMM_SELF.allreduce(3.0)", t_mpi)
        row("mpi4py COMM_SELF.Allreduce(buf, buf) (1 double)", t_mpib)
        print(f"ratio dtl / mpi4py allreduce: {t_dtl / t_mpi:.2f}; dtl / mpi4py Allreduce: {t_dtl / t_mpib:.2f}")
    except ImportError:
        print("mpi4py not installed: no peer for allreduce")
    print(f"target <= 1000 ns: {'met' if t_dtl <= 1000 else 'MISSED'} ({t_dtl:.0f} ns)")

    print("\n== local_view round trip (view, write one element, drop) ==")
    v = dtl.DistributedVector(ctx, 1000)
    a = np.zeros(1000)

    def dtl_round() -> None:
        lv = v.local_view()
        lv[0] = 1.0

    def np_round() -> None:
        lv = a[:]
        lv[0] = 1.0

    t_view = per_call_ns(dtl_round, n // 4)
    t_np = per_call_ns(np_round, n // 4)
    row("dtl: v.local_view(); lv[0] = 1.0", t_view)
    row("numpy: a[:]; lv[0] = 1.0", t_np)
    print(f"ratio dtl / numpy view round trip: {t_view / t_np:.2f}")
    held = v.local_view()
    t_write = per_call_ns(lambda: held.__setitem__(0, 2.0), n)
    t_npw = per_call_ns(lambda: a.__setitem__(0, 2.0), n)
    row("write through a held dtl view", t_write, t_npw, "numpy")
    del held

    print("\n== copies of 10^6 float64 (one rank) ==")
    big = dtl.DistributedVector(ctx, 1_000_000)
    ref = np.zeros(1_000_000)
    t_to = per_call_ns(big.to_numpy, 50)
    t_g = per_call_ns(big.gather_to_numpy, 50)
    t_c = per_call_ns(ref.copy, 50)
    row("v.to_numpy()", t_to, t_c, "numpy.copy")
    row("v.gather_to_numpy()", t_g, t_c, "numpy.copy")


if __name__ == "__main__":
    main()
