"""Python tools of the fused group, one tool per process (no thread pool of one tool disturbs
another): NumPy, NumPy with out=, numexpr, Numba and dtl kernels from strings.

    python peers.py TOOL        then commands on stdin, one per line:
      prep KIND N   inputs a[i] = i/n, b[i] = 1 - a[i], compile, one untimed warm-up pass (it
                    touches every page); prints `checksum S`, the sum of c (KIND: axpby | fused)
      time          an untimed pass, then a timed one; prints `time_ms T`
      quit

The parent (bench/suite/fused.py) keeps one such process per tool and asks each in turn for one
sample, so that every tool sees the same load of the shared machine. Every sample of every tool
is the second of two back-to-back passes (dtlc and C run one process per sample: a warm-up pass,
then the timed one), so caches are in the same state for all. The output c is
preallocated (except for plain NumPy, which allocates its result, as NumPy code does). A tool
that cannot run prints `skipped WHY` (a missing module) or `error WHY`.
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


def serve_dtl_vector(ranks: int) -> None:
    """The server loop for DistributedVectors on `ranks` thread ranks (dtl.spmd): rank 0 reads
    each command and shares it; a timed pass is the kernel call on every rank between two
    barriers, timed on rank 0 (so the slowest rank sets the time)."""
    import dtl

    box: dict[str, list[str]] = {}

    def body(ctx: Any) -> None:
        state: dict[str, Any] = {}
        while True:
            if ctx.rank == 0:
                box["cmd"] = sys.stdin.readline().split() or ["quit"]
            ctx.barrier()
            cmd = box["cmd"]
            ctx.barrier()  # every rank has read it before rank 0 reads the next one
            if cmd[0] == "quit":
                return
            if cmd[0] == "prep":
                kind, n = cmd[1], int(cmd[2])
                state.clear()
                prog = dtl.compile(DTL_VECTOR.format(e=EXPR[kind]))
                a, b, c = (dtl.DistributedVector(ctx, n) for _ in range(3))
                la, lb = a.local_view(), b.local_view()
                la[:] = np.arange(a.local_offset, a.local_offset + len(la), dtype=np.float64) / n
                lb[:] = 1.0 - la
                del la, lb
                prog.k(a, b, c)
                s = dtl.allreduce(ctx, float(np.sum(c.local_view())))
                state.update(prog=prog, a=a, b=b, c=c)
                if ctx.rank == 0:
                    print(f"checksum {s!r}", flush=True)
            elif cmd[0] == "time":
                prog, a, b, c = state["prog"], state["a"], state["b"], state["c"]
                prog.k(a, b, c)  # the untimed pass right before, as for every tool
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


def make(tool: str, kind: str, a: np.ndarray, b: np.ndarray) -> Callable[[], np.ndarray]:
    if tool == "numpy":
        return numpy_tool(kind, a, b)
    if tool == "numpy_out":
        return numpy_out_tool(kind, a, b)
    if tool.startswith("numexpr_"):
        return numexpr_tool(kind, a, b, int(tool.rsplit("_", 1)[1]))
    if tool == "numba":
        return numba_tool(kind, a, b, parallel=False)
    if tool == "numba_parallel":
        return numba_tool(kind, a, b, parallel=True)
    if tool == "dtl_local":
        return dtl_local_tool(kind, a, b)
    raise SystemExit(f"unknown tool {tool}")


def serve(tool: str) -> None:
    if tool.startswith("dtl_vector"):
        serve_dtl_vector(int(tool.rsplit("_", 1)[1]))
        return
    fn: Callable[[], np.ndarray] | None = None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            return
        if cmd[0] == "prep":
            fn = None
            kind, n = cmd[1], int(cmd[2])
            a, b = inputs(n)
            fn = make(tool, kind, a, b)
            c = fn()
            print(f"checksum {float(np.sum(c))!r}", flush=True)
            del c, a, b
        elif cmd[0] == "time" and fn is not None:
            fn()  # the untimed pass right before, as for every tool
            t = time.perf_counter()
            c = fn()
            dt = time.perf_counter() - t
            del c
            print(f"time_ms {dt * 1e3:.6f}", flush=True)


def main() -> None:
    try:
        serve(sys.argv[1])
    except ImportError as e:
        print(f"skipped {e}", flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which skips the tool
        print(f"error {type(e).__name__}: {e}".replace("\n", " "), flush=True)
        raise


if __name__ == "__main__":
    main()
