"""Container algorithms (real cross-rank semantics) and futures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl

PARTS = [dtl.PARTITION_BLOCK, dtl.PARTITION_CYCLIC, dtl.PARTITION_BLOCK_CYCLIC]


def test_one_rank_algorithms(ctx: dtl.Context) -> None:
    vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    local = vec.local_view()
    local[:] = np.random.randn(len(local))
    dtl.fill(vec, 0.0)
    assert (local == 0).all()
    src = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    dst = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    src.local_view()[:] = np.arange(src.local_size)
    dtl.transform(src, dst, np.square)
    assert (dst.local_view() == np.arange(1000.0) ** 2).all()
    dtl.transform(src, dst, lambda x: x + 1)
    assert dst.get(0) == 1.0
    total = dtl.reduce(src, op=dtl.SUM)
    maximum = dtl.reduce(src, op=dtl.MAX)
    assert total == 999 * 1000 / 2 and maximum == 999.0
    assert dtl.reduce(src) == total
    seen: list[float] = []
    dtl.for_each(src, seen.append)
    assert seen == list(np.arange(1000.0))
    assert dtl.find(src, 10.0) == 10 and dtl.find(src, -1.0) is None
    assert dtl.count(src, 3.0) == 1
    dtl.copy(src, dst)
    assert (dst.to_numpy() == src.to_numpy()).all()
    dtl.sort(src, reverse=True)
    assert src.get(0) == 999.0 and dtl.is_sorted(src, reverse=True)
    dtl.sort(src)
    assert dtl.is_sorted(src)
    assert dtl.dot(src, src) == float((np.arange(1000.0) ** 2).sum())
    assert dtl.argmin(src) == (0, 0.0) and dtl.argmax(src) == (999, 999.0)
    s = dtl.scan(src, op=dtl.SUM)
    assert isinstance(s, dtl.DistributedVector)
    assert (s.to_numpy() == np.cumsum(np.arange(1000.0))).all()


def test_algorithm_errors(ctx: dtl.Context) -> None:
    a = dtl.DistributedVector(ctx, 10)
    b = dtl.DistributedVector(ctx, 11)
    i = dtl.DistributedVector(ctx, 10, np.int32)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.transform(a, b, np.square)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.transform(a, a, lambda x: x[:3])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.copy(a, b)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.copy(a, i)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.dot(a, i)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.fill(i, 1.5)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.reduce(a, op=dtl.BXOR)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.for_each([1, 2], print)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.scan(a, a, exclusive=True)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.sort(dtl.DistributedTensor(ctx, (2, 2)))
    assert dtl.argmin(dtl.DistributedVector(ctx, 0)) is None


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("part", PARTS)
def test_distributed_sort(p: int, part: int) -> None:
    n = 1001
    data = np.random.default_rng(7).integers(-1000, 1000, n).astype(np.int64)

    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        v = dtl.DistributedVector.from_numpy(ctx, data if ctx.is_root else None, partition=part, block_size=5)
        dtl.sort(v)
        up = v.gather_to_numpy()
        sorted_up = dtl.is_sorted(v)
        dtl.sort(v, reverse=True)
        down = v.gather_to_numpy()
        return up, down, sorted_up, v.local_size

    res = run()
    assert (res[0][0] == np.sort(data)).all()
    assert (res[0][1] == np.sort(data)[::-1]).all()
    assert all(r[2] for r in res)
    assert sum(r[3] for r in res) == n


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("part", PARTS)
def test_distributed_scan_reduce_find(p: int, part: int) -> None:
    n = 50
    data = np.arange(1, n + 1, dtype=np.float64)

    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        v = dtl.DistributedVector.from_numpy(ctx, data if ctx.is_root else None, partition=part, block_size=4)
        inc = dtl.scan(v, op=dtl.SUM).gather_to_numpy()
        exc = dtl.exscan(v, dtl.SUM).gather_to_numpy()
        mx = dtl.scan(v, op=dtl.MAX).gather_to_numpy()
        return (
            inc,
            exc,
            mx,
            dtl.reduce(v, op=dtl.SUM),
            dtl.reduce(v, op=dtl.MIN),
            dtl.reduce(v, op=dtl.PROD),
            dtl.find(v, 17.0),
            dtl.count(v, 3.0),
            dtl.argmax(v),
            dtl.dot(v, v),
        )

    res = run()
    inc, exc, mx = res[0][:3]
    assert (inc == np.cumsum(data)).all()
    assert (exc == np.concatenate([[0.0], np.cumsum(data)[:-1]])).all()
    assert (mx == data).all()
    for r in res:
        assert r[3] == data.sum() and r[4] == 1.0 and r[5] == float(np.prod(data))
        assert r[6] == 16 and r[7] == 1 and r[8] == (n - 1, float(n)) and r[9] == float((data * data).sum())


@pytest.mark.parametrize("p", [2, 3])
def test_copy_between_partitions(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        a = dtl.DistributedVector(ctx, 20, np.int32)
        a.local_view()[:] = np.arange(a.local_offset, a.local_offset + a.local_size)
        b = dtl.DistributedVector(ctx, 20, np.int32, partition=dtl.PARTITION_CYCLIC)
        dtl.copy(a, b)
        c = dtl.DistributedVector(ctx, 20, np.int32, partition=dtl.PARTITION_REPLICATED)
        dtl.copy(b, c)
        return b.to_numpy(), c.to_numpy()

    for r, (b, c) in enumerate(run()):
        assert (b == np.arange(20)[r::p]).all()
        assert (c == np.arange(20)).all()


def test_futures(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 10)
    w = dtl.DistributedVector(ctx, 10)
    f1 = dtl.async_fill(v, 2.0)
    f2 = dtl.async_transform(v, w, lambda x: x * 3)
    f3 = dtl.async_reduce(w, op=dtl.SUM)
    f4 = dtl.async_sort(w, reverse=True)
    f5 = dtl.async_for_each(w, lambda x: None)
    f6 = dtl.async_copy(w, v)
    for f in (f1, f2, f3, f4, f5, f6):
        assert f.done() and f.wait()
    assert f3.result() == 60.0
    all_f = dtl.when_all([f1, f3])
    assert all_f.result() == [None, 60.0]
    idx, val = dtl.when_any([f3, f1]).result()
    assert (idx, val) == (0, 60.0)
    bad = dtl.async_reduce(v, op="nope")
    assert bad.done()
    with pytest.raises(dtl.InvalidArgumentError):
        bad.result()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.when_all([bad]).result()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.when_any([])
    assert dtl.Future(value=3).result() == 3
