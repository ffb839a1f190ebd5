"""Stopping runs from Python: Ctrl-C (SIGINT) during a kernel, ``prog.run`` and ``dtl.spmd``
raises KeyboardInterrupt with every rank stopped; under ``mpirun`` a kernel error raises on every
rank and the job goes on.

Each case runs in a subprocess (a signal, or ``mpirun``), which prints what it saw; the test sends
SIGINT once the child says it is inside the call. MPI cases need an MPI build and ``mpirun``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import dtl

needs_mpi = pytest.mark.skipif(
    not dtl.has_mpi() or shutil.which("mpirun") is None,
    reason="skipped: MPI tests need an MPI build of dtl (pip install with --features mpi) and mpirun",
)

PRELUDE = textwrap.dedent(
    """
    import signal, sys, threading, time
    import numpy as np
    import dtl

    def ready():
        print("ready", flush=True)
    """
)


def interrupt(script: str, *, after: float = 0.3, timeout: float = 30.0) -> tuple[str, str, float]:
    """Runs `script`, sends SIGINT `after` seconds after it printed "ready"; returns its stdout,
    stderr and the seconds from the signal to its exit."""
    p = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.strip() == "ready", line + (p.stderr.read() if p.stderr else "")
    time.sleep(after)
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"no exit {timeout} s after SIGINT: {out} {err}") from None
    dt = time.monotonic() - t0
    assert p.returncode == 0, f"exit {p.returncode}: {out}\n{err}"
    return out, err, dt


SPIN = 'fn spin() -> i64 { let mut i = 0; while true { i += 1; } return i; }\\n'


def test_ctrl_c_stops_an_endless_kernel_and_the_context_stays_usable() -> None:
    out, err, dt = interrupt(
        f"""
        prog = dtl.compile("{SPIN}fn twice(x: i64) -> i64 {{ return 2 * x; }}\\n")
        ctx = dtl.Context()
        ready()
        try:
            prog.spin(ctx=ctx)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        # No second KeyboardInterrupt later, and the next call runs.
        time.sleep(0.2)
        print("after", prog.twice(21, ctx=ctx), flush=True)
        """
    )
    assert out.split() == ["interrupted", "after", "42"], err
    assert dt < 5, dt


def test_ctrl_c_stops_prog_run_on_thread_ranks() -> None:
    out, err, dt = interrupt(
        """
        prog = dtl.compile(
            "fn main() { if rank() == 0 { let mut x = 0; while true { x += 1; } } barrier(); }\\n"
        )
        ready()
        try:
            prog.run(ranks=3)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        print("after", flush=True)
        """
    )
    assert out.split() == ["interrupted", "after"], err
    assert dt < 5, dt


def test_ctrl_c_stops_spmd_ranks_in_kernels_waits_and_python_loops() -> None:
    out, err, dt = interrupt(
        f"""
        prog = dtl.compile("{SPIN}")

        def rank(ctx):
            if ctx.rank == 0:
                ready()
                prog.spin(ctx=ctx)        # an endless kernel
            elif ctx.rank == 1:
                while True:               # Python code that never calls dtl
                    pass
            else:
                ctx.barrier()             # waits for the others

        try:
            dtl.spmd(3)(rank)()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        # Every rank has returned (spmd joins them): the interpreter goes on.
        print("after", dtl.spmd(2)(lambda ctx: ctx.rank)(), flush=True)
        """
    )
    assert out.split() == ["interrupted", "after", "[0,", "1]"], err
    assert dt < 5, dt


def test_ctrl_c_with_a_handler_that_does_not_raise() -> None:
    # The handler still runs; the stopped kernel raises KeyboardInterrupt (its result is gone).
    out, err, _ = interrupt(
        f"""
        seen = []
        signal.signal(signal.SIGINT, lambda s, f: seen.append(s))
        time.sleep(1.5)        # the handler is chained again within a second
        prog = dtl.compile("{SPIN}")
        ready()
        try:
            prog.spin()
        except KeyboardInterrupt:
            print("interrupted", len(seen), flush=True)
        """
    )
    assert out.split() == ["interrupted", "1"], err


def test_ignored_sigint_leaves_a_kernel_running() -> None:
    # SIG_IGN is respected: the signal does nothing, the kernel finishes.
    out, err, _ = interrupt(
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        prog = dtl.compile("fn count(n: i64) -> i64 { let mut i = 0; while i < n { i += 1; } return i; }\\n")
        ready()
        print("done", prog.count(3_000_000_000), flush=True)
        """,
        after=0.05,
    )
    assert out.split() == ["done", "3000000000"], err


def test_sigint_in_a_forked_child_leaves_the_parents_kernel_alone() -> None:
    # The child inherits the chained handler and the watcher's pipe, not the watcher: its
    # SIGINT must not stop the parent's kernel (it did, through the shared pipe).
    script = PRELUDE + textwrap.dedent(
        """
        import os
        prog = dtl.compile("fn count(n: i64) -> i64 { let mut i = 0; while i < n { i += 1; } return i; }\\n")
        out = []
        t = threading.Thread(target=lambda: out.append(prog.count(2_000_000_000)))
        t.start()
        pid = os.fork()
        if pid == 0:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                os._exit(7)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        t.join()
        print("child", os.waitstatus_to_exitcode(status), "parent", out, flush=True)
        """
    )
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["child", "7", "parent", "[2000000000]"], r.stdout + r.stderr


