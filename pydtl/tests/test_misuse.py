"""Python misuse (issue #13 §7): wrong dtypes, out-of-range values, views after `del`, containers
used from several threads at once, huge and negative sizes. Each raises a dtl exception (or
works); none panics (`PanicException`), hangs or answers wrong. The full list of what was tried
is docs/reliability/signals.md.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import dtl

KERNELS = dtl.compile(
    "fn lf(a: local<f64>) -> f64 { let mut s = 0.0; for i in 0..len(a) { s += a[i]; } return s; }\n"
    "fn f32p(x: f32) -> f32 { return x; }\n"
    "fn mk(n: i64) -> i64 { let a = local<f64>(n); return len(a); }\n"
    "fn mkv(n: i64) -> f64 { let v = vector<f64>(n); return sum(v); }\n"
    "fn boom(n: i64) -> i64 { let a = local<i64>(1); return a[n]; }\n"
)


def test_float32_values_out_of_range_are_refused_not_made_infinite(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.InvalidArgumentError, match=r"`f32`; 1e300 is out of its range"):
        KERNELS.f32p(1e300)
    assert KERNELS.f32p(float("inf")) == float("inf")
    assert KERNELS.f32p(3.0e38) == pytest.approx(3.0e38, rel=1e-6)
    with pytest.raises(dtl.InvalidArgumentError, match="out of its range"):
        KERNELS.f32p(3.5e38)
    with pytest.raises(dtl.InvalidArgumentError, match="does not fit in float32"):
        dtl.DistributedVector(ctx, 4, np.float32, fill=1e300)
    v = dtl.DistributedVector(ctx, 4, np.float32)
    with pytest.raises(dtl.InvalidArgumentError, match="does not fit in float32"):
        dtl.fill(v, -1e39)
    dtl.fill(v, float("-inf"))
    assert (v.local_view() == -np.inf).all()


def test_local_parameters_name_what_was_passed(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 4)
    with pytest.raises(dtl.InvalidArgumentError, match=r"dtype float64, got DistributedVector$"):
        KERNELS.lf(v)
    with pytest.raises(dtl.InvalidArgumentError, match=r"dtype float64, got float64$"):
        KERNELS.lf(np.float64(1.0))
    with pytest.raises(dtl.InvalidArgumentError, match=r"got float32$"):
        KERNELS.lf(np.zeros(3, np.float32))
    with pytest.raises(dtl.InvalidArgumentError, match=r"got >f8$"):
        KERNELS.lf(np.zeros(3, ">f8"))
    with pytest.raises(dtl.InvalidArgumentError, match="cannot be borrowed for writing"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        KERNELS.lf(ro)
    assert KERNELS.lf(np.zeros(0)) == 0.0


@pytest.mark.parametrize(
    ("n", "exc"),
    [(-1, dtl.InvalidArgumentError), (2**62, dtl.InvalidArgumentError), (2**40, dtl.MemoryError)],
)
def test_huge_and_negative_sizes_inside_kernels(n: int, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="R0006"):
        KERNELS.mk(n)
    with pytest.raises(exc, match="R0006"):
        KERNELS.mkv(n)


def test_rank_counts_are_checked() -> None:
    with pytest.raises(dtl.InvalidArgumentError, match=r"spmd\(nranks\): rank counts must be integers"):
        dtl.spmd("2")  # type: ignore[arg-type]
    with pytest.raises(dtl.InvalidArgumentError, match="at most 1024"):
        dtl.spmd(10**6)(lambda c: None)()
    main = dtl.compile("fn main() {}")
    for bad in (0, -3, 10**6):
        with pytest.raises(dtl.InvalidArgumentError, match="ranks must be between 1 and 4096"):
            main.run(ranks=bad)


def test_views_outlive_their_container(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 100, fill=2.0)
    a = v.local_view()
    del v
    gc.collect()
    a[:] += 1.0
    assert a.sum() == 300.0


def test_kernels_from_many_threads_at_once(ctx: dtl.Context) -> None:
    results: list[object] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            r: object = KERNELS.mk(1000) if i % 2 else KERNELS.boom(5)
        except dtl.DTLError as e:
            r = e.code
        with lock:
            results.append(r)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(map(str, results)) == sorted(["1000"] * 8 + ["R0001"] * 8)


def test_a_container_held_by_a_kernel_on_another_thread_raises_instead_of_panicking() -> None:
    # A kernel that never returns holds the container until SIGINT stops it; meanwhile every
    # entry point that needs the container raises InvalidArgumentError (it was a PanicException
    # for local_view and the container algorithms). In a subprocess: the signal must not reach
    # pytest.
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        import dtl
        prog = dtl.compile("fn hold(x: vector<f64>) { while true { forall i in x { x[i] += 1.0; } } }\\n")
        ctx = dtl.Context()
        y = dtl.DistributedVector(ctx, 10)
        out = []
        def run():
            try:
                prog.hold(y)
            except KeyboardInterrupt:
                out.append("stopped")
        t = threading.Thread(target=run)
        t.start()
        seen = None
        for _ in range(2000):
            try:
                y.local_view()
            except dtl.InvalidArgumentError as e:
                seen = str(e)
                break
            time.sleep(0.005)
        for f in (lambda: dtl.fill(y, 1.0), lambda: dtl.reduce(y), lambda: dtl.sort(y)):
            try:
                f()
                print("no error")
            except dtl.InvalidArgumentError as e:
                print("busy", "in use by a call on another thread" in str(e))
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(2)
        except KeyboardInterrupt:
            pass
        t.join()
        print(seen)
        print(out, y.local_view().shape)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["busy True"] * 3, r.stdout + r.stderr
    assert "in use by a call on another thread" in lines[3], r.stdout
    # Stopped, and the container is free again.
    assert lines[4] == "['stopped'] (10,)", r.stdout
