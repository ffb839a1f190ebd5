"""Kernels from strings (issue #5): dtl.compile latency and kernel call costs, with peers in the
same run.

    python bench/py_kernels.py            # in the venv with dtl installed (pip install ./pydtl)
    DTLC=/path/to/dtlc python bench/py_kernels.py   # use that dtlc for the `dtlc run` peer

Prints `median [min..max]` of each figure:
1. dtl.compile of a small kernel, fresh source each time (target <= 2 ms median) and cached
   (same source again), against Numba's first compile (njit, no cache) of the same loop in a
   fresh subprocess;
2. a kernel call `c = 2.0*a - 4.5*b` on three containers of 10 elements (overhead target <= 5 us),
   next to an empty Python call with three arguments and the same NumPy expression;
3. the same kernel on 10^7 elements against bench/jit/axpby.dtl (the same statement) under
   `dtlc run -n 1`, the same program run in-process by `prog.run(ranks=1)`, and NumPy
   (`np.multiply`/`np.subtract` with out=, one core).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np

import dtl

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "fn axpby(a: vector<f64>, b: vector<f64>, c: vector<f64>) {{ c = 2.0 * a - 4.5 * b; }}  // {tag}\n"

NUMBA = """
import time
t0 = time.perf_counter()
import numpy as np
from numba import njit
t1 = time.perf_counter()

@njit(cache=False)
def axpby(a, b, c):
    for i in range(a.shape[0]):
        c[i] = 2.0 * a[i] - 4.5 * b[i]

a = np.linspace(0.0, 1.0, 10); b = 1.0 - a; c = np.empty_like(a)
t2 = time.perf_counter()
axpby(a, b, c)
t3 = time.perf_counter()
print(f"{(t3 - t2) * 1e3:.3f}")
"""


def fmt(xs: list[float], unit: str) -> str:
    return f"{statistics.median(xs):10.3f} {unit}  [{min(xs):.3f}..{max(xs):.3f}]  (n={len(xs)})"


def per_call(fn: Callable[[], object], number: int, repeat: int = 9) -> list[float]:
    """Per-call microseconds, one sample per repeat."""
    return [t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=repeat)]


def dtlc_binary() -> str | None:
    if os.environ.get("DTLC"):
        return os.environ["DTLC"]
    if shutil.which("cargo") is None:
        return None
    r = subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "dtl-compiler", "--bin", "dtlc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        print(f"# dtlc did not build; skipping the dtlc peer:\n# {r.stderr.strip()[:300]}")
        return None
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, capture_output=True, text=True
    )
    import json

    return str(Path(json.loads(meta.stdout)["target_directory"]) / "release" / "dtlc")


def main() -> None:
    print(f"# {os.cpu_count()} cores; {sys.version.split()[0]}; numpy {np.__version__}")

    print("# 1. compile latency")
    fresh = []
    for i in range(25):
        src = KERNEL.format(tag=f"fresh {time.time_ns()} {i}")
        t0 = time.perf_counter()
        dtl.compile(src)
        fresh.append((time.perf_counter() - t0) * 1e3)
    print(f"dtl.compile, fresh source      {fmt(fresh, 'ms')}")
    src = KERNEL.format(tag="cached")
    dtl.compile(src)
    cached = per_call(lambda: dtl.compile(src), 10000)
    print(f"dtl.compile, cached            {fmt(cached, 'us')}")
    try:
        import numba  # noqa: F401

        nb = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c", NUMBA], capture_output=True, text=True, check=True)
            nb.append(float(out.stdout.split()[-1]))
        print(f"numba first compile (fresh)    {fmt(nb, 'ms')}   ({statistics.median(nb) / statistics.median(fresh):.0f}x dtl fresh)")
    except ImportError:
        print("# numba not installed: skipped")

    print("# 2. call on containers of 10 elements (one-rank context)")
    ctx = dtl.Context()
    prog = dtl.compile(src)
    a = dtl.DistributedVector(ctx, 10, fill=1.0)
    b = dtl.DistributedVector(ctx, 10, fill=2.0)
    c = dtl.DistributedVector(ctx, 10)
    k = prog.axpby
    call = per_call(lambda: k(a, b, c), 20000)
    assert np.allclose(c.local_view(), -7.0)

    def empty(x: object, y: object, z: object) -> None:
        return None

    floor = per_call(lambda: empty(a, b, c), 200000)
    na, nb_, nc = np.ones(10), np.full(10, 2.0), np.empty(10)
    t1, t2 = np.empty(10), np.empty(10)

    def npy() -> None:
        np.multiply(2.0, na, out=t1)
        np.multiply(4.5, nb_, out=t2)
        np.subtract(t1, t2, out=nc)

    npc = per_call(npy, 50000)
    print(f"prog.axpby(a, b, c), n=10      {fmt(call, 'us')}")
    print(f"empty Python call, 3 args      {fmt(floor, 'us')}")
    print(f"NumPy, same expression, out=   {fmt(npc, 'us')}")

    print("# 3. 10^7 elements, one rank")
    n = 10_000_000
    A = dtl.DistributedVector(ctx, n)
    B = dtl.DistributedVector(ctx, n)
    C = dtl.DistributedVector(ctx, n)
    av = A.local_view()
    av[:] = np.arange(n) / n
    B.local_view()[:] = 1.0 - av
    del av
    prog.axpby(A, B, C)  # warm-up: touches C's pages
    big = []
    for _ in range(10):
        t0 = time.perf_counter()
        prog.axpby(A, B, C)
        big.append((time.perf_counter() - t0) * 1e3)
    print(f"prog.axpby, n=10^7             {fmt(big, 'ms')}")
    na, nb_, nc = np.arange(n) / n, 1.0 - np.arange(n) / n, np.empty(n)
    t1, t2 = np.empty(n), np.empty(n)
    npy()
    npb = []
    for _ in range(10):
        t0 = time.perf_counter()
        npy()
        npb.append((time.perf_counter() - t0) * 1e3)
    print(f"NumPy, out=, n=10^7            {fmt(npb, 'ms')}")
    # The same program as `dtlc run`, run in this process by prog.run (the same JIT build as the
    # kernel: isolates the cost of the call path from differences between builds).
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        dtl.compile((ROOT / "bench/jit/axpby.dtl").read_text()).run(ranks=1, n=n, reps=10)
    inproc = [float(line.split()[1]) for line in buf.getvalue().splitlines() if line.startswith("time_ms")]
    print(f"prog.run(axpby.dtl), ranks=1   {fmt(inproc, 'ms')}   (dtl kernel / same main: {statistics.median(big) / statistics.median(inproc):.2f})")
    dtlc = dtlc_binary()
    if dtlc:
        out = subprocess.run(
            [dtlc, "run", str(ROOT / "bench/jit/axpby.dtl"), "-n", "1", "-D", f"n={n}", "-D", "reps=10"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        ms = [float(line.split()[1]) for line in out.splitlines() if line.startswith("time_ms")]
        print(f"dtlc run axpby.dtl -n 1        {fmt(ms, 'ms')}   (dtl kernel / dtlc: {statistics.median(big) / statistics.median(ms):.2f})")


if __name__ == "__main__":
    main()
