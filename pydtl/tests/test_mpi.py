"""The MPI build under mpirun: Context() spans the processes, Context(comm=) takes mpi4py's.

Runs only with an MPI build of dtl (the `mpi` cargo feature) and an `mpirun` on PATH; otherwise
the tests are skipped with the reason shown (pytest -rs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import dtl

needs_mpi = pytest.mark.skipif(
    not dtl.has_mpi() or shutil.which("mpirun") is None,
    reason="skipped: MPI tests need an MPI build of dtl (pip install with --features mpi) and mpirun",
)

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import dtl

    with dtl.Context() as ctx:
        assert ctx.backend == "mpi" and dtl.backends.name() == "mpi"
        v = dtl.DistributedVector(ctx, 101, np.int64, partition=dtl.PARTITION_CYCLIC)
        v.local_view()[:] = (np.arange(101)[ctx.rank :: ctx.size] * 37) % 101
        dtl.sort(v)
        g = v.gather_to_numpy()
        assert g is None or (g == np.arange(101)).all()
        assert dtl.allreduce(ctx, 1.0) == ctx.size
        chunk = dtl.scatter(ctx, np.arange(ctx.size * 2).reshape(ctx.size, 2) if ctx.is_root else None)
        assert list(chunk) == [2 * ctx.rank, 2 * ctx.rank + 1]
        dtl.send(ctx, np.array([ctx.rank]), dest=(ctx.rank + 1) % ctx.size)
        assert dtl.recv(ctx, source=(ctx.rank - 1) % ctx.size)[0] == (ctx.rank - 1) % ctx.size
        counter = np.zeros(1, dtype=np.int64)
        win = dtl.Window(ctx, base=counter)
        dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64)
        win.flush(0)
        ctx.barrier()
        assert not ctx.is_root or counter[0] == ctx.size
        m = dtl.DistributedMap(ctx, np.int64, np.int64)
        for k in range(50):
            m.add(k, ctx.rank + 1)
        m.sync()
        assert m.global_size() == 50 and m.get(49) == ctx.size * (ctx.size + 1) // 2
        prog = dtl.compile(
            "fn saxpy(a: f64, x: vector<f64>, y: vector<f64>) { y += a * x; }\\n"
            "fn energy(u: vector<f64>) -> f64 { return sum(u * u); }\\n"
        )
        x = dtl.DistributedVector(ctx, 40, fill=1.0)
        y = dtl.DistributedVector(ctx, 40, fill=1.0)
        prog.saxpy(2.0, x, y)  # every process calls the kernel on its part, in place
        assert (y.local_view() == 3.0).all()
        assert prog.energy(y) == 9.0 * 40  # collective over the MPI processes
        del x, y
        kept = dtl.DistributedVector(ctx, 10)  # still alive at exit: freed by dtl's exit hook
        print(f"ok {ctx.rank} {ctx.size};", flush=True)
    """
)

MPI4PY_SCRIPT = textwrap.dedent(
    """
    from mpi4py import MPI
    import dtl

    world = MPI.COMM_WORLD
    ctx = dtl.Context(comm=world)
    sub = dtl.Context(comm=world.Split(ctx.rank % 2, ctx.rank))
    v = dtl.DistributedVector(sub, 10)
    assert dtl.allreduce(ctx, 1.0) == world.Get_size()
    assert dtl.allreduce(sub, 1.0) == sub.size
    print(f"ok {ctx.rank} {ctx.size};", flush=True)
    """
)


def run_mpi(n: int, script: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DTL_WATCHDOG_SECS="60")
    return subprocess.run(
        ["mpirun", "-n", str(n), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_context_spans_mpi_processes(n: int) -> None:
    r = run_mpi(n, SCRIPT)
    assert r.returncode == 0, r.stderr[-2000:]
    # Output lines of different processes may interleave: match the records, not lines.
    assert sorted(re.findall(r"ok \d+ \d+;", r.stdout)) == [f"ok {i} {n};" for i in range(n)]


@needs_mpi
def test_mpi4py_communicators() -> None:
    pytest.importorskip("mpi4py")
    r = run_mpi(3, MPI4PY_SCRIPT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(re.findall(r"ok \d+ \d+;", r.stdout)) == [f"ok {i} 3;" for i in range(3)]