# --- under mpirun ---------------------------------------------------------------------------

MPI_PRELUDE = textwrap.dedent(
    """
    import time
    import numpy as np
    import dtl

    ctx = dtl.Context()
    r = ctx.rank
    x = dtl.DistributedVector(ctx, 10, fill=1.0)
    prog = dtl.compile(
        "fn fail_then_sum(x: vector<f64>) -> f64 {\\n"
        "    if rank() == 1 { let a = local<f64>(2); a[5] = 1.0; }\\n"
        "    return sum(x);\\n"
        "}\\n"
        "fn fail_or_spin(x: vector<f64>) -> f64 {\\n"
        "    if rank() == 1 { assert(false, \\"rank 1 gives up\\"); }\\n"
        "    let mut i = 0;\\n"
        "    while true { i += 1; }\\n"
        "    return sum(x);\\n"
        "}\\n"
        "fn fail_or_recv(x: vector<f64>) -> f64 {\\n"
        "    if rank() == 1 { let z = 0; print(1 / z); }\\n"
        "    if rank() == 0 { let v = recv<f64>(source: 1); print(v); }\\n"
        "    return sum(x);\\n"
        "}\\n"
        "fn local_fail(n: i64) -> i64 { let a = local<i64>(1); return a[n]; }\\n"
        "fn spin() -> f64 { let mut i = 0; while true { i += 1; } return allreduce(1.0, sum); }\\n"
        "fn total(x: vector<f64>) -> f64 { return sum(x); }\\n"
    )

    def report(name, f, *args):
        try:
            f(*args)
            print(f"{name} {r} ok;", flush=True)
        except dtl.DTLError as e:
            print(f"{name} {r} {type(e).__name__} {e.code};", flush=True)
            print(f"{name} {r} msg {e};", flush=True)
    """
)


def run_mpi(n: int, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DTL_WATCHDOG_SECS="60")
    return subprocess.run(
        ["mpirun", "-n", str(n), sys.executable, "-c", MPI_PRELUDE + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def records(out: str, name: str) -> list[str]:
    return sorted(m for m in re.findall(rf"{name} \d+ [A-Za-z]+ ?[A-Z0-9]*;", out))


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_a_kernel_error_raises_on_every_rank_and_the_job_goes_on(n: int) -> None:
    r = run_mpi(
        n,
        """
        report("sum", prog.fail_then_sum, x)
        report("spin", prog.fail_or_spin, x)
        report("recv", prog.fail_or_recv, x)
        report("local", prog.local_fail, 5 if r == 1 else 0)
        print(f"total {r} {prog.total(x)};", flush=True)
        """,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    others = [i for i in range(n) if i != 1]

    def comm(name: str) -> list[str]:
        return sorted(f"{name} {i} CommunicationError R0011;" for i in others)

    assert records(r.stdout, "sum") == sorted(comm("sum") + ["sum 1 BoundsError R0001;"])
    assert records(r.stdout, "spin") == sorted(comm("spin") + ["spin 1 DTLError R0005;"])
    assert records(r.stdout, "recv") == sorted(comm("recv") + ["recv 1 DTLError R0002;"])
    # The other ranks' message carries rank 1's own error, with its location.
    for name, err in [
        ("sum", r"error\[R0001\]: index 5 out of bounds for container of length 2 at <kernel>:2:"),
        ("spin", r"error\[R0005\]: assertion failed: rank 1 gives up at <kernel>:6:"),
        ("recv", r"error\[R0002\]: integer division by zero at <kernel>:12:"),
    ]:
        want = rf"{name} 0 msg error\[R0011\]: stopped because rank 1 failed: {err}\d+ \(rank 1\)"
        assert re.search(want, r.stdout), r.stdout
    # A non-collective kernel fails on its rank only.
    assert records(r.stdout, "local") == sorted(
        [f"local {i} ok;" for i in others] + ["local 1 BoundsError R0001;"]
    )
    assert sorted(re.findall(r"total \d+ [0-9.]+;", r.stdout)) == [f"total {i} 10.0;" for i in range(n)]


@needs_mpi
def test_ctrl_c_under_mpirun_raises_keyboard_interrupt_on_every_rank() -> None:
    p = subprocess.Popen(
        [
            "mpirun",
            "-n",
            "2",
            sys.executable,
            "-c",
            MPI_PRELUDE
            + textwrap.dedent(
                """
                print(f"ready {r};", flush=True)
                try:
                    prog.spin()
                except KeyboardInterrupt:
                    print(f"interrupted {r};", flush=True)
                print(f"total {r} {prog.total(x)};", flush=True)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, DTL_WATCHDOG_SECS="60"),
    )
    assert p.stdout is not None
    seen = ""
    while seen.count("ready") < 2:
        line = p.stdout.readline()
        assert line, p.stderr.read() if p.stderr else ""
        seen += line
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"no exit after SIGINT: {out} {err}") from None
    assert p.returncode == 0, out + err
    assert sorted(re.findall(r"interrupted \d;", out)) == ["interrupted 0;", "interrupted 1;"], out + err
    assert sorted(re.findall(r"total \d+ [0-9.]+;", out)) == ["total 0 10.0;", "total 1 10.0;"], out + err
