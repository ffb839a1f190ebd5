"""Python tools of the fused group, one tool per process (no thread pool of one tool disturbs
another): NumPy, NumPy with out=, numexpr, Numba and dtl kernels from strings.

    python peers.py TOOL REPS KIND:N [KIND:N ...]        KIND: axpby | fused

Inputs a[i] = i/n, b[i] = 1 - a[i]; the output c is preallocated (except for plain NumPy, which
allocates its result, as NumPy code does). One untimed warm-up call (it compiles and touches every
page); each job prints `job KIND N`, `checksum S` (the sum of c after the warm-up, before any
timing) and one `time_ms T` line per repetition. A tool that cannot run prints `skipped WHY`.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

EXPR = {
    "axpby": "2.0 * a - 4.5 * b",
    "fused": "2.0 * a - 4.5 * b + 1.1 * (sin(a) + cos(b))",
}
# The kernel strings of the dtl Python tools: NumPy arrays bind to `local<f64>` (an explicit loop:
# `local` arrays are not elementwise containers), DistributedVectors to `vector<f64>` (a fused
# whole-container statement, as in the dtlc programs).
DTL_LOCAL = (
    "fn k(a: local<f64>, b: local<f64>, c: local<f64>) {{\n"
    "    for j in 0..len(c) {{ c[j] = {e}; }}\n"
    "}}\n"
)
DTL_VECTOR = "fn k(a: vector<f64>, b: vector<f64>, c: vector<f64>) {{ c = {e}; }}\n"


def inputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.arange(n, dtype=np.float64) / n
    return a, 1.0 - a


def numpy_tool(kind: str, a: np.ndarray, b: np.ndarray) -> Callable[[], np.ndarray]:
    if kind == "axpby":
        return lambda: 2.0 * a - 4.5 * b
    return lambda: 2.0 * a - 4.5 * b + 1.1 * (np.sin(a) + np.cos(b))


def numpy_out_tool(kind: str, a: np.ndarray, b: np.ndarray) -> Callable[[], np.ndarray]:
    c, t1, t2 = np.empty_like(a), np.empty_like(a), np.empty_like(a)

    def axpby() -> np.ndarray:
        np.multiply(a, 2.0, out=c)
        np.multiply(b, 4.5, out=t1)
        return np.subtract(c, t1, out=c)

    def fused() -> np.ndarray:
        axpby()
        np.sin(a, out=t1)
        np.cos(b, out=t2)
        np.add(t1, t2, out=t1)
        np.multiply(t1, 1.1, out=t1)
        return np.add(c, t1, out=c)

    return axpby if kind == "axpby" else fused


def numexpr_tool(kind: str, a: np.ndarray, b: np.ndarray, threads: int) -> Callable[[], np.ndarray]:
    import numexpr as ne

    ne.set_num_threads(threads)
    c = np.empty_like(a)
    e = EXPR[kind]
    return lambda: ne.evaluate(e, local_dict={"a": a, "b": b}, out=c)


_NUMBA: dict[tuple[str, bool], Any] = {}


def numba_tool(kind: str, a: np.ndarray, b: np.ndarray, parallel: bool) -> Callable[[], np.ndarray]:
    if (kind, parallel) not in _NUMBA:
        _NUMBA[kind, parallel] = numba_loop(kind, parallel)
    loop = _NUMBA[kind, parallel]
    c = np.empty_like(a)

    def run() -> np.ndarray:
        loop(a, b, c)
        return c

    return run


def numba_loop(kind: str, parallel: bool) -> Any:
    import numba
    from numba import njit, prange

    if parallel:
        numba.set_num_threads(2)

        @njit(parallel=True, cache=False)
        def axpby_p(a: Any, b: Any, c: Any) -> None:
            for i in prange(a.shape[0]):
                c[i] = 2.0 * a[i] - 4.5 * b[i]

        @njit(parallel=True, cache=False)
        def fused_p(a: Any, b: Any, c: Any) -> None:
            for i in prange(a.shape[0]):
                c[i] = 2.0 * a[i] - 4.5 * b[i] + 1.1 * (np.sin(a[i]) + np.cos(b[i]))

        return axpby_p if kind == "axpby" else fused_p

    @njit(cache=False)
    def axpby_s(a: Any, b: Any, c: Any) -> None:
        for i in range(a.shape[0]):
            c[i] = 2.0 * a[i] - 4.5 * b[i]

    @njit(cache=False)
    def fused_s(a: Any, b: Any, c: Any) -> None:
        for i in range(a.shape[0]):
            c[i] = 2.0 * a[i] - 4.5 * b[i] + 1.1 * (np.sin(a[i]) + np.cos(b[i]))

    return axpby_s if kind == "axpby" else fused_s


def dtl_local_tool(kind: str, a: np.ndarray, b: np.ndarray) -> Callable[[], np.ndarray]:
    import dtl

    prog = dtl.compile(DTL_LOCAL.format(e=re.sub(r"\b([ab])\b", r"\1[j]", EXPR[kind])))
    c = np.empty_like(a)

    def run() -> np.ndarray:
        prog.k(a, b, c)
        return c

    return run


def dtl_vector(kind: str, n: int, reps: int, ranks: int) -> None:
    """DistributedVectors on `ranks` thread ranks (dtl.spmd), the kernel called on each rank and
    timed between two barriers on rank 0 (the slowest rank sets the time)."""
    import dtl

    prog = dtl.compile(DTL_VECTOR.format(e=EXPR[kind]))

    def body(ctx: Any) -> None:
        vs = [dtl.DistributedVector(ctx, n) for _ in range(3)]
        a, b, c = vs
        la, lb = a.local_view(), b.local_view()
        la[:] = np.arange(a.local_offset, a.local_offset + len(la), dtype=np.float64) / n
        lb[:] = 1.0 - la
        prog.k(a, b, c)
        s = dtl.allreduce(ctx, float(np.sum(c.local_view())))
        if ctx.rank == 0:
            print(f"checksum {s!r}", flush=True)
        for _ in range(reps):
            ctx.barrier()
            t = time.perf_counter()
            prog.k(a, b, c)
            ctx.barrier()
            dt = time.perf_counter() - t
            if ctx.rank == 0:
                print(f"time_ms {dt * 1e3:.6f}", flush=True)

    if ranks == 1:
        body(dtl.Context())
    else:
        dtl.spmd(ranks)(body)()


def run_job(tool: str, kind: str, n: int, reps: int) -> None:
    if tool.startswith("dtl_vector"):
        dtl_vector(kind, n, reps, int(tool.rsplit("_", 1)[1]))
        return
    a, b = inputs(n)
    if tool == "numpy":
        fn = numpy_tool(kind, a, b)
    elif tool == "numpy_out":
        fn = numpy_out_tool(kind, a, b)
    elif tool.startswith("numexpr_"):
        fn = numexpr_tool(kind, a, b, int(tool.rsplit("_", 1)[1]))
    elif tool == "numba":
        fn = numba_tool(kind, a, b, parallel=False)
    elif tool == "numba_parallel":
        fn = numba_tool(kind, a, b, parallel=True)
    elif tool == "dtl_local":
        fn = dtl_local_tool(kind, a, b)
    else:
        raise SystemExit(f"unknown tool {tool}")
    c = fn()
    print(f"checksum {float(np.sum(c))!r}", flush=True)
    del c
    for _ in range(reps):
        t = time.perf_counter()
        c = fn()
        dt = time.perf_counter() - t
        del c
        print(f"time_ms {dt * 1e3:.6f}", flush=True)


def main() -> None:
    tool, reps = sys.argv[1], int(sys.argv[2])
    for job in sys.argv[3:]:
        kind, n = job.split(":")
        print(f"job {kind} {n}", flush=True)
        try:
            run_job(tool, kind, int(n), reps)
        except ImportError as e:
            print(f"skipped {e}", flush=True)
            return


if __name__ == "__main__":
    main()
