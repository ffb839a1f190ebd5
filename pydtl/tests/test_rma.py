"""One-sided windows over dtl memory and over a caller's NumPy array."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl


def test_window_one_rank(ctx: dtl.Context) -> None:
    win = dtl.Window(ctx, size=1024)
    assert win.size == 1024 and win.is_valid and win.base != 0
    data = np.array([1.0, 2.0, 3.0], dtype=np.float64)
    win.fence()
    dtl.rma_put(win, target=0, offset=0, data=data)
    win.fence()
    result = dtl.rma_get(win, target=0, offset=0, size=24, dtype=np.float64)
    win.fence()
    assert (result == [1.0, 2.0, 3.0]).all()
    dtl.rma_accumulate(win, target=0, offset=0, data=np.array([1.0]), op=dtl.SUM)
    old = dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1.0, dtype=np.float64)
    assert old == 2.0
    old = dtl.rma_compare_and_swap(win, target=0, offset=8, compare=2.0, swap=9.0, dtype=np.float64)
    assert old == 2.0
    win.fence()
    view = win.local_view(np.float64)
    assert view[0] == 3.0 and view[1] == 9.0
    win.lock(target=0, mode="exclusive")
    win.unlock(target=0)
    win.lock(0, mode="shared")
    win.unlock(0)
    win.lock_all()
    win.unlock_all()
    win.flush(0)
    win.flush_all()
    win.flush_local(0)
    win.flush_local_all()
    win.free()
    assert not win.is_valid
    with pytest.raises(dtl.InvalidArgumentError):
        win.fence()


def test_window_errors(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, size=-8)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, size=8, base=np.zeros(1))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, base=[1, 2, 3])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, base=np.zeros((4, 4))[:, 0])
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, base=ro)
    with dtl.Window(ctx, size=16) as win:
        with pytest.raises(dtl.BoundsError):
            dtl.rma_put(win, 0, 8, np.zeros(2))
        with pytest.raises(dtl.BoundsError):
            dtl.rma_get(win, 0, 0, 24)
        with pytest.raises(dtl.InvalidArgumentError):
            dtl.rma_get(win, 0, 0, 5, dtype=np.float64)
        with pytest.raises(dtl.InvalidArgumentError):
            dtl.rma_get(win, 1, 0, 8)
        with pytest.raises(dtl.InvalidArgumentError):
            dtl.rma_put(win, 0, -8, np.zeros(1))
        with pytest.raises(dtl.InvalidArgumentError):
            win.lock(0, mode="sideways")
        with pytest.raises(dtl.InvalidArgumentError):
            dtl.rma_fetch_and_add(win, 0, 0, 1, dtype=np.complex64)


def test_window_over_user_array_keeps_it(ctx: dtl.Context) -> None:
    data = np.zeros(100, dtype=np.float64)
    win = dtl.Window(ctx, base=data)
    assert win.size == 800 and win.base == data.ctypes.data
    with pytest.raises(ValueError):
        data.resize(200)  # NumPy refuses: the window references the array
    dtl.rma_put(win, 0, 8, np.array([4.0]))
    win.fence()
    assert data[1] == 4.0
    assert win.local_view() is data


@pytest.mark.parametrize("p", [2, 3, 4])
def test_distributed_counter(p: int) -> None:
    # The guide's RMA example, on thread ranks.
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        counter = np.zeros(1, dtype=np.int64)
        win = dtl.Window(ctx, base=counter)
        win.lock(target=0, mode="exclusive")
        old = dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64)
        win.unlock(target=0)
        ctx.barrier()
        final = int(counter[0])
        win.free()
        return old, final

    res = run()
    assert sorted(o for o, _ in res) == list(range(p))
    assert res[0][1] == p


@pytest.mark.parametrize("p", [2, 3, 4])
def test_put_get_across_ranks(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        r, n = ctx.rank, ctx.size
        win = dtl.Window(ctx, size=8 * n)
        win.fence()
        # Everyone writes its rank into slot r of every other rank's window.
        for t in range(n):
            dtl.rma_put(win, target=t, offset=8 * r, data=np.array([float(r)]))
        win.fence()
        mine = win.local_view(np.float64).copy()
        right = dtl.rma_get(win, target=(r + 1) % n, offset=0, size=8 * n, dtype=np.float64)
        win.fence()
        for t in range(n):
            dtl.rma_accumulate(win, t, 0, np.array([1.0]), op=dtl.SUM)
        win.fence()
        swapped = dtl.rma_compare_and_swap(win, 0, 8, compare=1.0, swap=-1.0, dtype=np.float64)
        win.fence()
        return mine, right, win.local_view(np.float64)[0], swapped

    res = run()
    for r, (mine, right, first, _) in enumerate(res):
        assert list(mine) == [float(i) for i in range(p)]
        assert list(right) == [float(i) for i in range(p)]
        assert first == float(p)  # slot 0 held 0.0, then every rank added 1
    assert sorted(s for *_, s in res) == [-1.0] * (p - 1) + [1.0] if p > 1 else True


def test_window_on_container_view_blocks_resize() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> str:
        v = dtl.DistributedVector(ctx, 8)
        win = dtl.Window(ctx, base=v.local_view())
        try:
            v.resize(100)
        except dtl.InvalidArgumentError:
            return "refused"
        finally:
            win.free()
        return "resized"

    assert run() == ["refused", "refused"]
